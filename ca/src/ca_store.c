/*
 * libcvqca — the SQLite store: opening (WAL, foreign keys, busy timeout),
 * schema migrations by PRAGMA user_version, transactions, error mapping.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include <cvq/util.h>

#include "ca_int.h"

/*
 * Migration i takes the schema from version i to i+1. Append only: a
 * released migration never changes.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE citizens ("
	"  id INTEGER PRIMARY KEY,"
	"  ext_id TEXT NOT NULL UNIQUE,"
	"  given_name TEXT NOT NULL,"
	"  family_name TEXT NOT NULL,"
	"  email TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE cards ("
	"  id INTEGER PRIMARY KEY,"
	"  guid TEXT NOT NULL UNIQUE CHECK (length(guid) = 32),"
	"  citizen_id INTEGER NOT NULL REFERENCES citizens(id),"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  updated INTEGER NOT NULL);"
	"CREATE INDEX cards_citizen ON cards(citizen_id);"
	"CREATE TABLE certs ("
	"  id INTEGER PRIMARY KEY,"
	"  serial TEXT NOT NULL UNIQUE,"
	"  card_id INTEGER REFERENCES cards(id),"
	"  profile INTEGER NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  issued INTEGER NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  revoked_at INTEGER NOT NULL DEFAULT 0,"
	"  reason INTEGER NOT NULL DEFAULT -1,"
	"  invalidity INTEGER NOT NULL DEFAULT 0,"
	"  sha256 BLOB NOT NULL UNIQUE,"
	"  der BLOB NOT NULL);"
	"CREATE INDEX certs_card ON certs(card_id);"
	/* Covers the CRL query: the rows' DER is never read for a CRL. */
	"CREATE INDEX certs_revoked ON certs(not_after, serial, revoked_at, reason, invalidity)"
	"  WHERE status = 1;"
	"CREATE TABLE crls ("
	"  number INTEGER PRIMARY KEY,"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL,"
	"  entries INTEGER NOT NULL,"
	"  der BLOB NOT NULL);"
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  object TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  prev BLOB NOT NULL,"
	"  hash BLOB NOT NULL);"
	"CREATE TABLE audit_heads ("
	"  seq INTEGER PRIMARY KEY,"
	"  hash BLOB NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  sig BLOB NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int64_t
ca_now(void)
{
	return (int64_t)time(NULL);
}

cvq_ca_err
ca_store_err(sqlite3 *db, int rc)
{
	/* An I/O error is often a full disk or a read-only mount underneath. */
	if (db && (rc & 0xff) == SQLITE_IOERR) {
		if (sqlite3_system_errno(db) == ENOSPC)
			return CVQ_CA_ERR_FULL;
		if (sqlite3_system_errno(db) == EROFS)
			return CVQ_CA_ERR_READONLY;
	}
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return CVQ_CA_OK;
	case SQLITE_NOMEM: return CVQ_CA_ERR_NOMEM;
	case SQLITE_FULL: return CVQ_CA_ERR_FULL;
	case SQLITE_READONLY: return CVQ_CA_ERR_READONLY;
	case SQLITE_CONSTRAINT: return CVQ_CA_ERR_EXISTS;
	case SQLITE_CANTOPEN: return CVQ_CA_ERR_IO;
	default: return CVQ_CA_ERR_STORE;
	}
}

