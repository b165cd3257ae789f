/*
 * Asymmetric keys: GENERATE ASYMMETRIC KEY PAIR, and GENERAL AUTHENTICATE
 * with a key slot: RSA raw private operation, ECDSA, ECDH.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "card_int.h"
#include "cvq/card_tlv.h"

#define REF_SIGN 0x9C
#define REF_CARD_AUTH 0x9E

int
vc_key_index(uint8_t ref)
{
	switch (ref) {
	case 0x9A: return 0;
	case 0x9C: return 1;
	case 0x9D: return 2;
	case 0x9E: return 3;
	case VC_REF_ATTEST: return 24;
	default:
		if (ref >= 0x82 && ref <= 0x95)
			return 4 + (ref - 0x82);
		return -1;
	}
}

uint8_t
vc_key_ref(int i)
{
	static const uint8_t first[4] = {0x9A, 0x9C, 0x9D, 0x9E};

	if (i < 0 || i >= VC_NKEYS)
		return 0;
	if (i == 24)
		return VC_REF_ATTEST;
	return i < 4 ? first[i] : (uint8_t)(0x82 + i - 4);
}

static size_t
ec_field_len(uint8_t alg)
{
	return alg == ALG_P384 ? 48 : 32;
}

uint16_t
vc_key_public_template(const struct vc_key *k, struct vc_buf *out)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[512], eb[8], pt[200];
	size_t nlen, elen, ptlen = 0, inner;
	uint16_t sw = SW_NO_PRECISE;

	if (k->alg == ALG_RSA2048 || k->alg == ALG_RSA1024) {
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
			goto out;
		nlen = (size_t)BN_num_bytes(n);
		elen = (size_t)BN_num_bytes(e);
		if (nlen > sizeof(nb) || elen > sizeof(eb))
			goto out;
		BN_bn2bin(n, nb);
		BN_bn2bin(e, eb);
		/* Modulus (81) before exponent (82), as clients expect. */
		inner = 1 + cvq_card_tlv_len_size(nlen) + nlen +
		        1 + cvq_card_tlv_len_size(elen) + elen;
		vc_buf_header(out, 0x7F49, inner);
		vc_buf_tlv(out, 0x81, nb, nlen);
		vc_buf_tlv(out, 0x82, eb, elen);
	} else {
		if (EVP_PKEY_get_octet_string_param(k->pkey,
		        OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
		        &ptlen) != 1 || ptlen != 1 + 2 * ec_field_len(k->alg))
			goto out;
		vc_buf_header(out, 0x7F49, 1 + cvq_card_tlv_len_size(ptlen) + ptlen);
		vc_buf_tlv(out, 0x86, pt, ptlen);
	}
	sw = SW_OK;
out:
	BN_free(n);
	BN_free(e);
	return sw;
}

static EVP_PKEY *
keygen(uint8_t alg)
{
	switch (alg) {
	case ALG_RSA1024: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	case ALG_RSA2048: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case ALG_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case ALG_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	default: return NULL;
	}
}

