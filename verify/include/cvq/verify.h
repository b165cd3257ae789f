/*
 * libcvqverify — the relying party's check of a cvq receipt (a CMS
 * SignedData, CAdES B-B or B-T, EN 319 122) with libcrypto only.
 *
 * A receipt is valid when, all at once:
 *   - its one SignerInfo verifies over the content (CMS, signingCertificateV2
 *     when present);
 *   - the signer's certificate is a citizen signature certificate: key usage
 *     digitalSignature and nonRepudiation, EKU emailProtection, not a CA, and
 *     the policy OID the context requires, if any;
 *   - it chains to one of the anchors at the *trusted time*: the genTime of a
 *     valid signature timestamp (its TSA certificate chains to the anchors
 *     with a critical EKU timeStamping and only that, its messageImprint is
 *     the hash of the signature value). Without a timestamp the trusted time
 *     is now; the signer's own signingTime is reported, never trusted;
 *   - revocation, judged now with OpenSSL's CRL machinery (CRL_CHECK_ALL, the
 *     CRLs the context holds) and OCSP for the signer when enabled, does not
 *     condemn it: superseded, cessationOfOperation and affiliationChanged do
 *     not when the trusted time is before the revocation date; keyCompromise
 *     and unspecified do not when it is before the invalidity date; any other
 *     reason, or no timestamp, does.
 *
 * A context is configured once, then used from any number of threads (the
 * OCSP cache inside has its own lock). docs/verify.md is the partners' guide.
 */
#ifndef CVQ_VERIFY_H
#define CVQ_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include <cvq/export.h>
#include <cvq/verify_version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes. Never renumbered: partners store them. */
typedef enum cvq_verify_err {
	CVQ_VERIFY_OK = 0,               /* valid (see cvq_verify_result_cert_status) */
	CVQ_VERIFY_ERR_ARG,              /* invalid argument */
	CVQ_VERIFY_ERR_NOMEM,            /* out of memory */
	CVQ_VERIFY_ERR_IO,               /* a file could not be read or parsed */
	CVQ_VERIFY_ERR_MALFORMED,        /* not a DER CMS SignedData receipt with one signer */
	CVQ_VERIFY_ERR_SIGNATURE,        /* the signature does not verify over the content */
	CVQ_VERIFY_ERR_NOT_SIGNING_CERT, /* the signer's certificate is not a citizen signature one */
	CVQ_VERIFY_ERR_UNTRUSTED,        /* no chain to an anchor */
	CVQ_VERIFY_ERR_EXPIRED,          /* a certificate not valid at the trusted time */
	CVQ_VERIFY_ERR_TIMESTAMP,        /* a timestamp is there but is not valid */
	CVQ_VERIFY_ERR_REVOKED,          /* revoked, and not proven signed before the revocation */
	CVQ_VERIFY_ERR_KEY_COMPROMISED,  /* key compromised (lost, stolen), not proven signed before */
	CVQ_VERIFY_ERR_CA_REVOKED,       /* an issuing CA's certificate is revoked */
	CVQ_VERIFY_ERR_REVOCATION_UNKNOWN, /* no current CRL nor OCSP answer, and one is required */
	CVQ_VERIFY_ERR__COUNT
} cvq_verify_err;

/* Short English description. */
CVQ_EXPORT const char *cvq_verify_strerror(cvq_verify_err e);
/* Stable machine code, e.g. "key_compromised" (for JSON). */
CVQ_EXPORT const char *cvq_verify_code(cvq_verify_err e);
/* One sentence in French for the partner's staff or customer. */
CVQ_EXPORT const char *cvq_verify_sentence_fr(cvq_verify_err e);


/* ---- the context: anchors, CRLs, options ---- */

typedef struct cvq_verify_ctx cvq_verify_ctx;

CVQ_EXPORT cvq_verify_ctx *cvq_verify_ctx_new(void);
CVQ_EXPORT void cvq_verify_ctx_free(cvq_verify_ctx *ctx);

/* Every certificate of a PEM file: anchors (trusted), intermediates (not). */
CVQ_EXPORT cvq_verify_err cvq_verify_add_anchors_file(cvq_verify_ctx *ctx, const char *path);
CVQ_EXPORT cvq_verify_err cvq_verify_add_intermediates_file(cvq_verify_ctx *ctx, const char *path);
CVQ_EXPORT cvq_verify_err cvq_verify_add_anchor(cvq_verify_ctx *ctx, X509 *cert);
CVQ_EXPORT cvq_verify_err cvq_verify_add_intermediate(cvq_verify_ctx *ctx, X509 *cert);
/*
 * A CRL (PEM or DER file, or an object: up-referenced). Its signature is
 * checked by OpenSSL during each verification, against the issuer in the
 * chain; a CRL nobody issued is simply never used.
 */
CVQ_EXPORT cvq_verify_err cvq_verify_add_crl_file(cvq_verify_ctx *ctx, const char *path);
CVQ_EXPORT cvq_verify_err cvq_verify_add_crl(cvq_verify_ctx *ctx, X509_CRL *crl);

/*
 * true (the default): every certificate below the anchor needs a current
 * CRL (or, for the signer, a good OCSP answer); otherwise
 * CVQ_VERIFY_ERR_REVOCATION_UNKNOWN. false: what is not known is good.
 */