cvq_ca_err
ca_sql_fail(cvq_ca *ca, int rc, const char *what)
{
	return ca_fail(ca, ca_store_err(ca->db, rc), "%s: %s", what,
	               ca->db ? sqlite3_errmsg(ca->db) : sqlite3_errstr(rc));
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static cvq_ca_err
migrate(sqlite3 *db, char *msg, size_t msg_len)
{
	sqlite3_stmt *st = NULL;
	int rc, v;
	char sql[48];

	/* Up to date: no write transaction (and no fsync) on every open. */
	if (user_version(db) == SCHEMA_VERSION)
		return CVQ_CA_OK;
	rc = exec(db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (v > SCHEMA_VERSION) {
		exec(db, "ROLLBACK");
		snprintf(msg, msg_len, "store schema %d is newer than %d", v, SCHEMA_VERSION);
		return CVQ_CA_ERR_SCHEMA;
	}
	for (; v < SCHEMA_VERSION; v++) {
		rc = exec(db, migrations[v]);
		if (rc != SQLITE_OK)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	rc = exec(db, sql);
	if (rc != SQLITE_OK)
		goto fail;
	rc = exec(db, "COMMIT");
	if (rc != SQLITE_OK)
		goto fail;
	return CVQ_CA_OK;
fail:
	snprintf(msg, msg_len, "store migration: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	exec(db, "ROLLBACK");
	return ca_store_err(db, rc);
}

cvq_ca_err
ca_store_open(const char *path, bool readonly, bool create, sqlite3 **out,
              char *msg, size_t msg_len)
{
	return ca_store_open_sync(path, readonly, create, true, out, msg, msg_len);
}

cvq_ca_err
ca_store_open_sync(const char *path, bool readonly, bool create, bool full_sync,
                   sqlite3 **out, char *msg, size_t msg_len)
{
	sqlite3 *db = NULL;
	cvq_ca_err err;
	int flags, rc;

	*out = NULL;
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (create && !readonly)
		flags |= SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	/* Names, e-mails, sealed PUKs: 0600 whatever the umask, and a store
	 * open to others is refused (docs/files.md). A group may be given. */
	switch (cvq_util_db_prepare(path, CA_STORE_MODE, CA_STORE_MODE_MAX, create && !readonly, false,
	                            msg, msg_len)) {
	case CVQ_UTIL_OK: break;
	case CVQ_UTIL_ERR_MODE: err = CVQ_CA_ERR_PERM; goto fail;
	default: err = CVQ_CA_ERR_IO; goto fail;
	}
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(msg, msg_len, "cannot open store %s: %s", path,
		         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		err = ca_store_err(db, rc);
		goto fail;
	}
	/* WAL needs its -wal and -shm files beside the store: on a read-only
	 * file or mount, say so plainly instead of "unable to open". */
	if (!readonly && access(path, W_OK) != 0 && (errno == EROFS || errno == EACCES)) {
		snprintf(msg, msg_len, "store %s is read-only", path);
		err = CVQ_CA_ERR_READONLY;
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 10000);
	/* WAL: readers (OCSP) never wait for the writer. synchronous=FULL:
	 * a committed certificate survives a power cut; NORMAL (by choice,
	 * docs/ca.md) survives a crash of the process but not of the machine. */
	if (!readonly) {
		rc = exec(db, "PRAGMA journal_mode=WAL");
		if (rc == SQLITE_OK)
			rc = exec(db, full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
	}
	if (rc == SQLITE_OK)
		rc = exec(db, "PRAGMA foreign_keys=ON");
	/* A batch's dirty pages stay in memory until its commit. */
	if (rc == SQLITE_OK)
		rc = exec(db, "PRAGMA cache_size=-32768");
	if (rc != SQLITE_OK) {
		err = ca_store_err(db, rc);
		if (err == CVQ_CA_ERR_IO)
			err = CVQ_CA_ERR_STORE;
		snprintf(msg, msg_len, "store %s: %s%s%s", path, sqlite3_errmsg(db),
		         err == CVQ_CA_ERR_FULL || err == CVQ_CA_ERR_READONLY ? ": " : "",
		         err == CVQ_CA_ERR_FULL || err == CVQ_CA_ERR_READONLY ? cvq_ca_strerror(err) : "");
		goto fail;
	}
	if (!readonly) {
		err = migrate(db, msg, msg_len);
		if (err != CVQ_CA_OK)
			goto fail;
	}
	*out = db;
	return CVQ_CA_OK;
fail:
	sqlite3_close(db);
	return err == CVQ_CA_OK ? CVQ_CA_ERR_STORE : err;
}

static const char *const stmt_sql[CA_STMT__COUNT] = {
	[CA_STMT_CERT_INSERT] = "INSERT INTO certs(serial, card_id, profile, subject, not_before,"
	                        " not_after, issued, sha256, der) VALUES (?,?,?,?,?,?,?,?,?)",
	[CA_STMT_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
	[CA_STMT_AUDIT_INSERT] = "INSERT INTO audit(seq, ts, actor, action, object, detail, prev, hash)"
	                         " VALUES (?,?,?,?,?,?,?,?)",
};

sqlite3_stmt *
ca_stmt(cvq_ca *ca, enum ca_stmt_id id)
{
	sqlite3_stmt *st = ca->st[id];

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(ca->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		ca_fail(ca, CVQ_CA_ERR_STORE, "prepare: %s", sqlite3_errmsg(ca->db));
		return NULL;
	}
	ca->st[id] = st;
	return st;
}

cvq_ca_err
ca_tx_begin(cvq_ca *ca)
{
	int rc;

	ca->audit_tail.valid = false;
	rc = exec(ca->db, "BEGIN IMMEDIATE");

	return rc == SQLITE_OK ? CVQ_CA_OK : ca_sql_fail(ca, rc, "begin");
}

cvq_ca_err
ca_tx_commit(cvq_ca *ca)
{
	int rc;

	ca->audit_tail.valid = false;
	rc = exec(ca->db, "COMMIT");
	if (rc == SQLITE_OK)
		return CVQ_CA_OK;
	rc = ca_sql_fail(ca, rc, "commit");
	ca_tx_rollback(ca);
	return (cvq_ca_err)rc;
}

void
ca_tx_rollback(cvq_ca *ca)
{
	ca->audit_tail.valid = false;
	if (!sqlite3_get_autocommit(ca->db))
		exec(ca->db, "ROLLBACK");
}
