/*
 * libcvqcades — a B-B signature around a key we cannot touch. OpenSSL's
 * CMS API builds the SignerInfo (the public key stands in for the private
 * one); we add the signed attributes, DER-encode them as the SET OF that
 * is signed (RFC 5652 5.4: the EXPLICIT SET OF tag, not the IMPLICIT [0]
 * of the SignerInfo), have the callback sign them and set the signature.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>

#include <cvq/cades.h>

#include "cades_int.h"

struct der {
	unsigned char *p;
	int len;
};

/* DER order of a SET OF: bytewise, a shorter prefix first (X.690 11.6). */
static int
cmp_der(const void *a, const void *b)
{
	const struct der *x = a, *y = b;
	int n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, (size_t)n);

	return c ? c : x->len - y->len;
}

static cvq_cades_err
attrs_sign(CMS_SignerInfo *si, const struct cvq_cades_sign_params *p, uint8_t *sig,
           size_t *siglen)
{
	int i, n = CMS_signed_get_attr_count(si);
	struct der *parts = NULL;
	unsigned char *all = NULL;
	unsigned char md[32];
	size_t total = 0, off = 0;
	cvq_cades_err rc = CVQ_CADES_ERR_CRYPTO;

	if (n <= 0 || n > 16)
		return CVQ_CADES_ERR_CRYPTO;
	parts = calloc((size_t)n, sizeof(*parts));
	if (!parts)
		return CVQ_CADES_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		parts[i].len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &parts[i].p);
		if (parts[i].len <= 0)
			goto out;
		total += (size_t)parts[i].len;
	}
	qsort(parts, (size_t)n, sizeof(*parts), cmp_der);
	if (total >= 0x10000)
		goto out;
	all = malloc(total + 4);
	if (!all) {
		rc = CVQ_CADES_ERR_NOMEM;
		goto out;
	}
	all[off++] = 0x31;
	if (total < 0x80) {
		all[off++] = (unsigned char)total;
	} else if (total < 0x100) {
		all[off++] = 0x81;
		all[off++] = (unsigned char)total;
	} else {
		all[off++] = 0x82;
		all[off++] = (unsigned char)(total >> 8);
		all[off++] = (unsigned char)total;
	}
	for (i = 0; i < n; i++) {
		memcpy(all + off, parts[i].p, (size_t)parts[i].len);
		off += (size_t)parts[i].len;
	}
	if (EVP_Digest(all, off, md, NULL, EVP_sha256(), NULL))
		rc = p->sign(p->arg, all, off, md, sizeof(md), sig, siglen) == 0 ? CVQ_CADES_OK
		                                                                 : CVQ_CADES_ERR_SIGNER;
out:
	for (i = 0; i < n; i++)
		OPENSSL_free(parts[i].p);
	free(parts);
	free(all);
	return rc;
}

/*
 * signingCertificateV2 (RFC 5035): the SHA-256 of the signer's
 * certificate and its issuer and serial, so the signature names the one
 * certificate it was made under (EN 319 122-1 5.2.2.3). OpenSSL leaves
 * out the hash algorithm when it is the default, SHA-256.
 */
static int
add_signing_cert_v2(CMS_SignerInfo *si, X509 *signer)
{
	ESS_SIGNING_CERT_V2 *sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), signer, NULL, 1);
	unsigned char *d = NULL;
	int n, ok = 0;

	if (!sc)
		return 0;
	n = i2d_ESS_SIGNING_CERT_V2(sc, &d);
	if (n > 0)
		ok = CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2,
		                                 V_ASN1_SEQUENCE, d, n);
	OPENSSL_free(d);
	ESS_SIGNING_CERT_V2_free(sc);
	return ok;
}

