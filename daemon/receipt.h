/*
 * cvqd — receipts: CAdES signatures (ETSI EN 319 122-1) made by libcvqcades
 * around a key we cannot touch (the card signs). B-B: an attached CMS
 * SignedData with contentType, signingTime, messageDigest and
 * signingCertificateV2 signed; B-T: plus the city TSA's signature
 * timestamp as an unsigned attribute, fetched right after the card signed
 * and before cvqd answers. `openssl cms -verify -CAfile ca.pem` accepts
 * both; docs/receipts.md has the partner's recipe.
 */
#ifndef CVQD_RECEIPT_H
#define CVQD_RECEIPT_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "tbs.h"
#include "trust.h"

/*
 * Sign (tbs: the DER signed attributes and their SHA-256) with the private
 * key that matches the certificate.
 * The signature must be in its final X.509 form: DER ECDSA-Sig-Value for
 * EC keys, PKCS#1 v1.5 for RSA. *siglen is the capacity on entry.
 */
typedef cvqd_err (*cvqd_sign_digest_fn)(void *arg, const cvqd_tbs *tbs,
                                        uint8_t *sig, size_t *siglen);

cvqd_err cvqd_receipt_build(const uint8_t *content, size_t len, X509 *signer,
                            STACK_OF(X509) *chain, time_t signing_time,
                            cvqd_sign_digest_fn sign, void *arg,
                            uint8_t **der, size_t *derlen);

/*
 * B-B in, B-T out: the signature timestamp of [tsa] url, checked against
 * the request and the TSA's anchors ([tsa] anchors, else [trust]).
 * CVQD_ERR_TSA_UNAVAILABLE with the reason in why when there is none
 * (not configured, unreachable, timed out, refused, a bad token).
 */
cvqd_err cvqd_receipt_timestamp(const cvqd_config *cfg, const uint8_t *der, size_t len,
                                uint8_t **out, size_t *outlen, time_t *gen_time,
                                char *why, size_t whylen);

typedef struct cvqd_receipt_info {
	uint8_t *content;        /* malloc'd eContent */
	size_t content_len;
	X509 *signer;            /* owned */
	time_t signing_time;     /* from the signed attributes */
	cvqd_cert_status status; /* chain at signing time + revocation now */
} cvqd_receipt_info;

/*
 * Check a DER receipt: one signer, the signature over the content, then
 * the signer's certificate against `trust`. Returns CVQD_OK when all hold;
 * on CVQD_ERR_CERT_* the info is still filled (signer, content) so that
 * the caller can say who signed what. Free with cvqd_receipt_info_free().
 */
cvqd_err cvqd_receipt_verify(const uint8_t *der, size_t len, const cvqd_trust *trust,
                             cvqd_receipt_info *info, char *why, size_t whylen);
void cvqd_receipt_info_free(cvqd_receipt_info *info);

#endif