uint16_t
vc_key_generate(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	cvq_card_tlv tmpl, alg;
	struct vc_key k = {0};
	int idx;
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((idx = vc_key_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	if (!c->mgmt_auth)
		return SW_SECURITY;
	/* AC { 80 alg [AA pin-policy] [AB touch-policy] }: policies are
	 * accepted and ignored (docs/vcard.md, limits). */
	if (cvq_card_tlv_parse_one(a->data, a->lc, &tmpl) != CVQ_CARD_OK ||
	    tmpl.tag != 0xAC ||
	    cvq_card_tlv_find(tmpl.value, tmpl.len, 0x80, &alg) != CVQ_CARD_OK ||
	    alg.len != 1)
		return SW_WRONG_DATA;
	k.alg = alg.value[0];
	if (k.alg != ALG_RSA1024 && k.alg != ALG_RSA2048 && k.alg != ALG_P256 &&
	    k.alg != ALG_P384)
		return SW_WRONG_DATA;
	if ((k.pkey = keygen(k.alg)) == NULL)
		return SW_NO_PRECISE;
	sw = vc_key_public_template(&k, out);
	if (sw != SW_OK) {
		EVP_PKEY_free(k.pkey);
		return sw;
	}
	EVP_PKEY_free(c->keys[idx].pkey);
	c->keys[idx] = k;
	c->dirty = true;
	return SW_OK;
}

static uint16_t
rsa_raw(EVP_PKEY *pkey, const uint8_t *in, size_t inlen, struct vc_buf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	uint8_t sig[512];
	size_t siglen = sizeof(sig);
	uint16_t sw = SW_WRONG_DATA;

	if (ctx == NULL || (size_t)EVP_PKEY_get_size(pkey) != inlen)
		goto out;
	if (EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
	    EVP_PKEY_sign(ctx, sig, &siglen, in, inlen) != 1)
		goto out;  /* e.g. the block is not below the modulus */
	vc_buf_dyn(out, 0x82, sig, siglen);
	sw = SW_OK;
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	EVP_PKEY_CTX_free(ctx);
	return sw;
}

static uint16_t
ecdsa(EVP_PKEY *pkey, uint8_t alg, const uint8_t *in, size_t inlen,
      struct vc_buf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	uint8_t sig[160];
	size_t siglen = sizeof(sig);
	uint16_t sw = SW_WRONG_DATA;

	/* ECDSA uses the leftmost field-size bytes of a longer hash. */
	if (inlen > ec_field_len(alg))
		inlen = ec_field_len(alg);
	if (ctx == NULL || inlen == 0)
		goto out;
	if (EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, sig, &siglen, in, inlen) != 1) {
		sw = SW_NO_PRECISE;
		goto out;
	}
	vc_buf_dyn(out, 0x82, sig, siglen);
	sw = SW_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return sw;
}

static uint16_t
ecdh(EVP_PKEY *pkey, uint8_t alg, const uint8_t *pt, size_t ptlen,
     struct vc_buf *out)
{
	EVP_PKEY_CTX *pctx = NULL, *ctx = NULL;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM params[3];
	uint8_t z[64];
	size_t zlen = sizeof(z);
	uint16_t sw = SW_WRONG_DATA;
	char group[16];

	if (ptlen != 1 + 2 * ec_field_len(alg) || pt[0] != 0x04)
		goto out;
	strcpy(group, alg == ALG_P384 ? "P-384" : "P-256");
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	                                              (void *)pt, ptlen);
	params[2] = OSSL_PARAM_construct_end();
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* Validate the peer point (on the curve) before deriving. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1)
		goto out;
	vc_buf_dyn(out, 0x82, z, zlen);
	sw = SW_OK;
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	return sw;
}

uint16_t
vc_key_use(struct vc_card *c, const struct vc_apdu *a,
           const uint8_t *dyn, size_t dyn_len, struct vc_buf *out)
{
	cvq_card_tlv resp, chal, exp;
	struct vc_key *k;
	bool has_chal, has_exp;
	int idx = vc_key_index(a->p2);

	/* The attestation key signs attestations only (vc_attest). */
	if (idx < 0 || a->p2 == VC_REF_ATTEST)
		return SW_WRONG_P1P2;
	if (cvq_card_tlv_find(dyn, dyn_len, 0x82, &resp) != CVQ_CARD_OK ||
	    resp.len != 0)
		return SW_WRONG_DATA;
	has_chal = cvq_card_tlv_find(dyn, dyn_len, 0x81, &chal) == CVQ_CARD_OK;
	has_exp = cvq_card_tlv_find(dyn, dyn_len, 0x85, &exp) == CVQ_CARD_OK;
	if (has_chal == has_exp)
		return SW_WRONG_DATA;
	k = &c->keys[idx];
	if (k->pkey == NULL)
		return SW_REF_NOT_FOUND;
	if (k->alg != a->p1)
		return SW_WRONG_P1P2;
	/* Security conditions: none for card authentication (9E); 9C is
	 * PIN-always (a VERIFY per signature); others the PIN once. */
	if (a->p2 == REF_SIGN) {
		if (!c->pin_fresh)
			return SW_SECURITY;
		c->pin_fresh = false;
	} else if (a->p2 != REF_CARD_AUTH && !c->pin_verified) {
		return SW_SECURITY;
	}
	if (has_exp) {
		if (k->alg != ALG_P256 && k->alg != ALG_P384)
			return SW_WRONG_DATA;
		return ecdh(k->pkey, k->alg, exp.value, exp.len, out);
	}
	if (k->alg == ALG_RSA2048 || k->alg == ALG_RSA1024)
		return rsa_raw(k->pkey, chal.value, chal.len, out);
	return ecdsa(k->pkey, k->alg, chal.value, chal.len, out);
}