cvq_cades_err
cvq_cades_sign(const struct cvq_cades_sign_params *p, uint8_t **der, size_t *der_len)
{
	const int flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	cvq_cades_err rc = CVQ_CADES_ERR_CRYPTO, e;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING **pos;
	ASN1_TIME *when = NULL;
	unsigned char md[32], sig[1024];
	size_t siglen = sizeof(sig);
	int i;

	if (!p || !p->signer || !p->sign || !der || !der_len || (!p->content && p->content_len) ||
	    p->content_len > INT32_MAX)
		return CVQ_CADES_ERR_ARG;
	*der = NULL;
	*der_len = 0;
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (!cms)
		goto out;
	si = CMS_add1_signer(cms, p->signer, X509_get0_pubkey(p->signer), EVP_sha256(), flags);
	if (!si)
		goto out;
	for (i = 0; p->certs && i < sk_X509_num(p->certs); i++)
		if (!CMS_add1_cert(cms, sk_X509_value(p->certs, i)))
			goto out;
	if (p->flags & ~(CVQ_CADES_DETACHED | CVQ_CADES_NO_SIGNING_TIME)) {
		rc = CVQ_CADES_ERR_ARG;
		goto out;
	}
	if (p->flags & CVQ_CADES_DETACHED) {
		if (!CMS_set_detached(cms, 1))
			goto out;
	} else {
		pos = CMS_get0_content(cms);
		if (!pos || (!*pos && !(*pos = ASN1_OCTET_STRING_new())) ||
		    !ASN1_OCTET_STRING_set(*pos, p->content ? p->content : (const uint8_t *)"",
		                           (int)p->content_len))
			goto out;
		(*pos)->flags &= ~ASN1_STRING_FLAG_CONT;
	}
	if (!EVP_Digest(p->content ? p->content : (const uint8_t *)"", p->content_len, md, NULL,
	                EVP_sha256(), NULL))
		goto out;
	{
		time_t t = p->signing_time;

		when = X509_time_adj(NULL, 0, &t);
	}
	if (!when ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	                                 OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    (!(p->flags & CVQ_CADES_NO_SIGNING_TIME) &&
	     !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, when->type, when, -1)) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, md, 32) ||
	    !add_signing_cert_v2(si, p->signer))
		goto out;
	e = attrs_sign(si, p, sig, &siglen);
	if (e != CVQ_CADES_OK) {
		rc = e;
		goto out;
	}
	if (!ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)siglen))
		goto out;
	rc = cades_cms_der(cms, der, der_len);
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	ASN1_TIME_free(when);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}

cvq_cades_err
cades_cms_der(CMS_ContentInfo *cms, uint8_t **der, size_t *der_len)
{
	unsigned char *d = NULL;
	int n = i2d_CMS_ContentInfo(cms, &d);

	if (n <= 0)
		return CVQ_CADES_ERR_CRYPTO;
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(d);
		return CVQ_CADES_ERR_NOMEM;
	}
	memcpy(*der, d, (size_t)n);
	*der_len = (size_t)n;
	OPENSSL_free(d);
	return CVQ_CADES_OK;
}

cvq_cades_err
cades_cms_parse(const uint8_t *der, size_t len, CMS_ContentInfo **cms, CMS_SignerInfo **si)
{
	const unsigned char *p = der;
	STACK_OF(CMS_SignerInfo) *sis;

	*cms = NULL;
	if (!der || len == 0 || len > (1u << 20))
		return CVQ_CADES_ERR_ARG;
	*cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!*cms || p != der + len || OBJ_obj2nid(CMS_get0_type(*cms)) != NID_pkcs7_signed)
		goto bad;
	sis = CMS_get0_SignerInfos(*cms);
	if (sk_CMS_SignerInfo_num(sis) != 1)
		goto bad;
	*si = sk_CMS_SignerInfo_value(sis, 0);
	return CVQ_CADES_OK;
bad:
	CMS_ContentInfo_free(*cms);
	*cms = NULL;
	ERR_clear_error();
	return CVQ_CADES_ERR_FORMAT;
}
