/*
 * libcvqverify unit tests: a CA, signers, a TSA and CRLs made in memory,
 * timestamps made by OpenSSL's own TSA code at chosen times (its time
 * callback), so that every rule of revocation by reason is checked at
 * exact instants, with no waiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <cvq/verify.h>

static time_t now;

static EVP_PKEY *key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static void ext(X509 *x, X509 *issuer, int nid, const char *v)
{
	X509V3_CTX c;
	X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, v);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

enum kind { CA, SIGN, AUTH, TSA, SIGN_POLICY };

/* A certificate valid [nb, na] (relative to now), of the given kind. */
static X509 *cert(EVP_PKEY *k, enum kind kind, X509 *ca, EVP_PKEY *cakey, long serial, long nb, long na)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)(kind == CA ? "CA" : "Marie"), -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
	X509_NAME_free(n);
	time_t t = now;
	X509_time_adj(X509_getm_notBefore(x), nb, &t);
	X509_time_adj(X509_getm_notAfter(x), na, &t);
	X509_set_pubkey(x, k);
	X509 *iss = ca ? ca : x;
	ext(x, iss, NID_subject_key_identifier, "hash");
	switch (kind) {
	case CA:
		ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
		ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
		break;
	case SIGN:
	case SIGN_POLICY:
		ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		ext(x, iss, NID_key_usage, "critical,digitalSignature,nonRepudiation");
		ext(x, iss, NID_ext_key_usage, "emailProtection");
		if (kind == SIGN_POLICY) {
			CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
			POLICYINFO *pi = POLICYINFO_new();
			ASN1_OBJECT_free(pi->policyid);
			pi->policyid = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
			sk_POLICYINFO_push(pols, pi);
			assert_int_equal(X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, 0), 1);
			sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
		}
		break;
	case AUTH:
		ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		ext(x, iss, NID_key_usage, "critical,digitalSignature");
		ext(x, iss, NID_ext_key_usage, "clientAuth");
		break;
	case TSA:
		ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		ext(x, iss, NID_key_usage, "critical,digitalSignature");
		ext(x, iss, NID_ext_key_usage, "critical,timeStamping");
		break;
	}
	assert_true(X509_sign(x, cakey ? cakey : k, EVP_sha256()) > 0);
	return x;
}

struct entry { long serial; int reason; long revoked; long invalidity; };

/* A CRL of ca, fresh now, with entries (times relative to now). */
static X509_CRL *crl(X509 *ca, EVP_PKEY *cakey, const struct entry *e, int n, bool expired_on_crl)
{
	X509_CRL *c = X509_CRL_new();
	time_t t = now;
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	ASN1_TIME *tm = X509_time_adj(NULL, -60, &t);
	X509_CRL_set1_lastUpdate(c, tm);
	X509_time_adj(tm, 3600, &t);
	X509_CRL_set1_nextUpdate(c, tm);
	ASN1_TIME_free(tm);
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, e[i].serial);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_INTEGER_free(s);
		tm = X509_time_adj(NULL, e[i].revoked, &t);
		X509_REVOKED_set_revocationDate(r, tm);
		ASN1_TIME_free(tm);
		if (e[i].reason >= 0) {
			ASN1_ENUMERATED *en = ASN1_ENUMERATED_new();
			ASN1_ENUMERATED_set(en, e[i].reason);
			X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, en, 0, 0);
			ASN1_ENUMERATED_free(en);
		}
		if (e[i].invalidity) {
			ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, now + e[i].invalidity);
			X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, g, 0, 0);
			ASN1_GENERALIZEDTIME_free(g);
		}
		X509_CRL_add0_revoked(c, r);
	}
	if (expired_on_crl) {
		ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, now - 100000);
		unsigned char *der = NULL;
		int len = i2d_ASN1_GENERALIZEDTIME(g, &der);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(os, der, len);
		ASN1_OBJECT *oid = OBJ_txt2obj("2.5.29.60", 1);
		X509_EXTENSION *x = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
		X509_CRL_add_ext(c, x, -1);
		X509_EXTENSION_free(x);
		ASN1_OBJECT_free(oid);
		ASN1_OCTET_STRING_free(os);
		OPENSSL_free(der);
		ASN1_GENERALIZEDTIME_free(g);
	}
	X509_CRL_sort(c);
	assert_true(X509_CRL_sign(c, cakey, EVP_sha256()) > 0);
	return c;
}

struct pki {
	EVP_PKEY *cak, *k, *tsak, *otherk;
	X509 *ca, *tsa, *other, *othertsa;
};

static struct pki P;

