/*
 * libcvqcades: a B-B signature made through the callback verifies with
 * OpenSSL's CMS_verify (signingCertificateV2 included, which it checks);
 * the callback's failure stops it; the TimeStampReq is over the signature
 * value with a nonce and certReq; a TSA answer (made here by OpenSSL's
 * TS_RESP_CTX) is checked against its request and trust anchors before it
 * is added; a refusal, another request's answer, an untrusted TSA and an
 * unreachable or mute TSA are each reported as such.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <cvq/cades.h>
#include <cvq/cades_version.h>

#include "../daemon/pki.h"

struct fx {
	EVP_PKEY *ca_key, *key, *tsa_key;
	X509 *ca, *cert, *tsa, *other_ca;
	EVP_PKEY *other_key;
};

static int sign_cb(void *arg, const uint8_t *tbs, size_t tbs_len, const uint8_t *digest,
                   size_t digest_len, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(arg, NULL);
	unsigned char md[32];
	int ok;
	(void)digest_len;
	/* The digest handed over is SHA-256 of the bytes to be signed. */
	if (!EVP_Digest(tbs, tbs_len, md, NULL, EVP_sha256(), NULL) || memcmp(md, digest, 32))
		return -1;
	ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, sig, siglen, digest, 32) == 1;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

static int failing_cb(void *arg, const uint8_t *tbs, size_t tbs_len, const uint8_t *digest,
                      size_t digest_len, uint8_t *sig, size_t *siglen)
{
	(void)arg; (void)tbs; (void)tbs_len; (void)digest; (void)digest_len; (void)sig; (void)siglen;
	return -1;
}

static X509 *tsa_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *cakey)
{
	X509 *x = pki_cert(key, "TSA", ca, cakey, 77, 0);
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, "critical,timeStamping");
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->ca_key = pki_ec_key();
	f->ca = pki_cert(f->ca_key, "CA", NULL, NULL, 1, 1);
	f->key = pki_ec_key();
	f->cert = pki_cert(f->key, "Marie Dupont", f->ca, f->ca_key, 2, 0);
	f->tsa_key = pki_ec_key();
	f->tsa = tsa_cert(f->tsa_key, f->ca, f->ca_key);
	f->other_key = pki_ec_key();
	f->other_ca = pki_cert(f->other_key, "Other CA", NULL, NULL, 3, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	EVP_PKEY_free(f->ca_key); EVP_PKEY_free(f->key); EVP_PKEY_free(f->tsa_key); EVP_PKEY_free(f->other_key);
	X509_free(f->ca); X509_free(f->cert); X509_free(f->tsa); X509_free(f->other_ca);
	free(f);
	return 0;
}

static void bb(struct fx *f, uint8_t **der, size_t *len)
{
	static const char content[] = "{\"cvq\":\"receipt/1\"}";
	struct cvq_cades_sign_params p = {
		.content = (const uint8_t *)content, .content_len = sizeof content - 1,
		.signer = f->cert, .signing_time = 1764590400, .sign = sign_cb, .arg = f->key,
	};
	assert_int_equal(cvq_cades_sign(&p, der, len), CVQ_CADES_OK);
}

static CMS_ContentInfo *parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *c = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(c);
	return c;
}

static X509_STORE *store(X509 *anchor)
{
	X509_STORE *s = X509_STORE_new();
	assert_int_equal(X509_STORE_add_cert(s, anchor), 1);
	return s;
}

static int verifies(const uint8_t *der, size_t len, X509 *anchor)
{
	CMS_ContentInfo *c = parse(der, len);
	X509_STORE *s = store(anchor);
	int ok = CMS_verify(c, NULL, s, NULL, NULL, CMS_BINARY) == 1;
	X509_STORE_free(s);
	CMS_ContentInfo_free(c);
	ERR_clear_error();
	return ok;
}

static void test_bb(void **state)
{
	struct fx *f = *state;
	uint8_t *der;
	size_t len;
	bb(f, &der, &len);
	assert_true(verifies(der, len, f->ca));
	assert_false(verifies(der, len, f->other_ca));
	CMS_ContentInfo *c = parse(der, len);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(c), 0);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1) >= 0);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) >= 0);
	assert_int_equal(CMS_unsigned_get_attr_count(si), -1);
	CMS_ContentInfo_free(c);
	/* One byte of the content changed: the signature no longer holds. */
	uint8_t *p = memmem(der, len, "receipt/1", 9);
	assert_non_null(p);
	p[0] ^= 1;
	assert_false(verifies(der, len, f->ca));
	free(der);
	struct cvq_cades_sign_params bad = {.signer = f->cert, .sign = failing_cb};
	assert_int_equal(cvq_cades_sign(&bad, &der, &len), CVQ_CADES_ERR_SIGNER);
	assert_null(der);
	assert_string_equal(cvq_cades_version(), "0.1.0");
}

/* What the city's TSA would answer: OpenSSL's own response maker. */
static void tsa_reply(struct fx *f, const uint8_t *req, size_t req_len, const char *policy,
                      uint8_t **resp, size_t *resp_len)
{
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	ASN1_OBJECT *pol = OBJ_txt2obj(policy, 1);
	BIO *in = BIO_new_mem_buf(req, (int)req_len);
	assert_true(TS_RESP_CTX_set_signer_cert(ctx, f->tsa) && TS_RESP_CTX_set_signer_key(ctx, f->tsa_key) &&
	            TS_RESP_CTX_set_def_policy(ctx, pol) && TS_RESP_CTX_add_md(ctx, EVP_sha256()) &&
	            TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()));
	TS_RESP *r = TS_RESP_create_response(ctx, in);
	assert_non_null(r);
	unsigned char *d = NULL;
	int n = i2d_TS_RESP(r, &d);
	assert_true(n > 0);
	*resp = malloc((size_t)n);
	memcpy(*resp, d, (size_t)n);
	*resp_len = (size_t)n;
	OPENSSL_free(d);
	TS_RESP_free(r);
	BIO_free(in);
	ASN1_OBJECT_free(pol);
	TS_RESP_CTX_free(ctx);
}

