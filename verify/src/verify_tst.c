/*
 * libcvqverify — the signature timestamp (RFC 3161 token in the unsigned
 * attribute id-aa-signatureTimeStampToken, RFC 3161 appendix A, EN 319 122
 * B-T). Trusted only when the token's signature verifies, its TSA
 * certificate chains to the anchors at the token's genTime with the
 * timestamping purpose (OpenSSL requires the EKU to be timeStamping alone
 * and critical; we check it again, it is the rule that matters), and its
 * messageImprint is the hash of this SignerInfo's signature value.
 */
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "verify_int.h"

static bool critical_tsa_eku(X509 *x)
{
	int i = X509_get_ext_by_NID(x, NID_ext_key_usage, -1);

	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) &&
	       (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
	       X509_get_extended_key_usage(x) == XKU_TIMESTAMP;
}

static X509_STORE *store_at(const cvq_verify_ctx *ctx, time_t at)
{
	X509_STORE *s = X509_STORE_new();

	if (!s)
		return NULL;
	for (int i = 0; i < sk_X509_num(ctx->anchors); i++)
		if (!X509_STORE_add_cert(s, sk_X509_value(ctx->anchors, i))) {
			X509_STORE_free(s);
			return NULL;
		}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(s), at);
	return s;
}

cvq_verify_err vfy_timestamp(cvq_verify_ctx *ctx, const unsigned char *tst, long tst_len,
                             const unsigned char *sig, int sig_len, STACK_OF(X509) *extra,
                             cvq_verify_result *r)
{
	const unsigned char *p = tst;
	PKCS7 *token = d2i_PKCS7(NULL, &p, tst_len);
	TS_TST_INFO *info = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509) *untrusted = NULL;
	TS_VERIFY_CTX *v = NULL;
	X509 *tsa = NULL;
	time_t gen;
	cvq_verify_err e = CVQ_VERIFY_ERR_TIMESTAMP;

	if (!token || p != tst + tst_len || !(info = PKCS7_to_TS_TST_INFO(token))) {
		vfy_fail(r, e, "the timestamp is not an RFC 3161 token");
		goto out;
	}
	if (!(gen = vfy_time(TS_TST_INFO_get_time(info)))) {
		vfy_fail(r, e, "the timestamp has no usable genTime");
		goto out;
	}
	untrusted = sk_X509_dup(ctx->intermediates);
	for (int i = 0; untrusted && extra && i < sk_X509_num(extra); i++)
		sk_X509_push(untrusted, sk_X509_value(extra, i));
	if (!untrusted || !(store = store_at(ctx, gen))) {
		e = vfy_fail(r, CVQ_VERIFY_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Signature, ESS signing certificate, TSA chain with the timestamping purpose. */
	if (TS_RESP_verify_signature(token, untrusted, store, &tsa) != 1) {
		unsigned long err = ERR_peek_last_error();
		vfy_fail(r, e, "the timestamp's signature or TSA certificate is not trusted (%s)",
		         err ? ERR_reason_error_string(err) : "unknown");
		goto out;
	}
	if (!critical_tsa_eku(tsa)) {
		vfy_fail(r, e, "the TSA certificate lacks a critical EKU timeStamping");
		goto out;
	}
	/* messageImprint = hash of the signature value, and the version. */
	if (!(v = TS_VERIFY_CTX_new()) ||
	    !TS_VERIFY_CTX_set_data(v, BIO_new_mem_buf(sig, sig_len))) {
		e = vfy_fail(r, CVQ_VERIFY_ERR_NOMEM, "out of memory");
		goto out;
	}
	TS_VERIFY_CTX_set_flags(v, TS_VFY_VERSION | TS_VFY_DATA);
	if (TS_RESP_verify_token(v, token) != 1) {
		vfy_fail(r, e, "the timestamp is not over this signature");
		goto out;
	}
	r->ts_time = gen;
	r->tsa = tsa;
	tsa = NULL;
	e = CVQ_VERIFY_OK;
out:
	ERR_clear_error();
	X509_free(tsa);
	TS_VERIFY_CTX_free(v);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	TS_TST_INFO_free(info);
	PKCS7_free(token);
	return e;
}
