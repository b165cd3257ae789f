/*
 * libcvqenrol — the enrolment journal: two tables of our own in the CA's
 * SQLite store, beside libcvqca's. libcvqca versions its schema with
 * PRAGMA user_version and exposes no migration hook, so ours are versioned
 * apart, in enrol_meta, and every name starts with enrol_ so the two never
 * collide (docs/enrolment.md). Migrations are append-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <openssl/crypto.h>

#include <cvq/enrol.h>
#include <cvq/piv.h>
#include <cvq/util.h>

struct cvq_enrol_store {
	sqlite3 *db;
};

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE enrol_cards ("
	"  guid TEXT PRIMARY KEY CHECK (length(guid) = 32),"
	"  holder TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('enrolling', 'active', 'failed')),"
	"  step INTEGER NOT NULL,"
	"  mgmt_alg INTEGER NOT NULL,"
	"  prev_guid TEXT NOT NULL DEFAULT '',"
	"  puk BLOB,"
	"  puk_pending BLOB,"
	"  reader TEXT NOT NULL DEFAULT '',"
	"  started INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX enrol_cards_holder ON enrol_cards(holder);"
	"CREATE TABLE enrol_log ("
	"  id INTEGER PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"
	"  guid TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  detail TEXT NOT NULL);"
	"CREATE INDEX enrol_log_guid ON enrol_log(guid);",
	/* 1 -> 2: the key algorithm of the card's 9A/9C keys (PIV id, 0x11 = P-256) */
	"ALTER TABLE enrol_cards ADD COLUMN key_alg INTEGER NOT NULL DEFAULT 17;",
};
#define ENROL_SCHEMA ((int)(sizeof(migrations) / sizeof(migrations[0])))

static cvq_enrol_err
migrate(sqlite3 *db, char *why, size_t why_len)
{
	sqlite3_stmt *st = NULL;
	int v = 0, rc;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE;"
	                      "CREATE TABLE IF NOT EXISTS enrol_meta ("
	                      "  k TEXT PRIMARY KEY, v INTEGER NOT NULL);", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT v FROM enrol_meta WHERE k = 'schema'", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK && v > ENROL_SCHEMA) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		snprintf(why, why_len, "enrolment schema %d is newer than %d", v, ENROL_SCHEMA);
		return CVQ_ENROL_ERR_STORE;
	}
	for (; rc == SQLITE_OK && v < ENROL_SCHEMA; v++)
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO enrol_meta VALUES ('schema', ?)",
		                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, ENROL_SCHEMA);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_len, "enrolment journal migration: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return CVQ_ENROL_ERR_STORE;
	}
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
store_open(const char *db_path, bool own, cvq_enrol_store **out, char *why, size_t why_len)
{
	cvq_enrol_store *s;
	cvq_enrol_err err;
	int rc, fd;

	if (!db_path || !out)
		return CVQ_ENROL_ERR_ARG;
	*out = NULL;
	/* A journal of its own: made 0600 (it holds sealed PUKs) before SQLite
	 * sees it, whatever the umask; its -wal and -shm follow its mode. */
	if (own && access(db_path, F_OK) != 0) {
		fd = cvq_util_file_create(db_path, O_RDWR | O_EXCL, 0600);
		if (fd < 0 && errno != EEXIST) {
			snprintf(why, why_len, "cannot create %s: %s", db_path, strerror(errno));
			return CVQ_ENROL_ERR_IO;
		}
		if (fd >= 0)
			close(fd);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return CVQ_ENROL_ERR_STORE;
	/* No CREATE: the CA made the store (or we did, above). */
	rc = sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(s->db, 10000);
		rc = sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	}
	/* The CA store is in WAL mode already; a journal of its own is put in
	 * it so that a batch's readers and a 'card show' run side by side. */
	if (rc == SQLITE_OK && own)
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_len, "cannot open %s: %s", db_path,
		         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		cvq_enrol_store_close(s);
		return CVQ_ENROL_ERR_STORE;
	}
	err = migrate(s->db, why, why_len);
	if (err) {
		cvq_enrol_store_close(s);
		return err;
	}
	*out = s;
	return CVQ_ENROL_OK;
}

cvq_enrol_err
cvq_enrol_store_open(const char *db_path, cvq_enrol_store **out, char *why, size_t why_len)
{
	return store_open(db_path, false, out, why, why_len);
}

cvq_enrol_err
cvq_enrol_store_open_own(const char *db_path, cvq_enrol_store **out, char *why, size_t why_len)
{
	return store_open(db_path, true, out, why, why_len);
}

