/*
 * Unit tests of the PIV operations on a scripted card: which APDUs are
 * sent (and how few), signatures checked with OpenSSL, management key
 * authentication against a card side computed here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cvq/card_tlv.h"
#include "cvq/piv.h"
#include "cvq/profile.h"
#include "fake_card.h"

#define SELECT "00A4040009" "A00000030800001000" "00"
#define VERIFY_123456 "002000800831323334353" "6FFFF"

/* The sign block inside 7C { 82 00, 81 L block }. */
static const uint8_t *
ga_block(const uint8_t *cmd, size_t len, size_t *blen)
{
	cvq_card_tlv o, b;

	assert_true(len > 5);
	assert_int_equal(cvq_card_tlv_next(&(const uint8_t *){cmd + 5}, cmd + len, &o), 0);
	assert_int_equal(cvq_card_tlv_find(o.value, o.len, 0x81, &b), 0);
	*blen = b.len;
	return b.value;
}

static size_t
wrap_result(const uint8_t *sig, size_t sl, uint8_t *rsp)
{
	size_t off = 0, inner = 1 + cvq_card_tlv_len_size(sl) + sl;

	cvq_card_tlv_put_header(rsp, 600, &off, 0x7C, inner);
	cvq_card_tlv_put(rsp, 600, &off, 0x82, sig, sl);
	rsp[off++] = 0x90;
	rsp[off++] = 0x00;
	return off;
}

/* The card side of a signature; chained blocks are collected first. */
struct sign_side {
	EVP_PKEY *k;
	uint8_t cmd[1024];
	size_t len;
};

static size_t
sign_handler(const struct fake_step *st, const uint8_t *cmd, size_t len,
             uint8_t *rsp, void *arg)
{
	struct sign_side *side = arg;
	EVP_PKEY *k = side->k;
	EVP_PKEY_CTX *c;
	const uint8_t *blk;
	uint8_t sig[512];
	size_t bl, sl = sizeof(sig);

	(void)st;
	assert_true(len >= 5 && side->len + len < sizeof(side->cmd));
	if (side->len == 0) {
		memcpy(side->cmd, cmd, 5);
		side->len = 5;
	}
	memcpy(side->cmd + side->len, cmd + 5, cmd[4]);
	side->len += cmd[4];
	if (cmd[0] & 0x10) {
		rsp[0] = 0x90;
		rsp[1] = 0x00;
		return 2;
	}
	blk = ga_block(side->cmd, side->len, &bl);
	side->len = 0;
	c = EVP_PKEY_CTX_new(k, NULL);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	if (EVP_PKEY_is_a(k, "RSA"))
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_sign(c, sig, &sl, blk, bl), 1);
	EVP_PKEY_CTX_free(c);
	return wrap_result(sig, sl, rsp);
}

static void
test_sign_ec_9c_fewest_apdus(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct sign_side side = {k, {0}, 0};
	const struct fake_step s[] = {
		{SELECT, "9000", NULL, NULL},
		{VERIFY_123456, "9000", NULL, NULL},
		{NULL, NULL, sign_handler, &side},
		{VERIFY_123456, "9000", NULL, NULL},
		{NULL, NULL, sign_handler, &side},
	};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 5);
	uint8_t dg[32];
	uint8_t *sig = NULL;
	size_t sl = 0;
	int tries, i;
	cvq_card_sign_req req = {CVQ_CARD_SLOT_SIGN, k, EVP_sha256(), CVQ_CARD_PAD_NONE,
	                         dg, sizeof(dg), "123456"};

	(void)state;
	memset(dg, 0x42, sizeof(dg));
	for (i = 0; i < 2; i++) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
		assert_int_equal(cvq_card_sign(card, &req, &sig, &sl, &tries), CVQ_CARD_OK);
		assert_int_equal(EVP_PKEY_verify_init(c), 1);
		assert_int_equal(EVP_PKEY_verify(c, sig, sl, dg, sizeof(dg)), 1);
		EVP_PKEY_CTX_free(c);
		free(sig);
	}
	/* First: SELECT + VERIFY + GA; then VERIFY + GA only. */
	assert_int_equal(cvq_card_apdu_count(card), 5);
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
	EVP_PKEY_free(k);
}

