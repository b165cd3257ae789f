/*
 * The issuer's signed objects: CHUID signature (3E), Security Object
 * (5FC106), CCC (5FC107). Building and signing them (enrolment) and
 * parsing them (every reader of a card); the checks are in authentic.c.
 * See cvq/piv_authentic.h for the formats and the standards behind them.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"
#include "cvq/piv_authentic.h"

/* ---- LDSSecurityObject (ICAO 9303 part 10, as PIV uses it) ---- */

typedef struct {
	ASN1_INTEGER *dg;
	ASN1_OCTET_STRING *hash;
} CVQ_DGHASH;

typedef struct {
	ASN1_INTEGER *version;
	X509_ALGOR *alg;
	STACK_OF(CVQ_DGHASH) *hashes;
} CVQ_LDSSO;

DECLARE_ASN1_FUNCTIONS(CVQ_DGHASH)
DECLARE_ASN1_FUNCTIONS(CVQ_LDSSO)
DEFINE_STACK_OF(CVQ_DGHASH)

ASN1_SEQUENCE(CVQ_DGHASH) = {
	ASN1_SIMPLE(CVQ_DGHASH, dg, ASN1_INTEGER),
	ASN1_SIMPLE(CVQ_DGHASH, hash, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(CVQ_DGHASH)

ASN1_SEQUENCE(CVQ_LDSSO) = {
	ASN1_SIMPLE(CVQ_LDSSO, version, ASN1_INTEGER),
	ASN1_SIMPLE(CVQ_LDSSO, alg, X509_ALGOR),
	ASN1_SEQUENCE_OF(CVQ_LDSSO, hashes, CVQ_DGHASH),
} ASN1_SEQUENCE_END(CVQ_LDSSO)

IMPLEMENT_ASN1_FUNCTIONS(CVQ_DGHASH)
IMPLEMENT_ASN1_FUNCTIONS(CVQ_LDSSO)

/* ---- container IDs ---- */

static const struct {
	uint32_t tag;
	uint16_t id;
} containers[] = {
	{0x5FC107u, 0xDB00}, /* CCC */
	{0x5FC102u, 0x3000}, /* CHUID */
	{0x5FC105u, 0x0101}, /* 9A certificate */
	{0x5FC103u, 0x6010}, /* fingerprints */
	{0x5FC106u, 0x9000}, /* Security Object */
	{0x5FC108u, 0x6030}, /* facial image */
	{0x5FC109u, 0x3001}, /* printed information */
	{0x5FC10Au, 0x0100}, /* 9C certificate */
	{0x5FC10Bu, 0x0102}, /* 9D certificate */
	{0x5FC101u, 0x0500}, /* 9E certificate */
	{0x5FC10Cu, 0x6050}, /* key history */
};

uint16_t
cvq_piv_container_id(uint32_t tag)
{
	size_t i;

	for (i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		if (containers[i].tag == tag)
			return containers[i].id;
	return 0;
}

static uint32_t
container_tag(uint16_t id)
{
	size_t i;

	for (i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		if (containers[i].id == id)
			return containers[i].tag;
	return 0;
}

/* ---- CCC ---- */

cvq_card_err
cvq_piv_ccc_build(const uint8_t guid[CVQ_CARD_GUID_LEN], uint8_t *out, size_t cap,
                  size_t *len)
{
	/* Card identifier: GSC-RID A000000116, manufacturer 0xFF (none), card
	 * type 0x02 (JavaCard-like, as SP 800-73-4 part 1, table 9 suggests
	 * for PIV), then 14 bytes of the GUID: unique per card. */
	uint8_t id[21] = {0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02};
	static const uint8_t v21 = 0x21, v10 = 0x10;
	size_t off = 0;
	cvq_card_err err;

	if (guid == NULL || out == NULL || len == NULL)
		return CVQ_CARD_ERR_ARG;
	memcpy(id + 7, guid, 14);
	if ((err = cvq_card_tlv_put(out, cap, &off, 0xF0, id, sizeof(id))) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF1, &v21, 1)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF2, &v21, 1)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF3, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF4, &v10, 1)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF5, &v10, 1)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF6, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xF7, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xFA, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xFB, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xFC, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xFD, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xFE, NULL, 0)))
		return err;
	*len = off;
	return CVQ_CARD_OK;
}

/* ---- CMS ---- */

