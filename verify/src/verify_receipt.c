/*
 * libcvqverify — a receipt, from its bytes to the verdict: the CMS
 * structure and signature, the signature timestamp, the signer's profile,
 * then its chain at the trusted time and its revocation.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "verify_int.h"

static time_t claimed_time(CMS_SignerInfo *si)
{
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	ASN1_TYPE *v;

	if (idx < 0)
		return 0;
	v = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
	if (!v || (v->type != V_ASN1_UTCTIME && v->type != V_ASN1_GENERALIZEDTIME))
		return 0;
	return vfy_time((const ASN1_TIME *)v->value.asn1_string);
}

/* The first signature timestamp token as DER, or NULL (none). -1: malformed. */
static int timestamp_der(CMS_SignerInfo *si, unsigned char **der, long *len)
{
	int idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
	ASN1_TYPE *v;
	int n;

	*der = NULL;
	if (idx < 0)
		return 0;
	v = X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, idx), 0);
	if (!v || v->type != V_ASN1_SEQUENCE)
		return -1;
	n = ASN1_STRING_length(v->value.sequence);
	if (n <= 0 || !(*der = malloc((size_t)n)))
		return -1;
	memcpy(*der, ASN1_STRING_get0_data(v->value.sequence), (size_t)n);
	*len = n;
	return 1;
}

/* dcontent: the detached content of a document signature, or NULL for a
 * receipt, which carries its content. */
