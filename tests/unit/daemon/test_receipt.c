/* Receipts: built around a "card" callback, checked by us and by openssl cms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "config.h"
#include "pki.h"
#include "receipt.h"
#include "trust.h"

struct fixture {
	char dir[64];
	EVP_PKEY *cakey, *key, *otherkey;
	X509 *ca, *cert, *other_ca;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/cvqd-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cakey = pki_ec_key();
	f->key = pki_ec_key();
	f->otherkey = pki_ec_key();
	f->ca = pki_cert(f->cakey, "CA de test", NULL, NULL, 1, 1);
	f->cert = pki_cert(f->key, "Marie Dupont", f->ca, f->cakey, 42, 0);
	f->other_ca = pki_cert(f->otherkey, "Autre CA", NULL, NULL, 1, 1);
	char p[128];
	snprintf(p, sizeof p, "%s/ca.pem", f->dir);
	assert_int_equal(pki_write_cert(p, f->ca), 0);
	snprintf(p, sizeof p, "%s/other.pem", f->dir);
	assert_int_equal(pki_write_cert(p, f->other_ca), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	EVP_PKEY_free(f->cakey);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->otherkey);
	X509_free(f->ca);
	X509_free(f->cert);
	X509_free(f->other_ca);
	free(f);
	return 0;
}

/* What the card does: sign a digest, nothing else. */
static cvqd_err soft_sign(void *arg, const cvqd_tbs *tbs, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(arg, NULL);
	int ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
	         EVP_PKEY_sign(ctx, sig, siglen, tbs->digest, tbs->digest_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? CVQD_OK : CVQD_ERR_CARD;
}

static json_t *payment(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "payment",
	                 "payee", "École de musique", "amount", "45.00", "currency", "EUR",
	                 "reference", "INSCR-2026-0042", "description", "Inscription \"piano\"");
}

static cvqd_trust *trust_with(struct fixture *f, const char *anchor, X509_CRL *crl)
{
	char text[512], err[200], crlpath[128];
	snprintf(crlpath, sizeof crlpath, "%s/crl.pem", f->dir);
	if (crl)
		assert_int_equal(pki_write_crl(crlpath, crl), 0);
	snprintf(text, sizeof text, "[trust]\nanchors = %s/%s\n%s%s\n", f->dir, anchor,
	         crl ? "crls = " : "", crl ? crlpath : "");
	cvqd_config cfg;
	assert_int_equal(cvqd_config_parse(&cfg, text, err, sizeof err), 0);
	cvqd_trust *t = cvqd_trust_load(&cfg, err, sizeof err);
	cvqd_config_free(&cfg);
	assert_non_null(t);
	return t;
}

static void build(struct fixture *f, uint8_t **der, size_t *derlen, char **content, size_t *clen)
{
	json_t *tx = payment();
	*content = cvqd_canon_receipt(tx, time(NULL), "AAAAAAAAAAAAAAAAAAAAAA", clen);
	json_decref(tx);
	assert_non_null(*content);
	assert_int_equal(cvqd_receipt_build((uint8_t *)*content, *clen, f->cert, NULL, time(NULL),
	                                    soft_sign, f->key, der, derlen), CVQD_OK);
}