/* SignedData by signer over data, content type oid; detached or not. */
static cvq_card_err
cms_sign(const char *oid, const uint8_t *data, size_t len, bool detached, bool certs,
         X509 *signer, EVP_PKEY *key, uint8_t **out, size_t *out_len)
{
	unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	ASN1_OBJECT *type = OBJ_txt2obj(oid, 1);
	CMS_ContentInfo *cms = NULL;
	BIO *in = BIO_new_mem_buf(data, (int)len);
	unsigned char *der = NULL;
	cvq_card_err err = CVQ_CARD_ERR_CRYPTO;
	int n;

	if (detached)
		flags |= CMS_DETACHED;
	if (!certs)
		flags |= CMS_NOCERTS;
	if (type == NULL || in == NULL)
		goto out;
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (cms == NULL || CMS_set1_eContentType(cms, type) != 1 ||
	    CMS_add1_signer(cms, signer, key, EVP_sha256(), flags) == NULL ||
	    CMS_final(cms, in, NULL, flags) != 1)
		goto out;
	n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0)
		goto out;
	*out = malloc((size_t)n);
	if (*out == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
	err = CVQ_CARD_OK;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	ASN1_OBJECT_free(type);
	ERR_clear_error();
	return err;
}

/* ---- CHUID ---- */

cvq_card_err
cvq_piv_chuid_split(const uint8_t *buf, size_t len, size_t *content_len,
                    const uint8_t **sig, size_t *sig_len)
{
	const uint8_t *p = buf, *end, *start;
	cvq_card_tlv t;
	cvq_card_err err;
	bool guid = false;

	if ((buf == NULL && len != 0) || content_len == NULL || sig == NULL || sig_len == NULL)
		return CVQ_CARD_ERR_ARG;
	*content_len = len;
	*sig = NULL;
	*sig_len = 0;
	end = buf + len;
	while (p < end) {
		start = p;
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			return err;
		if (t.tag == 0x34)
			guid = true;
		if (t.tag == 0x3E || t.tag == 0xFE) {
			/* Everything before the signature is what it covers. */
			*content_len = (size_t)(start - buf);
			if (t.tag == 0x3E) {
				*sig = t.len ? t.value : NULL;
				*sig_len = t.len;
			}
			break;
		}
	}
	return guid ? CVQ_CARD_OK : CVQ_CARD_ERR_BAD_DATA;
}

