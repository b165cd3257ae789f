#include "trust.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ocsp.h"

struct cvqd_trust {
	atomic_int refs;
	bool require_crl;
	bool ocsp;
	char *ocsp_url;
	STACK_OF(X509) *anchors;
	STACK_OF(X509) *intermediates;
	STACK_OF(X509_CRL) *crls;   /* signature already verified */
	X509_STORE *store;          /* the anchors */
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
	t->require_crl = cfg->require_crl;
	t->ocsp = cfg->ocsp;
	t->ocsp_url = strdup(cfg->ocsp_url ? cfg->ocsp_url : "");
	t->anchors = sk_X509_new_null();
	t->intermediates = sk_X509_new_null();
	t->crls = sk_X509_CRL_new_null();
	t->store = X509_STORE_new();
	if (!t->anchors || !t->intermediates || !t->crls || !t->store) {
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
		X509_STORE_add_cert(t->store, sk_X509_value(t->anchors, i));
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
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return t;
fail:
	cvqd_trust_put(t);
	return NULL;
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
	X509_STORE_free(t->store);
	free(t->ocsp_url);
	free(t);
}

STACK_OF(X509) *cvqd_trust_intermediates(const cvqd_trust *t)
{
	return t->intermediates;
}

/* The newest CRL of this issuer, or NULL. */
static X509_CRL *crl_for(const cvqd_trust *t, const X509 *cert)
{
	X509_CRL *best = NULL;
	for (int i = 0; i < sk_X509_CRL_num(t->crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(t->crls, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_issuer_name(cert)) != 0)
			continue;
		if (!best || ASN1_TIME_compare(X509_CRL_get0_lastUpdate(c),
		                               X509_CRL_get0_lastUpdate(best)) > 0)
			best = c;
	}
	return best;
}

static void check_revocation(const cvqd_trust *t, STACK_OF(X509) *chain, cvqd_cert_status *out)
{
	time_t now = time(NULL);
	/* Every certificate below the anchor (the last one of the chain). */
	for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		if (i == 0 && t->ocsp) {
			/* The card's certificate: OCSP first, the CRL when it cannot say. */
			char why[120];
			cvqd_ocsp_result r = cvqd_ocsp_check(t->ocsp_url, c, sk_X509_value(chain, 1), t->store,
			                                     &out->revoked_at, why, sizeof why);
			if (r == CVQD_OCSP_REVOKED) {
				char when[32];
				cvqd_time_rfc3339(out->revoked_at, when, sizeof when);
				out->err = CVQD_ERR_CERT_REVOKED;
				snprintf(out->reason, sizeof out->reason, "certificate revoked on %s (OCSP)", when);
				return;
			}
			if (r == CVQD_OCSP_GOOD)
				continue;
			cvqd_dbg("OCSP: %s; using the CRL", why);
		}
		X509_CRL *crl = crl_for(t, c);
		if (!crl) {
			if (t->require_crl) {
				out->err = CVQD_ERR_CRL_UNAVAILABLE;
				snprintf(out->reason, sizeof out->reason, "no CRL for the issuer");
				return;
			}
			continue;
		}
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
		if (t->require_crl && next && X509_cmp_time(next, &now) < 0) {
			out->err = CVQD_ERR_CRL_UNAVAILABLE;
			snprintf(out->reason, sizeof out->reason, "the CRL of the issuer is out of date");
			return;
		}
		X509_REVOKED *rev = NULL;
		if (X509_CRL_get0_by_cert(crl, &rev, c) == 1 && rev) {
			out->err = CVQD_ERR_CERT_REVOKED;
			cvqd_asn1_time_to_time_t(X509_REVOKED_get0_revocationDate(rev), &out->revoked_at);
			char when[32];
			cvqd_time_rfc3339(out->revoked_at, when, sizeof when);
			snprintf(out->reason, sizeof out->reason, "%s revoked on %s",
			         i == 0 ? "certificate" : "issuing CA certificate", when);
			return;
		}
	}
}

void cvqd_trust_check(const cvqd_trust *t, X509 *cert, STACK_OF(X509) *extra,
                      time_t at, cvqd_cert_status *out)
{
	memset(out, 0, sizeof *out);
	STACK_OF(X509) *untrusted = sk_X509_dup(t->intermediates);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!untrusted || !ctx) {
		out->err = CVQD_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; extra && i < sk_X509_num(extra); i++)
		sk_X509_push(untrusted, sk_X509_value(extra, i));
	if (!X509_STORE_CTX_init(ctx, t->store, cert, untrusted)) {
		out->err = CVQD_ERR_NOMEM;
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		out->err = (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)
		           ? CVQD_ERR_CERT_EXPIRED : CVQD_ERR_CERT_UNTRUSTED;
		snprintf(out->reason, sizeof out->reason, "%s", X509_verify_cert_error_string(e));
		goto out;
	}
	check_revocation(t, X509_STORE_CTX_get0_chain(ctx), out);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
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