static void
rsa_sign(cvq_card_padding pad)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct sign_side side = {k, {0}, 0};
	/* 7C 82 0106 ... is 266 bytes: two chained blocks. */
	const struct fake_step s[] = {
		{SELECT, "9000", NULL, NULL},
		{NULL, NULL, sign_handler, &side},
		{NULL, NULL, sign_handler, &side},
	};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 3);
	uint8_t dg[32], *sig = NULL;
	size_t sl = 0;
	cvq_card_sign_req req = {CVQ_CARD_SLOT_AUTH, k, EVP_sha256(), pad, dg,
	                         sizeof(dg), NULL};
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);

	memset(dg, 0x17, sizeof(dg));
	assert_int_equal(cvq_card_sign(card, &req, &sig, &sl, NULL), CVQ_CARD_OK);
	assert_int_equal(sl, 256);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	if (pad == CVQ_CARD_PAD_PSS) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32), 1);
	} else {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	}
	assert_int_equal(EVP_PKEY_verify(c, sig, sl, dg, sizeof(dg)), 1);
	EVP_PKEY_CTX_free(c);
	free(sig);
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
	EVP_PKEY_free(k);
}

static void
test_sign_rsa_pkcs1(void **state)
{
	(void)state;
	rsa_sign(CVQ_CARD_PAD_PKCS1);
}

static void
test_sign_rsa_pss(void **state)
{
	(void)state;
	rsa_sign(CVQ_CARD_PAD_PSS);
}

static void
test_sign_wrong_pin(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	const struct fake_step s[] = {
		{SELECT, "9000", NULL, NULL},
		{VERIFY_123456, "63C1", NULL, NULL},
		{"0087119C267C2482008120" "4242424242424242424242424242424242424242424242424242424242424242" "00",
		 "6982", NULL, NULL},
	};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 3);
	uint8_t dg[32], *sig = NULL;
	size_t sl = 0;
	int tries = 9;
	cvq_card_sign_req req = {CVQ_CARD_SLOT_SIGN, k, EVP_sha256(), CVQ_CARD_PAD_NONE,
	                         dg, sizeof(dg), "123456"};

	(void)state;
	memset(dg, 0x42, sizeof(dg));
	assert_int_equal(cvq_card_sign(card, &req, &sig, &sl, &tries), CVQ_CARD_ERR_PIN_WRONG);
	assert_int_equal(tries, 1);
	assert_null(sig);
	/* No PIN given and the card wants one. */
	req.pin = NULL;
	assert_int_equal(cvq_card_sign(card, &req, &sig, &sl, &tries), CVQ_CARD_ERR_NOT_VERIFIED);
	/* A malformed PIN never reaches the card. */
	req.pin = "12";
	assert_int_equal(cvq_card_sign(card, &req, &sig, &sl, &tries), CVQ_CARD_ERR_PIN_FORMAT);
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
	EVP_PKEY_free(k);
}

