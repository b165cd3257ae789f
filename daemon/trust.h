/*
 * cvqd — trust anchors, intermediates and CRLs, loaded from the files the
 * configuration names, and judged by libcvqverify (the same verifier
 * partners link: docs/verify.md). Immutable once loaded and reference
 * counted: SIGHUP loads a new set and swaps the pointer; requests in flight
 * keep the old. A CRL that does not verify against a known CA certificate
 * is dropped with a warning at load (the library would never use it).
 */
#ifndef CVQD_TRUST_H
#define CVQD_TRUST_H

#include <jansson.h>
#include <stdbool.h>
#include <openssl/x509.h>
#include <time.h>

#include "config.h"
#include "error.h"

typedef struct cvqd_trust cvqd_trust;

typedef struct cvqd_cert_status {
	cvqd_err err;            /* CVQD_OK = good */
	char reason[160];        /* human-readable, for "message" */
	time_t revoked_at;       /* when err == CVQD_ERR_CERT_REVOKED */
	bool ocsp_pending;       /* CVQD_TRUST_OFFLINE and OCSP not in the cache */
} cvqd_cert_status;

/* Flags of cvqd_trust_check_flags. */
#define CVQD_TRUST_SIGNING 0x1u /* the citizen signature profile too (slot 9C) */
#define CVQD_TRUST_OFFLINE 0x2u /* no network: OCSP from the cache only */

cvqd_trust *cvqd_trust_load(const cvqd_config *cfg, char *err, size_t errlen);
/* A CRL already verified (the fetched ones), before the set is shared. 0 or -1. */
int cvqd_trust_add_crl(cvqd_trust *t, X509_CRL *c);
void cvqd_trust_ref(cvqd_trust *t);
void cvqd_trust_put(cvqd_trust *t);

/*
 * Check `cert`: a chain to an anchor valid at `at` (signing time, or now),
 * then revocation with the CRLs we hold, judged now. `extra` are untrusted
 * certificates that may help build the chain (from a CMS), or NULL.
 */
void cvqd_trust_check(const cvqd_trust *t, X509 *cert, STACK_OF(X509) *extra,
                      time_t at, cvqd_cert_status *out);
void cvqd_trust_check_flags(const cvqd_trust *t, X509 *cert, STACK_OF(X509) *extra,
                            time_t at, unsigned flags, cvqd_cert_status *out);

/* The verifier of receipts (borrowed, lives as long as t). */
struct cvq_verify_ctx *cvqd_trust_verifier(const cvqd_trust *t);
/* The cvqd error code for a libcvqverify outcome. */
cvqd_err cvqd_trust_err(int outcome);

/* Certificates to put in a receipt beside the signer: the intermediates. */
STACK_OF(X509) *cvqd_trust_intermediates(const cvqd_trust *t);

/* {"anchors": [...], "crls": [...]} for /v1/status. */
json_t *cvqd_trust_describe(const cvqd_trust *t);

/* Helpers shared with the API: RFC 3339 UTC, and the DN as one line. */
void cvqd_time_rfc3339(time_t t, char *buf, size_t len);
json_t *cvqd_x509_name_json(const X509_NAME *n);
int cvqd_asn1_time_to_time_t(const ASN1_TIME *a, time_t *out);
/* The subject's common name in UTF-8, or "" (the card holder's name). */
void cvqd_x509_cn(X509 *x, char *out, size_t len);

#endif
