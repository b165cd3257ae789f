/*
 * libcvqverify — chains and revocation.
 *
 * Two passes through OpenSSL's verifier. The first builds the path and
 * checks every certificate's validity at the trusted time (a timestamp's
 * genTime, else now). The second, at now, lets OpenSSL's own CRL machinery
 * (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) judge every
 * certificate of the path with the CRLs we hold: signature of the CRL by
 * the issuer in the path, freshness now, scope. Its callback forgives what
 * the first pass already judged (expiry) and records each revoked entry
 * with its reason and invalidity date instead of failing at once: whether a
 * revocation condemns a signature depends on the reason and on what the
 * timestamp proves, which OpenSSL does not know.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "verify_int.h"

#define DEPTHS 10

struct pass2 {
	struct vfy_rev rev[DEPTHS];
	bool unknown[DEPTHS];
	int unknown_err[DEPTHS];
	int other;               /* an error we do not forgive */
};

static void record_revoked(struct vfy_rev *o, X509 *cert, X509_CRL *crl)
{
	X509_REVOKED *rv = NULL;

	o->status = CVQ_VERIFY_CERT_REVOKED;
	o->source = "crl";
	o->reason = -1;
	if (!cert || !crl || X509_CRL_get0_by_cert(crl, &rv, cert) != 1 || !rv)
		return;
	o->revoked_at = vfy_time(X509_REVOKED_get0_revocationDate(rv));
	ASN1_ENUMERATED *re = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	if (re) {
		o->reason = (int)ASN1_ENUMERATED_get(re);
		ASN1_ENUMERATED_free(re);
	}
	ASN1_GENERALIZEDTIME *inv = X509_REVOKED_get_ext_d2i(rv, NID_invalidity_date, NULL, NULL);
	if (inv) {
		o->invalidity = vfy_time(inv);
		ASN1_GENERALIZEDTIME_free(inv);
	}
}

static int crl_cb(int ok, X509_STORE_CTX *xs)
{
	struct pass2 *p = X509_STORE_CTX_get_app_data(xs);
	int e = X509_STORE_CTX_get_error(xs), d = X509_STORE_CTX_get_error_depth(xs);

	if (ok)
		return 1;
	if (d < 0 || d >= DEPTHS) {
		p->other = e;
		return 0;
	}
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return 1; /* judged at the trusted time by the first pass */
	case X509_V_ERR_CERT_REVOKED:
		record_revoked(&p->rev[d], X509_STORE_CTX_get_current_cert(xs),
		               X509_STORE_CTX_get0_current_crl(xs));
		return 1;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
		if (!p->unknown[d])
			p->unknown_err[d] = e;
		p->unknown[d] = true;
		return 1;
	default:
		p->other = e;
		return 0;
	}
}

/*
 * A CRL keeps a certificate after it expired only when it says so
 * (X.509 expiredCertsOnCRL, 2.5.29.60): true when one of ours from the
 * issuer of `x` (its signature checked) carries a date no later than the
 * certificate's notAfter.
 */
static bool crl_keeps_expired(const cvq_verify_ctx *ctx, X509 *x, X509 *issuer)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("2.5.29.60", 1);
	bool keeps = false;

	for (int i = 0; oid && issuer && !keeps && i < sk_X509_CRL_num(ctx->crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(ctx->crls, i);
		int idx = X509_CRL_get_ext_by_OBJ(c, oid, -1);
		if (idx < 0 || X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(issuer)) != 0 ||
		    X509_CRL_verify(c, X509_get0_pubkey(issuer)) != 1)
			continue;
		ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_CRL_get_ext(c, idx));
		const unsigned char *p = ASN1_STRING_get0_data(v);
		ASN1_GENERALIZEDTIME *since = d2i_ASN1_GENERALIZEDTIME(NULL, &p, ASN1_STRING_length(v));
		if (since && ASN1_TIME_compare(since, X509_get0_notAfter(x)) <= 0)
			keeps = true;
		ASN1_GENERALIZEDTIME_free(since);
	}
	ASN1_OBJECT_free(oid);
	ERR_clear_error();
	return keeps;
}