static int setup(void **state)
{
	(void)state;
	now = time(NULL);
	P.cak = key();
	P.k = key();
	P.tsak = key();
	P.otherk = key();
	P.ca = cert(P.cak, CA, NULL, NULL, 1, -100000, 100000);
	P.tsa = cert(P.tsak, TSA, P.ca, P.cak, 2, -100000, 100000);
	P.other = cert(P.otherk, CA, NULL, NULL, 1, -100000, 100000);
	P.othertsa = cert(P.tsak, TSA, P.other, P.otherk, 3, -100000, 100000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(P.cak);
	EVP_PKEY_free(P.k);
	EVP_PKEY_free(P.tsak);
	EVP_PKEY_free(P.otherk);
	X509_free(P.ca);
	X509_free(P.tsa);
	X509_free(P.other);
	X509_free(P.othertsa);
	return 0;
}

static int at_cb(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = (long)(now + *(long *)data);
	*usec = 0;
	return 1;
}

/*
 * A receipt by signer (key P.k), with a signature timestamp by tsa at
 * now + ts (ts == 0: none). Returns DER in *len.
 */
static uint8_t *receipt(X509 *signer, X509 *tsa, long ts, size_t *len)
{
	static const char content[] = "{\"cvq\":\"receipt/1\"}";
	BIO *in = BIO_new_mem_buf(content, -1);
	CMS_ContentInfo *cms = CMS_sign(signer, P.k, NULL, in, CMS_BINARY);
	assert_non_null(cms);
	BIO_free(in);
	if (ts) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
		ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
		unsigned char md[32];
		EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), md, NULL, EVP_sha256(), NULL);
		TS_REQ *req = TS_REQ_new();
		TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
		X509_ALGOR *alg = X509_ALGOR_new();
		X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
		TS_MSG_IMPRINT_set_algo(mi, alg);
		TS_MSG_IMPRINT_set_msg(mi, md, sizeof md);
		TS_REQ_set_version(req, 1);
		TS_REQ_set_msg_imprint(req, mi);
		TS_REQ_set_cert_req(req, 1);
		BIO *q = BIO_new(BIO_s_mem());
		i2d_TS_REQ_bio(q, req);
		TS_RESP_CTX *rc = TS_RESP_CTX_new();
		ASN1_OBJECT *pol = OBJ_txt2obj("1.2.3.4", 1);
		assert_true(TS_RESP_CTX_set_signer_cert(rc, tsa));
		assert_true(TS_RESP_CTX_set_signer_key(rc, P.tsak));
		TS_RESP_CTX_set_def_policy(rc, pol);
		TS_RESP_CTX_add_md(rc, EVP_sha256());
		TS_RESP_CTX_set_ess_cert_id_digest(rc, EVP_sha256());
		TS_RESP_CTX_set_time_cb(rc, at_cb, &ts);
		TS_RESP *resp = TS_RESP_create_response(rc, q);
		assert_non_null(resp);
		PKCS7 *tok = TS_RESP_get_token(resp);
		assert_non_null(tok);
		unsigned char *tder = NULL;
		int tlen = i2d_PKCS7(tok, &tder);
		ASN1_STRING *seq = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
		ASN1_STRING_set(seq, tder, tlen);
		assert_true(CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, seq, -1));
		ASN1_STRING_free(seq);
		OPENSSL_free(tder);
		TS_RESP_free(resp);
		TS_RESP_CTX_free(rc);
		ASN1_OBJECT_free(pol);
		BIO_free(q);
		TS_MSG_IMPRINT_free(mi);
		TS_REQ_free(req);
		X509_ALGOR_free(alg);
	}
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	CMS_ContentInfo_free(cms);
	uint8_t *out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static cvq_verify_ctx *ctx_with(X509_CRL *c)
{
	cvq_verify_ctx *v = cvq_verify_ctx_new();
	assert_non_null(v);
	assert_int_equal(cvq_verify_add_anchor(v, P.ca), CVQ_VERIFY_OK);
	if (c)
		assert_int_equal(cvq_verify_add_crl(v, c), CVQ_VERIFY_OK);
	return v;
}

/* The verdict on a receipt of a SIGN certificate (serial 10) with a timestamp at ts. */
static cvq_verify_err verdict(const struct entry *e, int n, long ts, long nb, long na, bool keep_expired)
{
	X509 *s = cert(P.k, SIGN, P.ca, P.cak, 10, nb, na);
	X509_CRL *c = crl(P.ca, P.cak, e, n, keep_expired);
	cvq_verify_ctx *v = ctx_with(c);
	size_t len;
	uint8_t *der = receipt(s, P.tsa, ts, &len);
	cvq_verify_result *r = NULL;
	cvq_verify_err out = cvq_verify_receipt(v, der, len, 0, &r);
	assert_non_null(r);
	assert_int_equal(cvq_verify_result_outcome(r), out);
	if (ts)
		assert_true(cvq_verify_result_timestamp_time(r) == now + ts ||
		            out == CVQ_VERIFY_ERR_TIMESTAMP);
	cvq_verify_result_free(r);
	free(der);
	cvq_verify_ctx_free(v);
	X509_CRL_free(c);
	X509_free(s);
	return out;
}