static void test_good_receipt(void **state)
{
	struct fixture *f = *state;
	uint8_t *der;
	size_t derlen, clen;
	char *content, why[200];
	build(f, &der, &derlen, &content, &clen);
	X509_CRL *crl = pki_crl(f->ca, f->cakey, NULL, 0, 3600);
	cvqd_trust *t = trust_with(f, "ca.pem", crl);
	cvqd_receipt_info info;
	assert_int_equal(cvqd_receipt_verify(der, derlen, t, &info, why, sizeof why), CVQD_OK);
	assert_int_equal(info.content_len, clen);
	assert_memory_equal(info.content, content, clen);
	cvqd_receipt_info_free(&info);

	/* The peer judges too: openssl cms -verify with the CA and the CRL. */
	char path[128], cmd[1024];
	snprintf(path, sizeof path, "%s/r.der", f->dir);
	FILE *fp = fopen(path, "wb");
	fwrite(der, 1, derlen, fp);
	fclose(fp);
	/* -CAfile takes the CRL too; -crl_check makes it count. */
	snprintf(cmd, sizeof cmd, "cat %s/ca.pem %s/crl.pem > %s/cacrl.pem && "
	         "openssl cms -verify -binary -inform DER -in %s -CAfile %s/cacrl.pem "
	         "-crl_check -out %s/out.json", f->dir, f->dir, f->dir, path, f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof path, "%s/out.json", f->dir);
	fp = fopen(path, "rb");
	char back[2048];
	size_t n = fread(back, 1, sizeof back, fp);
	fclose(fp);
	assert_int_equal(n, clen);
	assert_memory_equal(back, content, clen);

	X509_CRL_free(crl);
	cvqd_trust_put(t);
	free(der);
	free(content);
}

static void test_revoked(void **state)
{
	struct fixture *f = *state;
	uint8_t *der;
	size_t derlen, clen;
	char *content, why[200];
	build(f, &der, &derlen, &content, &clen);
	long serial = 42;
	X509_CRL *crl = pki_crl(f->ca, f->cakey, &serial, 1, 3600);
	cvqd_trust *t = trust_with(f, "ca.pem", crl);
	cvqd_receipt_info info;
	assert_int_equal(cvqd_receipt_verify(der, derlen, t, &info, why, sizeof why),
	                 CVQD_ERR_CERT_REVOKED);
	assert_non_null(strstr(why, "revoked"));
	cvqd_receipt_info_free(&info);
	X509_CRL_free(crl);
	cvqd_trust_put(t);
	free(der);
	free(content);
}

static void test_untrusted_and_no_crl(void **state)
{
	struct fixture *f = *state;
	uint8_t *der;
	size_t derlen, clen;
	char *content, why[200];
	build(f, &der, &derlen, &content, &clen);
	cvqd_receipt_info info;
	cvqd_trust *t = trust_with(f, "other.pem", NULL);
	assert_int_equal(cvqd_receipt_verify(der, derlen, t, &info, why, sizeof why),
	                 CVQD_ERR_CERT_UNTRUSTED);
	cvqd_receipt_info_free(&info);
	cvqd_trust_put(t);
	t = trust_with(f, "ca.pem", NULL); /* require_crl defaults to true */
	assert_int_equal(cvqd_receipt_verify(der, derlen, t, &info, why, sizeof why),
	                 CVQD_ERR_CRL_UNAVAILABLE);
	cvqd_receipt_info_free(&info);
	cvqd_trust_put(t);
	free(der);
	free(content);
}

static void test_tampered(void **state)
{
	struct fixture *f = *state;
	uint8_t *der;
	size_t derlen, clen;
	char *content, why[200];
	build(f, &der, &derlen, &content, &clen);
	X509_CRL *crl = pki_crl(f->ca, f->cakey, NULL, 0, 3600);
	cvqd_trust *t = trust_with(f, "ca.pem", crl);
	/* "45.00" -> "95.00" inside the DER */
	uint8_t *p = NULL;
	for (size_t i = 0; i + 5 <= derlen && !p; i++)
		if (!memcmp(der + i, "45.00", 5))
			p = der + i;
	assert_non_null(p);
	*p = '9';
	cvqd_receipt_info info;
	assert_int_equal(cvqd_receipt_verify(der, derlen, t, &info, why, sizeof why),
	                 CVQD_ERR_BAD_SIGNATURE);
	cvqd_receipt_info_free(&info);
	assert_int_equal(cvqd_receipt_verify(der, derlen / 2, t, &info, why, sizeof why),
	                 CVQD_ERR_BAD_RECEIPT);
	cvqd_receipt_info_free(&info);
	X509_CRL_free(crl);
	cvqd_trust_put(t);
	free(der);
	free(content);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_receipt),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_untrusted_and_no_crl),
		cmocka_unit_test(test_tampered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