/*
 * May a signature proven to exist at `proven` stand, the certificate being
 * revoked as `rv` says? Superseded (renewal), cessationOfOperation (card
 * destroyed, holder left) and affiliationChanged do not make the key bad:
 * what it signed before the revocation stands. keyCompromise (lost,
 * stolen) and unspecified: only what was signed before the key was known
 * bad, the invalidity date; without one, nothing. Other reasons: nothing.
 */
static bool stands(const struct vfy_rev *rv, time_t proven)
{
	time_t limit;

	if (!proven)
		return false;
	switch (rv->reason) {
	case 3: case 4: case 5:
		return proven < rv->revoked_at;
	case -1: case 0: case 1:
		if (!rv->invalidity)
			return false;
		limit = rv->invalidity < rv->revoked_at ? rv->invalidity : rv->revoked_at;
		return proven < limit;
	default:
		return false;
	}
}

static void describe(const struct vfy_rev *rv, const char *what, char *buf, size_t len)
{
	char when[32], inv[48] = "";

	vfy_rfc3339(rv->revoked_at, when, sizeof when);
	if (rv->invalidity) {
		char t[32];
		vfy_rfc3339(rv->invalidity, t, sizeof t);
		snprintf(inv, sizeof inv, ", invalid since %s", t);
	}
	snprintf(buf, len, "%s revoked on %s, reason %s%s (%s)", what, when,
	         cvq_verify_reason_name(rv->reason < 0 ? 0 : rv->reason), inv,
	         strcmp(rv->source, "ocsp") ? "CRL" : "OCSP");
}

static cvq_verify_err path_error(cvq_verify_result *r, int e, time_t at)
{
	char when[32];

	vfy_rfc3339(at, when, sizeof when);
	if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)
		return vfy_fail(r, CVQ_VERIFY_ERR_EXPIRED, "%s at %s", X509_verify_cert_error_string(e), when);
	return vfy_fail(r, CVQ_VERIFY_ERR_UNTRUSTED, "%s", X509_verify_cert_error_string(e));
}

static cvq_verify_err judge(cvq_verify_ctx *ctx, STACK_OF(X509) *chain, struct pass2 *p,
                            time_t proven, unsigned flags, cvq_verify_result *r)
{
	int n = sk_X509_num(chain), below = n - 1; /* the anchor's status is its own business */
	time_t now = time(NULL);
	char buf[200];

	if (below > DEPTHS)
		return vfy_fail(r, CVQ_VERIFY_ERR_UNTRUSTED, "chain too long");
	/* A certificate past its notAfter is on a CRL only if the CRL keeps them. */
	for (int d = 0; d < below; d++) {
		X509 *x = sk_X509_value(chain, d);
		if (p->rev[d].status != CVQ_VERIFY_CERT_REVOKED && !p->unknown[d] &&
		    X509_cmp_time(X509_get0_notAfter(x), &now) < 0 &&
		    !crl_keeps_expired(ctx, x, sk_X509_value(chain, d + 1))) {
			p->unknown[d] = true;
			p->unknown_err[d] = 0;
		}
	}
	/* OCSP for the signer, when the CRL did not already condemn it. */
	if (ctx->ocsp && below >= 1 && p->rev[0].status != CVQ_VERIFY_CERT_REVOKED) {
		struct vfy_rev o = {0};
		if (vfy_ocsp(ctx, sk_X509_value(chain, 0), sk_X509_value(chain, 1), flags, &o,
		             &r->ocsp_pending, r->ocsp_why, sizeof r->ocsp_why) &&
		    o.status != CVQ_VERIFY_CERT_UNKNOWN) {
			p->rev[0] = o;
			p->unknown[0] = false;
		}
	}
	for (int d = below - 1; d >= 1; d--) {
		if (p->rev[d].status == CVQ_VERIFY_CERT_REVOKED && !stands(&p->rev[d], proven)) {
			describe(&p->rev[d], "issuing CA certificate", buf, sizeof buf);
			return vfy_fail(r, CVQ_VERIFY_ERR_CA_REVOKED, "%s", buf);
		}
	}
	r->rev = p->rev[0];
	if (p->rev[0].status == CVQ_VERIFY_CERT_REVOKED) {
		describe(&p->rev[0], "certificate", buf, sizeof buf);
		if (!stands(&p->rev[0], proven)) {
			int why = p->rev[0].reason;
			return vfy_fail(r, why == 1 ? CVQ_VERIFY_ERR_KEY_COMPROMISED : CVQ_VERIFY_ERR_REVOKED,
			                "%s", buf);
		}
		char ts[32];
		vfy_rfc3339(proven, ts, sizeof ts);
		vfy_fail(r, CVQ_VERIFY_OK, "valid: timestamped at %s, before it was %s", ts, buf);
	} else if (p->unknown[0]) {
		r->rev.status = CVQ_VERIFY_CERT_UNKNOWN;
		r->rev.source = "none";
	}
	for (int d = 0; d < below; d++) {
		if (!p->unknown[d] || !ctx->require)
			continue;
		return vfy_fail(r, CVQ_VERIFY_ERR_REVOCATION_UNKNOWN, "%s: %s%s%s",
		                d == 0 ? "certificate" : "issuing CA certificate",
		                p->unknown_err[d] ? X509_verify_cert_error_string(p->unknown_err[d])
		                : "expired, and no CRL that keeps expired certificates",
		                d == 0 && r->ocsp_why[0] ? "; " : "", d == 0 ? r->ocsp_why : "");
	}
	return CVQ_VERIFY_OK;
}