static void
test_pin_status_and_change(void **state)
{
	const struct fake_step s[] = {
		{SELECT, "9000", NULL, NULL},
		{"00200080", "63C3", NULL, NULL},
		{"00200080", "6983", NULL, NULL},
		{"0024008010" "313233343536FFFF" "363534333231FFFF", "9000", NULL, NULL},
		{"002C008010" "3132333435363738" "313131313131FFFF", "63C2", NULL, NULL},
	};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 5);
	int tries;
	bool verified;
	char newpin[9] = "654321";

	(void)state;
	assert_int_equal(cvq_card_pin_status(card, &tries, &verified), CVQ_CARD_OK);
	assert_int_equal(tries, 3);
	assert_false(verified);
	assert_int_equal(cvq_card_pin_status(card, &tries, &verified), CVQ_CARD_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	assert_int_equal(cvq_card_pin_change(card, CVQ_CARD_PIN, "123456", newpin, &tries),
	                 CVQ_CARD_OK);
	assert_int_equal(cvq_card_pin_unblock(card, "12345678", "111111", &tries),
	                 CVQ_CARD_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	assert_int_equal(cvq_card_pin_verify(card, "123456789", &tries), CVQ_CARD_ERR_PIN_FORMAT);
	/* A new PIN of anything but digits never reaches the card. */
	assert_int_equal(cvq_card_pin_change(card, CVQ_CARD_PIN, "123456", "12345a", &tries),
	                 CVQ_CARD_ERR_PIN_FORMAT);
	assert_int_equal(cvq_card_pin_unblock(card, "12345678", "1234 6", &tries),
	                 CVQ_CARD_ERR_PIN_FORMAT);
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
}

struct mgmt_side {
	const EVP_CIPHER *c;
	const uint8_t *key;
	size_t block;
	uint8_t witness[16];
	bool wrong;
};

static void
ecb(const EVP_CIPHER *c, const uint8_t *key, int enc, const uint8_t *in, size_t n,
    uint8_t *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l = 0, m = 0;

	assert_int_equal(EVP_CipherInit_ex(x, c, NULL, key, NULL, enc), 1);
	EVP_CIPHER_CTX_set_padding(x, 0);
	assert_int_equal(EVP_CipherUpdate(x, out, &l, in, (int)n), 1);
	assert_int_equal(EVP_CipherFinal_ex(x, out + l, &m), 1);
	EVP_CIPHER_CTX_free(x);
}

static size_t
mgmt_step1(const struct fake_step *st, const uint8_t *cmd, size_t len,
           uint8_t *rsp, void *arg)
{
	struct mgmt_side *m = arg;
	size_t o = 0;

	(void)st;
	(void)len;
	assert_int_equal(cmd[1], 0x87);
	assert_int_equal(cmd[3], 0x9B);
	memset(m->witness, 0x33, sizeof(m->witness));
	rsp[o++] = 0x7C;
	rsp[o++] = (uint8_t)(2 + m->block);
	rsp[o++] = 0x80;
	rsp[o++] = (uint8_t)m->block;
	ecb(m->c, m->key, 1, m->witness, m->block, rsp + o);
	o += m->block;
	rsp[o++] = 0x90;
	rsp[o++] = 0x00;
	return o;
}

static size_t
mgmt_step2(const struct fake_step *st, const uint8_t *cmd, size_t len,
           uint8_t *rsp, void *arg)
{
	struct mgmt_side *m = arg;
	cvq_card_tlv o, w, ch;
	size_t n = 0;

	(void)st;
	assert_int_equal(cvq_card_tlv_next(&(const uint8_t *){cmd + 5}, cmd + len, &o), 0);
	assert_int_equal(cvq_card_tlv_find(o.value, o.len, 0x80, &w), 0);
	assert_int_equal(cvq_card_tlv_find(o.value, o.len, 0x81, &ch), 0);
	if (w.len != m->block || memcmp(w.value, m->witness, m->block) != 0) {
		rsp[0] = 0x69;
		rsp[1] = 0x82;
		return 2;
	}
	rsp[n++] = 0x7C;
	rsp[n++] = (uint8_t)(2 + m->block);
	rsp[n++] = 0x82;
	rsp[n++] = (uint8_t)m->block;
	ecb(m->c, m->key, 1, ch.value, m->block, rsp + n);
	if (m->wrong)
		rsp[n] ^= 1; /* a card that does not know the key */
	n += m->block;
	rsp[n++] = 0x90;
	rsp[n++] = 0x00;
	return n;
}

static void
mgmt(cvq_card_alg alg, const EVP_CIPHER *c, const uint8_t *card_key,
     const uint8_t *host_key, size_t klen, bool card_lies, cvq_card_err want)
{
	struct mgmt_side m = {c, card_key, alg == CVQ_CARD_ALG_3DES ? 8 : 16, {0}, card_lies};
	const struct fake_step s[] = {
		{SELECT, "9000", NULL, NULL},
		{NULL, NULL, mgmt_step1, &m},
		{NULL, NULL, mgmt_step2, &m},
	};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 3);

	assert_int_equal(cvq_card_mgmt_auth(card, alg, host_key, klen), want);
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
}

static void
test_mgmt_auth(void **state)
{
	uint8_t aes[32], other[32];

	(void)state;
	memset(aes, 0x21, sizeof(aes));
	memset(other, 0x22, sizeof(other));
	mgmt(CVQ_CARD_ALG_3DES, EVP_des_ede3_ecb(), cvq_card_default_mgmt_key,
	     cvq_card_default_mgmt_key, 24, false, CVQ_CARD_OK);
	mgmt(CVQ_CARD_ALG_AES128, EVP_aes_128_ecb(), aes, aes, 16, false, CVQ_CARD_OK);
	mgmt(CVQ_CARD_ALG_AES192, EVP_aes_192_ecb(), aes, aes, 24, false, CVQ_CARD_OK);
	mgmt(CVQ_CARD_ALG_AES256, EVP_aes_256_ecb(), aes, aes, 32, false, CVQ_CARD_OK);
	/* Host has the wrong key: the card refuses the witness. */
	mgmt(CVQ_CARD_ALG_AES192, EVP_aes_192_ecb(), aes, other, 24, false, CVQ_CARD_ERR_AUTH);
	/* The card's proof is wrong: refused on our side. */
	mgmt(CVQ_CARD_ALG_AES192, EVP_aes_192_ecb(), aes, aes, 24, true, CVQ_CARD_ERR_AUTH);
}

