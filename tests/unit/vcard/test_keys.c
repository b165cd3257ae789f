/* cvq-vcard: key generation, signatures (RSA, ECDSA), ECDH, import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "helpers.h"

static const uint8_t mgmt_default[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

#define PIN_OK "00200080 08 313233343536FFFF"

/* GENERATE in slot with alg; returns the public key built from the card's
 * answer (7F49 template). */
static EVP_PKEY *
generate(struct vc_card *c, uint8_t slot, uint8_t alg)
{
	uint8_t apdu[16], d[600];
	size_t n = th_hex("00470000 05 AC03800100", apdu, sizeof(apdu)), dlen;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM p[3];
	const char *group = alg == 0x14 ? "P-384" : "P-256";

	apdu[3] = slot;
	apdu[9] = alg;
	assert_int_equal(th_send_all(c, apdu, n, d, sizeof(d), &dlen), 0x9000);
	assert_memory_equal(d, "\x7F\x49", 2);
	if (alg == 0x07) {
		/* 7F49 82 0109 81 82 0100 n 82 03 010001 */
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		BIGNUM *bn_n = BN_bin2bn(d + 9, 256, NULL);
		BIGNUM *bn_e = BN_bin2bn(d + 9 + 256 + 2, 3, NULL);
		OSSL_PARAM *pp;

		assert_int_equal(dlen, 5 + 4 + 256 + 5);
		assert_int_equal(d[5], 0x81);
		assert_int_equal(d[5 + 4 + 256], 0x82);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
		pp = OSSL_PARAM_BLD_to_param(bld);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
		assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, pp), 1);
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(pp);
		OSSL_PARAM_BLD_free(bld);
		BN_free(bn_n);
		BN_free(bn_e);
		assert_true(vc_card_take_dirty(c));
		return pk;
	} else {
		size_t fl = alg == 0x14 ? 48 : 32;
		assert_int_equal(d[3], 0x86);
		assert_int_equal(d[4], 1 + 2 * fl);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, d + 5, 1 + 2 * fl);
		p[2] = OSSL_PARAM_construct_end();
	}
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_true(vc_card_take_dirty(c));
	return pk;
}

static size_t
len_size(size_t len)
{
	return len < 0x80 ? 1 : len < 0x100 ? 2 : 3;
}

