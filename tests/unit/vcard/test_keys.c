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

#include <openssl/x509.h>

#include "card_int.h"
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

/*
 * Issue #13: the F9 attestation key (imported, as a card maker does) and
 * its certificate; ATTEST of a generated key verifies with the F9 key and
 * carries the slot's key and PIN policy; imported keys are never attested.
 */
static void
test_attest(void **state)
{
	struct vc_card *c = vc_card_new(0x01020304), *c2 = NULL;
	EVP_PKEY *f9 = EVP_EC_gen("P-256"), *pub;
	BIGNUM *d = NULL;
	uint8_t apdu[64], obj[1024], rsp[2048], *p;
	const unsigned char *q;
	size_t n, rlen, olen = 0;
	X509 *cert = X509_new(), *att;
	ASN1_OCTET_STRING *v;
	char cn[64], *enc = NULL;
	size_t enc_len = 0;
	int i, len;

	(void)state;
	assert_int_equal(th_send(c, "00F99A00", NULL, NULL), 0x6D00);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	/* F9 key by FE (06 = the private scalar), certificate in 5FFF01. */
	assert_int_equal(EVP_PKEY_get_bn_param(f9, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	n = th_hex("00FE11F9 22 0620", apdu, sizeof(apdu));
	assert_int_equal(BN_bn2binpad(d, apdu + n, 32), 32);
	assert_int_equal(th_send_bytes(c, apdu, n + 32, NULL, NULL), 0x9000);
	X509_set_version(cert, 2);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"Factory F9", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, f9);
	assert_true(X509_sign(cert, f9, EVP_sha256()) > 0);
	p = NULL;
	len = i2d_X509(cert, &p);
	obj[olen++] = 0x70; obj[olen++] = 0x82;
	obj[olen++] = (uint8_t)(len >> 8); obj[olen++] = (uint8_t)len;
	memcpy(obj + olen, p, (size_t)len);
	olen += (size_t)len;
	OPENSSL_free(p);
	assert_true(vc_obj_set(c, VC_OBJ_ATTEST, obj, olen));
	/* A generated key is attested. */
	pub = generate(c, 0x9C, 0x11);
	n = th_hex("00F99C00", apdu, sizeof(apdu));
	assert_int_equal(th_send_all(c, apdu, n, rsp, sizeof(rsp), &rlen), 0x9000);
	q = rsp;
	att = d2i_X509(NULL, &q, (long)rlen);
	assert_non_null(att);
	assert_int_equal(X509_verify(att, f9), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(att), pub), 1);
	X509_NAME_get_text_by_NID(X509_get_subject_name(att), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "YubiKey PIV Attestation 9c");
	for (i = 0; i < X509_get_ext_count(att); i++) {
		X509_EXTENSION *e = X509_get_ext(att, i);

		OBJ_obj2txt(cn, sizeof(cn), X509_EXTENSION_get_object(e), 1);
		v = X509_EXTENSION_get_data(e);
		if (strcmp(cn, "1.3.6.1.4.1.41482.3.8") == 0)
			assert_memory_equal(ASN1_STRING_get0_data(v), "\x03\x01", 2); /* always, never */
		if (strcmp(cn, "1.3.6.1.4.1.41482.3.3") == 0)
			assert_memory_equal(ASN1_STRING_get0_data(v), "\x05\x04\x03", 3);
	}
	X509_free(att);
	/* F9 signs attestations only; an empty slot; an imported key. */
	assert_int_equal(sign(c, 0x11, 0xF9, apdu, 32, rsp, &rlen), 0x6A86);
	assert_int_equal(th_send(c, "00F99D00", NULL, NULL), 0x6A88);
	assert_int_equal(th_send(c, "00F9F900", NULL, NULL), 0x6A86);
	assert_int_equal(th_send(c, "00FE119A 22 0620 0000000000000000000000000000000000000000000000000000000000000001", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00F99A00", NULL, NULL), 0x6A80);
	/* The state file remembers which keys were imported. */
	assert_int_equal(vc_state_encode(c, &enc, &enc_len), VC_OK);
	assert_non_null(strstr(enc, "key 9a 11 "));
	assert_non_null(strstr(enc, " imported\n"));
	assert_int_equal(vc_state_decode(enc, enc_len, &c2), VC_OK);
	assert_true(c2->keys[vc_key_index(0x9A)].imported);
	assert_false(c2->keys[vc_key_index(0x9C)].imported);
	assert_int_equal(th_send(c2, "00F99A00", NULL, NULL), 0x6A80);
	OPENSSL_clear_free(enc, enc_len);
	/* A factory reset keeps the factory attestation. */
	for (i = 0; i < 3; i++) {
		th_send(c, "00200080 08 3939393939393939", NULL, NULL);
		th_send(c, "002C0080 10 3939393939393939 3131313131313131", NULL, NULL);
	}
	assert_int_equal(th_send(c, "00FB0000", NULL, NULL), 0x9000);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	EVP_PKEY_free(pub);
	pub = generate(c, 0x9E, 0x11);
	n = th_hex("00F99E00", apdu, sizeof(apdu));
	assert_int_equal(th_send_all(c, apdu, n, rsp, sizeof(rsp), &rlen), 0x9000);
	q = rsp;
	att = d2i_X509(NULL, &q, (long)rlen);
	assert_non_null(att);
	assert_int_equal(X509_verify(att, f9), 1);
	X509_free(att);
	vc_card_free(c2);
	BN_clear_free(d);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(f9);
	X509_free(cert);
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
		cmocka_unit_test(test_attest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