static void
test_cert_cached_and_reselect(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new(), *a = NULL, *b = NULL;
	unsigned char *der = NULL;
	char *rsp;
	int dl, i;
	size_t off;
	uint8_t obj[2048];
	const char *hex = "0123456789ABCDEF";

	(void)state;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 60);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	dl = i2d_X509(x, &der);
	{
		uint8_t body[2048];
		size_t bl = 0;
		cvq_card_tlv_put(body, sizeof(body), &bl, 0x70, der, (size_t)dl);
		cvq_card_tlv_put(body, sizeof(body), &bl, 0x71, (const uint8_t *)"\0", 1);
		cvq_card_tlv_put(body, sizeof(body), &bl, 0xFE, NULL, 0);
		off = 0;
		cvq_card_tlv_put(obj, sizeof(obj), &off, 0x53, body, bl);
	}
	rsp = malloc(2 * off + 5);
	for (i = 0; i < (int)off; i++) {
		rsp[2 * i] = hex[obj[i] >> 4];
		rsp[2 * i + 1] = hex[obj[i] & 15];
	}
	strcpy(rsp + 2 * off, "9000");
	{
		const struct fake_step s[] = {
			{SELECT, "9000", NULL, NULL},
			/* Someone selected another application: 6D00, SELECT, retry. */
			{"00200080", "63C3", NULL, NULL},
			{"00CB3FFF055C035FC10500", "6D00", NULL, NULL},
			{SELECT, "9000", NULL, NULL},
			{"00CB3FFF055C035FC10500", rsp, NULL, NULL},
			{"00CB3FFF055C035FC10A00", "6A82", NULL, NULL},
		};
		struct fake_card f;
		cvq_card *card = fake_card_new(&f, s, 6);
		int tries;
		bool v;

		assert_int_equal(cvq_card_pin_status(card, &tries, &v), CVQ_CARD_OK);
		assert_int_equal(cvq_card_read_cert(card, CVQ_CARD_SLOT_AUTH, &a), CVQ_CARD_OK);
		assert_int_equal(cvq_card_read_cert(card, CVQ_CARD_SLOT_AUTH, &b), CVQ_CARD_OK);
		assert_int_equal(X509_cmp(a, x), 0);
		assert_ptr_equal(a, b);
		X509_free(b);
		assert_int_equal(cvq_card_read_cert(card, CVQ_CARD_SLOT_SIGN, &b),
		                 CVQ_CARD_ERR_NOT_FOUND);
		/* Absent is cached too: no more APDUs. */
		assert_int_equal(cvq_card_read_cert(card, CVQ_CARD_SLOT_SIGN, &b),
		                 CVQ_CARD_ERR_NOT_FOUND);
		fake_card_done(&f);
		X509_free(a);
		cvq_card_piv_forget(card);
		cvq_card_disconnect(card, false);
	}
	free(rsp);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_not_piv(void **state)
{
	const struct fake_step s[] = {{SELECT, "6A82", NULL, NULL}};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 1);
	cvq_card_chuid c;

	(void)state;
	assert_int_equal(cvq_card_read_chuid(card, &c), CVQ_CARD_ERR_NOT_PIV);
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
}

static void
test_status_blank_yubico(void **state)
{
	const struct fake_step s[] = {
		{SELECT, "9000", NULL, NULL},
		{"00CB3FFF055C035FC10200", "6A82", NULL, NULL},
		{"00CB3FFF055C035FC10500", "6A82", NULL, NULL},
		{"00CB3FFF055C035FC10A00", "6A82", NULL, NULL},
		{"00CB3FFF055C035FC10100", "6A82", NULL, NULL},
		{"00200080", "63C3", NULL, NULL},
		{"00FD000000", "0507019000", NULL, NULL},
		{"00F7008100", "010100 0203010101 0301 01 0602 0302 9000", NULL, NULL},
	};
	struct fake_card f;
	cvq_card *card = fake_card_new(&f, s, 8);
	cvq_card_status st;

	(void)state;
	assert_int_equal(cvq_card_get_status(card, &st), CVQ_CARD_OK);
	assert_int_equal(st.state, CVQ_CARD_STATE_BLANK);
	assert_int_equal(st.pin_tries, 3);
	assert_int_equal(st.puk_tries, 2);
	assert_false(st.has_guid);
	assert_string_equal(cvq_card_state_name(st.state), "blank");
	fake_card_done(&f);
	cvq_card_disconnect(card, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_ec_9c_fewest_apdus),
		cmocka_unit_test(test_sign_rsa_pkcs1),
		cmocka_unit_test(test_sign_rsa_pss),
		cmocka_unit_test(test_sign_wrong_pin),
		cmocka_unit_test(test_pin_status_and_change),
		cmocka_unit_test(test_mgmt_auth),
		cmocka_unit_test(test_cert_cached_and_reselect),
		cmocka_unit_test(test_not_piv),
		cmocka_unit_test(test_status_blank_yubico),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
