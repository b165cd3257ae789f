/*
 * Output files that are whole or absent (cert issue --out/--out-dir, crl
 * issue --out, card lost --crl): written under a temporary name in the same
 * directory, renamed over the final name only once complete. A kill -9, a
 * full disk or a write error leaves the final name as it was (absent, or
 * the previous version), never empty or cut short. No fsync: what is lost
 * in a power cut is still in the store (cert show --pem, crl latest).
 */
#ifndef CVQ_ADMIN_OUT_FILE_H
#define CVQ_ADMIN_OUT_FILE_H

#include <stdio.h>

struct cvq_admin_out {
	FILE *f;           /* write here between open and commit */
	char path[4096];
	char tmp[4200];
};

/* 0, or -1 with errno (no file left behind). Mode 0644 (public data). */
int cvq_admin_out_open(struct cvq_admin_out *o, const char *path);
/* Close and rename into place: 0, or -1 with the temporary file removed. */
__attribute__((warn_unused_result))
int cvq_admin_out_commit(struct cvq_admin_out *o);
/* Close and remove the temporary file; the final name is untouched. */
void cvq_admin_out_abort(struct cvq_admin_out *o);

#endif