static size_t
put_len(uint8_t *p, size_t len)
{
	if (len < 0x80) {
		p[0] = (uint8_t)len;
		return 1;
	}
	if (len < 0x100) {
		p[0] = 0x81;
		p[1] = (uint8_t)len;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	return 3;
}

/* GENERAL AUTHENTICATE sign of in[0..len) (chained if long). */
static uint16_t
sign(struct vc_card *c, uint8_t alg, uint8_t slot, const uint8_t *in,
     size_t len, uint8_t *sig, size_t *siglen)
{
	uint8_t body[300], apdu[300], d[600];
	size_t bl = 0, off, blk, dlen;
	uint16_t sw = 0;

	body[bl++] = 0x7C;
	bl += put_len(body + bl, 2 + 1 + len_size(len) + len);
	body[bl++] = 0x82; body[bl++] = 0x00; body[bl++] = 0x81;
	bl += put_len(body + bl, len);
	memcpy(body + bl, in, len);
	bl += len;
	for (off = 0; off < bl; off += blk) {
		blk = bl - off > 255 ? 255 : bl - off;
		apdu[0] = off + blk < bl ? 0x10 : 0x00;
		apdu[1] = 0x87; apdu[2] = alg; apdu[3] = slot; apdu[4] = (uint8_t)blk;
		memcpy(apdu + 5, body + off, blk);
		if (off + blk < bl)
			assert_int_equal(th_send_bytes(c, apdu, 5 + blk, NULL, NULL), 0x9000);
		else
			sw = th_send_all(c, apdu, 5 + blk, d, sizeof(d), &dlen);
	}
	if (sw != 0x9000)
		return sw;
	assert_int_equal(d[0], 0x7C);
	/* 7C L 82 L sig, L in short or 81/82 long form. */
	{
		size_t p = 1, l;
		p += (d[p] & 0x80) ? 1 + (d[p] & 0x7F) : 1;
		assert_int_equal(d[p++], 0x82);
		if (d[p] & 0x80) {
			size_t k = d[p++] & 0x7F;
			for (l = 0; k > 0; k--)
				l = (l << 8) | d[p++];
		} else {
			l = d[p++];
		}
		memcpy(sig, d + p, l);
		*siglen = l;
	}
	return sw;
}

static void
test_ec_sign(void **state)
{
	struct vc_card *c = vc_card_new(1);
	uint8_t hash[48], sig[200];
	size_t siglen;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *v;

	(void)state;
	memset(hash, 0x42, sizeof(hash));
	/* GENERATE needs the management key. */
	assert_int_equal(th_send(c, "0047009A 05 AC03800111", NULL, NULL), 0x6982);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	assert_int_equal(th_send(c, "00470099 05 AC03800111", NULL, NULL), 0x6A86);
	assert_int_equal(th_send(c, "0047009A 05 AC038001FF", NULL, NULL), 0x6A80);
	pk = generate(c, 0x9A, 0x11);
	/* No PIN: refused; no key in 9D: not found; wrong alg: refused. */
	assert_int_equal(sign(c, 0x11, 0x9A, hash, 32, sig, &siglen), 0x6982);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9D, hash, 32, sig, &siglen), 0x6A88);
	assert_int_equal(sign(c, 0x14, 0x9A, hash, 32, sig, &siglen), 0x6A86);
	assert_int_equal(sign(c, 0x11, 0x9A, hash, 32, sig, &siglen), 0x9000);
	v = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_int_equal(EVP_PKEY_verify_init(v), 1);
	assert_int_equal(EVP_PKEY_verify(v, sig, siglen, hash, 32), 1);
	/* 9A: the PIN stays verified for a second signature. */
	assert_int_equal(sign(c, 0x11, 0x9A, hash, 32, sig, &siglen), 0x9000);
	assert_int_equal(EVP_PKEY_verify(v, sig, siglen, hash, 32), 1);
	EVP_PKEY_CTX_free(v);
	EVP_PKEY_free(pk);

	/* P-384 in 9C: PIN-always, one signature per VERIFY. */
	pk = generate(c, 0x9C, 0x14);
	assert_int_equal(sign(c, 0x14, 0x9C, hash, 48, sig, &siglen), 0x9000);
	v = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_int_equal(EVP_PKEY_verify_init(v), 1);
	assert_int_equal(EVP_PKEY_verify(v, sig, siglen, hash, 48), 1);
	assert_int_equal(sign(c, 0x14, 0x9C, hash, 48, sig, &siglen), 0x6982);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_int_equal(sign(c, 0x14, 0x9C, hash, 48, sig, &siglen), 0x9000);
	assert_int_equal(EVP_PKEY_verify(v, sig, siglen, hash, 48), 1);
	EVP_PKEY_CTX_free(v);
	EVP_PKEY_free(pk);

	/* 9E (card authentication): no PIN at all. */
	pk = generate(c, 0x9E, 0x11);
	vc_card_reset(c);
	assert_int_equal(sign(c, 0x11, 0x9E, hash, 32, sig, &siglen), 0x9000);
	EVP_PKEY_free(pk);
	vc_card_free(c);
}

