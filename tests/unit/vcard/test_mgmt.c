/* cvq-vcard: management key authentication (3DES, AES), objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "helpers.h"

static const uint8_t mgmt_default[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

#define PUT_CHUID "00DB3FFF 0C 5C035FC102 53053410 AABBCC"

static void
test_3des_default(void **state)
{
	struct vc_card *c = vc_card_new(1);
	uint8_t bad[24];

	(void)state;
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x6982);
	memcpy(bad, mgmt_default, 24);
	bad[23] ^= 0x10;  /* not the parity bit, which DES ignores */
	assert_int_equal(th_mgmt_auth(c, 0x03, bad, 24), 0x6982);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x6982);
	/* Another algorithm than the key's is refused. */
	assert_int_equal(th_mgmt_auth(c, 0x08, mgmt_default, 16), 0x6A86);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x9000);
	assert_true(vc_card_take_dirty(c));
	/* SELECT drops the authentication. */
	assert_int_equal(th_send(c, "00A40400 05 A000000308", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x6982);
	vc_card_free(c);
}

static void
test_step2_without_step1(void **state)
{
	struct vc_card *c = vc_card_new(1);

	(void)state;
	/* A witness the card never issued. */
	assert_int_equal(th_send(c, "0087039B 16 7C14 8008 0000000000000000 8108 1111111111111111",
	                         NULL, NULL), 0x6982);
	assert_int_equal(th_send(c, "0087039B 0C 7C0A 8208 0000000000000000", NULL, NULL), 0x6982);
	assert_int_equal(th_send(c, "0087039B 04 7C02 8300", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "0087039B 03 7C02 80", NULL, NULL), 0x6A80);
	vc_card_free(c);
}

static void
set_key(struct vc_card *c, uint8_t alg, const uint8_t *key, size_t len)
{
	uint8_t apdu[64];
	size_t n = 0;

	apdu[n++] = 0x00; apdu[n++] = 0xFF; apdu[n++] = 0xFF; apdu[n++] = 0xFF;
	apdu[n++] = (uint8_t)(3 + len);
	apdu[n++] = alg; apdu[n++] = 0x9B; apdu[n++] = (uint8_t)len;
	memcpy(apdu + n, key, len);
	n += len;
	assert_int_equal(th_send_bytes(c, apdu, n, NULL, NULL), 0x9000);
	assert_true(vc_card_take_dirty(c));
}

static void
test_aes_keys(void **state)
{
	static const uint8_t algs[3] = {0x08, 0x0A, 0x0C};
	static const size_t lens[3] = {16, 24, 32};
	struct vc_card *c = vc_card_new(1);
	uint8_t key[32], prev[32], d[32];
	uint8_t prev_alg = 0x03;
	size_t prev_len = 24, i, n;

	(void)state;
	memcpy(prev, mgmt_default, 24);
	/* Setting a key needs the current one. */
	assert_int_equal(th_send(c, "00FFFFFF 13 089B10 00112233445566778899AABBCCDDEEFF", NULL, NULL), 0x6982);
	for (i = 0; i < 3; i++) {
		memset(key, (int)(0x30 + i), sizeof(key));
		assert_int_equal(th_mgmt_auth(c, prev_alg, prev, prev_len), 0x9000);
		set_key(c, algs[i], key, lens[i]);
		vc_card_reset(c);
		assert_int_equal(th_mgmt_auth(c, prev_alg, prev, prev_len), 0x6A86);
		assert_int_equal(th_mgmt_auth(c, algs[i], key, lens[i]), 0x9000);
		assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x9000);
		/* F7 metadata reports the algorithm. */
		assert_int_equal(th_send(c, "00F7009B", d, &n), 0x9000);
		assert_int_equal(d[2], algs[i]);
		memcpy(prev, key, sizeof(key));
		prev_alg = algs[i];
		prev_len = lens[i];
	}
	/* A key of the wrong length for its algorithm is refused. */
	assert_int_equal(th_send(c, "00FFFFFF 13 0C9B10 00112233445566778899AABBCCDDEEFF", NULL, NULL), 0x6A80);
	vc_card_free(c);
}

/* External authentication: 81 00 gives a challenge, 82 E(challenge)
 * proves the key. */
