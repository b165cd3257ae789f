/* Unit tests of the PIV object parsers and builders, and of the profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "cvq/card_tlv.h"
#include "cvq/piv.h"
#include "cvq/profile.h"
#include "fake_card.h"

static void
test_chuid_roundtrip(void **state)
{
	uint8_t guid[16], buf[64];
	size_t len = 0;
	cvq_card_chuid c;

	(void)state;
	memset(guid, 0x5A, sizeof(guid));
	assert_int_equal(cvq_card_chuid_build(guid, "20301231", buf, sizeof(buf), &len),
	                 CVQ_CARD_OK);
	assert_int_equal(len, 0x3B); /* as in PIV-NOTES: 53 3B ... */
	assert_int_equal(cvq_card_chuid_parse(buf, len, &c), CVQ_CARD_OK);
	assert_memory_equal(c.guid, guid, 16);
	assert_string_equal(c.expiry, "20301231");
	assert_true(c.has_fascn);
	assert_int_equal(cvq_card_chuid_build(guid, "2030123", buf, sizeof(buf), &len),
	                 CVQ_CARD_ERR_ARG);
	assert_int_equal(cvq_card_chuid_build(guid, "20301231", buf, 40, &len),
	                 CVQ_CARD_ERR_BUFFER);
	/* Without GUID: not a usable CHUID. */
	assert_int_equal(cvq_card_chuid_parse(buf, 27, &c), CVQ_CARD_ERR_BAD_DATA);
}

static void
test_discovery(void **state)
{
	uint8_t buf[32];
	size_t n = fake_hex("4F0BA000000308000010000100 5F2F024000", buf, sizeof(buf));
	cvq_card_discovery d;

	(void)state;
	assert_int_equal(cvq_card_discovery_parse(buf, n, &d), CVQ_CARD_OK);
	assert_int_equal(d.aid_len, 11);
	assert_int_equal(d.pin_policy, 0x4000);
	assert_int_equal(cvq_card_discovery_parse(buf, n - 1, &d), CVQ_CARD_ERR_TLV);
	assert_int_equal(cvq_card_discovery_parse(buf + 13, n - 13, &d), CVQ_CARD_ERR_BAD_DATA);
}

static void
test_printed(void **state)
{
	cvq_card_printed in = {0}, out;
	uint8_t buf[256];
	size_t len = 0;

	(void)state;
	strcpy(in.name, "Marie Dupont");
	strcpy(in.expiry, "2030JAN01");
	strcpy(in.issuer, "Alencon");
	assert_int_equal(cvq_card_printed_build(&in, buf, sizeof(buf), &len), CVQ_CARD_OK);
	assert_int_equal(cvq_card_printed_parse(buf, len, &out), CVQ_CARD_OK);
	assert_string_equal(out.name, "Marie Dupont");
	assert_string_equal(out.expiry, "2030JAN01");
	assert_string_equal(out.issuer, "Alencon");
	assert_string_equal(out.serial, "");
	/* A control byte in a name is refused (it would reach a terminal). */
	buf[2] = 0x1B;
	assert_int_equal(cvq_card_printed_parse(buf, len, &out), CVQ_CARD_ERR_BAD_DATA);
}

static EVP_PKEY *
ec_key(const char *group)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	assert_non_null(k);
	return k;
}

