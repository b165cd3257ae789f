/*
 * cvqd — OCSP (RFC 6960) for a certificate, asked of the responder the
 * configuration names ([trust] ocsp_url) or, failing that, the one in the
 * certificate's Authority Information Access. Plain HTTP, as OCSP usually
 * is: the answer is signed, with our nonce in it.
 */
#ifndef CVQD_OCSP_H
#define CVQD_OCSP_H

#include <openssl/x509.h>
#include <stddef.h>
#include <time.h>

typedef enum cvqd_ocsp_result {
	CVQD_OCSP_GOOD = 0,
	CVQD_OCSP_REVOKED,
	CVQD_OCSP_UNKNOWN,       /* no usable answer: fall back to the CRL */
} cvqd_ocsp_result;

/*
 * Ask about cert (issued by issuer). The response must be signed by the
 * issuer or by a responder it certified, verified against store.
 */
cvqd_ocsp_result cvqd_ocsp_check(const char *url, X509 *cert, X509 *issuer,
                                 X509_STORE *store, time_t *revoked_at,
                                 char *why, size_t whylen);

#endif