cvq_verify_err vfy_chain(cvq_verify_ctx *ctx, X509 *cert, STACK_OF(X509) *extra, time_t at,
                         time_t proven, unsigned flags, cvq_verify_result *r)
{
	STACK_OF(X509) *untrusted = sk_X509_dup(ctx->intermediates), *chain = NULL;
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	struct pass2 p;
	cvq_verify_err e = CVQ_VERIFY_ERR_NOMEM;

	memset(&p, 0, sizeof p);
	for (int d = 0; d < DEPTHS; d++) {
		p.rev[d].status = CVQ_VERIFY_CERT_GOOD;
		p.rev[d].reason = -1;
		p.rev[d].source = "crl";
	}
	r->check_time = at;
	if (!untrusted || !xs)
		goto out;
	for (int i = 0; extra && i < sk_X509_num(extra); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(extra, i)))
			goto out;
	/* Pass 1: the path, at the trusted time. */
	if (!X509_STORE_CTX_init(xs, ctx->store, cert, untrusted))
		goto out;
	X509_STORE_CTX_set_time(xs, 0, at);
	if (X509_verify_cert(xs) != 1) {
		e = path_error(r, X509_STORE_CTX_get_error(xs), at);
		goto out;
	}
	X509_STORE_CTX_cleanup(xs);
	/* Pass 2: revocation, now, by OpenSSL's CRL checks. */
	if (!X509_STORE_CTX_init(xs, ctx->store, cert, untrusted))
		goto out;
	X509_STORE_CTX_set0_crls(xs, ctx->crls);
	X509_STORE_CTX_set_flags(xs, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	X509_STORE_CTX_set_verify_cb(xs, crl_cb);
	X509_STORE_CTX_set_app_data(xs, &p);
	if (X509_verify_cert(xs) != 1) {
		e = p.other ? path_error(r, p.other, at)
		            : vfy_fail(r, CVQ_VERIFY_ERR_UNTRUSTED, "the path does not build now");
		goto out;
	}
	if (!(chain = X509_STORE_CTX_get1_chain(xs)))
		goto out;
	e = judge(ctx, chain, &p, proven, flags, r);
out:
	if (e == CVQ_VERIFY_ERR_NOMEM)
		vfy_fail(r, e, "out of memory");
	ERR_clear_error();
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(xs);
	sk_X509_free(untrusted);
	return e;
}
