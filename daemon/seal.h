/*
 * cvqd — the city's seal on documents (issue #14): POST /v1/seal. The
 * portal backend sends a document over the local socket and gets back a
 * sealed copy (PAdES for a PDF, a detached CAdES .p7s otherwise) made by
 * libcvqdoc with the seal key opened once at start. Only [seal]'s callers
 * may; every seal, done or refused after the body was read, is a row of
 * the journal's "seal" table. docs/api.md "POST /v1/seal".
 */
#ifndef CVQD_SEAL_H
#define CVQD_SEAL_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "http.h"

struct cvqd;
typedef struct cvqd_seal cvqd_seal;

/*
 * Open the seal key (a wrong PIN stops cvqd here), check it against the
 * certificate, load the chain and the TSA's anchors, check the CRL files
 * can be read. NULL with a reason in err.
 */
cvqd_seal *cvqd_seal_start(const cvqd_config *cfg, char *err, size_t errlen);
void cvqd_seal_free(cvqd_seal *s);

/*
 * At the headers, before any body byte: for /v1/seal, CVQD_ERR_SEAL_OFF
 * without [seal], CVQD_ERR_FORBIDDEN for a caller [seal] does not allow,
 * else *max_body is raised to what a max_document PDF needs in base64.
 * CVQD_OK for every other path, *max_body untouched.
 */
cvqd_err cvqd_seal_admit(const struct cvqd *d, const char *path, uid_t uid, gid_t gid,
                         size_t *max_body);

/* The body of /v1/seal (its members, type and filename checked): 0, or -1
 * with the refused field and reason. Separate for the fuzz target. */
struct cvqd_seal_request {
	const char *document_b64;
	size_t document_b64_len;
	const char *type;
	const char *filename;    /* or NULL */
};
int cvqd_seal_request_parse(json_t *body, struct cvqd_seal_request *q,
                            const char **field, const char **reason);

void cvqd_api_seal(cvqd_req *r);

#endif
