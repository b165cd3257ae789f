/* Helpers for the cvq-vcard unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "helpers.h"

static int
nib(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

size_t
th_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *hex; hex++) {
		if (*hex == ' ')
			continue;
		v = nib(*hex);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_true(hi < 0);
	return n;
}

uint16_t
th_send_bytes(struct vc_card *c, const uint8_t *apdu, size_t len,
              uint8_t *data, size_t *dlen)
{
	uint8_t resp[VC_RESP_MAX];
	size_t n = vc_card_process(c, apdu, len, resp, sizeof(resp));

	assert_true(n >= 2 && n <= VC_RESP_MAX);
	if (data != NULL) {
		memcpy(data, resp, n - 2);
		*dlen = n - 2;
	}
	return (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
}

uint16_t
th_send(struct vc_card *c, const char *hex, uint8_t *data, size_t *dlen)
{
	uint8_t apdu[4096];
	size_t n = th_hex(hex, apdu, sizeof(apdu));

	return th_send_bytes(c, apdu, n, data, dlen);
}

uint16_t
th_send_all(struct vc_card *c, const uint8_t *apdu, size_t len,
            uint8_t *data, size_t cap, size_t *dlen)
{
	static const uint8_t get_resp[5] = {0x00, 0xC0, 0x00, 0x00, 0x00};
	uint8_t chunk[256];
	size_t n;
	uint16_t sw;

	*dlen = 0;
	sw = th_send_bytes(c, apdu, len, chunk, &n);
	for (;;) {
		assert_true(n <= 256);
		assert_true(*dlen + n <= cap);
		memcpy(data + *dlen, chunk, n);
		*dlen += n;
		if ((sw >> 8) != 0x61)
			return sw;
		sw = th_send_bytes(c, get_resp, sizeof(get_resp), chunk, &n);
	}
}

static void
ecb(uint8_t alg, const uint8_t *key, const uint8_t *in, uint8_t *out,
    size_t n, int enc)
{
	const EVP_CIPHER *ci = alg == 0x03 ? EVP_des_ede3_ecb()
	                     : alg == 0x08 ? EVP_aes_128_ecb()
	                     : alg == 0x0A ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l = 0, l2 = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, ci, NULL, key, NULL, enc), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &l, in, (int)n), 1);
	assert_int_equal(EVP_CipherFinal_ex(ctx, out + l, &l2), 1);
	EVP_CIPHER_CTX_free(ctx);
}

uint16_t
th_mgmt_auth(struct vc_card *c, uint8_t alg, const uint8_t *key, size_t keylen)
{
	uint8_t apdu[64], resp[64], w[16], chal[16], expect[16];
	size_t bs = alg == 0x03 ? 8 : 16, n, off;
	uint16_t sw;

	(void)keylen;
	/* Step 1: 7C 02 80 00 -> 7C L 80 bs E(W). */
	n = th_hex("0087009B047C028000", apdu, sizeof(apdu));
	apdu[2] = alg;
	sw = th_send_bytes(c, apdu, n, resp, &n);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(n, 4 + bs);
	assert_int_equal(resp[0], 0x7C);
	assert_int_equal(resp[2], 0x80);
	ecb(alg, key, resp + 4, w, bs, 0);
	/* Step 2: 7C L 80 bs W 81 bs C -> 7C L 82 bs E(C). */
	memset(chal, 0x5A, sizeof(chal));
	off = 0;
	apdu[off++] = 0x00; apdu[off++] = 0x87; apdu[off++] = alg; apdu[off++] = 0x9B;
	apdu[off++] = (uint8_t)(2 + 2 * (2 + bs));
	apdu[off++] = 0x7C; apdu[off++] = (uint8_t)(2 * (2 + bs));
	apdu[off++] = 0x80; apdu[off++] = (uint8_t)bs;
	memcpy(apdu + off, w, bs); off += bs;
	apdu[off++] = 0x81; apdu[off++] = (uint8_t)bs;
	memcpy(apdu + off, chal, bs); off += bs;
	sw = th_send_bytes(c, apdu, off, resp, &n);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(n, 4 + bs);
	ecb(alg, key, chal, expect, bs, 1);
	assert_memory_equal(resp + 4, expect, bs);
	return sw;
}