static uint16_t
external_auth(struct vc_card *c, uint8_t alg, const uint8_t *key)
{
	const EVP_CIPHER *ci = alg == 0x03 ? EVP_des_ede3_ecb() : EVP_aes_256_ecb();
	size_t bs = alg == 0x03 ? 8 : 16, n, off = 0;
	uint8_t d[64], apdu[64], enc[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l = 0;

	apdu[off++] = 0x00; apdu[off++] = 0x87; apdu[off++] = alg; apdu[off++] = 0x9B;
	apdu[off++] = 4; apdu[off++] = 0x7C; apdu[off++] = 2; apdu[off++] = 0x81; apdu[off++] = 0;
	assert_int_equal(th_send_bytes(c, apdu, off, d, &n), 0x9000);
	assert_int_equal(n, 4 + bs);
	assert_int_equal(d[2], 0x81);
	EVP_EncryptInit_ex(ctx, ci, NULL, key, NULL);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	EVP_EncryptUpdate(ctx, enc, &l, d + 4, (int)bs);
	EVP_CIPHER_CTX_free(ctx);
	off = 4;
	apdu[off++] = (uint8_t)(4 + bs); apdu[off++] = 0x7C; apdu[off++] = (uint8_t)(2 + bs);
	apdu[off++] = 0x82; apdu[off++] = (uint8_t)bs;
	memcpy(apdu + off, enc, bs);
	off += bs;
	return th_send_bytes(c, apdu, off, NULL, NULL);
}

static void
test_external_auth_and_challenge(void **state)
{
	struct vc_card *c = vc_card_new(1);
	uint8_t d[64], aes[32];
	size_t n;

	(void)state;
	/* Get challenge with alg 00: random, no authentication involved. */
	assert_int_equal(th_send(c, "0087009B 04 7C028100", d, &n), 0x9000);
	assert_int_equal(n, 12);
	assert_memory_equal(d, "\x7C\x0A\x81\x08", 4);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x6982);
	/* External authentication with 3DES. */
	assert_int_equal(external_auth(c, 0x03, mgmt_default), 0x9000);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x9000);
	/* The challenge is used once. */
	assert_int_equal(th_send(c, "0087039B 0C 7C0A 8208 0000000000000000", NULL, NULL), 0x6982);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x6982);
	/* A wrong key fails. */
	memset(aes, 0x77, sizeof(aes));
	assert_int_equal(external_auth(c, 0x03, aes), 0x6982);
	/* With AES-256. */
	assert_int_equal(external_auth(c, 0x03, mgmt_default), 0x9000);
	set_key(c, 0x0C, aes, 32);
	vc_card_reset(c);
	assert_int_equal(external_auth(c, 0x0C, aes), 0x9000);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x9000);
	vc_card_free(c);
}

static void
test_objects(void **state)
{
	struct vc_card *c = vc_card_new(1);
	uint8_t d[64];
	size_t n;

	(void)state;
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC102", d, &n), 0x6A82);
	assert_int_equal(th_send(c, "00CB3FFF 03 5C017E", d, &n), 0x9000);
	assert_int_equal(n, 20);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	assert_int_equal(th_send(c, PUT_CHUID, NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC102", d, &n), 0x9000);
	assert_int_equal(n, 7);
	assert_memory_equal(d, "\x53\x05\x34\x10\xAA\xBB\xCC", 7);
	/* The outer length covers the data exactly; junk is refused. */
	assert_int_equal(th_send(c, "00DB3FFF 0D 5C035FC102 53053410AABBCC 00", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "00DB3FFF 0B 5C035FC102 53063410AABBCC", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "00DB3FFF 07 5C035FC102 5300", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC102", d, &n), 0x6A82);
	/* Printed information needs the PIN; unknown tags are refused. */
	assert_int_equal(th_send(c, "00DB3FFF 09 5C035FC109 5302 0101", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC109", d, &n), 0x6982);
	assert_int_equal(th_send(c, "00200080 08 313233343536FFFF", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC109", d, &n), 0x9000);
	assert_int_equal(th_send(c, "00DB3FFF 09 5C035FC201 5302 0101", NULL, NULL), 0x6A82);
	assert_int_equal(th_send(c, "00CB3FFF 06 5C0412345678", d, &n), 0x6A80);
	/* Retired certificate slots (5FC10D..5FC120) are stored. */
	assert_int_equal(th_send(c, "00DB3FFF 0A 5C035FC120 5303 700100", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC120", d, &n), 0x9000);
	vc_card_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_3des_default),
		cmocka_unit_test(test_step2_without_step1),
		cmocka_unit_test(test_aes_keys),
		cmocka_unit_test(test_external_auth_and_challenge),
		cmocka_unit_test(test_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