static X509 *
self_signed(EVP_PKEY *k)
{
	X509 *x = X509_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static size_t
gzip_buf(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
	                              Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

static void
test_cert_object(void **state)
{
	EVP_PKEY *k = ec_key("P-256");
	X509 *x = self_signed(k), *back = NULL;
	unsigned char *der = NULL;
	uint8_t obj[4096], gz[4096];
	size_t off = 0, gzl;
	int dl;
	static const uint8_t gzinfo = 1, plain = 0;

	(void)state;
	dl = i2d_X509(x, &der);
	assert_true(dl > 0);
	/* Plain. */
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0x70, der, (size_t)dl), 0);
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0x71, &plain, 1), 0);
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0xFE, NULL, 0), 0);
	assert_int_equal(cvq_card_cert_parse(obj, off, &back), CVQ_CARD_OK);
	assert_int_equal(X509_cmp(x, back), 0);
	X509_free(back);
	/* Gzip. */
	gzl = gzip_buf(der, (size_t)dl, gz, sizeof(gz));
	off = 0;
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0x70, gz, gzl), 0);
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0x71, &gzinfo, 1), 0);
	assert_int_equal(cvq_card_cert_parse(obj, off, &back), CVQ_CARD_OK);
	assert_int_equal(X509_cmp(x, back), 0);
	X509_free(back);
	/* Gzip claimed, plain given. */
	off = 0;
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0x70, der, (size_t)dl), 0);
	assert_int_equal(cvq_card_tlv_put(obj, sizeof(obj), &off, 0x71, &gzinfo, 1), 0);
	assert_int_equal(cvq_card_cert_parse(obj, off, &back), CVQ_CARD_ERR_BAD_DATA);
	assert_null(back);
	/* No 70 at all. */
	assert_int_equal(cvq_card_cert_parse(obj + off - 3, 3, &back), CVQ_CARD_ERR_NOT_FOUND);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_generate_parse_ec(void **state)
{
	EVP_PKEY *k = ec_key("P-256"), *pub = NULL;
	uint8_t pt[65], buf[80];
	size_t ptl = 0, off = 0;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
	                                                 sizeof(pt), &ptl), 1);
	assert_int_equal(ptl, 65);
	cvq_card_tlv_put_header(buf, sizeof(buf), &off, 0x7F49, 67);
	cvq_card_tlv_put(buf, sizeof(buf), &off, 0x86, pt, 65);
	assert_int_equal(cvq_card_generate_parse(buf, off, CVQ_CARD_ALG_ECCP256, &pub),
	                 CVQ_CARD_OK);
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	EVP_PKEY_free(pub);
	pub = NULL;
	/* A point off the curve is refused. */
	buf[off - 1] ^= 1;
	assert_int_equal(cvq_card_generate_parse(buf, off, CVQ_CARD_ALG_ECCP256, &pub),
	                 CVQ_CARD_ERR_BAD_DATA);
	/* Wrong size for P-384. */
	assert_int_equal(cvq_card_generate_parse(buf, off, CVQ_CARD_ALG_ECCP384, &pub),
	                 CVQ_CARD_ERR_BAD_DATA);
	assert_null(pub);
	EVP_PKEY_free(k);
}

static void
test_generate_parse_rsa(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), *pub = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[256], eb[8], buf[300];
	size_t off = 0;
	int el;

	(void)state;
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	assert_int_equal(BN_bn2binpad(n, nb, 256), 256);
	el = BN_bn2bin(e, eb);
	cvq_card_tlv_put_header(buf, sizeof(buf), &off, 0x7F49, 4 + 256 + 2 + (size_t)el);
	cvq_card_tlv_put(buf, sizeof(buf), &off, 0x81, nb, 256);
	cvq_card_tlv_put(buf, sizeof(buf), &off, 0x82, eb, (size_t)el);
	assert_int_equal(cvq_card_generate_parse(buf, off, CVQ_CARD_ALG_RSA2048, &pub),
	                 CVQ_CARD_OK);
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	EVP_PKEY_free(pub);
	pub = NULL;
	assert_int_equal(cvq_card_generate_parse(buf, off - 3, CVQ_CARD_ALG_RSA2048, &pub),
	                 CVQ_CARD_ERR_TLV);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(k);
}

static void
test_mgmt_key_derive(void **state)
{
	uint8_t master[32], guid[16], key[32], want[32];
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		master[i] = (uint8_t)i;
	for (i = 0; i < 16; i++)
		guid[i] = (uint8_t)(0xA0 + i);
	/* Vectors from `openssl kdf -keylen 24 -kdfopt digest:SHA256 -kdfopt
	 * hexkey:0001..1f -kdfopt salt:cvq-mgmt-key-v1 -kdfopt hexinfo:a0..af0a HKDF`. */
	assert_int_equal(cvq_card_mgmt_key_derive(master, 32, guid, CVQ_CARD_ALG_AES192, key),
	                 CVQ_CARD_OK);
	fake_hex("14D254D9CD6C0CEE47F7F41559DB8473F64ADEDA145ABE40", want, sizeof(want));
	assert_memory_equal(key, want, 24);
	assert_int_equal(cvq_card_mgmt_key_derive(master, 32, guid, CVQ_CARD_ALG_3DES, key),
	                 CVQ_CARD_OK);
	fake_hex("75073467677F60FC7B95CA3407C116A40BAD26E5DFD751DB", want, sizeof(want));
	assert_memory_equal(key, want, 24);
	assert_int_equal(cvq_card_mgmt_key_derive(master, 8, guid, CVQ_CARD_ALG_3DES, key),
	                 CVQ_CARD_ERR_ARG);
	assert_int_equal(cvq_card_mgmt_key_derive(master, 32, guid, CVQ_CARD_ALG_ECCP256, key),
	                 CVQ_CARD_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chuid_roundtrip),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_printed),
		cmocka_unit_test(test_cert_object),
		cmocka_unit_test(test_generate_parse_ec),
		cmocka_unit_test(test_generate_parse_rsa),
		cmocka_unit_test(test_mgmt_key_derive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
