/*
 * libcvqca — the store's generation for the OCSP cache: PRAGMA data_version
 * of a connection of our own, which changes with every commit made through
 * any other connection, in any process.
 *
 * The PRAGMA is a read transaction: two fcntl() locks on the -shm and a
 * stat(), up to half of a kept-alive answer's CPU (docs/bench-ca.md). In
 * WAL mode every commit
 * rewrites the WAL-index header at the start of the shared memory all
 * connections map (sqlite.org/walformat.html, "The WAL-Index Header":
 * iChange, mxFrame, salts and checksum change with each commit, and a
 * commit is visible to readers only once this first copy is written). So
 * while its first 48 bytes are what they were when the PRAGMA last ran,
 * nothing was committed since and the PRAGMA is skipped; any difference,
 * a torn read included, runs it.
 *
 * The header is read through SQLite's own mapping of our connection
 * (xShmMap of its file), never through a descriptor of ours: closing such a
 * descriptor would drop every POSIX lock the process holds on the file,
 * SQLite's included, and another process would then truncate the -shm
 * (SIGBUS: tests/integration/ca/ca-ocsp-load.sh). The mapping lives as long
 * as the connection; and while a connection is in WAL mode it holds a
 * SHARED lock on the database file, so no process can take the store out
 * of WAL mode (SQLite answers "database is locked") and leave the header
 * stale. Without shared memory (another VFS, not WAL), every call runs the
 * PRAGMA.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ca_int.h"
#include "ca_ocsp_int.h"

#define HDR 48
#define WALINDEX_PGSZ 32768

struct ocsp_gen {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *st;
	const volatile uint32_t *hdr;   /* SQLite's mapping of the WAL-index header */
	uint32_t seen[HDR / 4];         /* the header before the last PRAGMA */
	int64_t gen;                    /* -1: no PRAGMA yet */
};

static void
read_hdr(const struct ocsp_gen *g, uint32_t out[HDR / 4])
{
	size_t i;

	for (i = 0; i < HDR / 4; i++)
		out[i] = g->hdr[i];
	atomic_thread_fence(memory_order_acquire);
}

/* SQLite's mapping of region 0 of the connection's WAL-index, if any. */
static void
map_hdr(struct ocsp_gen *g)
{
	sqlite3_stmt *jm = NULL;
	sqlite3_file *f = NULL;
	const char *mode;
	volatile void *p = NULL;

	if (sqlite3_prepare_v2(g->db, "PRAGMA journal_mode", -1, &jm, NULL) != SQLITE_OK ||
	    sqlite3_step(jm) != SQLITE_ROW || !(mode = (const char *)sqlite3_column_text(jm, 0)) ||
	    strcmp(mode, "wal") != 0)
		goto out;
	/* A read transaction opens the WAL and maps its index. */
	if (ocsp_gen_now(g) < 0)
		goto out;
	if (sqlite3_file_control(g->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap)
		goto out;
	if (f->pMethods->xShmMap(f, 0, WALINDEX_PGSZ, 0, &p) == SQLITE_OK && p)
		g->hdr = (const volatile uint32_t *)p;
out:
	sqlite3_finalize(jm);
}

cvq_ca_err
ocsp_gen_open(const char *db_path, struct ocsp_gen **out)
{
	struct ocsp_gen *g = calloc(1, sizeof(*g));
	char msg[256];
	cvq_ca_err err;

	*out = NULL;
	if (!g)
		return CVQ_CA_ERR_NOMEM;
	pthread_mutex_init(&g->mu, NULL);
	g->gen = -1;
	err = ca_store_open(db_path, false, false, &g->db, msg, sizeof(msg));
	if (err != CVQ_CA_OK)
		goto fail;
	sqlite3_exec(g->db, "PRAGMA query_only=1", NULL, NULL, NULL);
	err = CVQ_CA_ERR_STORE;
	if (sqlite3_prepare_v3(g->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &g->st,
	                       NULL) != SQLITE_OK)
		goto fail;
	map_hdr(g);
	*out = g;
	return CVQ_CA_OK;
fail:
	ocsp_gen_free(g);
	return err;
}

void
ocsp_gen_free(struct ocsp_gen *g)
{
	if (!g)
		return;
	/* The header mapping is SQLite's: it goes with the connection. */
	sqlite3_finalize(g->st);
	sqlite3_close(g->db);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

int64_t
ocsp_gen_now(struct ocsp_gen *g)
{
	uint32_t hdr[HDR / 4];
	int64_t v = -2;

	if (g->hdr)
		read_hdr(g, hdr);
	pthread_mutex_lock(&g->mu);
	if (g->hdr && g->gen >= 0 && memcmp(hdr, g->seen, sizeof(hdr)) == 0) {
		v = g->gen;
		goto out;
	}
	/* The header was read before the PRAGMA: a commit in between shows
	 * as a different header next time, never as a missed one. */
	if (sqlite3_step(g->st) == SQLITE_ROW)
		v = sqlite3_column_int64(g->st, 0);
	sqlite3_reset(g->st);
	if (g->hdr && v >= 0)
		memcpy(g->seen, hdr, sizeof(hdr));
	g->gen = v;
out:
	pthread_mutex_unlock(&g->mu);
	return v;
}
