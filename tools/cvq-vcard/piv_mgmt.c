/*
 * GENERAL AUTHENTICATE: routing, and management key (9B) authentication,
 * mutual (witness 80 then 80+81) and external (challenge 81 then 82),
 * with 3DES and AES-128/192/256.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "card_int.h"
#include "cvq/card_tlv.h"

#define REF_MGMT 0x9B

size_t
vc_mgmt_block(uint8_t alg)
{
	switch (alg) {
	case ALG_3DES: return 8;
	case ALG_AES128: case ALG_AES192: case ALG_AES256: return 16;
	default: return 0;
	}
}

size_t
vc_mgmt_keylen(uint8_t alg)
{
	switch (alg) {
	case ALG_3DES: return 24;
	case ALG_AES128: return 16;
	case ALG_AES192: return 24;
	case ALG_AES256: return 32;
	default: return 0;
	}
}

static const EVP_CIPHER *
mgmt_cipher(uint8_t alg)
{
	switch (alg) {
	case ALG_3DES: return EVP_des_ede3_ecb();
	case ALG_AES128: return EVP_aes_128_ecb();
	case ALG_AES192: return EVP_aes_192_ecb();
	case ALG_AES256: return EVP_aes_256_ecb();
	default: return NULL;
	}
}

/* One block, ECB, no padding, with the card's management key. */
static bool
mgmt_encrypt(const struct vc_card *c, const uint8_t *in, uint8_t *outb, size_t n)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *ciph = mgmt_cipher(c->mgmt_alg);
	int l1 = 0, l2 = 0;
	bool ok = false;

	if (ctx == NULL || ciph == NULL || n != vc_mgmt_block(c->mgmt_alg))
		goto out;
	if (EVP_EncryptInit_ex(ctx, ciph, NULL, c->mgmt_key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, outb, &l1, in, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, outb + l1, &l2) != 1)
		goto out;
	ok = (size_t)(l1 + l2) == n;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* The dynamic authentication template's items (absent: NULL). */
struct dyn_items {
	const cvq_card_tlv *witness, *challenge, *response, *exponent;
	cvq_card_tlv t80, t81, t82, t85;
};

static bool
parse_dyn(const uint8_t *p, size_t len, struct dyn_items *d)
{
	const uint8_t *end = p + len;
	cvq_card_tlv t;

	memset(d, 0, sizeof(*d));
	while (p < end) {
		if (cvq_card_tlv_next(&p, end, &t) != CVQ_CARD_OK)
			return false;
		switch (t.tag) {
		case 0x80: d->t80 = t; d->witness = &d->t80; break;
		case 0x81: d->t81 = t; d->challenge = &d->t81; break;
		case 0x82: d->t82 = t; d->response = &d->t82; break;
		case 0x85: d->t85 = t; d->exponent = &d->t85; break;
		default: return false;
		}
	}
	return true;
}

uint16_t
vc_general_auth(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	cvq_card_tlv t;

	if (cvq_card_tlv_parse_one(a->data, a->lc, &t) != CVQ_CARD_OK ||
	    t.tag != 0x7C)
		return SW_WRONG_DATA;
	if (a->p2 == REF_MGMT)
		return vc_mgmt_auth(c, a, t.value, t.len, out);
	return vc_key_use(c, a, t.value, t.len, out);
}

/*
 * Each nonce is used once, right or wrong: the previous step's nonce is
 * taken out of the card before anything else, so a failed attempt means
 * starting over.
 */
uint16_t
vc_mgmt_auth(struct vc_card *c, const struct vc_apdu *a,
             const uint8_t *dyn, size_t dyn_len, struct vc_buf *out)
{
	struct dyn_items d;
	uint8_t nonce[16], enc[16];
	size_t bs = vc_mgmt_block(c->mgmt_alg);
	uint16_t sw = SW_SECURITY;
	enum vc_auth_step step = c->auth_step;
	bool same_alg = c->auth_alg == a->p1;

	memcpy(nonce, c->auth_nonce, sizeof(nonce));
	vc_card_clear_auth(c);
	if (!parse_dyn(dyn, dyn_len, &d)) {
		sw = SW_WRONG_DATA;
		goto out;
	}

	/* Get challenge (81 empty) with another algorithm than the key's:
	 * a plain random number, as OpenSC's C_GenerateRandom expects. */
	if (d.challenge != NULL && d.challenge->len == 0 && d.witness == NULL &&
	    d.response == NULL && a->p1 != c->mgmt_alg) {
		if (RAND_bytes(enc, 8) != 1)
			goto fail;
		vc_buf_dyn(out, 0x81, enc, 8);
		sw = SW_OK;
		goto out;
	}
	if (a->p1 != c->mgmt_alg || bs == 0) {
		sw = SW_WRONG_P1P2;
		goto out;
	}

	if (d.witness != NULL && d.witness->len == 0 && d.challenge == NULL &&
	    d.response == NULL) {
		/* Mutual, step 1: the encrypted witness. */
		if (RAND_bytes(c->auth_nonce, (int)bs) != 1 ||
		    !mgmt_encrypt(c, c->auth_nonce, enc, bs))
			goto fail;
		c->auth_nonce_len = bs;
		c->auth_alg = a->p1;
		c->auth_step = AUTH_MUTUAL;
		vc_buf_dyn(out, 0x80, enc, bs);
		sw = SW_OK;
	} else if (d.witness != NULL && d.challenge != NULL && d.response == NULL) {
		/* Mutual, step 2: check the decrypted witness, answer the
		 * host's challenge encrypted. */
		c->mgmt_auth = false;
		if (step != AUTH_MUTUAL || !same_alg || d.witness->len != bs ||
		    d.challenge->len != bs ||
		    CRYPTO_memcmp(d.witness->value, nonce, bs) != 0)
			goto out;
		if (!mgmt_encrypt(c, d.challenge->value, enc, bs))
			goto fail;
		c->mgmt_auth = true;
		vc_buf_dyn(out, 0x82, enc, bs);
		sw = SW_OK;
	} else if (d.challenge != NULL && d.challenge->len == 0 &&
	           d.witness == NULL && d.response == NULL) {
		/* External, step 1: a challenge for the host to encrypt. */
		if (RAND_bytes(c->auth_nonce, (int)bs) != 1)
			goto fail;
		c->auth_nonce_len = bs;
		c->auth_alg = a->p1;
		c->auth_step = AUTH_EXTERNAL;
		vc_buf_dyn(out, 0x81, c->auth_nonce, bs);
		sw = SW_OK;
	} else if (d.response != NULL && d.witness == NULL && d.challenge == NULL) {
		/* External, step 2: the host proves it holds the key. */
		c->mgmt_auth = false;
		if (step != AUTH_EXTERNAL || !same_alg || d.response->len != bs ||
		    !mgmt_encrypt(c, nonce, enc, bs) ||
		    CRYPTO_memcmp(d.response->value, enc, bs) != 0)
			goto out;
		c->mgmt_auth = true;
		sw = SW_OK;
	} else {
		sw = SW_WRONG_DATA;
	}
	goto out;
fail:
	vc_card_clear_auth(c);
	sw = SW_NO_PRECISE;
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	OPENSSL_cleanse(enc, sizeof(enc));
	return sw;
}
