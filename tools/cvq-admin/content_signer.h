/*
 * cvq-admin — the PIV content signer's files beside the CA configuration
 * (enrol_content.c), shared by the in-process issuer, which loads them,
 * and `card content-signer` (cmd_content_signer.c), which makes them
 * under two-person control (docs/ca.md "Two-person control"):
 *   content-signer.key      its key (PEM, 0600)
 *   content-signer.pem      its certificate (0644), once approved
 *   content-signer.request  the id of the request that waits (0644)
 *   content-signer.lock     flock: one maker, and no reader of a half file
 */
#ifndef CVQ_ADMIN_CONTENT_SIGNER_H
#define CVQ_ADMIN_CONTENT_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/ca.h>

struct cvq_admin_cs_files {
	char *key, *cert, *request, *lock;
};

/* The four paths beside cfg's file; -1 (out of memory) frees what it made. */
int cvq_admin_cs_files(const struct cvq_ca_config *cfg, struct cvq_admin_cs_files *f);
void cvq_admin_cs_files_free(struct cvq_admin_cs_files *f);
/* flock(how) on the lock file (made 0600 if absent): the fd, or -1 (why). */
int cvq_admin_cs_lock(const struct cvq_admin_cs_files *f, int how, char *why, size_t why_len);
/*
 * The key (a regular file of mode 0600) and the certificate, which must
 * match and be in force. 0; -1 when the key or the certificate is absent
 * (errno ENOENT); -2 for anything else, why[] saying what.
 */
int cvq_admin_cs_load(const struct cvq_admin_cs_files *f, X509 **cert, EVP_PKEY **key, char *why,
                      size_t why_len);
/* The id in content-signer.request, or 0 when there is none (or it is bad). */
int64_t cvq_admin_cs_pending(const struct cvq_admin_cs_files *f);

#endif