static void test_bt(void **state)
{
	struct fx *f = *state;
	uint8_t *der, *req, *req2, *resp, *bt;
	size_t len, req_len, req2_len, resp_len, bt_len;
	time_t gen = 0;
	bb(f, &der, &len);
	assert_int_equal(cvq_cades_ts_request(der, len, NULL, &req, &req_len), CVQ_CADES_OK);
	/* The request: SHA-256 of the signature value, a nonce, certReq. */
	const unsigned char *p = req;
	TS_REQ *q = d2i_TS_REQ(NULL, &p, (long)req_len);
	assert_non_null(q);
	assert_non_null(TS_REQ_get_nonce(q));
	assert_int_equal(TS_REQ_get_cert_req(q), 1);
	CMS_ContentInfo *c = parse(der, len);
	ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(c), 0));
	unsigned char md[32];
	EVP_Digest(ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), md, NULL, EVP_sha256(), NULL);
	ASN1_OCTET_STRING *m = TS_MSG_IMPRINT_get_msg(TS_REQ_get_msg_imprint(q));
	assert_int_equal(ASN1_STRING_length(m), 32);
	assert_memory_equal(ASN1_STRING_get0_data(m), md, 32);
	TS_REQ_free(q);
	CMS_ContentInfo_free(c);

	tsa_reply(f, req, req_len, "1.2.3.4", &resp, &resp_len);
	X509_STORE *good = store(f->ca), *other = store(f->other_ca);
	/* An untrusted TSA, then the answer to another request: refused. */
	assert_int_equal(cvq_cades_add_timestamp(der, len, req, req_len, resp, resp_len, other,
	                                         &bt, &bt_len, NULL), CVQ_CADES_ERR_TSA_TOKEN);
	assert_int_equal(cvq_cades_ts_request(der, len, NULL, &req2, &req2_len), CVQ_CADES_OK);
	assert_int_equal(cvq_cades_add_timestamp(der, len, req2, req2_len, resp, resp_len, good,
	                                         &bt, &bt_len, NULL), CVQ_CADES_ERR_TSA_TOKEN);
	/* Asking for a policy the TSA does not have: a rejection. */
	free(req2);
	free(resp);
	assert_int_equal(cvq_cades_ts_request(der, len, "1.9.9", &req2, &req2_len), CVQ_CADES_OK);
	tsa_reply(f, req2, req2_len, "1.2.3.4", &resp, &resp_len);
	assert_int_equal(cvq_cades_add_timestamp(der, len, req2, req2_len, resp, resp_len, good,
	                                         &bt, &bt_len, NULL), CVQ_CADES_ERR_TSA_REFUSED);
	free(req2);
	free(resp);
	/* The right answer: B-T, still a valid CMS signature, with the token. */
	tsa_reply(f, req, req_len, "1.2.3.4", &resp, &resp_len);
	assert_int_equal(cvq_cades_add_timestamp(der, len, req, req_len, resp, resp_len, good,
	                                         &bt, &bt_len, &gen), CVQ_CADES_OK);
	assert_true(gen > 1700000000);
	assert_true(verifies(bt, bt_len, f->ca));
	c = parse(bt, bt_len);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(c), 0);
	assert_true(CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) >= 0);
	CMS_ContentInfo_free(c);
	/* A token for this signature does not fit another one. */
	uint8_t *der2;
	size_t len2;
	bb(f, &der2, &len2);
	uint8_t *bt2;
	size_t bt2_len;
	assert_int_equal(cvq_cades_add_timestamp(der2, len2, req, req_len, resp, resp_len, good,
	                                         &bt2, &bt2_len, NULL), CVQ_CADES_ERR_TSA_TOKEN);
	free(der2);
	X509_STORE_free(good);
	X509_STORE_free(other);
	free(bt);
	free(resp);
	free(req);
	free(der);
}

static void test_fetch(void **state)
{
	(void)state;
	uint8_t *resp;
	size_t len;
	static const uint8_t req[] = {0x30, 0x00};
	/* Nothing listens: NET. A socket that accepts and never answers: NET
	 * after the timeout, not forever. */
	assert_int_equal(cvq_cades_ts_fetch("http://127.0.0.1:1/tsa", req, sizeof req, 2, &resp, &len),
	                 CVQ_CADES_ERR_NET);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/tsa", (unsigned)ntohs(a.sin_port));
	assert_int_equal(cvq_cades_ts_fetch(url, req, sizeof req, 1, &resp, &len), CVQ_CADES_ERR_NET);
	close(s);
	assert_int_equal(cvq_cades_ts_fetch("https://127.0.0.1/tsa", req, sizeof req, 1, &resp, &len),
	                 CVQ_CADES_ERR_ARG);
	assert_string_equal(cvq_cades_strerror(CVQ_CADES_ERR_NET), "timestamp authority unreachable or too slow");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bb),
		cmocka_unit_test(test_bt),
		cmocka_unit_test(test_fetch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