cvq_card_err
cvq_piv_chuid_sign(const uint8_t *chuid, size_t len, X509 *signer, EVP_PKEY *key,
                   uint8_t **out, size_t *out_len)
{
	const uint8_t *old;
	uint8_t *cms = NULL, *buf = NULL;
	size_t clen, olen, cms_len = 0, cap, off;
	cvq_card_err err;

	if (chuid == NULL || signer == NULL || key == NULL || out == NULL || out_len == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_piv_chuid_split(chuid, len, &clen, &old, &olen);
	if (err)
		return err;
	err = cms_sign(CVQ_PIV_OID_CHUID_SECOBJ, chuid, clen, true, true, signer, key, &cms,
	               &cms_len);
	if (err)
		return err;
	cap = clen + cms_len + 16;
	buf = malloc(cap);
	if (buf == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	memcpy(buf, chuid, clen);
	off = clen;
	if ((err = cvq_card_tlv_put(buf, cap, &off, 0x3E, cms, cms_len)) ||
	    (err = cvq_card_tlv_put(buf, cap, &off, 0xFE, NULL, 0)))
		goto out;
	*out = buf;
	*out_len = off;
	buf = NULL;
out:
	free(buf);
	free(cms);
	return err;
}

/* ---- Security Object ---- */

cvq_card_err
cvq_piv_secobj_build(const cvq_piv_secobj_item *items, size_t n, X509 *signer,
                     EVP_PKEY *key, uint8_t **out, size_t *out_len)
{
	CVQ_LDSSO *so = NULL;
	CVQ_DGHASH *h = NULL;
	unsigned char md[32], *lds = NULL;
	uint8_t map[3 * CVQ_PIV_SECOBJ_MAX], *cms = NULL, *buf = NULL;
	size_t i, cms_len = 0, cap, off = 0;
	cvq_card_err err = CVQ_CARD_ERR_CRYPTO;
	uint16_t id;
	int lds_len;

	if (items == NULL || n == 0 || n > CVQ_PIV_SECOBJ_MAX || signer == NULL ||
	    key == NULL || out == NULL || out_len == NULL)
		return CVQ_CARD_ERR_ARG;
	so = CVQ_LDSSO_new();
	if (so == NULL || ASN1_INTEGER_set(so->version, 0) != 1 ||
	    X509_ALGOR_set0(so->alg, OBJ_nid2obj(NID_sha256), V_ASN1_UNDEF, NULL) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		id = cvq_piv_container_id(items[i].tag);
		if (id == 0 || (items[i].data == NULL && items[i].len != 0)) {
			err = CVQ_CARD_ERR_ARG;
			goto out;
		}
		map[3 * i] = (uint8_t)(i + 1);
		map[3 * i + 1] = (uint8_t)(id >> 8);
		map[3 * i + 2] = (uint8_t)id;
		if (EVP_Digest(items[i].data, items[i].len, md, NULL, EVP_sha256(), NULL) != 1 ||
		    (h = CVQ_DGHASH_new()) == NULL ||
		    ASN1_INTEGER_set(h->dg, (long)(i + 1)) != 1 ||
		    ASN1_OCTET_STRING_set(h->hash, md, sizeof(md)) != 1 ||
		    !sk_CVQ_DGHASH_push(so->hashes, h))
			goto out;
		h = NULL;
	}
	lds_len = i2d_CVQ_LDSSO(so, &lds);
	if (lds_len <= 0)
		goto out;
	/* The certificate is in the CHUID's signature: not repeated here,
	 * which keeps the object (and its reading) short. */
	err = cms_sign(CVQ_PIV_OID_LDS_SECOBJ, lds, (size_t)lds_len, false, false, signer, key,
	               &cms, &cms_len);
	if (err)
		goto out;
	cap = 3 * n + cms_len + 16;
	buf = malloc(cap);
	if (buf == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	if ((err = cvq_card_tlv_put(buf, cap, &off, 0xBA, map, 3 * n)) ||
	    (err = cvq_card_tlv_put(buf, cap, &off, 0xBB, cms, cms_len)) ||
	    (err = cvq_card_tlv_put(buf, cap, &off, 0xFE, NULL, 0)))
		goto out;
	*out = buf;
	*out_len = off;
	buf = NULL;
out:
	free(buf);
	free(cms);
	OPENSSL_free(lds);
	CVQ_DGHASH_free(h);
	CVQ_LDSSO_free(so);
	ERR_clear_error();
	return err;
}

cvq_card_err
cvq_piv_secobj_parse(const uint8_t *buf, size_t len, cvq_piv_secobj *out)
{
	const uint8_t *p = buf, *end;
	cvq_card_tlv t;
	cvq_card_err err;
	bool have_map = false;
	size_t i, j;

	if ((buf == NULL && len != 0) || out == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	end = buf + len;
	while (p < end) {
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			return err;
		if (t.tag == 0xBA) {
			if (have_map || t.len == 0 || t.len % 3 || t.len / 3 > CVQ_PIV_SECOBJ_MAX)
				return CVQ_CARD_ERR_BAD_DATA;
			out->n = t.len / 3;
			for (i = 0; i < out->n; i++) {
				out->map[i].dg = t.value[3 * i];
				out->map[i].container = (uint16_t)(t.value[3 * i + 1] << 8 |
				                                   t.value[3 * i + 2]);
				out->map[i].tag = container_tag(out->map[i].container);
				/* A data group named twice would let one hash
				 * stand for two objects. */
				for (j = 0; j < i; j++)
					if (out->map[j].dg == out->map[i].dg ||
					    out->map[j].container == out->map[i].container)
						return CVQ_CARD_ERR_BAD_DATA;
			}
			have_map = true;
		} else if (t.tag == 0xBB) {
			if (out->cms || t.len == 0)
				return CVQ_CARD_ERR_BAD_DATA;
			out->cms = t.value;
			out->cms_len = t.len;
		}
	}
	return have_map && out->cms ? CVQ_CARD_OK : CVQ_CARD_ERR_BAD_DATA;
}

cvq_card_err
cvq_piv_lds_parse(const uint8_t *buf, size_t len, const cvq_piv_secobj *so,
                  uint8_t hashes[][32])
{
	const unsigned char *p = buf;
	CVQ_LDSSO *lds;
	CVQ_DGHASH *h;
	bool found;
	long dg;
	size_t i;
	int k, m;
	cvq_card_err err = CVQ_CARD_ERR_BAD_DATA;

	if ((buf == NULL && len != 0) || so == NULL || hashes == NULL || len > 65536)
		return CVQ_CARD_ERR_ARG;
	lds = d2i_CVQ_LDSSO(NULL, &p, (long)len);
	if (lds == NULL || p != buf + len)
		goto out;
	if (ASN1_INTEGER_get(lds->version) != 0 ||
	    OBJ_obj2nid(lds->alg->algorithm) != NID_sha256)
		goto out;
	m = sk_CVQ_DGHASH_num(lds->hashes);
	for (i = 0; i < so->n; i++) {
		found = false;
		for (k = 0; k < m; k++) {
			h = sk_CVQ_DGHASH_value(lds->hashes, k);
			dg = ASN1_INTEGER_get(h->dg);
			if (dg != so->map[i].dg)
				continue;
			if (found || ASN1_STRING_length(h->hash) != 32)
				goto out;
			memcpy(hashes[i], ASN1_STRING_get0_data(h->hash), 32);
			found = true;
		}
		if (!found)
			goto out;
	}
	err = CVQ_CARD_OK;
out:
	CVQ_LDSSO_free(lds);
	ERR_clear_error();
	return err;
}
