/*
 * Card management key (9B): mutual authentication (witness, then
 * challenge; the card proves it knows the key too), and the Yubico
 * SET MANAGEMENT KEY extension.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"

const uint8_t cvq_card_default_mgmt_key[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

size_t
cvq_card_mgmt_key_len(cvq_card_alg alg)
{
	switch (alg) {
	case CVQ_CARD_ALG_3DES: return 24;
	case CVQ_CARD_ALG_AES128: return 16;
	case CVQ_CARD_ALG_AES192: return 24;
	case CVQ_CARD_ALG_AES256: return 32;
	default: return 0;
	}
}

static const EVP_CIPHER *
mgmt_cipher(cvq_card_alg alg, size_t *block)
{
	*block = alg == CVQ_CARD_ALG_3DES ? 8 : 16;
	switch (alg) {
	case CVQ_CARD_ALG_3DES: return EVP_des_ede3_ecb();
	case CVQ_CARD_ALG_AES128: return EVP_aes_128_ecb();
	case CVQ_CARD_ALG_AES192: return EVP_aes_192_ecb();
	case CVQ_CARD_ALG_AES256: return EVP_aes_256_ecb();
	default: return NULL;
	}
}

/* One ECB block (no padding) in or out. */
static cvq_card_err
ecb(const EVP_CIPHER *c, const uint8_t *key, bool enc, const uint8_t *in,
    size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	cvq_card_err err = CVQ_CARD_ERR_CRYPTO;

	if (x == NULL)
		return CVQ_CARD_ERR_NOMEM;
	if (EVP_CipherInit_ex(x, c, NULL, key, NULL, enc ? 1 : 0) == 1 &&
	    EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
	    EVP_CipherUpdate(x, out, &n, in, (int)len) == 1 &&
	    EVP_CipherFinal_ex(x, out + n, &m) == 1 && (size_t)(n + m) == len)
		err = CVQ_CARD_OK;
	EVP_CIPHER_CTX_free(x);
	return err;
}

/* Find 7C { tag: block-sized value } in a GENERAL AUTHENTICATE answer. */
static cvq_card_err
dyn_auth_value(const uint8_t *rsp, size_t len, uint32_t tag, size_t block,
               const uint8_t **val)
{
	cvq_card_tlv outer, in;

	if (cvq_card_tlv_parse_one(rsp, len, &outer) || outer.tag != 0x7C ||
	    cvq_card_tlv_find(outer.value, outer.len, tag, &in) || in.len != block)
		return CVQ_CARD_ERR_BAD_DATA;
	*val = in.value;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_mgmt_auth(cvq_card *card, cvq_card_alg alg, const uint8_t *key,
                   size_t key_len)
{
	static const uint8_t step1[] = {0x7C, 0x02, 0x80, 0x00};
	uint8_t cmd[4 + 2 * (2 + 16)], witness[16], chal[16], expect[16];
	uint8_t *rsp = NULL;
	const uint8_t *v;
	size_t rlen = 0, block, off = 0;
	const EVP_CIPHER *c;
	cvq_card_apdu a = {0x00, 0x87, 0, 0x9B, step1, sizeof(step1), true, false};
	cvq_card_err err;
	uint16_t sw;

	if (card == NULL || key == NULL || cvq_card_mgmt_key_len(alg) == 0 ||
	    key_len != cvq_card_mgmt_key_len(alg))
		return CVQ_CARD_ERR_ARG;
	c = mgmt_cipher(alg, &block);
	a.p1 = (uint8_t)alg;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_piv_cmd(card, &a, &rsp, &rlen, &sw);
	if (err)
		goto out;
	if (sw != CVQ_CARD_SW_OK) {
		err = cvq_card_sw_to_err(sw, NULL);
		if (err == CVQ_CARD_ERR_ARG || err == CVQ_CARD_ERR_NOT_FOUND)
			err = CVQ_CARD_ERR_UNSUPPORTED; /* 6A80/6A86: not this algorithm */
		goto out;
	}
	if ((err = dyn_auth_value(rsp, rlen, 0x80, block, &v)) ||
	    (err = ecb(c, key, false, v, block, witness)))
		goto out;
	if (RAND_bytes(chal, (int)block) != 1) {
		err = CVQ_CARD_ERR_CRYPTO;
		goto out;
	}
	free(rsp);
	rsp = NULL;
	if ((err = cvq_card_tlv_put_header(cmd, sizeof(cmd), &off, 0x7C, 2 * (2 + block))) ||
	    (err = cvq_card_tlv_put(cmd, sizeof(cmd), &off, 0x80, witness, block)) ||
	    (err = cvq_card_tlv_put(cmd, sizeof(cmd), &off, 0x81, chal, block)))
		goto out;
	a.data = cmd;
	a.lc = off;
	a.sensitive = true;
	err = card_transmit(card, &a, &rsp, &rlen, &sw);
	if (err)
		goto out;
	if (sw != CVQ_CARD_SW_OK) {
		err = cvq_card_sw_to_err(sw, NULL);
		if (err == CVQ_CARD_ERR_SECURITY || err == CVQ_CARD_ERR_ARG)
			err = CVQ_CARD_ERR_AUTH;
		goto out;
	}
	if ((err = dyn_auth_value(rsp, rlen, 0x82, block, &v)) ||
	    (err = ecb(c, key, true, chal, block, expect)))
		goto out;
	/* The card must prove it holds the same key. */
	if (CRYPTO_memcmp(v, expect, block) != 0)
		err = CVQ_CARD_ERR_AUTH;
out:
	cvq_card_end(card, false);
	OPENSSL_cleanse(cmd, sizeof(cmd));
	OPENSSL_cleanse(witness, sizeof(witness));
	OPENSSL_cleanse(expect, sizeof(expect));
	card_free_secret(rsp, rlen);
	return err;
}

cvq_card_err
cvq_card_mgmt_set_key(cvq_card *card, cvq_card_alg alg, const uint8_t *key,
                      size_t key_len)
{
	uint8_t data[3 + 32], *rsp = NULL;
	size_t rlen = 0;
	cvq_card_apdu a = {0x00, 0xFF, 0xFF, 0xFF, data, 0, false, true};
	cvq_card_err err;

	if (card == NULL || key == NULL || cvq_card_mgmt_key_len(alg) == 0 ||
	    key_len != cvq_card_mgmt_key_len(alg))
		return CVQ_CARD_ERR_ARG;
	data[0] = (uint8_t)alg;
	data[1] = 0x9B;
	data[2] = (uint8_t)key_len;
	memcpy(data + 3, key, key_len);
	a.lc = 3 + key_len;
	err = cvq_card_begin(card);
	if (err == CVQ_CARD_OK) {
		err = card_piv_cmd_ok(card, &a, &rsp, &rlen);
		cvq_card_end(card, false);
	}
	OPENSSL_cleanse(data, sizeof(data));
	card_free_secret(rsp, rlen);
	return err;
}
