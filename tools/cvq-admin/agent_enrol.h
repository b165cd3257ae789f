/*
 * cvq-admin — the enrolment service inside the CA's issuing agent (issue
 * #13 part 4): the agent's extension (cvq_ca_agent_ext_fn) that answers
 * the enrolment ops of agent_enrol_msg.h for counters that hold neither
 * the CA's store, nor the master secret, nor the PIV content signer's key.
 * `ca-agent start` loads those secrets here; each op checks the caller's
 * role and the card's record before it touches them, and audits under the
 * caller's name (docs/enrolment.md, "Counters away from the CA").
 */
#ifndef CVQ_ADMIN_AGENT_ENROL_H
#define CVQ_ADMIN_AGENT_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/ca.h>
#include <cvq/enrol.h>

struct cvq_admin_enrol_svc {
	uint8_t master[CVQ_ENROL_MASTER_MAX];
	size_t master_len;             /* 0: no master secret (its ops refused) */
	X509 *cs_cert;                 /* the PIV content signer, or NULL */
	EVP_PKEY *cs_key;
};

/* Where the secrets are; NULL: the default beside the CA configuration
 * ([enrol] master_key, else master.key; content-signer.key / .pem), which
 * may be absent (the ops that need it are then refused). A file named
 * here must exist. */
struct cvq_admin_enrol_svc_opts {
	const char *master_file;
	const char *cs_key;
	const char *cs_cert;
};

/* Load them: files of mode 0600 or stricter for the secrets, a content
 * signer whose key matches its unexpired certificate. false: why[] says.
 * true with why[] set: the default content signer is unusable (expired,
 * not matching) and left out, a warning. */
bool cvq_admin_enrol_svc_load(struct cvq_admin_enrol_svc *s, const struct cvq_ca_config *cfg,
                              const struct cvq_admin_enrol_svc_opts *o, char *why,
                              size_t why_len);
/* Wipe and free what load kept. */
void cvq_admin_enrol_svc_clear(struct cvq_admin_enrol_svc *s);

/* The extension (ctx: struct cvq_admin_enrol_svc *). */
cvq_ca_err cvq_admin_enrol_svc_ext(void *ctx, cvq_ca *ca, const uint8_t *body, size_t len,
                                   uint8_t **payload, size_t *payload_len, char *why,
                                   size_t why_len);

#endif