#define V(e, ts) verdict((e), (int)(sizeof(e) / sizeof((e)[0])), (ts), -100000, 100000, true)

static void test_good(void **state)
{
	(void)state;
	assert_int_equal(verdict(NULL, 0, -100, -100000, 100000, true), CVQ_VERIFY_OK);
	assert_int_equal(verdict(NULL, 0, 0, -100000, 100000, true), CVQ_VERIFY_OK);
}

static void test_reasons(void **state)
{
	(void)state;
	const struct entry superseded[] = {{10, 4, -50, 0}}, cessation[] = {{10, 5, -50, 0}},
		affiliation[] = {{10, 3, -50, 0}}, hold[] = {{10, 6, -50, 0}},
		lost[] = {{10, 1, -10, -50}}, lost_no_inv[] = {{10, 1, -10, 0}},
		unspec[] = {{10, -1, -10, -50}}, other_serial[] = {{11, 1, -10, -50}};
	/* Renewal, holder left, card destroyed: before the revocation stands. */
	assert_int_equal(V(superseded, -100), CVQ_VERIFY_OK);
	assert_int_equal(V(superseded, -10), CVQ_VERIFY_ERR_REVOKED);
	assert_int_equal(V(superseded, -50), CVQ_VERIFY_ERR_REVOKED); /* not strictly before */
	assert_int_equal(V(superseded, 0), CVQ_VERIFY_ERR_REVOKED);   /* nothing proves it */
	assert_int_equal(V(cessation, -100), CVQ_VERIFY_OK);
	assert_int_equal(V(affiliation, -100), CVQ_VERIFY_OK);
	assert_int_equal(V(hold, -100), CVQ_VERIFY_ERR_REVOKED);
	/* Lost: before the invalidity date only. */
	assert_int_equal(V(lost, -100), CVQ_VERIFY_OK);
	assert_int_equal(V(lost, -30), CVQ_VERIFY_ERR_KEY_COMPROMISED);
	assert_int_equal(V(lost, 0), CVQ_VERIFY_ERR_KEY_COMPROMISED);
	assert_int_equal(V(lost_no_inv, -100), CVQ_VERIFY_ERR_KEY_COMPROMISED);
	assert_int_equal(V(unspec, -100), CVQ_VERIFY_OK);
	assert_int_equal(V(unspec, -30), CVQ_VERIFY_ERR_REVOKED);
	assert_int_equal(V(other_serial, 0), CVQ_VERIFY_OK);
}

static void test_trusted_time(void **state)
{
	(void)state;
	/* Validity judged at the timestamp, not now, not the signer's claim. */
	assert_int_equal(verdict(NULL, 0, -2000, -1000, 100000, true), CVQ_VERIFY_ERR_EXPIRED);
	/* Expired now, valid when stamped: good if the CRL keeps expired certificates... */
	assert_int_equal(verdict(NULL, 0, -500, -1000, -100, true), CVQ_VERIFY_OK);
	/* ...undecided if it does not say so (the entry may have left it). */
	assert_int_equal(verdict(NULL, 0, -500, -1000, -100, false), CVQ_VERIFY_ERR_REVOCATION_UNKNOWN);
	/* Expired and no timestamp: judged now. */
	assert_int_equal(verdict(NULL, 0, 0, -1000, -100, true), CVQ_VERIFY_ERR_EXPIRED);
	const struct entry lost[] = {{10, 1, -200, -300}};
	assert_int_equal(verdict(lost, 1, -500, -1000, -100, true), CVQ_VERIFY_OK);
	assert_int_equal(verdict(lost, 1, -250, -1000, -100, true), CVQ_VERIFY_ERR_KEY_COMPROMISED);
}