CVQ_EXPORT void cvq_verify_set_require_revocation(cvq_verify_ctx *ctx, bool require);
/* The certificate policy OID the signer must carry (dotted), NULL = any. */
CVQ_EXPORT cvq_verify_err cvq_verify_set_policy(cvq_verify_ctx *ctx, const char *oid);
/*
 * OCSP for the signer's certificate: url (plain http) or NULL/"" for the
 * certificate's AIA; each exchange bounded by timeout_s (connect, send,
 * answer; 0 = 5 s); answers kept cache_s seconds at most and never past
 * their nextUpdate (0 = no cache), failures 30 s at most.
 */
CVQ_EXPORT cvq_verify_err cvq_verify_set_ocsp(cvq_verify_ctx *ctx, const char *url,
                                              unsigned timeout_s, unsigned cache_s);

/* ---- verifying ---- */

typedef struct cvq_verify_result cvq_verify_result;

/* Flags for cvq_verify_receipt / cvq_verify_cert. */
#define CVQ_VERIFY_FLAG_OFFLINE 0x1u /* OCSP from the cache only; see _ocsp_pending */

/*
 * Check a DER receipt. The verdict is returned and kept in *out (always
 * set unless the verdict is ERR_ARG or ERR_NOMEM), which also says who
 * signed what, when, and why it was refused. Free with cvq_verify_result_free.
 */
CVQ_EXPORT cvq_verify_err cvq_verify_receipt(cvq_verify_ctx *ctx, const uint8_t *der, size_t len,
                                             unsigned flags, cvq_verify_result **out);

/*
 * Check a certificate alone, at `at` (0 = now): chain, revocation now, and
 * when `signing` the citizen signature profile. For a card about to sign or
 * authenticate. `extra` may help build the chain (NULL).
 */
/*
 * A document's detached CAdES signature (a PAdES /Contents, a .p7s) over
 * `content`: the same rules as a receipt, but the signer must hold the
 * city seal's profile (CVQ_VERIFY_FLAG_SEAL: key usage digitalSignature
 * and nonRepudiation, EKU documentSigning 1.3.6.1.5.5.7.3.36, not a CA)
 * or, without the flag, the citizen-signature profile.
 */
#define CVQ_VERIFY_FLAG_SEAL 0x2u
CVQ_EXPORT cvq_verify_err cvq_verify_detached(cvq_verify_ctx *ctx, const uint8_t *der, size_t len,
                                              const uint8_t *content, size_t content_len,
                                              unsigned flags, cvq_verify_result **out);
CVQ_EXPORT cvq_verify_err cvq_verify_cert(cvq_verify_ctx *ctx, X509 *cert, STACK_OF(X509) *extra,
                                          time_t at, bool signing, unsigned flags,
                                          cvq_verify_result **out);

typedef enum cvq_verify_cert_status {
	CVQ_VERIFY_CERT_GOOD = 0,    /* not revoked (or nothing known and nothing required) */
	CVQ_VERIFY_CERT_REVOKED,     /* revoked: see the time, reason, invalidity date */
	CVQ_VERIFY_CERT_UNKNOWN,     /* not checked or no answer */
} cvq_verify_cert_status;

CVQ_EXPORT void cvq_verify_result_free(cvq_verify_result *r);
CVQ_EXPORT cvq_verify_err cvq_verify_result_outcome(const cvq_verify_result *r);
/* English detail of the verdict ("valid" when valid), never NULL. */
CVQ_EXPORT const char *cvq_verify_result_detail(const cvq_verify_result *r);
/* The signed content (NULL when the signature did not verify). */
CVQ_EXPORT const uint8_t *cvq_verify_result_content(const cvq_verify_result *r, size_t *len);
/* The signer's certificate (borrowed), NULL when not found. */
CVQ_EXPORT X509 *cvq_verify_result_signer(const cvq_verify_result *r);
/* The signer's claimed signingTime, 0 when absent. Not trusted. */
CVQ_EXPORT time_t cvq_verify_result_signing_time(const cvq_verify_result *r);
/* genTime of the valid signature timestamp, 0 when none. */
CVQ_EXPORT time_t cvq_verify_result_timestamp_time(const cvq_verify_result *r);
/* The TSA's certificate (borrowed), NULL when no valid timestamp. */
CVQ_EXPORT X509 *cvq_verify_result_tsa(const cvq_verify_result *r);
/* The time the chain was judged at: the timestamp's, else now. */
CVQ_EXPORT time_t cvq_verify_result_check_time(const cvq_verify_result *r);
CVQ_EXPORT cvq_verify_cert_status cvq_verify_result_cert_status(const cvq_verify_result *r);
/* When revoked: date, reason code (RFC 5280, -1 = none), invalidity (0 = none). */
CVQ_EXPORT time_t cvq_verify_result_revocation_time(const cvq_verify_result *r);
CVQ_EXPORT int cvq_verify_result_revocation_reason(const cvq_verify_result *r);
CVQ_EXPORT time_t cvq_verify_result_invalidity_time(const cvq_verify_result *r);
/* "crl", "ocsp" or "none": who said what cert_status says. */
CVQ_EXPORT const char *cvq_verify_result_revocation_source(const cvq_verify_result *r);
/* RFC 5280 name of a reason code ("keyCompromise"), "none" for -1. */
CVQ_EXPORT const char *cvq_verify_reason_name(int reason);
/*
 * With CVQ_VERIFY_FLAG_OFFLINE: true when OCSP would have been asked and
 * the cache had no answer (the verdict then rests on the CRLs). Ask again
 * without the flag, outside any lock that must not wait on the network.
 */
CVQ_EXPORT bool cvq_verify_result_ocsp_pending(const cvq_verify_result *r);

#ifdef __cplusplus
}
#endif

#endif /* CVQ_VERIFY_H */
