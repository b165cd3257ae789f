/* libcvqverify — internals shared by the files of the library. */
#ifndef CVQ_VERIFY_INT_H
#define CVQ_VERIFY_INT_H

#include <pthread.h>
#include <stdio.h>

#include <openssl/x509.h>

#include <cvq/verify.h>

#define VFY_OCSP_CACHE_N 256
#define VFY_MAX_RECEIPT (1u << 20)

/* What one source says about one certificate. */
struct vfy_rev {
	cvq_verify_cert_status status;
	time_t revoked_at;
	int reason;              /* -1: no reasonCode */
	time_t invalidity;       /* 0: none */
	const char *source;      /* "crl", "ocsp", "none" */
};

struct vfy_ocsp_entry {
	unsigned char id[32];    /* SHA-256 of the DER CertID */
	bool used;
	bool failed;             /* no usable answer: negative entry */
	struct vfy_rev rev;
	time_t expires;
};

struct cvq_verify_ctx {
	STACK_OF(X509) *anchors;
	STACK_OF(X509) *intermediates;
	STACK_OF(X509_CRL) *crls;
	X509_STORE *store;       /* the anchors, for chains and OCSP answers */
	bool require;
	ASN1_OBJECT *policy;
	bool ocsp;
	char *ocsp_url;
	unsigned ocsp_timeout, ocsp_cache;
	pthread_mutex_t lock;    /* the OCSP cache */
	struct vfy_ocsp_entry cache[VFY_OCSP_CACHE_N];
	unsigned cache_next;
};

struct cvq_verify_result {
	cvq_verify_err outcome;
	char detail[256];
	uint8_t *content;
	size_t content_len;
	X509 *signer, *tsa;
	time_t signing_time, ts_time, check_time;
	struct vfy_rev rev;
	bool ocsp_pending;
	char ocsp_why[160];      /* why OCSP gave no answer, "" when it did */
};

/* Sets the verdict and its English detail; returns the verdict. */
cvq_verify_err vfy_fail(cvq_verify_result *r, cvq_verify_err e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

time_t vfy_time(const ASN1_TIME *t);
void vfy_rfc3339(time_t t, char *buf, size_t len);

/* The citizen signature profile (ca/src/ca_profile.c, CITIZEN_SIGN). */
cvq_verify_err vfy_profile(const cvq_verify_ctx *ctx, X509 *cert, cvq_verify_result *r);
/* The city seal's profile (documents): documentSigning instead of emailProtection. */
cvq_verify_err vfy_profile_seal(const cvq_verify_ctx *ctx, X509 *cert, cvq_verify_result *r);

/*
 * The chain of `cert` at `at`, then revocation judged now. `proven`: the
 * time a valid timestamp proves the signature existed, 0 = not proven.
 */
cvq_verify_err vfy_chain(cvq_verify_ctx *ctx, X509 *cert, STACK_OF(X509) *extra, time_t at,
                         time_t proven, unsigned flags, cvq_verify_result *r);

/*
 * A signature timestamp token (DER ContentInfo) over `sig`. On success
 * r->ts_time and r->tsa are set.
 */
cvq_verify_err vfy_timestamp(cvq_verify_ctx *ctx, const unsigned char *tst, long tst_len,
                             const unsigned char *sig, int sig_len, STACK_OF(X509) *extra,
                             cvq_verify_result *r);

/*
 * OCSP about cert (issued by issuer). Returns true with *out filled when
 * there is an answer (cached or fresh), false when none: *pending says
 * the network was not asked because of CVQ_VERIFY_FLAG_OFFLINE.
 */
bool vfy_ocsp(cvq_verify_ctx *ctx, X509 *cert, X509 *issuer, unsigned flags,
              struct vfy_rev *out, bool *pending, char *why, size_t whylen);

#endif
