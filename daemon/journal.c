#include "journal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cvq/util.h>

#include "log.h"

struct cvqd_journal {
	sqlite3 *db;
	sqlite3_stmt *ins;
	sqlite3_stmt *ins_seal;
	pthread_mutex_t lock;   /* one statement, many request threads */
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS journal ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time TEXT NOT NULL,"           /* RFC 3339 UTC */
	" uid INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" op TEXT NOT NULL,"
	" card TEXT NOT NULL,"
	" reader TEXT NOT NULL,"
	" digest TEXT,"                  /* hex SHA-256 of the signed bytes */
	" result TEXT NOT NULL);"
	/* The city's seal (#14): what came in, what went out, for whom. */
	"CREATE TABLE IF NOT EXISTS seal ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time TEXT NOT NULL,"
	" uid INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" filename TEXT,"
	" format TEXT NOT NULL,"
	" level TEXT,"
	" in_sha256 TEXT NOT NULL,"
	" out_sha256 TEXT,"
	" result TEXT NOT NULL);";

cvqd_journal *cvqd_journal_open(const char *path, char *err, size_t errlen)
{
	cvqd_journal *j = calloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Who paid what, when: 0600 whatever the umask (so are its -wal and
	 * -shm); a journal open to others is refused (docs/files.md). */
	if (cvq_util_db_prepare(path, 0600, 0640, true, false, err, errlen) != CVQ_UTIL_OK) {
		free(j);
		return NULL;
	}
	if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(j->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(j->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(j->db,
	        "INSERT INTO journal(time,uid,pid,op,card,reader,digest,result)"
	        " VALUES(?,?,?,?,?,?,?,?)", -1, &j->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(j->db,
	        "INSERT INTO seal(time,uid,pid,type,filename,format,level,in_sha256,out_sha256,result)"
	        " VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &j->ins_seal, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, j->db ? sqlite3_errmsg(j->db) : "cannot open");
		sqlite3_finalize(j->ins);
		sqlite3_finalize(j->ins_seal);
		sqlite3_close(j->db);
		free(j);
		return NULL;
	}
	pthread_mutex_init(&j->lock, NULL);
	return j;
}

void cvqd_journal_close(cvqd_journal *j)
{
	if (!j)
		return;
	sqlite3_finalize(j->ins);
	sqlite3_finalize(j->ins_seal);
	sqlite3_close(j->db);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

int cvqd_journal_add(cvqd_journal *j, const cvqd_journal_entry *e)
{
	char ts[32], hex[65];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (e->digest)
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", e->digest[i]);
	pthread_mutex_lock(&j->lock);
	sqlite3_reset(j->ins);
	sqlite3_bind_text(j->ins, 1, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(j->ins, 2, (sqlite3_int64)e->uid);
	sqlite3_bind_int64(j->ins, 3, (sqlite3_int64)e->pid);
	sqlite3_bind_text(j->ins, 4, e->op, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(j->ins, 5, e->card ? e->card : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(j->ins, 6, e->reader ? e->reader : "", -1, SQLITE_TRANSIENT);
	if (e->digest)
		sqlite3_bind_text(j->ins, 7, hex, 64, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(j->ins, 7);
	sqlite3_bind_text(j->ins, 8, e->result, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(j->ins);
	if (rc != SQLITE_DONE)
		cvqd_error("journal: %s", sqlite3_errmsg(j->db));
	sqlite3_reset(j->ins);
	pthread_mutex_unlock(&j->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void hex32(const uint8_t *d, char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

int cvqd_journal_add_seal(cvqd_journal *j, const cvqd_journal_seal *e)
{
	char ts[32], in[65], out[65];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	hex32(e->in_sha256, in);
	if (e->out_sha256)
		hex32(e->out_sha256, out);
	pthread_mutex_lock(&j->lock);
	sqlite3_stmt *st = j->ins_seal;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, ts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)e->uid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)e->pid);
	sqlite3_bind_text(st, 4, e->type, -1, SQLITE_TRANSIENT);
	if (e->filename)
		sqlite3_bind_text(st, 5, e->filename, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, e->format, -1, SQLITE_TRANSIENT);
	if (e->level)
		sqlite3_bind_text(st, 7, e->level, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_text(st, 8, in, 64, SQLITE_TRANSIENT);
	if (e->out_sha256)
		sqlite3_bind_text(st, 9, out, 64, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_text(st, 10, e->result, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		cvqd_error("journal: %s", sqlite3_errmsg(j->db));
	sqlite3_reset(st);
	pthread_mutex_unlock(&j->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}
