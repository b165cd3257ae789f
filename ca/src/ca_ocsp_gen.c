/*
 * libcvqca — the store's generation for the OCSP cache: PRAGMA data_version
 * of a connection of our own, which changes with every commit made through
 * any other connection, in any process.
 *
 * Reading it starts a read transaction: two fcntl() locks and a stat() per
 * request, a tenth of a cached answer's cost. In WAL mode every commit
 * rewrites the WAL-index header at the start of the -shm file that all
 * connections map (https://www.sqlite.org/walformat.html, "The WAL-Index
 * Header": iChange, mxFrame, salts and checksum change with each commit).
 * So when its first 48 bytes are what they were at the last PRAGMA, nothing
 * was committed since, and the PRAGMA is skipped; any difference, a torn
 * read included, falls back to the PRAGMA. Without a -shm file (not WAL,
 * another VFS), every call is a PRAGMA.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_int.h"
#include "ca_ocsp_int.h"

#define HDR 48

struct ocsp_gen {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *st;
	const volatile uint32_t *shm;   /* read-only view of the WAL-index header */
	size_t shm_len;
	uint32_t seen[HDR / 4];         /* the header at the last PRAGMA */
	int64_t gen;                    /* -1: no PRAGMA yet */
};

static void
read_hdr(const struct ocsp_gen *g, uint32_t out[HDR / 4])
{
	size_t i;

	for (i = 0; i < HDR / 4; i++)
		out[i] = g->shm[i];
	/* The header before anything read after: pairs with the writer's
	 * barrier between its frames and the header. */
	atomic_thread_fence(memory_order_acquire);
}

cvq_ca_err
ocsp_gen_open(const char *db_path, struct ocsp_gen **out)
{
	struct ocsp_gen *g = calloc(1, sizeof(*g));
	char msg[256], *shm = NULL;
	const char *mode;
	sqlite3_stmt *jm = NULL;
	struct stat sb;
	cvq_ca_err err;
	void *p;
	int fd;

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
	/* Once, so the -shm exists and stays mapped by this connection. */
	ocsp_gen_now(g);
	if (sqlite3_prepare_v2(g->db, "PRAGMA journal_mode", -1, &jm, NULL) == SQLITE_OK &&
	    sqlite3_step(jm) == SQLITE_ROW && (mode = (const char *)sqlite3_column_text(jm, 0)) &&
	    strcmp(mode, "wal") == 0 && (shm = malloc(strlen(db_path) + 5)) != NULL) {
		snprintf(shm, strlen(db_path) + 5, "%s-shm", db_path);
		fd = open(shm, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size >= HDR) {
			p = mmap(NULL, HDR, PROT_READ, MAP_SHARED, fd, 0);
			if (p != MAP_FAILED) {
				g->shm = p;
				g->shm_len = HDR;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	free(shm);
	sqlite3_finalize(jm);
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
	if (g->shm)
		munmap((void *)g->shm, g->shm_len);
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

	if (g->shm)
		read_hdr(g, hdr);
	pthread_mutex_lock(&g->mu);
	if (g->shm && g->gen >= 0 && memcmp(hdr, g->seen, sizeof(hdr)) == 0) {
		v = g->gen;
		goto out;
	}
	/* The header was read before the PRAGMA: a commit in between shows
	 * as a different header next time, never as a missed one. */
	if (sqlite3_step(g->st) == SQLITE_ROW)
		v = sqlite3_column_int64(g->st, 0);
	sqlite3_reset(g->st);
	if (v >= 0 && g->shm)
		memcpy(g->seen, hdr, sizeof(hdr));
	g->gen = v;
out:
	pthread_mutex_unlock(&g->mu);
	return v;
}
