/*
 * libcvqca — the city's timestamp authority (RFC 3161), served by the CA's
 * public service beside OCSP (ca_http.h).
 *
 * Requests and responses are those of `openssl ts`: SHA-256/384/512
 * imprints, the nonce echoed, the policy asked for if it is ours (else
 * unacceptedPolicy), the accuracy of [tsa] accuracy_ms, the TSA
 * certificate in the token when certReq is set. Every token granted is
 * first committed to the CA's audit chain ("tsa.stamp", object: the
 * token's serial; detail: genTime, policy, imprint, SHA-256 of the token)
 * and only then returned: a crash between the two loses a token nobody
 * received, never an audit entry of one that was.
 *
 * Thread-safe: tokens are signed in parallel (serialised for a token
 * key), audit entries committed one transaction at a time.
 */
#ifndef CVQ_CA_TSA_H
#define CVQ_CA_TSA_H

#include <cvq/export.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cvq/ca.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvq_ca_tsa cvq_ca_tsa;

/*
 * Load the TSA key and certificate of cfg's [tsa] section (key: a file or
 * a pkcs11: URI; pass overrides its passphrase / PIN source, else
 * [tsa] pass, else the CA's) and open the store read-write for the audit
 * entries (without the CA key). CVQ_CA_ERR_CONFIG when there is no [tsa].
 */
CVQ_EXPORT cvq_ca_err cvq_ca_tsa_new(const struct cvq_ca_config *cfg, const char *pass,
                          cvq_ca_tsa **out, char *why, size_t why_len);
CVQ_EXPORT void cvq_ca_tsa_free(cvq_ca_tsa *t);

struct cvq_ca_tsa_answer {
	int status;          /* PKIStatus: 0 granted, 2 rejection */
	char serial[67];     /* of the token (hex), empty unless granted */
	time_t gen_time;
};

/*
 * Answer one DER TimeStampReq. Returns OK with a TimeStampResp (granted
 * or a rejection with its failInfo) in *resp (OPENSSL_free it);
 * CVQ_CA_ERR_AUDIT/STORE when a token was made but its audit entry could
 * not be committed (nothing is returned then). ans may be NULL.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_tsa_respond(cvq_ca_tsa *t, const uint8_t *req, size_t req_len,
                              uint8_t **resp, size_t *resp_len,
                              struct cvq_ca_tsa_answer *ans);

/*
 * The strict parse of a request done before any signing: one whole DER
 * TimeStampReq, version 1, a SHA-256/384/512 imprint of its length and
 * no extensions. CVQ_CA_ERR_REQUEST otherwise (why: the reason).
 */
CVQ_EXPORT cvq_ca_err cvq_ca_tsa_check_request(const uint8_t *req, size_t req_len,
                                    char *why, size_t why_len);

struct cvq_ca_tsa_init_opts {
	const char *subject;  /* NULL: the CA's subject with CN=<ca CN> TSA */
	const char *alg;      /* "ec-p256" (default), "ec-p384", "rsa-3072" */
	bool token_generate;  /* [tsa] key is pkcs11: make the pair on the token now;
	                         else a token key must exist already */
	unsigned days;        /* 0: [days] tsa */
	char *why;
	size_t why_len;
	int64_t *request_id;  /* out: the request for the TSA certificate */
};

/*
 * Make the TSA's key at cfg->tsa_key (an encrypted PEM, mode 0600, from
 * `pass` or [tsa] pass, or a token key) and ask for its certificate: a
 * request of profile tsa by ca's caller (an officer: request.submit in
 * the audit), a CSR signed by the new key. Nothing is certified yet:
 * [dual] approvals other officers approve the request
 * (cvq_ca_request_approve), then cvq_ca_tsa_finish. ca needs no key
 * (CVQ_CA_OPEN_NOKEY is enough). Refuses to overwrite the key or the
 * certificate; on failure no key file is left.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_tsa_init(cvq_ca *ca, const struct cvq_ca_config *cfg, const char *pass,
                           const struct cvq_ca_tsa_init_opts *opts);

/*
 * The certificate of request_id, once issued, written to cfg->tsa_cert
 * (audited tsa.init): the TSA key is loaded (`pass` or [tsa] pass) and
 * must be the certificate's. CVQ_CA_ERR_POLICY while the request is
 * pending or if it was rejected, CVQ_CA_ERR_KEY when it is not for this
 * key; why[] says which.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_tsa_finish(cvq_ca *ca, const struct cvq_ca_config *cfg, const char *pass,
                                        int64_t request_id, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif
#endif
