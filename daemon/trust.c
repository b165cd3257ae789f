#include "trust.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <cvq/verify.h>

#include "log.h"

struct cvqd_trust {
	atomic_int refs;
	STACK_OF(X509) *anchors;
	STACK_OF(X509) *intermediates;
	STACK_OF(X509_CRL) *crls;   /* signature checked at load, for /v1/status */
	cvq_verify_ctx *v;          /* the same, inside the verifier */
};

void cvqd_time_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cvqd_asn1_time_to_time_t(const ASN1_TIME *a, time_t *out)
{
	struct tm tm;
	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

json_t *cvqd_x509_name_json(const X509_NAME *n)
{
	char buf[512];
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return json_null();
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int len = BIO_read(b, buf, sizeof buf - 1);
	BIO_free(b);
	if (len < 0)
		len = 0;
	buf[len] = '\0';
	json_t *s = json_stringn(buf, (size_t)len);
	return s ? s : json_null();
}

void cvqd_x509_cn(X509 *x, char *out, size_t len)
{
	out[0] = '\0';
	X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	if (i < 0)
		return;
	ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	unsigned char *utf8 = NULL;
	int l = ASN1_STRING_to_UTF8(&utf8, s);
	if (l > 0)
		snprintf(out, len, "%.*s", l, (char *)utf8);
	OPENSSL_free(utf8);
}

/* Append every certificate of a PEM file to sk. */
static int load_certs(const char *path, STACK_OF(X509) *sk, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int n = 0;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	X509 *x;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
		n++;
	}
	ERR_clear_error();
	fclose(f);
	if (n == 0) {
		snprintf(err, errlen, "%s: no PEM certificate", path);
		return -1;
	}
	return 0;
}

static X509_CRL *read_crl(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	X509_CRL *c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	if (!c) {
		rewind(f);
		c = d2i_X509_CRL_fp(f, NULL);
	}
	ERR_clear_error();
	fclose(f);
	return c;
}

static X509 *find_issuer_of_crl(const cvqd_trust *t, const X509_CRL *crl)
{
	const X509_NAME *in = X509_CRL_get_issuer(crl);
	STACK_OF(X509) *lists[2] = { t->anchors, t->intermediates };
	for (int l = 0; l < 2; l++)
		for (int i = 0; i < sk_X509_num(lists[l]); i++) {
			X509 *ca = sk_X509_value(lists[l], i);
			if (X509_NAME_cmp(X509_get_subject_name(ca), in) == 0 &&
			    X509_CRL_verify((X509_CRL *)crl, X509_get0_pubkey(ca)) == 1)
				return ca;
		}
	return NULL;
}

cvqd_trust *cvqd_trust_load(const cvqd_config *cfg, char *err, size_t errlen)
{
	cvqd_trust *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->anchors = sk_X509_new_null();
	t->intermediates = sk_X509_new_null();
	t->crls = sk_X509_CRL_new_null();
	t->v = cvq_verify_ctx_new();
	if (!t->anchors || !t->intermediates || !t->crls || !t->v) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_anchors; i++)
		if (load_certs(cfg->anchors[i], t->anchors, err, errlen))
			goto fail;
	for (size_t i = 0; i < cfg->n_intermediates; i++)
		if (load_certs(cfg->intermediates[i], t->intermediates, err, errlen))
			goto fail;
	for (int i = 0; i < sk_X509_num(t->anchors); i++)
		if (cvq_verify_add_anchor(t->v, sk_X509_value(t->anchors, i)) != CVQ_VERIFY_OK)
			goto nomem;
	for (int i = 0; i < sk_X509_num(t->intermediates); i++)
		if (cvq_verify_add_intermediate(t->v, sk_X509_value(t->intermediates, i)) != CVQ_VERIFY_OK)
			goto nomem;
	cvq_verify_set_require_revocation(t->v, cfg->require_crl);
	if (cvq_verify_set_policy(t->v, cfg->signer_policy) != CVQ_VERIFY_OK) {
		snprintf(err, errlen, "[trust] signer_policy: not an OID");
		goto fail;
	}
	if (cfg->ocsp && cvq_verify_set_ocsp(t->v, cfg->ocsp_url, cfg->ocsp_timeout,
	                                     cfg->ocsp_cache) != CVQ_VERIFY_OK)
		goto nomem;
	for (size_t i = 0; i < cfg->n_crls; i++) {
		X509_CRL *c = read_crl(cfg->crls[i]);
		if (!c) {
			snprintf(err, errlen, "%s: not a CRL", cfg->crls[i]);
			goto fail;
		}
		if (!find_issuer_of_crl(t, c)) {
			cvqd_warn("%s: CRL issuer unknown or signature bad: ignored", cfg->crls[i]);
			X509_CRL_free(c);
			continue;
		}
		if (!sk_X509_CRL_push(t->crls, c)) {
			X509_CRL_free(c);
			goto nomem;
		}
		if (cvq_verify_add_crl(t->v, c) != CVQ_VERIFY_OK)
			goto nomem;
	}
	return t;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	cvqd_trust_put(t);
	return NULL;
}

int cvqd_trust_add_crl(cvqd_trust *t, X509_CRL *c)
{
	if (!X509_CRL_up_ref(c))
		return -1;
	if (!sk_X509_CRL_push(t->crls, c)) {
		X509_CRL_free(c);
		return -1;
	}
	return cvq_verify_add_crl(t->v, c) == CVQ_VERIFY_OK ? 0 : -1;
}