static cvq_verify_err check(cvq_verify_ctx *ctx, const uint8_t *der, size_t len,
                            const uint8_t *dcontent, size_t dcontent_len, unsigned flags,
                            cvq_verify_result *r)
{
	BIO *din = NULL;
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs = NULL, *signers = NULL;
	BIO *out = NULL;
	unsigned char *tst = NULL;
	long tst_len = 0;
	cvq_verify_err e = CVQ_VERIFY_ERR_MALFORMED;
	int t;

	if (len == 0 || len > VFY_MAX_RECEIPT || !(cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) ||
	    p != der + len) {
		vfy_fail(r, e, "not a DER CMS structure");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data || !CMS_get0_content(cms)) {
		vfy_fail(r, e, "not a CMS SignedData of data");
		goto out;
	}
	if (!dcontent && !*CMS_get0_content(cms)) {
		vfy_fail(r, e, "not a CMS SignedData with its data inside");
		goto out;
	}
	if (dcontent && *CMS_get0_content(cms)) {
		vfy_fail(r, e, "a document signature must be detached");
		goto out;
	}
	if (dcontent && !(din = BIO_new_mem_buf(dcontent, (int)dcontent_len))) {
		e = CVQ_VERIFY_ERR_NOMEM;
		goto out;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		vfy_fail(r, e, "a receipt has exactly one signer");
		goto out;
	}
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	r->signing_time = claimed_time(si);
	if (!(out = BIO_new(BIO_s_mem()))) {
		e = CVQ_VERIFY_ERR_NOMEM;
		goto out;
	}
	/* The signature over the content; the chain is ours to judge. */
	if (CMS_verify(cms, NULL, NULL, din, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		unsigned long err = ERR_peek_last_error();
		e = vfy_fail(r, CVQ_VERIFY_ERR_SIGNATURE, "signature does not verify (%s)",
		             err ? ERR_reason_error_string(err) : "unknown");
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (sk_X509_num(signers) != 1) {
		vfy_fail(r, e, "signer certificate missing");
		goto out;
	}
	r->signer = sk_X509_value(signers, 0);
	X509_up_ref(r->signer);
	char *data;
	long dlen = BIO_get_mem_data(out, &data);
	if (!(r->content = malloc(dlen > 0 ? (size_t)dlen : 1))) {
		e = CVQ_VERIFY_ERR_NOMEM;
		goto out;
	}
	memcpy(r->content, data, dlen > 0 ? (size_t)dlen : 0);
	r->content_len = dlen > 0 ? (size_t)dlen : 0;
	certs = CMS_get1_certs(cms);

	if ((t = timestamp_der(si, &tst, &tst_len)) < 0) {
		e = vfy_fail(r, CVQ_VERIFY_ERR_TIMESTAMP, "the signature timestamp attribute is malformed");
		goto out;
	}
	if (t > 0) {
		ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
		e = vfy_timestamp(ctx, tst, tst_len, ASN1_STRING_get0_data(sv), ASN1_STRING_length(sv),
		                  certs, r);
		if (e != CVQ_VERIFY_OK)
			goto out;
	}
	if ((e = (flags & CVQ_VERIFY_FLAG_SEAL) ? vfy_profile_seal(ctx, r->signer, r)
	                                        : vfy_profile(ctx, r->signer, r)) != CVQ_VERIFY_OK)
		goto out;
	e = vfy_chain(ctx, r->signer, certs, r->ts_time ? r->ts_time : time(NULL), r->ts_time,
	              flags & ~CVQ_VERIFY_FLAG_SEAL, r);
out:
	if (e == CVQ_VERIFY_ERR_NOMEM)
		vfy_fail(r, e, "out of memory");
	free(tst);
	sk_X509_free(signers);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(out);
	BIO_free(din);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return e;
}

static cvq_verify_result *new_result(void)
{
	cvq_verify_result *r = calloc(1, sizeof *r);

	if (r) {
		r->rev.status = CVQ_VERIFY_CERT_UNKNOWN;
		r->rev.reason = -1;
		r->rev.source = "none";
	}
	return r;
}

cvq_verify_err cvq_verify_receipt(cvq_verify_ctx *ctx, const uint8_t *der, size_t len,
                                  unsigned flags, cvq_verify_result **out)
{
	cvq_verify_result *r;

	if (!out)
		return CVQ_VERIFY_ERR_ARG;
	*out = NULL;
	if (!ctx || (!der && len))
		return CVQ_VERIFY_ERR_ARG;
	if (!(r = new_result()))
		return CVQ_VERIFY_ERR_NOMEM;
	r->outcome = check(ctx, der, len, NULL, 0, flags & ~CVQ_VERIFY_FLAG_SEAL, r);
	*out = r;
	return r->outcome;
}

cvq_verify_err cvq_verify_detached(cvq_verify_ctx *ctx, const uint8_t *der, size_t len,
                                   const uint8_t *content, size_t content_len, unsigned flags,
                                   cvq_verify_result **out)
{
	cvq_verify_result *r;

	if (!out)
		return CVQ_VERIFY_ERR_ARG;
	*out = NULL;
	if (!ctx || (!der && len) || (!content && content_len) || content_len > INT32_MAX)
		return CVQ_VERIFY_ERR_ARG;
	if (!(r = new_result()))
		return CVQ_VERIFY_ERR_NOMEM;
	r->outcome = check(ctx, der, len, content ? content : (const uint8_t *)"", content_len,
	                   flags, r);
	*out = r;
	return r->outcome;
}

cvq_verify_err cvq_verify_cert(cvq_verify_ctx *ctx, X509 *cert, STACK_OF(X509) *extra, time_t at,
                               bool signing, unsigned flags, cvq_verify_result **out)
{
	cvq_verify_result *r;
	cvq_verify_err e;

	if (!out)
		return CVQ_VERIFY_ERR_ARG;
	*out = NULL;
	if (!ctx || !cert)
		return CVQ_VERIFY_ERR_ARG;
	if (!(r = new_result()))
		return CVQ_VERIFY_ERR_NOMEM;
	r->signer = cert;
	X509_up_ref(cert);
	e = signing ? vfy_profile(ctx, cert, r) : CVQ_VERIFY_OK;
	if (e == CVQ_VERIFY_OK)
		e = vfy_chain(ctx, cert, extra, at ? at : time(NULL), 0, flags, r);
	r->outcome = e;
	*out = r;
	return e;
}
