/*
 * Yubico PIV extensions: FD version, F8 serial, FF set management key,
 * FA set retries, FB reset, F7 metadata, FE import key. Behaviour follows
 * a YubiKey 5 where clients can tell the difference.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "card_int.h"
#include "cvq/card_tlv.h"

static uint16_t
set_mgmt_key(struct vc_card *c, const struct vc_apdu *a)
{
	size_t klen;

	/* FF FF|FE, data: alg 9B len key (FE = touch required, ignored). */
	if (a->p1 != 0xFF || (a->p2 != 0xFF && a->p2 != 0xFE))
		return SW_WRONG_P1P2;
	if (!c->mgmt_auth)
		return SW_SECURITY;
	if (a->lc < 3 || a->data[1] != 0x9B)
		return SW_WRONG_DATA;
	klen = vc_mgmt_keylen(a->data[0]);
	if (klen == 0 || a->data[2] != klen || a->lc != 3 + klen)
		return SW_WRONG_DATA;
	OPENSSL_cleanse(c->mgmt_key, sizeof(c->mgmt_key));
	memcpy(c->mgmt_key, a->data + 3, klen);
	c->mgmt_len = klen;
	c->mgmt_alg = a->data[0];
	c->dirty = true;
	return SW_OK;
}

static uint16_t
set_retries(struct vc_card *c, const struct vc_apdu *a)
{
	uint8_t pin_max = a->p1, puk_max = a->p2;

	/* Like a YubiKey: management key and PIN, and PIN/PUK go back to
	 * their defaults. */
	if (!c->mgmt_auth || !c->pin_verified)
		return SW_SECURITY;
	if (pin_max == 0 || puk_max == 0 || pin_max > 15 || puk_max > 15)
		return SW_WRONG_P1P2;
	memset(c->pin, 0xFF, sizeof(c->pin));
	memcpy(c->pin, "123456", 6);
	memset(c->puk, 0xFF, sizeof(c->puk));
	memcpy(c->puk, "12345678", 8);
	c->pin_tries = c->pin_max = pin_max;
	c->puk_tries = c->puk_max = puk_max;
	c->pin_verified = c->pin_fresh = false;
	c->dirty = true;
	return SW_OK;
}

static uint16_t
reset_card(struct vc_card *c)
{
	int f9 = vc_key_index(VC_REF_ATTEST);
	struct vc_key keep;
	struct vc_obj *o;
	uint8_t *cert = NULL;
	size_t cert_len = 0;
	bool ok = true;

	/* Only a card whose PIN and PUK are both blocked can be reset. */
	if (c->pin_tries != 0 || c->puk_tries != 0)
		return SW_CONDITIONS;
	/* The factory attestation (F9 key, 5FFF01) survives, as on a YubiKey. */
	keep = c->keys[f9];
	memset(&c->keys[f9], 0, sizeof(c->keys[f9]));
	if ((o = vc_obj_find(c, VC_OBJ_ATTEST)) != NULL) {
		cert = o->data;
		cert_len = o->len;
		o->data = NULL;
		o->len = 0;
	}
	vc_card_clear_keys_objects(c);
	c->keys[f9] = keep;
	if (cert != NULL) {
		ok = vc_obj_set(c, VC_OBJ_ATTEST, cert, cert_len);
		OPENSSL_clear_free(cert, cert_len);
	}
	if (!ok)
		return SW_MEMORY;
	vc_card_factory(c);
	vc_card_clear_security(c);
	c->dirty = true;
	return SW_OK;
}

static bool
is_default_mgmt(const struct vc_card *c)
{
	static const uint8_t def[24] = {
		1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
	};

	return c->mgmt_alg == ALG_3DES && c->mgmt_len == sizeof(def) &&
	       CRYPTO_memcmp(c->mgmt_key, def, sizeof(def)) == 0;
}

/* F7: metadata of a slot, in the YubiKey 5.3 format. */
static uint16_t
metadata(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	uint8_t v[3];
	int idx;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 == 0x9B) {
		v[0] = c->mgmt_alg;
		vc_buf_tlv(out, 0x01, v, 1);
		v[0] = 0x00; v[1] = 0x01;   /* PIN policy never, touch never */
		vc_buf_tlv(out, 0x02, v, 2);
		v[0] = is_default_mgmt(c);
		vc_buf_tlv(out, 0x05, v, 1);
		return SW_OK;
	}
	if (a->p2 == 0x80 || a->p2 == 0x81) {
		bool pin = a->p2 == 0x80;
		static const uint8_t dpin[8] = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};

		v[0] = 0xFF;
		vc_buf_tlv(out, 0x01, v, 1);
		v[0] = pin ? CRYPTO_memcmp(c->pin, dpin, 8) == 0
		           : CRYPTO_memcmp(c->puk, "12345678", 8) == 0;
		vc_buf_tlv(out, 0x05, v, 1);
		v[0] = pin ? c->pin_max : c->puk_max;
		v[1] = pin ? c->pin_tries : c->puk_tries;
		vc_buf_tlv(out, 0x06, v, 2);
		return SW_OK;
	}
	if ((idx = vc_key_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	if (c->keys[idx].pkey == NULL)
		return SW_REF_NOT_FOUND;
	v[0] = c->keys[idx].alg;
	vc_buf_tlv(out, 0x01, v, 1);
	v[0] = a->p2 == 0x9E ? 0x01 : a->p2 == 0x9C ? 0x03 : 0x02;
	v[1] = 0x01;
	vc_buf_tlv(out, 0x02, v, 2);
	v[0] = c->keys[idx].imported ? 0x02 : 0x01;  /* imported / generated on the card */
	vc_buf_tlv(out, 0x03, v, 1);
	return SW_OK;
}

static EVP_PKEY *
import_ec(uint8_t alg, const cvq_card_tlv *d)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *priv = NULL;
	BN_CTX *bctx = NULL;
	EC_GROUP *grp = NULL;
	EC_POINT *q = NULL;
	const char *group = alg == ALG_P384 ? "P-384" : "P-256";
	size_t fl = alg == ALG_P384 ? 48 : 32, publen;
	uint8_t pub[100];

	if (d->len != fl)
		return NULL;
	/* OpenSSL 3.0 does not derive Q from d on import: Q = d*G here. */
	/* Secure BIGNUMs: OSSL_PARAM_BLD puts their copies in the params'
	 * secure block, which OSSL_PARAM_free wipes; plain ones it does not. */
	if ((priv = BN_secure_new()) == NULL ||
	    BN_bin2bn(d->value, (int)d->len, priv) == NULL ||
	    (bctx = BN_CTX_new()) == NULL ||
	    (grp = EC_GROUP_new_by_curve_name(alg == ALG_P384 ? NID_secp384r1
	                                      : NID_X9_62_prime256v1)) == NULL ||
	    BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(grp)) >= 0 ||
	    (q = EC_POINT_new(grp)) == NULL ||
	    EC_POINT_mul(grp, q, priv, NULL, NULL, bctx) != 1 ||
	    (publen = EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED,
	                                 pub, sizeof(pub), bctx)) == 0)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		pkey = NULL;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	EC_POINT_free(q);
	EC_GROUP_free(grp);
	BN_CTX_free(bctx);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static EVP_PKEY *