void
cvq_enrol_store_close(cvq_enrol_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

static void
copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static bool
copy_blob(uint8_t *dst, sqlite3_stmt *st, int col)
{
	const void *b = sqlite3_column_blob(st, col);

	if (!b || sqlite3_column_bytes(st, col) != CVQ_ENROL_PUK_BLOB_LEN)
		return false;
	memcpy(dst, b, CVQ_ENROL_PUK_BLOB_LEN);
	return true;
}

#define REC_COLS "guid, holder, state, step, mgmt_alg, prev_guid, puk, puk_pending, " \
                 "reader, started, updated, error, key_alg"

static void
row_to_rec(sqlite3_stmt *st, struct cvq_enrol_rec *r)
{
	memset(r, 0, sizeof(*r));
	copy_text(r->guid, sizeof(r->guid), st, 0);
	copy_text(r->holder, sizeof(r->holder), st, 1);
	copy_text(r->state, sizeof(r->state), st, 2);
	r->step = sqlite3_column_int(st, 3);
	r->mgmt_alg = sqlite3_column_int(st, 4);
	copy_text(r->prev_guid, sizeof(r->prev_guid), st, 5);
	r->has_puk = copy_blob(r->puk, st, 6);
	r->has_puk_pending = copy_blob(r->puk_pending, st, 7);
	copy_text(r->reader, sizeof(r->reader), st, 8);
	r->started = sqlite3_column_int64(st, 9);
	r->updated = sqlite3_column_int64(st, 10);
	copy_text(r->error, sizeof(r->error), st, 11);
	r->key_alg = sqlite3_column_int(st, 12);
}

cvq_enrol_err
cvq_enrol_store_get(cvq_enrol_store *s, const char *guid, struct cvq_enrol_rec *out)
{
	sqlite3_stmt *st = NULL;
	cvq_enrol_err err = CVQ_ENROL_ERR_STORE;
	int rc;

	if (!s || !guid || !out)
		return CVQ_ENROL_ERR_ARG;
	if (sqlite3_prepare_v2(s->db, "SELECT " REC_COLS " FROM enrol_cards WHERE guid = lower(?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return CVQ_ENROL_ERR_STORE;
	sqlite3_bind_text(st, 1, guid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_rec(st, out);
		err = CVQ_ENROL_OK;
	} else if (rc == SQLITE_DONE) {
		err = CVQ_ENROL_ERR_NOT_FOUND;
	}
	sqlite3_finalize(st);
	return err;
}

cvq_enrol_err
cvq_enrol_store_put(cvq_enrol_store *s, struct cvq_enrol_rec *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || !r)
		return CVQ_ENROL_ERR_ARG;
	r->updated = (int64_t)time(NULL);
	if (!r->started)
		r->started = r->updated;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO enrol_cards (" REC_COLS ") "
	                       "VALUES (lower(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return CVQ_ENROL_ERR_STORE;
	sqlite3_bind_text(st, 1, r->guid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->holder, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, r->step);
	sqlite3_bind_int(st, 5, r->mgmt_alg);
	sqlite3_bind_text(st, 6, r->prev_guid, -1, SQLITE_TRANSIENT);
	if (r->has_puk)
		sqlite3_bind_blob(st, 7, r->puk, CVQ_ENROL_PUK_BLOB_LEN, SQLITE_TRANSIENT);
	if (r->has_puk_pending)
		sqlite3_bind_blob(st, 8, r->puk_pending, CVQ_ENROL_PUK_BLOB_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, r->reader, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 10, r->started);
	sqlite3_bind_int64(st, 11, r->updated);
	sqlite3_bind_text(st, 12, r->error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 13, r->key_alg ? r->key_alg : CVQ_CARD_ALG_ECCP256);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_ENROL_OK : CVQ_ENROL_ERR_STORE;
}

cvq_enrol_err
cvq_enrol_store_log(cvq_enrol_store *s, const char *guid, const char *action,
                    const char *detail)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || !guid || !action)
		return CVQ_ENROL_ERR_ARG;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO enrol_log (ts, guid, action, detail) "
	                       "VALUES (?, lower(?), ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return CVQ_ENROL_ERR_STORE;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_text(st, 2, guid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, detail ? detail : "", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_ENROL_OK : CVQ_ENROL_ERR_STORE;
}

cvq_enrol_err
cvq_enrol_store_list(cvq_enrol_store *s, const char *holder, const char *state,
                     cvq_enrol_rec_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct cvq_enrol_rec r;
	int rc;

	if (!s || !cb)
		return CVQ_ENROL_ERR_ARG;
	if (sqlite3_prepare_v2(s->db, "SELECT " REC_COLS " FROM enrol_cards "
	                       "WHERE (?1 IS NULL OR holder = ?1) AND (?2 IS NULL OR state = ?2) "
	                       "ORDER BY started, guid", -1, &st, NULL) != SQLITE_OK)
		return CVQ_ENROL_ERR_STORE;
	if (holder)
		sqlite3_bind_text(st, 1, holder, -1, SQLITE_TRANSIENT);
	if (state)
		sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_rec(st, &r);
		rc = cb(ctx, &r);
		OPENSSL_cleanse(&r, sizeof(r));
		if (rc)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW || rc > 0 ? CVQ_ENROL_OK : CVQ_ENROL_ERR_STORE;
}

cvq_enrol_err
cvq_enrol_store_log_list(cvq_enrol_store *s, const char *guid, cvq_enrol_log_cb cb, void *ctx)
{
	struct cvq_enrol_log_entry e;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || !cb)
		return CVQ_ENROL_ERR_ARG;
	if (sqlite3_prepare_v2(s->db, "SELECT id, ts, guid, action, detail FROM enrol_log "
	                       "WHERE (?1 IS NULL OR guid = lower(?1)) ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK)
		return CVQ_ENROL_ERR_STORE;
	if (guid)
		sqlite3_bind_text(st, 1, guid, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e.id = sqlite3_column_int64(st, 0);
		e.ts = sqlite3_column_int64(st, 1);
		copy_text(e.guid, sizeof(e.guid), st, 2);
		copy_text(e.action, sizeof(e.action), st, 3);
		copy_text(e.detail, sizeof(e.detail), st, 4);
		if (cb(ctx, &e))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? CVQ_ENROL_OK : CVQ_ENROL_ERR_STORE;
}