void cvqd_trust_ref(cvqd_trust *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void cvqd_trust_put(cvqd_trust *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	sk_X509_pop_free(t->anchors, X509_free);
	sk_X509_pop_free(t->intermediates, X509_free);
	sk_X509_CRL_pop_free(t->crls, X509_CRL_free);
	cvq_verify_ctx_free(t->v);
	free(t);
}

STACK_OF(X509) *cvqd_trust_intermediates(const cvqd_trust *t)
{
	return t->intermediates;
}

struct cvq_verify_ctx *cvqd_trust_verifier(const cvqd_trust *t)
{
	return t->v;
}

cvqd_err cvqd_trust_err(int outcome)
{
	switch ((cvq_verify_err)outcome) {
	case CVQ_VERIFY_OK:
		return CVQD_OK;
	case CVQ_VERIFY_ERR_NOMEM:
		return CVQD_ERR_NOMEM;
	case CVQ_VERIFY_ERR_MALFORMED:
		return CVQD_ERR_BAD_RECEIPT;
	case CVQ_VERIFY_ERR_SIGNATURE:
	case CVQ_VERIFY_ERR_TIMESTAMP:
		return CVQD_ERR_BAD_SIGNATURE;
	case CVQ_VERIFY_ERR_EXPIRED:
		return CVQD_ERR_CERT_EXPIRED;
	case CVQ_VERIFY_ERR_REVOKED:
	case CVQ_VERIFY_ERR_KEY_COMPROMISED:
	case CVQ_VERIFY_ERR_CA_REVOKED:
		return CVQD_ERR_CERT_REVOKED;
	case CVQ_VERIFY_ERR_REVOCATION_UNKNOWN:
		return CVQD_ERR_CRL_UNAVAILABLE;
	case CVQ_VERIFY_ERR_NOT_SIGNING_CERT:
	case CVQ_VERIFY_ERR_UNTRUSTED:
		return CVQD_ERR_CERT_UNTRUSTED;
	default:
		return CVQD_ERR_INTERNAL;
	}
}

void cvqd_trust_check_flags(const cvqd_trust *t, X509 *cert, STACK_OF(X509) *extra,
                            time_t at, unsigned flags, cvqd_cert_status *out)
{
	cvq_verify_result *r = NULL;
	cvq_verify_err e;

	memset(out, 0, sizeof *out);
	e = cvq_verify_cert(t->v, cert, extra, at, (flags & CVQD_TRUST_SIGNING) != 0,
	                    (flags & CVQD_TRUST_OFFLINE) ? CVQ_VERIFY_FLAG_OFFLINE : 0, &r);
	out->err = cvqd_trust_err(e);
	if (r) {
		snprintf(out->reason, sizeof out->reason, "%s", cvq_verify_result_detail(r));
		out->revoked_at = cvq_verify_result_revocation_time(r);
		out->ocsp_pending = cvq_verify_result_ocsp_pending(r);
	} else {
		snprintf(out->reason, sizeof out->reason, "%s", cvq_verify_strerror(e));
	}
	cvq_verify_result_free(r);
}

void cvqd_trust_check(const cvqd_trust *t, X509 *cert, STACK_OF(X509) *extra,
                      time_t at, cvqd_cert_status *out)
{
	cvqd_trust_check_flags(t, cert, extra, at, 0, out);
}

static json_t *cert_json(X509 *x)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65], na[32];
	time_t t = 0;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * (mdlen < 32 ? mdlen : 32)] = '\0';
	cvqd_asn1_time_to_time_t(X509_get0_notAfter(x), &t);
	cvqd_time_rfc3339(t, na, sizeof na);
	return json_pack("{s:o,s:s,s:s}", "subject", cvqd_x509_name_json(X509_get_subject_name(x)),
	                 "not_after", na, "sha256", hex);
}

json_t *cvqd_trust_describe(const cvqd_trust *t)
{
	json_t *anchors = json_array(), *crls = json_array();
	time_t now = time(NULL);
	for (int i = 0; i < sk_X509_num(t->anchors); i++)
		json_array_append_new(anchors, cert_json(sk_X509_value(t->anchors, i)));
	for (int i = 0; i < sk_X509_CRL_num(t->crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(t->crls, i);
		time_t tu = 0, nu = 0;
		char a[32], b[32];
		cvqd_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(c), &tu);
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(c);
		cvqd_time_rfc3339(tu, a, sizeof a);
		json_t *j = json_pack("{s:o,s:s}", "issuer", cvqd_x509_name_json(X509_CRL_get_issuer(c)),
		                      "this_update", a);
		if (next && cvqd_asn1_time_to_time_t(next, &nu) == 0) {
			cvqd_time_rfc3339(nu, b, sizeof b);
			json_object_set_new(j, "next_update", json_string(b));
		}
		json_object_set_new(j, "fresh", json_boolean(!next || nu >= now));
		int nrev = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c));
		json_object_set_new(j, "revoked", json_integer(nrev > 0 ? nrev : 0));
		json_array_append_new(crls, j);
	}
	return json_pack("{s:o,s:o}", "anchors", anchors, "crls", crls);
}