import_rsa(const uint8_t *data, size_t len)
{
	static const char *const names[5] = {
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *bn[5] = {0}, *n = NULL, *e = NULL, *d = NULL, *p1 = NULL,
	       *q1 = NULL, *phi = NULL;
	BN_CTX *bctx = BN_CTX_new();
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	cvq_card_tlv t;
	int i;

	if (bctx == NULL)
		goto out;
	for (i = 0; i < 5; i++) {
		if (cvq_card_tlv_find(data, len, (uint32_t)(i + 1), &t) != CVQ_CARD_OK ||
		    t.len == 0 || t.len > 256 ||
		    (bn[i] = BN_secure_new()) == NULL ||
		    BN_bin2bn(t.value, (int)t.len, bn[i]) == NULL)
			goto out;
	}
	/* n = p*q, e = 65537, d = e^-1 mod (p-1)(q-1). */
	if ((n = BN_new()) == NULL || (e = BN_new()) == NULL ||
	    (p1 = BN_dup(bn[0])) == NULL || (q1 = BN_dup(bn[1])) == NULL ||
	    (phi = BN_new()) == NULL || (d = BN_secure_new()) == NULL ||
	    BN_mul(n, bn[0], bn[1], bctx) != 1 || BN_set_word(e, 65537) != 1 ||
	    BN_sub_word(p1, 1) != 1 || BN_sub_word(q1, 1) != 1 ||
	    BN_mul(phi, p1, q1, bctx) != 1 ||
	    BN_mod_inverse(d, e, phi, bctx) == NULL)
		goto out;
	if (BN_num_bits(n) != 2048 && BN_num_bits(n) != 1024)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) != 1)
		goto out;
	for (i = 0; i < 5; i++)
		if (OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) != 1)
			goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		pkey = NULL;
out:
	for (i = 0; i < 5; i++)
		BN_clear_free(bn[i]);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_clear_free(phi);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_CTX_free(bctx);
	return pkey;
}

/* FE alg slot: RSA as CRT parts 01..05, EC as the private scalar 06. */
static uint16_t
import_key(struct vc_card *c, const struct vc_apdu *a)
{
	cvq_card_tlv t;
	EVP_PKEY *pkey = NULL;
	int idx = vc_key_index(a->p2);

	if (idx < 0)
		return SW_WRONG_P1P2;
	if (!c->mgmt_auth)
		return SW_SECURITY;
	switch (a->p1) {
	case ALG_RSA1024:
	case ALG_RSA2048:
		pkey = import_rsa(a->data, a->lc);
		if (pkey != NULL && EVP_PKEY_get_bits(pkey) !=
		    (a->p1 == ALG_RSA2048 ? 2048 : 1024)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		break;
	case ALG_P256:
	case ALG_P384:
		if (cvq_card_tlv_find(a->data, a->lc, 0x06, &t) == CVQ_CARD_OK)
			pkey = import_ec(a->p1, &t);
		break;
	default:
		return SW_WRONG_P1P2;
	}
	if (pkey == NULL)
		return SW_WRONG_DATA;
	EVP_PKEY_free(c->keys[idx].pkey);
	c->keys[idx].pkey = pkey;
	c->keys[idx].alg = a->p1;
	c->keys[idx].imported = true;
	c->dirty = true;
	return SW_OK;
}

uint16_t
vc_yubico(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	uint8_t v[4];

	switch (a->ins) {
	case 0xFD:
		v[0] = 5; v[1] = 4; v[2] = 3;
		vc_buf_add(out, v, 3);
		return SW_OK;
	case 0xF8:
		v[0] = (uint8_t)(c->serial >> 24);
		v[1] = (uint8_t)(c->serial >> 16);
		v[2] = (uint8_t)(c->serial >> 8);
		v[3] = (uint8_t)c->serial;
		vc_buf_add(out, v, 4);
		return SW_OK;
	case 0xFF: return set_mgmt_key(c, a);
	case 0xFA: return set_retries(c, a);
	case 0xFB: return reset_card(c);
	case 0xF7: return metadata(c, a, out);
	case 0xFE: return import_key(c, a);
	default: return SW_INS_NOT_SUPP;
	}
}
