/*
 * Unit tests of the issuer's signed objects (issue #17): the signed CHUID
 * and the Security Object verify with OpenSSL's CMS code over what they
 * cover; the LDSSecurityObject's hashes are the objects' SHA-256; the
 * parsers refuse what would let one hash stand for two objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cvq/card_tlv.h"
#include "cvq/piv.h"
#include "cvq/piv_authentic.h"
#include "test_pki.h"

struct pki {
	EVP_PKEY *ca_key, *key;
	X509 *ca, *signer;
	X509_STORE *store;
};

static int
setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));

	p->ca_key = EVP_EC_gen("P-256");
	p->key = EVP_EC_gen("P-256");
	p->ca = test_cert("Test CA", p->ca_key, NULL, p->ca_key, NULL, true);
	p->signer = test_cert("Content signer", p->key, p->ca, p->ca_key,
	                      CVQ_PIV_OID_CONTENT_SIGNING, false);
	p->store = X509_STORE_new();
	X509_STORE_add_cert(p->store, p->ca);
	X509_STORE_set_purpose(p->store, X509_PURPOSE_ANY);
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pki *p = *state;

	X509_STORE_free(p->store);
	X509_free(p->ca);
	X509_free(p->signer);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->key);
	free(p);
	return 0;
}

/* CMS_verify as a relying party would: content detached or encapsulated. */
static int
cms_ok(X509_STORE *st, const uint8_t *der, size_t len, const uint8_t *content, size_t clen,
       STACK_OF(X509) *certs, BIO *out)
{
	const unsigned char *q = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)len);
	BIO *dc = content ? BIO_new_mem_buf(content, (int)clen) : NULL;
	int ok;

	assert_non_null(cms);
	ok = CMS_verify(cms, certs, st, dc, out, CMS_BINARY);
	BIO_free(dc);
	CMS_ContentInfo_free(cms);
	return ok;
}

static void
test_chuid_signed(void **state)
{
	struct pki *p = *state;
	uint8_t guid[16], buf[64], *signed_chuid = NULL, *bad;
	const uint8_t *sig;
	size_t len, slen, clen, sig_len;
	cvq_card_chuid c;

	memset(guid, 0xA5, sizeof(guid));
	assert_int_equal(cvq_card_chuid_build(guid, "20311130", buf, sizeof(buf), &len), 0);
	/* Unsigned: 3E is empty. */
	assert_int_equal(cvq_piv_chuid_split(buf, len, &clen, &sig, &sig_len), 0);
	assert_int_equal(sig_len, 0);
	assert_int_equal(clen, len - 4);
	assert_int_equal(cvq_piv_chuid_sign(buf, len, p->signer, p->key, &signed_chuid, &slen), 0);
	/* Still a CHUID with the same GUID, ending in 3E ... FE 00. */
	assert_int_equal(cvq_card_chuid_parse(signed_chuid, slen, &c), 0);
	assert_memory_equal(c.guid, guid, 16);
	assert_int_equal(signed_chuid[slen - 2], 0xFE);
	assert_int_equal(cvq_piv_chuid_split(signed_chuid, slen, &clen, &sig, &sig_len), 0);
	assert_int_equal(clen, len - 4);
	assert_memory_equal(signed_chuid, buf, clen);
	assert_true(sig_len > 100);
	assert_true(cms_ok(p->store, sig, sig_len, signed_chuid, clen, NULL, NULL) == 1);
	/* One byte of the GUID changed: the signature no longer verifies. */
	bad = malloc(clen);
	memcpy(bad, signed_chuid, clen);
	bad[30] ^= 1;
	assert_true(cms_ok(p->store, sig, sig_len, bad, clen, NULL, NULL) != 1);
	/* Signing again replaces the old signature (same covered bytes). */
	free(bad);
	bad = NULL;
	assert_int_equal(cvq_piv_chuid_sign(signed_chuid, slen, p->signer, p->key, &bad, &len), 0);
	assert_int_equal(cvq_piv_chuid_split(bad, len, &clen, &sig, &sig_len), 0);
	assert_int_equal(clen, (size_t)(len - sig_len - 4 - 2));
	free(bad);
	free(signed_chuid);
	/* No GUID, no CHUID. */
	assert_int_equal(cvq_piv_chuid_split((const uint8_t *)"\x35\x01\x30", 3, &clen, &sig,
	                                     &sig_len), CVQ_CARD_ERR_BAD_DATA);
}