static void
test_rsa_sign(void **state)
{
	struct vc_card *c = vc_card_new(1);
	uint8_t block[256], sig[300], rec[256];
	size_t siglen, rlen = sizeof(rec);
	EVP_PKEY *pk;
	EVP_PKEY_CTX *v;

	(void)state;
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	pk = generate(c, 0x9D, 0x07);
	/* A PKCS#1 v1.5 type 1 block, as a host pads it. */
	memset(block, 0xFF, sizeof(block));
	block[0] = 0x00; block[1] = 0x01; block[200] = 0x00;
	memset(block + 201, 0x33, 55);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_int_equal(sign(c, 0x07, 0x9D, block, 256, sig, &siglen), 0x9000);
	assert_int_equal(siglen, 256);
	/* Raw public operation gives the block back. */
	v = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_int_equal(EVP_PKEY_verify_recover_init(v), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(v, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify_recover(v, rec, &rlen, sig, siglen), 1);
	assert_int_equal(rlen, 256);
	assert_memory_equal(rec, block, 256);
	/* A block of the wrong size is refused. */
	assert_int_equal(sign(c, 0x07, 0x9D, block, 200, sig, &siglen), 0x6A80);
	EVP_PKEY_CTX_free(v);
	EVP_PKEY_free(pk);
	vc_card_free(c);
}

static void
test_ecdh(void **state)
{
	struct vc_card *c = vc_card_new(1);
	EVP_PKEY *card_pub, *mine;
	EVP_PKEY_CTX *dctx;
	uint8_t pt[100], apdu[120], d[100], z[32];
	size_t ptlen, n = 0, dlen, zlen = sizeof(z);

	(void)state;
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	card_pub = generate(c, 0x9D, 0x11);
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(EVP_PKEY_get_octet_string_param(mine,
		OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &ptlen), 1);
	assert_int_equal(ptlen, 65);
	apdu[n++] = 0x00; apdu[n++] = 0x87; apdu[n++] = 0x11; apdu[n++] = 0x9D;
	apdu[n++] = 2 + 2 + 2 + 65;
	apdu[n++] = 0x7C; apdu[n++] = 2 + 2 + 65;
	apdu[n++] = 0x82; apdu[n++] = 0x00; apdu[n++] = 0x85; apdu[n++] = 65;
	memcpy(apdu + n, pt, 65);
	n += 65;
	assert_int_equal(th_send_bytes(c, apdu, n, d, &dlen), 0x6982);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_int_equal(th_send_bytes(c, apdu, n, d, &dlen), 0x9000);
	assert_int_equal(dlen, 4 + 32);
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	assert_int_equal(EVP_PKEY_derive_init(dctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(dctx, card_pub), 1);
	assert_int_equal(EVP_PKEY_derive(dctx, z, &zlen), 1);
	assert_memory_equal(d + 4, z, 32);
	/* A point off the curve is refused. */
	apdu[n - 1] ^= 1;
	assert_int_equal(th_send_bytes(c, apdu, n, d, &dlen), 0x6A80);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(card_pub);
	vc_card_free(c);
}

static void
test_import_ec(void **state)
{
	struct vc_card *c = vc_card_new(1);
	uint8_t d[64];
	size_t n;

	(void)state;
	/* FE 11 9A: 06 20 d (d = 1 gives Q = G). */
	assert_int_equal(th_send(c, "00FE119A 22 0620 0000000000000000000000000000000000000000000000000000000000000001", NULL, NULL), 0x6982);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	assert_int_equal(th_send(c, "00FE119A 22 0620 0000000000000000000000000000000000000000000000000000000000000001", NULL, NULL), 0x9000);
	assert_true(vc_card_take_dirty(c));
	assert_int_equal(th_send(c, "00F7009A", d, &n), 0x9000);
	assert_int_equal(d[2], 0x11);
	/* Zero is not a private key. */
	assert_int_equal(th_send(c, "00FE119A 22 0620 0000000000000000000000000000000000000000000000000000000000000000", NULL, NULL), 0x6A80);
	vc_card_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_sign),
		cmocka_unit_test(test_rsa_sign),
		cmocka_unit_test(test_ecdh),
		cmocka_unit_test(test_import_ec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
