/*
 * libcvqcades — the signing side of evidence (docs/layout.md): CAdES
 * (ETSI EN 319 122-1) signatures made around a key this library never
 * holds (a card, a token), and their signature timestamps (RFC 3161).
 *
 *   B-B: an attached CMS SignedData whose signed attributes are
 *        contentType, signingTime, messageDigest and signingCertificateV2
 *        (ESSCertIDv2, SHA-256, with issuerSerial), built by
 *        cvq_cades_sign() and signed by a callback.
 *   B-T: the same with a signature-timestamp-token unsigned attribute
 *        (id-aa-signatureTimeStampToken) over the signature value,
 *        added by cvq_cades_add_timestamp() from a TSA's answer, or in
 *        one call by cvq_cades_timestamp() (request, HTTP, checks).
 *
 * Thread-safe: no state outside the arguments.
 */
#ifndef CVQ_CADES_H
#define CVQ_CADES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include <cvq/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_cades_err {
	CVQ_CADES_OK = 0,
	CVQ_CADES_ERR_ARG,        /* invalid argument */
	CVQ_CADES_ERR_NOMEM,      /* out of memory */
	CVQ_CADES_ERR_CRYPTO,     /* an OpenSSL operation failed */
	CVQ_CADES_ERR_SIGNER,     /* the signing callback failed */
	CVQ_CADES_ERR_FORMAT,     /* not a one-signer CMS SignedData */
	CVQ_CADES_ERR_NET,        /* the TSA could not be reached or timed out */
	CVQ_CADES_ERR_HTTP,       /* the TSA answered, but not with a timestamp reply */
	CVQ_CADES_ERR_TSA_REFUSED, /* the TSA's status is not granted */
	CVQ_CADES_ERR_TSA_TOKEN,  /* the token does not match the request or does not verify */
	CVQ_CADES_ERR__COUNT
} cvq_cades_err;

CVQ_EXPORT const char *cvq_cades_strerror(cvq_cades_err err);

/*
 * Sign `tbs` (the DER SET OF signed attributes) whose SHA-256 is
 * `digest`. The signature goes to sig in its final X.509 form (DER
 * ECDSA-Sig-Value, or PKCS#1 v1.5); *siglen is its capacity on entry.
 * Return 0 on success; anything else stops the signature
 * (CVQ_CADES_ERR_SIGNER), the callback keeping its own reason in arg.
 */
typedef int (*cvq_cades_sign_fn)(void *arg, const uint8_t *tbs, size_t tbs_len,
                                 const uint8_t *digest, size_t digest_len,
                                 uint8_t *sig, size_t *siglen);

struct cvq_cades_sign_params {
	const uint8_t *content;   /* the signed bytes, attached as eContent (id-data) */
	size_t content_len;
	X509 *signer;             /* the certificate of the key that signs */
	STACK_OF(X509) *certs;    /* more certificates to carry (chain), or NULL */
	time_t signing_time;      /* the signer's claim (signingTime) */
	cvq_cades_sign_fn sign;
	void *arg;
	unsigned flags;           /* CVQ_CADES_* below, 0 for a receipt */
};

/* The content is hashed but not carried (eContent absent): a detached
 * signature, as PAdES (ETSI.CAdES.detached) and .p7s files want. */
#define CVQ_CADES_DETACHED 0x1u
/* No signingTime attribute: PAdES puts the claimed time in the signature
 * dictionary's /M instead (EN 319 142-1, 5.3). */
#define CVQ_CADES_NO_SIGNING_TIME 0x2u

/* A B-B signature as DER in *der (free() it). */
CVQ_EXPORT cvq_cades_err cvq_cades_sign(const struct cvq_cades_sign_params *p,
                                        uint8_t **der, size_t *der_len);

/*
 * An RFC 3161 TimeStampReq for the signature value of the one signer of
 * `sig` (SHA-256 imprint, a fresh 64-bit nonce, certReq TRUE, policy
 * when not NULL) as DER in *req (free() it).
 */
CVQ_EXPORT cvq_cades_err cvq_cades_ts_request(const uint8_t *sig, size_t sig_len,
                                              const char *policy_oid,
                                              uint8_t **req, size_t *req_len);

/*
 * POST a TimeStampReq to an http:// URL (RFC 3161 section 3.4) through
 * OSSL_HTTP_transfer: connecting, sending and reading all within
 * timeout_s seconds (0: 10), the answer at most 64 KiB, its content type
 * application/timestamp-reply, never through a proxy (http_proxy is
 * ignored). *resp is free()d by the caller.
 */
CVQ_EXPORT cvq_cades_err cvq_cades_ts_fetch(const char *url, const uint8_t *req, size_t req_len,
                                            unsigned timeout_s, uint8_t **resp, size_t *resp_len);

/*
 * Check a TimeStampResp against its request (granted, version, imprint,
 * nonce, policy if asked) and, when `tsa_trust` is not NULL, the token's
 * signature and the TSA certificate's chain to it (EKU timeStamping);
 * then add the token to `sig` as its signature timestamp: the B-T
 * signature in *out (free() it). *gen_time (may be NULL) is the token's
 * genTime.
 */
CVQ_EXPORT cvq_cades_err cvq_cades_add_timestamp(const uint8_t *sig, size_t sig_len,
                                                 const uint8_t *req, size_t req_len,
                                                 const uint8_t *resp, size_t resp_len,
                                                 X509_STORE *tsa_trust,
                                                 uint8_t **out, size_t *out_len,
                                                 time_t *gen_time);

struct cvq_cades_tsa {
	const char *url;          /* http://host:port/path */
	const char *policy_oid;   /* asked for, or NULL: the TSA's default */
	unsigned timeout_s;       /* the whole exchange (0: 10) */
	X509_STORE *trust;        /* anchors of the TSA certificate, or NULL */
};

/* Request, fetch and add: B-B in, B-T out (free() it). */
CVQ_EXPORT cvq_cades_err cvq_cades_timestamp(const uint8_t *sig, size_t sig_len,
                                             const struct cvq_cades_tsa *tsa,
                                             uint8_t **out, size_t *out_len,
                                             time_t *gen_time);

#ifdef __cplusplus
}
#endif
#endif