static void
test_secobj_roundtrip(void **state)
{
	struct pki *p = *state;
	static const uint8_t a[] = "chuid", b[] = "ccc", d[] = "card authentication";
	cvq_piv_secobj_item items[3] = {
		{CVQ_CARD_OBJ_CHUID, a, sizeof(a)},
		{CVQ_CARD_OBJ_CCC, b, sizeof(b)},
		{CVQ_CARD_OBJ_CARDAUTH, d, sizeof(d)},
	};
	uint8_t *so = NULL, hashes[CVQ_PIV_SECOBJ_MAX][32], md[32];
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *out = BIO_new(BIO_s_mem());
	cvq_piv_secobj s;
	size_t len = 0, i;
	char *lds;
	long lds_len;

	assert_int_equal(cvq_piv_secobj_build(items, 3, p->signer, p->key, &so, &len), 0);
	assert_int_equal(cvq_piv_secobj_parse(so, len, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.map[0].container, 0x3000);
	assert_int_equal(s.map[1].container, 0xDB00);
	assert_int_equal(s.map[2].container, 0x0500);
	assert_int_equal(s.map[2].tag, CVQ_CARD_OBJ_CARDAUTH);
	/* The certificate is not in the Security Object: without it, no verify. */
	assert_true(cms_ok(p->store, s.cms, s.cms_len, NULL, 0, NULL, out) != 1);
	sk_X509_push(certs, p->signer);
	assert_true(cms_ok(p->store, s.cms, s.cms_len, NULL, 0, certs, out) == 1);
	lds_len = BIO_get_mem_data(out, &lds);
	assert_int_equal(cvq_piv_lds_parse((const uint8_t *)lds, (size_t)lds_len, &s, hashes), 0);
	for (i = 0; i < 3; i++) {
		EVP_Digest(items[i].data, items[i].len, md, NULL, EVP_sha256(), NULL);
		assert_memory_equal(md, hashes[i], 32);
	}
	/* A mapping naming a data group the LDS has no hash for. */
	s.map[0].dg = 9;
	assert_int_equal(cvq_piv_lds_parse((const uint8_t *)lds, (size_t)lds_len, &s, hashes),
	                 CVQ_CARD_ERR_BAD_DATA);
	/* A tag without a container ID cannot be mapped. */
	items[0].tag = 0x5FC1FF;
	free(so);
	so = NULL;
	assert_int_equal(cvq_piv_secobj_build(items, 3, p->signer, p->key, &so, &len),
	                 CVQ_CARD_ERR_ARG);
	sk_X509_free(certs);
	BIO_free(out);
}

static void
test_secobj_parse_refuses(void **state)
{
	/* BA DG 1 -> 3000, DG 1 -> DB00: one data group for two objects. */
	static const uint8_t dup_dg[] = {0xBA, 0x06, 0x01, 0x30, 0x00, 0x01, 0xDB, 0x00,
	                                 0xBB, 0x01, 0x30};
	/* DG 1 and DG 2 both -> 3000: two hashes for one object. */
	static const uint8_t dup_ct[] = {0xBA, 0x06, 0x01, 0x30, 0x00, 0x02, 0x30, 0x00,
	                                 0xBB, 0x01, 0x30};
	static const uint8_t no_cms[] = {0xBA, 0x03, 0x01, 0x30, 0x00, 0xFE, 0x00};
	static const uint8_t bad_len[] = {0xBA, 0x04, 0x01, 0x30, 0x00, 0x00, 0xBB, 0x01, 0x30};
	static const uint8_t ok[] = {0xBA, 0x03, 0x01, 0x30, 0x00, 0xBB, 0x01, 0x30, 0xFE, 0x00};
	cvq_piv_secobj s;

	(void)state;
	assert_int_equal(cvq_piv_secobj_parse(dup_dg, sizeof(dup_dg), &s), CVQ_CARD_ERR_BAD_DATA);
	assert_int_equal(cvq_piv_secobj_parse(dup_ct, sizeof(dup_ct), &s), CVQ_CARD_ERR_BAD_DATA);
	assert_int_equal(cvq_piv_secobj_parse(no_cms, sizeof(no_cms), &s), CVQ_CARD_ERR_BAD_DATA);
	assert_int_equal(cvq_piv_secobj_parse(bad_len, sizeof(bad_len), &s), CVQ_CARD_ERR_BAD_DATA);
	assert_int_equal(cvq_piv_secobj_parse(ok, sizeof(ok), &s), CVQ_CARD_OK);
	assert_int_equal(s.map[0].tag, CVQ_CARD_OBJ_CHUID);
}

static void
test_ccc(void **state)
{
	uint8_t guid[16], buf[64];
	size_t len = 0;
	cvq_card_tlv t;

	(void)state;
	memset(guid, 0x11, sizeof(guid));
	assert_int_equal(cvq_piv_ccc_build(guid, buf, sizeof(buf), &len), 0);
	assert_int_equal(cvq_card_tlv_find(buf, len, 0xF0, &t), 0);
	assert_int_equal(t.len, 21);
	assert_memory_equal(t.value, "\xA0\x00\x00\x01\x16", 5);
	assert_memory_equal(t.value + 7, guid, 14);
	assert_int_equal(cvq_card_tlv_find(buf, len, 0xFE, &t), 0);
	assert_int_equal(cvq_piv_ccc_build(guid, buf, 20, &len), CVQ_CARD_ERR_BUFFER);
	assert_string_equal(cvq_piv_auth_reason_name(CVQ_PIV_AUTH_CARDAUTH_FAILED),
	                    "card-auth-failed");
	assert_string_equal(cvq_piv_auth_reason_name(CVQ_PIV_AUTH__COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chuid_signed),
		cmocka_unit_test(test_secobj_roundtrip),
		cmocka_unit_test(test_secobj_parse_refuses),
		cmocka_unit_test(test_ccc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
