/*
 * cvqd — CMS SignedData receipts (RFC 5652), built around a key we cannot
 * touch: the card signs. We build the SignerInfo with OpenSSL's CMS API,
 * add the signed attributes ourselves (contentType, signingTime,
 * messageDigest), DER-encode them as the SET OF that is signed, have the
 * callback sign its SHA-256 digest, and set the signature. The result is
 * an ordinary attached SignedData: `openssl cms -verify -CAfile ca.pem`
 * accepts it.
 */
#ifndef CVQD_RECEIPT_H
#define CVQD_RECEIPT_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
