/*
 * libcvqca — the store's generation for the OCSP cache: PRAGMA data_version
 * of a connection of our own, which changes with every commit made through
 * any other connection, in any process. One read transaction per call (two
 * fcntl() locks on the -shm and a stat(): a third of a kept-alive answer's
 * CPU, docs/bench-ca.md).
 *
 * Not done, and why: reading the WAL-index header from the -shm file and
 * skipping the PRAGMA while it is unchanged. Mapping it through a file
 * descriptor of our own is wrong: closing that descriptor drops every POSIX
 * lock the process holds on the file, SQLite's included, and the next
 * process to open the store truncates the -shm under our feet (SIGBUS,
 * seen under load). Borrowing SQLite's own mapping (xShmMap) would go
 * blind, and answer stale, if the store ever left WAL mode.
 */
#include <pthread.h>
#include <stdlib.h>

#include "ca_int.h"
#include "ca_ocsp_int.h"

struct ocsp_gen {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *st;
};

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
	err = ca_store_open(db_path, false, false, &g->db, msg, sizeof(msg));
	if (err != CVQ_CA_OK)
		goto fail;
	sqlite3_exec(g->db, "PRAGMA query_only=1", NULL, NULL, NULL);
	err = CVQ_CA_ERR_STORE;
	if (sqlite3_prepare_v3(g->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &g->st,
	                       NULL) != SQLITE_OK)
		goto fail;
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
	sqlite3_finalize(g->st);
	sqlite3_close(g->db);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

int64_t
ocsp_gen_now(struct ocsp_gen *g)
{
	int64_t v = -2;

	pthread_mutex_lock(&g->mu);
	if (sqlite3_step(g->st) == SQLITE_ROW)
		v = sqlite3_column_int64(g->st, 0);
	sqlite3_reset(g->st);
	pthread_mutex_unlock(&g->mu);
	return v;
}
