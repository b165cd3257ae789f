#include "receipt.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cvq/cades.h>

/* The card's callback behind libcvqcades' one: its cvqd_err kept for the caller. */
struct sign_ctx {
	cvqd_sign_digest_fn sign;
	void *arg;
	cvqd_err err;
};

static int cades_sign_cb(void *arg, const uint8_t *tbs, size_t tbs_len, const uint8_t *digest,
                         size_t digest_len, uint8_t *sig, size_t *siglen)
{
	struct sign_ctx *c = arg;
	cvqd_tbs t = { tbs, tbs_len, digest, digest_len, EVP_sha256() };
	c->err = c->sign(c->arg, &t, sig, siglen);
	return c->err == CVQD_OK ? 0 : -1;
}

cvqd_err cvqd_receipt_build(const uint8_t *content, size_t len, X509 *signer,
                            STACK_OF(X509) *chain, time_t signing_time,
                            cvqd_sign_digest_fn sign, void *arg,
                            uint8_t **der, size_t *derlen)
{
	struct sign_ctx c = { sign, arg, CVQD_OK };
	struct cvq_cades_sign_params p = {
		.content = content, .content_len = len, .signer = signer, .certs = chain,
		.signing_time = signing_time, .sign = cades_sign_cb, .arg = &c,
	};
	cvq_cades_err e = cvq_cades_sign(&p, der, derlen);
	if (e == CVQ_CADES_OK)
		return CVQD_OK;
	if (e == CVQ_CADES_ERR_SIGNER && c.err != CVQD_OK)
		return c.err;
	return e == CVQ_CADES_ERR_NOMEM ? CVQD_ERR_NOMEM : CVQD_ERR_INTERNAL;
}

/* The TSA's anchors: [tsa] anchors, else those of [trust]. */
static X509_STORE *tsa_store(const cvqd_config *cfg)
{
	char *const *files = cfg->n_tsa_anchors ? cfg->tsa_anchors : cfg->anchors;
	size_t n = cfg->n_tsa_anchors ? cfg->n_tsa_anchors : cfg->n_anchors;
	X509_STORE *st = n ? X509_STORE_new() : NULL;
	for (size_t i = 0; st && i < n; i++)
		if (X509_STORE_load_file(st, files[i]) != 1) {
			X509_STORE_free(st);
			st = NULL;
		}
	return st;
}

cvqd_err cvqd_receipt_timestamp(const cvqd_config *cfg, const uint8_t *der, size_t len,
                                uint8_t **out, size_t *outlen, time_t *gen_time,
                                char *why, size_t whylen)
{
	*out = NULL;
	*outlen = 0;
	if (!cfg->tsa_url[0]) {
		snprintf(why, whylen, "no timestamp authority configured");
		return CVQD_ERR_TSA_UNAVAILABLE;
	}
	X509_STORE *st = tsa_store(cfg);
	if (!st) {
		snprintf(why, whylen, "the TSA's trust anchors cannot be read");
		ERR_clear_error();
		return CVQD_ERR_TSA_UNAVAILABLE;
	}
	struct cvq_cades_tsa tsa = {
		.url = cfg->tsa_url, .policy_oid = cfg->tsa_policy[0] ? cfg->tsa_policy : NULL,
		.timeout_s = cfg->tsa_timeout, .trust = st,
	};
	cvq_cades_err e = cvq_cades_timestamp(der, len, &tsa, out, outlen, gen_time);
	X509_STORE_free(st);
	if (e == CVQ_CADES_OK)
		return CVQD_OK;
	snprintf(why, whylen, "%s", cvq_cades_strerror(e));
	return e == CVQ_CADES_ERR_NOMEM ? CVQD_ERR_NOMEM : CVQD_ERR_TSA_UNAVAILABLE;
}

static int signing_time(CMS_SignerInfo *si, time_t *t)
{
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	if (idx < 0)
		return -1;
	ASN1_TYPE *v = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
	if (!v || (v->type != V_ASN1_UTCTIME && v->type != V_ASN1_GENERALIZEDTIME))
		return -1;
	return cvqd_asn1_time_to_time_t((const ASN1_TIME *)v->value.asn1_string, t);
}

cvqd_err cvqd_receipt_verify(const uint8_t *der, size_t len, const cvqd_trust *trust,
                             cvqd_receipt_info *info, char *why, size_t whylen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	BIO *out = NULL;
	STACK_OF(X509) *certs = NULL, *signers = NULL;
	cvqd_err rc = CVQD_ERR_BAD_RECEIPT;

	memset(info, 0, sizeof *info);
	if (len > 1u << 20 || !(cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) || p != der + len) {
		snprintf(why, whylen, "not a DER CMS structure");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		snprintf(why, whylen, "not a CMS SignedData of data");
		goto out;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		snprintf(why, whylen, "a receipt has exactly one signer");
		goto out;
	}
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	if (signing_time(si, &info->signing_time)) {
		snprintf(why, whylen, "no signing time");
		goto out;
	}
	out = BIO_new(BIO_s_mem());
	if (!out) {
		rc = CVQD_ERR_NOMEM;
		goto out;
	}
	/* Signature and content digest here; the chain is judged by trust.c. */
	if (CMS_verify(cms, NULL, NULL, NULL, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		unsigned long e = ERR_peek_last_error();
		snprintf(why, whylen, "signature does not verify (%s)",
		         e ? ERR_reason_error_string(e) : "unknown");
		rc = CVQD_ERR_BAD_SIGNATURE;
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (sk_X509_num(signers) != 1) {
		snprintf(why, whylen, "signer certificate missing");
		goto out;
	}
	info->signer = sk_X509_value(signers, 0);
	X509_up_ref(info->signer);
	char *data;
	long dlen = BIO_get_mem_data(out, &data);
	info->content = malloc(dlen > 0 ? (size_t)dlen : 1);
	if (!info->content) {
		rc = CVQD_ERR_NOMEM;
		goto out;
	}
	memcpy(info->content, data, dlen > 0 ? (size_t)dlen : 0);
	info->content_len = dlen > 0 ? (size_t)dlen : 0;

	certs = CMS_get1_certs(cms);
	cvqd_trust_check(trust, info->signer, certs, info->signing_time, &info->status);
	rc = info->status.err;
	if (rc != CVQD_OK)
		snprintf(why, whylen, "%s", info->status.reason);
out:
	sk_X509_free(signers);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}

void cvqd_receipt_info_free(cvqd_receipt_info *info)
{
	free(info->content);
	X509_free(info->signer);
	memset(info, 0, sizeof *info);
}