static void test_profile_and_tsa(void **state)
{
	(void)state;
	X509_CRL *c = crl(P.ca, P.cak, NULL, 0, true);
	cvq_verify_ctx *v = ctx_with(c);
	cvq_verify_result *r = NULL;
	size_t len;
	X509 *auth = cert(P.k, AUTH, P.ca, P.cak, 20, -100000, 100000);
	uint8_t *der = receipt(auth, P.tsa, -10, &len);
	assert_int_equal(cvq_verify_receipt(v, der, len, 0, &r), CVQ_VERIFY_ERR_NOT_SIGNING_CERT);
	cvq_verify_result_free(r);
	free(der);
	/* A TSA that does not chain to the anchors. */
	X509 *s = cert(P.k, SIGN, P.ca, P.cak, 21, -100000, 100000);
	der = receipt(s, P.othertsa, -10, &len);
	assert_int_equal(cvq_verify_receipt(v, der, len, 0, &r), CVQ_VERIFY_ERR_TIMESTAMP);
	assert_int_equal(cvq_verify_result_timestamp_time(r), 0);
	cvq_verify_result_free(r);
	free(der);
	/* The policy, when the context requires one. */
	der = receipt(s, P.tsa, -10, &len);
	assert_int_equal(cvq_verify_set_policy(v, "1.3.6.1.4.1.99999.1"), CVQ_VERIFY_OK);
	assert_int_equal(cvq_verify_receipt(v, der, len, 0, &r), CVQ_VERIFY_ERR_NOT_SIGNING_CERT);
	cvq_verify_result_free(r);
	free(der);
	X509 *sp = cert(P.k, SIGN_POLICY, P.ca, P.cak, 22, -100000, 100000);
	der = receipt(sp, P.tsa, -10, &len);
	assert_int_equal(cvq_verify_receipt(v, der, len, 0, &r), CVQ_VERIFY_OK);
	cvq_verify_result_free(r);
	assert_int_equal(cvq_verify_set_policy(v, "not an oid"), CVQ_VERIFY_ERR_ARG);
	/* Malformed: truncated, trailing byte, nothing. */
	assert_int_equal(cvq_verify_receipt(v, der, len / 2, 0, &r), CVQ_VERIFY_ERR_MALFORMED);
	cvq_verify_result_free(r);
	assert_int_equal(cvq_verify_receipt(v, der, 0, 0, &r), CVQ_VERIFY_ERR_MALFORMED);
	cvq_verify_result_free(r);
	assert_int_equal(cvq_verify_receipt(v, NULL, 0, 0, NULL), CVQ_VERIFY_ERR_ARG);
	free(der);
	X509_free(sp);
	X509_free(s);
	X509_free(auth);
	cvq_verify_ctx_free(v);
	X509_CRL_free(c);
}

static void test_ocsp_offline(void **state)
{
	(void)state;
	X509_CRL *c = crl(P.ca, P.cak, NULL, 0, true);
	cvq_verify_ctx *v = ctx_with(c);
	cvq_verify_result *r = NULL;
	X509 *s = cert(P.k, SIGN, P.ca, P.cak, 30, -100000, 100000);
	/* Port 9 (discard) is closed here: refused at once, the CRL decides. */
	assert_int_equal(cvq_verify_set_ocsp(v, "http://127.0.0.1:9/", 2, 60), CVQ_VERIFY_OK);
	assert_int_equal(cvq_verify_cert(v, s, NULL, 0, true, CVQ_VERIFY_FLAG_OFFLINE, &r), CVQ_VERIFY_OK);
	assert_true(cvq_verify_result_ocsp_pending(r));
	cvq_verify_result_free(r);
	assert_int_equal(cvq_verify_cert(v, s, NULL, 0, true, 0, &r), CVQ_VERIFY_OK);
	assert_false(cvq_verify_result_ocsp_pending(r));
	assert_string_equal(cvq_verify_result_revocation_source(r), "crl");
	cvq_verify_result_free(r);
	/* The failure is cached: offline now says "asked a moment ago", not pending. */
	assert_int_equal(cvq_verify_cert(v, s, NULL, 0, true, CVQ_VERIFY_FLAG_OFFLINE, &r), CVQ_VERIFY_OK);
	assert_false(cvq_verify_result_ocsp_pending(r));
	cvq_verify_result_free(r);
	X509_free(s);
	cvq_verify_ctx_free(v);
	X509_CRL_free(c);
}

static void test_texts(void **state)
{
	(void)state;
	for (int i = 0; i < CVQ_VERIFY_ERR__COUNT; i++) {
		const char *fr = cvq_verify_sentence_fr((cvq_verify_err)i);
		assert_non_null(cvq_verify_strerror((cvq_verify_err)i));
		assert_true(strlen(fr) > 20 && fr[strlen(fr) - 1] == '.');
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(cvq_verify_code((cvq_verify_err)i), cvq_verify_code((cvq_verify_err)j));
			assert_string_not_equal(fr, cvq_verify_sentence_fr((cvq_verify_err)j));
		}
	}
	assert_string_equal(cvq_verify_code(CVQ_VERIFY_ERR__COUNT), "unknown");
	assert_string_equal(cvq_verify_reason_name(4), "superseded");
	assert_string_equal(cvq_verify_reason_name(-1), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_trusted_time),
		cmocka_unit_test(test_profile_and_tsa),
		cmocka_unit_test(test_ocsp_offline),
		cmocka_unit_test(test_texts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
