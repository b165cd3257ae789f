#include "receipt.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct der { unsigned char *p; int len; };

/* DER order of a SET OF: bytewise, a shorter prefix first (X.690 11.6). */
static int cmp_der(const void *a, const void *b)
{
	const struct der *x = a, *y = b;
	int n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, (size_t)n);
	return c ? c : x->len - y->len;
}

/*
 * Sign the bytes that are signed: the signed attributes as a DER SET OF
 * (RFC 5652 5.4: EXPLICIT SET OF tag, not the IMPLICIT [0] of the
 * SignerInfo). OpenSSL writes the [0] field in the same sorted order.
 */
static cvqd_err signed_attrs_sign(CMS_SignerInfo *si, cvqd_sign_digest_fn sign, void *arg,
                                   uint8_t *sig, size_t *siglen)
{
	int n = CMS_signed_get_attr_count(si);
	struct der *parts = NULL;
	unsigned char *all = NULL;
	size_t total = 0;
	unsigned char md[32];
	cvqd_err rc = CVQD_ERR_INTERNAL;
	if (n <= 0 || n > 16)
		return CVQD_ERR_INTERNAL;
	parts = calloc((size_t)n, sizeof *parts);
	if (!parts)
		return CVQD_ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		parts[i].len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &parts[i].p);
		if (parts[i].len <= 0)
			goto out;
		total += (size_t)parts[i].len;
	}
	qsort(parts, (size_t)n, sizeof *parts, cmp_der);
	all = malloc(total + 6);
	if (!all) {
		rc = CVQD_ERR_NOMEM;
		goto out;
	}
	size_t off = 0;
	all[off++] = 0x31;
	if (total < 0x80) {
		all[off++] = (unsigned char)total;
	} else if (total < 0x100) {
		all[off++] = 0x81;
		all[off++] = (unsigned char)total;
	} else if (total < 0x10000) {
		all[off++] = 0x82;
		all[off++] = (unsigned char)(total >> 8);
		all[off++] = (unsigned char)total;
	} else {
		goto out;
	}
	for (int i = 0; i < n; i++) {
		memcpy(all + off, parts[i].p, (size_t)parts[i].len);
		off += (size_t)parts[i].len;
	}
	if (EVP_Digest(all, off, md, NULL, EVP_sha256(), NULL)) {
		cvqd_tbs tbs = { all, off, md, sizeof md, EVP_sha256() };
		rc = sign(arg, &tbs, sig, siglen);
	}
out:
	for (int i = 0; i < n; i++)
		OPENSSL_free(parts[i].p);
	free(parts);
	free(all);
	return rc;
}

cvqd_err cvqd_receipt_build(const uint8_t *content, size_t len, X509 *signer,
                            STACK_OF(X509) *chain, time_t signing_time,
                            cvqd_sign_digest_fn sign, void *arg,
                            uint8_t **der, size_t *derlen)
{
	const int flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	cvqd_err rc = CVQD_ERR_INTERNAL;
	CMS_ContentInfo *cms = NULL;
	ASN1_TIME *when = NULL;
	unsigned char md[32], sig[1024];
	size_t siglen = sizeof sig;
	uint8_t *out = NULL;

	*der = NULL;
	*derlen = 0;
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (!cms)
		goto out;
	/* The public key stands in for the private one: nothing is signed here. */
	CMS_SignerInfo *si = CMS_add1_signer(cms, signer, X509_get0_pubkey(signer),
	                                     EVP_sha256(), flags);
	if (!si)
		goto out;
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		if (!CMS_add1_cert(cms, sk_X509_value(chain, i)))
			goto out;

	ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
	if (!pos)
		goto out;
	if (!*pos && !(*pos = ASN1_OCTET_STRING_new()))
		goto out;
	if (!ASN1_OCTET_STRING_set(*pos, content, (int)len))
		goto out;
	(*pos)->flags &= ~ASN1_STRING_FLAG_CONT;

	if (!EVP_Digest(content, len, md, NULL, EVP_sha256(), NULL))
		goto out;
	when = X509_time_adj(NULL, 0, &signing_time);
	if (!when ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	                                 OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, when->type, when, -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, md, 32))
		goto out;

	if ((rc = signed_attrs_sign(si, sign, arg, sig, &siglen)) != CVQD_OK)
		goto out;
	rc = CVQD_ERR_INTERNAL;
	if (!ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)siglen))
		goto out;

	int n = i2d_CMS_ContentInfo(cms, &out);
	if (n <= 0)
		goto out;
	*der = malloc((size_t)n);
	if (!*der) {
		rc = CVQD_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, out, (size_t)n);
	*derlen = (size_t)n;
	rc = CVQD_OK;
out:
	OPENSSL_free(out);
	ASN1_TIME_free(when);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
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
