/* Unit tests of libcvqca: store, init, issuance, revocation, CRL, OCSP core, audit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include <cvq/ca.h>
#include <cvq/ca_ocsp.h>

#define GUID "00112233445566778899AABBCCDDEEFF"

struct fx {
	char dir[64];
	char path[256];
	char pass[300];
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
};

static void
rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static struct cvq_ca_config *
make_cfg(const char *dir)
{
	struct cvq_ca_config *c = cvq_ca_config_new();

	assert_non_null(c);
	c->dir = strdup(dir);
	assert_int_equal(cvq_ca_config_set(c, "db", "ca.db"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "key", "ca-key.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "cert", "ca.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "ocsp.key", "ocsp-key.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "ocsp.cert", "ocsp.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "crl_url", "http://ca.test/ca.crl"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "ocsp_url", "http://ca.test/ocsp"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "policy_oid", "1.3.6.1.4.1.55555.1.1"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "org", "Ville"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(c, "audit_sign_every", "4"), CVQ_CA_OK);
	/* These tests are about issuance mechanics with software keys; the
	 * attestation path is tested in test_ca_attest.c. */
	assert_int_equal(cvq_ca_config_set(c, "attest.unattested", "admit"), CVQ_CA_OK);
	return c;
}

static int
setup(void **state)
{
	struct cvq_ca_init_opts io = {.subject = "/C=FR/O=Ville/CN=Test CA", .ocsp_signer = true};
	struct cvq_ca_citizen z = {0};
	struct fx *f = calloc(1, sizeof(*f));
	FILE *p;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cvq-ca-unit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pass", f->dir);
	p = fopen(f->path, "w");
	assert_non_null(p);
	fputs("correct horse\n", p);
	fclose(p);
	chmod(f->path, 0600);
	snprintf(f->pass, sizeof(f->pass), "file:%s", f->path);
	f->cfg = make_cfg(f->dir);
	assert_int_equal(cvq_ca_init(f->cfg, f->pass, &io), CVQ_CA_OK);
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, 0, &f->ca), CVQ_CA_OK);
	snprintf(z.ext_id, sizeof(z.ext_id), "INF-1");
	snprintf(z.given_name, sizeof(z.given_name), "Marie");
	snprintf(z.family_name, sizeof(z.family_name), "Curie");
	assert_int_equal(cvq_ca_citizen_add(f->ca, &z, NULL), CVQ_CA_OK);
	assert_int_equal(cvq_ca_card_add(f->ca, GUID, "INF-1", 0, NULL), CVQ_CA_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cvq_ca_close(f->ca);
	cvq_ca_config_free(f->cfg);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static X509_REQ *
make_csr(EVP_PKEY **keyp)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *r = X509_REQ_new();

	assert_non_null(key);
	assert_non_null(r);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
	                           (const unsigned char *)"svc.test", -1, -1, 0);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	if (keyp)
		*keyp = key;
	else
		EVP_PKEY_free(key);
	return r;
}

static void
test_config_roundtrip(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_config *c = NULL;
	char path[300];

	snprintf(path, sizeof(path), "%s/t.conf", f->dir);
	assert_int_equal(cvq_ca_config_set(f->cfg, "days.service", "30"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "days.service", "-3"), CVQ_CA_ERR_CONFIG);
	assert_int_equal(cvq_ca_config_set(f->cfg, "nonsense", "1"), CVQ_CA_ERR_CONFIG);
	assert_int_equal(cvq_ca_config_set(f->cfg, "enrol.master_key", "secrets/master.key"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_save(f->cfg, path), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_save(f->cfg, path), CVQ_CA_ERR_EXISTS);
	assert_int_equal(cvq_ca_config_load(path, &c), CVQ_CA_OK);
	assert_string_equal(c->db, "ca.db");
	assert_string_equal(c->ocsp_key, "ocsp-key.pem");
	assert_string_equal(c->policy_oid, "1.3.6.1.4.1.55555.1.1");
	assert_int_equal(c->days[CVQ_CA_PROFILE_SERVICE], 30);
	assert_int_equal(c->audit_sign_every, 4);
	/* [enrol] is written in its own section, after [days], and read back. */
	assert_string_equal(c->master_key, "secrets/master.key");
	assert_null(c->ocsp_pass);
	assert_string_equal(c->dir, f->dir);
	cvq_ca_config_free(c);
	assert_int_equal(cvq_ca_config_load("/nonexistent/x.conf", &c), CVQ_CA_ERR_IO);
}

/*
 * A key file whose ECPrivateKey carries the CA certificate's public point
 * but another private scalar: the certificate matches it while every
 * signature is wrong. Refused
 * as a bad key, not taken for a wrong passphrase.
 */
static void
mismatched_key(struct fx *f, const char *key_path)
{
	char pass[256], saved[340];
	unsigned char pub[133];
	size_t pub_len = 0;
	BIGNUM *d = NULL;
	EVP_PKEY *a = NULL, *b = NULL, *mix = NULL;
	EVP_PKEY_CTX *pc;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	cvq_ca *ca = NULL;
	FILE *p;

	p = fopen(f->path, "r");
	assert_non_null(p);
	assert_non_null(fgets(pass, sizeof(pass), p));
	fclose(p);
	pass[strcspn(pass, "\n")] = '\0';
	p = fopen(key_path, "r");
	assert_non_null(p);
	a = PEM_read_PrivateKey(p, NULL, NULL, pass);
	fclose(p);
	assert_non_null(a);
	b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(b);
	/* The certificate's public key, another private scalar. */
	assert_int_equal(EVP_PKEY_get_bn_param(b, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	assert_int_equal(EVP_PKEY_get_octet_string_param(a, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
	                                                 &pub_len), 1);
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len);
	params = OSSL_PARAM_BLD_to_param(bld);
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
	assert_int_equal(EVP_PKEY_fromdata(pc, &mix, EVP_PKEY_KEYPAIR, params), 1);
	snprintf(saved, sizeof(saved), "%s.saved", key_path);
	assert_int_equal(rename(key_path, saved), 0);
	p = fopen(key_path, "w");
	assert_non_null(p);
	assert_int_equal(PEM_write_PKCS8PrivateKey(p, mix, EVP_aes_256_cbc(), NULL, 0, NULL, pass), 1);
	fclose(p);
	chmod(key_path, 0600);
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, 0, &ca), CVQ_CA_ERR_KEY);
	assert_int_equal(rename(saved, key_path), 0);
	OPENSSL_cleanse(pass, sizeof(pass));
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	EVP_PKEY_free(mix);
	EVP_PKEY_free(b);
	EVP_PKEY_free(a);
}

static void
test_key_rules(void **state)
{
	struct fx *f = *state;
	cvq_ca *ca = NULL;
	char key[320], bad[300];
	FILE *p;

	/* Init refuses to overwrite. */
	struct cvq_ca_init_opts io = {.subject = "/CN=x"};
	assert_int_equal(cvq_ca_init(f->cfg, f->pass, &io), CVQ_CA_ERR_EXISTS);
	/* Wrong passphrase. */
	snprintf(bad, sizeof(bad), "%s/bad", f->dir);
	p = fopen(bad, "w");
	fputs("wrong\n", p);
	fclose(p);
	chmod(bad, 0600);
	snprintf(key, sizeof(key), "file:%s", bad);
	assert_int_equal(cvq_ca_open(f->cfg, key, 0, &ca), CVQ_CA_ERR_PASSPHRASE);
	/* A key file readable by others is refused. */
	snprintf(key, sizeof(key), "%s/ca-key.pem", f->dir);
	chmod(key, 0644);
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, 0, &ca), CVQ_CA_ERR_PERM);
	chmod(key, 0600);
	/* So is a passphrase file readable by others. */
	chmod(f->path, 0644);
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, 0, &ca), CVQ_CA_ERR_PERM);
	chmod(f->path, 0600);
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, CVQ_CA_OPEN_READONLY, &ca), CVQ_CA_OK);
	cvq_ca_close(ca);
	mismatched_key(f, key);
}

static void
test_citizens_cards(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_citizen z = {0}, got;
	struct cvq_ca_card k;

	snprintf(z.ext_id, sizeof(z.ext_id), "INF-1");
	snprintf(z.given_name, sizeof(z.given_name), "X");
	snprintf(z.family_name, sizeof(z.family_name), "Y");
	assert_int_equal(cvq_ca_citizen_add(f->ca, &z, NULL), CVQ_CA_ERR_EXISTS);
	z.given_name[0] = '\0';
	snprintf(z.ext_id, sizeof(z.ext_id), "INF-2");
	assert_int_equal(cvq_ca_citizen_add(f->ca, &z, NULL), CVQ_CA_ERR_ARG);
	assert_int_equal(cvq_ca_citizen_get(f->ca, "INF-1", &got), CVQ_CA_OK);
	assert_string_equal(got.family_name, "Curie");
	assert_int_equal(cvq_ca_citizen_get(f->ca, "nobody", &got), CVQ_CA_ERR_NOT_FOUND);
	assert_int_equal(cvq_ca_card_add(f->ca, "00112233445566778899aabbccddeeff", "INF-1", 0, NULL),
	                 CVQ_CA_ERR_EXISTS);
	assert_int_equal(cvq_ca_card_add(f->ca, "0011", "INF-1", 0, NULL), CVQ_CA_ERR_ARG);
	assert_int_equal(cvq_ca_card_add(f->ca, "FF112233445566778899AABBCCDDEEFF", "nobody", 0, NULL),
	                 CVQ_CA_ERR_NOT_FOUND);
	assert_int_equal(cvq_ca_card_get(f->ca, GUID, &k), CVQ_CA_OK);
	assert_string_equal(k.holder, "INF-1");
	assert_int_equal(k.status, CVQ_CA_CARD_ACTIVE);
}

static int
count_cb(void *ctx, const struct cvq_ca_cert_info *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static void
test_issue_csr(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CITIZEN_AUTH, .card_guid = GUID};
	struct cvq_ca_cert_info info;
	X509_REQ *csr = make_csr(NULL);
	X509 *x = NULL, *y = NULL;
	char serial[67], why[128];
	int n = 0;

	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &x), CVQ_CA_OK);
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), req.profile, why, sizeof(why)),
	                 CVQ_CA_OK);
	/* The wrong profile is caught by the checker. */
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), CVQ_CA_PROFILE_CITIZEN_SIGN,
	                                      why, sizeof(why)), CVQ_CA_ERR_POLICY);
	assert_int_equal(cvq_ca_serial_hex(X509_get0_serialNumber(x), serial), CVQ_CA_OK);
	assert_true(strlen(serial) == 32);
	/* Committed before it was returned. */
	assert_int_equal(cvq_ca_cert_get(f->ca, serial, &info, &y), CVQ_CA_OK);
	assert_int_equal(X509_cmp(x, y), 0);
	assert_string_equal(info.card_guid, GUID);
	assert_int_equal(info.status, CVQ_CA_CERT_GOOD);
	assert_int_equal(cvq_ca_cert_list(f->ca, GUID, count_cb, &n), CVQ_CA_OK);
	assert_int_equal(n, 1);
	/* Citizen profiles need a card; a tampered CSR fails its PoP. */
	req.card_guid = NULL;
	X509_free(y);
	y = NULL;
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &y), CVQ_CA_ERR_ARG);
	req.profile = CVQ_CA_PROFILE_SERVICE;
	req.dns_name = "svc.test";
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr), "O", MBSTRING_UTF8,
	                           (const unsigned char *)"evil", -1, -1, 0);
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &y), CVQ_CA_ERR_POP);
	assert_null(y);
	X509_REQ_free(csr);
	csr = make_csr(NULL);
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &y), CVQ_CA_OK);
	assert_int_equal(cvq_ca_check_profile(y, cvq_ca_cert(f->ca), req.profile, why, sizeof(why)),
	                 CVQ_CA_OK);
	/* Validity never beyond the CA's. */
	X509_free(y);
	y = NULL;
	req.days = 36000;
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &y), CVQ_CA_OK);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(y), X509_get0_notAfter(cvq_ca_cert(f->ca))) <= 0);
	/* A suspended card gets nothing. */
	req = (struct cvq_ca_issue_req){.profile = CVQ_CA_PROFILE_CITIZEN_SIGN, .card_guid = GUID};
	assert_int_equal(cvq_ca_card_set_status(f->ca, GUID, CVQ_CA_CARD_SUSPENDED), CVQ_CA_OK);
	X509_free(y);
	y = NULL;
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &y), CVQ_CA_ERR_POLICY);
	X509_free(x);
	X509_REQ_free(csr);
}

static void
test_issue_pubkey(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CITIZEN_SIGN, .card_guid = GUID};
	uint8_t chal[CVQ_CA_CHALLENGE_LEN], sig[128];
	size_t sig_len = sizeof(sig);
	EVP_PKEY *key = EVP_EC_gen("P-256");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	X509 *x = NULL;
	char why[128];

	assert_int_equal(cvq_ca_challenge(f->ca, chal), CVQ_CA_OK);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, chal, sizeof(chal)), 1);
	/* Wrong signature: refused, and the challenge is burnt. */
	sig[sig_len - 1] ^= 1;
	assert_int_equal(cvq_ca_issue_pubkey(f->ca, &req, key, chal, sizeof(chal), sig, sig_len, &x),
	                 CVQ_CA_ERR_POP);
	sig[sig_len - 1] ^= 1;
	assert_int_equal(cvq_ca_issue_pubkey(f->ca, &req, key, chal, sizeof(chal), sig, sig_len, &x),
	                 CVQ_CA_ERR_POP);
	assert_int_equal(cvq_ca_challenge(f->ca, chal), CVQ_CA_OK);
	sig_len = sizeof(sig);
	EVP_MD_CTX_reset(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, chal, sizeof(chal)), 1);
	assert_int_equal(cvq_ca_issue_pubkey(f->ca, &req, key, chal, sizeof(chal), sig, sig_len, &x),
	                 CVQ_CA_OK);
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), req.profile, why, sizeof(why)),
	                 CVQ_CA_OK);
	X509_free(x);
	x = NULL;
	/* Replay of a used challenge. */
	assert_int_equal(cvq_ca_issue_pubkey(f->ca, &req, key, chal, sizeof(chal), sig, sig_len, &x),
	                 CVQ_CA_ERR_POP);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
}

struct bctx {
	int ok;
	cvq_ca *ca;
};

static int
batch_cb(void *ctx, size_t i, cvq_ca_err err, X509 *cert)
{
	struct bctx *b = ctx;
	char serial[67];

	(void)i;
	if (err != CVQ_CA_OK)
		return 0;
	cvq_ca_serial_hex(X509_get0_serialNumber(cert), serial);
	/* Already in the store when we see it. */
	assert_int_equal(cvq_ca_cert_get(b->ca, serial, NULL, NULL), CVQ_CA_OK);
	b->ok++;
	return 0;
}

struct enc_ctx {
	cvq_ca_err errs[8];
	X509 *issuer;
};

static int
enc_cb(void *ctx, size_t i, cvq_ca_err err, X509 *cert)
{
	struct enc_ctx *e = ctx;
	char why[128];

	e->errs[i] = err;
	if (err == CVQ_CA_OK)
		assert_int_equal(cvq_ca_check_profile(cert, e->issuer, CVQ_CA_PROFILE_SERVICE, why,
		                                      sizeof(why)), CVQ_CA_OK);
	return 0;
}

/* Batches from encoded CSRs: PEM, DER, P-384, RSA (OpenSSL's path), a
 * tampered one, garbage. */
static void
test_batch_encoded(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	struct enc_ctx e = {.issuer = cvq_ca_cert(f->ca)};
	EVP_PKEY *keys[4] = {EVP_EC_gen("P-256"), EVP_EC_gen("P-384"), EVP_RSA_gen(2048), EVP_EC_gen("P-256")};
	uint8_t *blobs[6] = {0};
	size_t lens[6] = {0};
	BIO *mem;
	int i;

	for (i = 0; i < 4; i++) {
		X509_REQ *r = X509_REQ_new();
		unsigned char *der = NULL;
		int len;

		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
		                           (const unsigned char *)"enc.test", -1, -1, 0);
		X509_REQ_set_pubkey(r, keys[i]);
		assert_true(X509_REQ_sign(r, keys[i], i == 1 ? EVP_sha384() : EVP_sha256()) > 0);
		if (i == 0) {
			char *pem;
			long n;

			mem = BIO_new(BIO_s_mem());
			PEM_write_bio_X509_REQ(mem, r);
			n = BIO_get_mem_data(mem, &pem);
			blobs[i] = malloc((size_t)n);
			memcpy(blobs[i], pem, (size_t)n);
			lens[i] = (size_t)n;
			BIO_free(mem);
		} else {
			len = i2d_X509_REQ(r, &der);
			blobs[i] = malloc((size_t)len);
			memcpy(blobs[i], der, (size_t)len);
			lens[i] = (size_t)len;
			OPENSSL_free(der);
		}
		X509_REQ_free(r);
	}
	/* 4: a copy of 3 with the signature's last byte flipped; 5: garbage */
	blobs[4] = malloc(lens[3]);
	memcpy(blobs[4], blobs[3], lens[3]);
	lens[4] = lens[3];
	blobs[4][lens[4] - 1] ^= 1;
	blobs[5] = malloc(8);
	memcpy(blobs[5], "\x30\x06\x30\x00\x30\x00\x03\x00", 8);
	lens[5] = 8;
	assert_int_equal(cvq_ca_issue_batch_encoded(f->ca, &req, (const uint8_t *const *)blobs, lens, 6,
	                                            enc_cb, &e), CVQ_CA_OK);
	assert_int_equal(e.errs[0], CVQ_CA_OK);
	assert_int_equal(e.errs[1], CVQ_CA_OK);
	assert_int_equal(e.errs[2], CVQ_CA_OK);
	assert_int_equal(e.errs[3], CVQ_CA_OK);
	assert_int_equal(e.errs[4], CVQ_CA_ERR_POP);
	assert_int_equal(e.errs[5], CVQ_CA_ERR_REQUEST);
	for (i = 0; i < 6; i++)
		free(blobs[i]);
	for (i = 0; i < 4; i++)
		EVP_PKEY_free(keys[i]);
}

/* text + the PEM of a fresh P-256 CSR, with every "\n" as nl (malloc'd) */
static uint8_t *
pem_csr(const char *text, const char *nl, size_t *len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_REQ *r = X509_REQ_new();
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem, *out;
	long n, i;
	size_t o;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
	                           (const unsigned char *)"pem.test", -1, -1, 0);
	X509_REQ_set_pubkey(r, k);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	PEM_write_bio_X509_REQ(mem, r);
	n = BIO_get_mem_data(mem, &pem);
	out = malloc(strlen(text) + (size_t)n * 2 + 1);
	o = (size_t)sprintf(out, "%s", text);
	for (i = 0; i < n; i++)
		o += (size_t)sprintf(out + o, "%s", pem[i] == '\n' ? nl : (char[2]){pem[i], 0});
	*len = o;
	BIO_free(mem);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return (uint8_t *)out;
}

/* PEM CSRs as they come (our strict decoder, else OpenSSL's), and broken ones. */
static void
test_batch_pem(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	struct enc_ctx e = {.issuer = cvq_ca_cert(f->ca)};
	uint8_t *b[8];
	size_t lens[8], i;
	char *p;

	b[0] = pem_csr("", "\n", &lens[0]);
	b[1] = pem_csr("Certificate Request:\n    Data: (openssl req -text)\n", "\n", &lens[1]);
	b[2] = pem_csr("", "\r\n", &lens[2]);
	/* one line of base64: not RFC 7468's 64 columns, still taken */
	b[3] = pem_csr("", "\n", &lens[3]);
	p = strstr((char *)b[3], "-----\n") + 6;
	for (i = 0; p[i]; i++)
		if (p[i] == '\n' && p[i + 1] != '-')
			memmove(p + i, p + i + 1, strlen(p + i));
	lens[3] = strlen((char *)b[3]);
	/* 4: a character that is not base64; 5: not a CSR's label; 6: no END;
	 * 7: a base64 digit changed (other bytes: not the signed ones) */
	b[4] = pem_csr("", "\n", &lens[4]);
	strstr((char *)b[4], "-----\n")[8] = '*';
	b[5] = pem_csr("", "\n", &lens[5]);
	memcpy(strstr((char *)b[5], "BEGIN ") + 6, "CERTIFICATE XXXXXXX", 19);
	b[6] = pem_csr("", "\n", &lens[6]);
	lens[6] = (size_t)(strstr((char *)b[6], "-----END") - (char *)b[6]);
	b[7] = pem_csr("", "\n", &lens[7]);
	p = strstr((char *)b[7], "-----\n") + 100;
	*p = *p == 'A' ? 'B' : 'A';
	assert_int_equal(cvq_ca_issue_batch_encoded(f->ca, &req, (const uint8_t *const *)b, lens, 8,
	                                            enc_cb, &e), CVQ_CA_OK);
	for (i = 0; i < 4; i++)
		assert_int_equal(e.errs[i], CVQ_CA_OK);
	for (i = 4; i < 7; i++)
		assert_int_equal(e.errs[i], CVQ_CA_ERR_REQUEST);
	assert_int_not_equal(e.errs[7], CVQ_CA_OK);
	for (i = 0; i < 8; i++)
		free(b[i]);
}

#define KEYS_N 48

struct keys_ctx {
	EVP_PKEY *keys[KEYS_N];
	cvq_ca_err errs[KEYS_N];
	bool same_key[KEYS_N];
};

static int
keys_cb(void *ctx, size_t i, cvq_ca_err err, X509 *cert)
{
	struct keys_ctx *k = ctx;

	k->errs[i] = err;
	k->same_key[i] = err == CVQ_CA_OK && EVP_PKEY_eq(X509_get0_pubkey(cert), k->keys[i]) == 1;
	return 0;
}

/*
 * A batch thread reuses one key per curve, setting each CSR's point into
 * it: every certificate must carry its own CSR's key, and a CSR signed by
 * the key of the one the same thread took just before (1, 2 or nt items
 * earlier: threads take every nt-th) must still fail its proof of
 * possession. Curves mixed, so both of a thread's keys are in use.
 */
static void
test_batch_thread_keys(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	struct keys_ctx k = {0};
	uint8_t *blobs[KEYS_N];
	size_t lens[KEYS_N];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus, i, signer;
	int len;

	/* 16, 25, 40: signed by the key 1, 2, nt items before; those P-256,
	 * every seventh other one P-384 */
	for (i = 0; i < KEYS_N; i++)
		k.keys[i] = EVP_EC_gen(i % 7 == 6 && i != 15 && i != 23 && i != 40 - nt ? "P-384" : "P-256");
	for (i = 0; i < KEYS_N; i++) {
		X509_REQ *r = X509_REQ_new();
		unsigned char *der = NULL;

		signer = i == 16 ? 15 : i == 25 ? 23 : i == 40 ? 40 - nt : i;
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
		                           (const unsigned char *)"keys.test", -1, -1, 0);
		X509_REQ_set_pubkey(r, k.keys[i]);
		assert_true(X509_REQ_sign(r, k.keys[signer], EVP_sha256()) > 0);
		len = i2d_X509_REQ(r, &der);
		assert_true(len > 0);
		blobs[i] = der;
		lens[i] = (size_t)len;
		X509_REQ_free(r);
	}
	assert_int_equal(cvq_ca_issue_batch_encoded(f->ca, &req, (const uint8_t *const *)blobs, lens,
	                                            KEYS_N, keys_cb, &k), CVQ_CA_OK);
	for (i = 0; i < KEYS_N; i++) {
		if (i == 16 || i == 25 || i == 40) {
			assert_int_equal(k.errs[i], CVQ_CA_ERR_POP);
		} else {
			assert_int_equal(k.errs[i], CVQ_CA_OK);
			assert_true(k.same_key[i]);
		}
		OPENSSL_free(blobs[i]);
		EVP_PKEY_free(k.keys[i]);
	}
}

static void exec_sql(const char *db, const char *sql);

static int
first_serial(void *ctx, const struct cvq_ca_cert_info *c)
{
	snprintf(ctx, 67, "%s", c->serial);
	return 1;
}

static void
test_batch_revoke_crl(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CITIZEN_AUTH, .card_guid = GUID};
	struct bctx b = {.ca = f->ca};
	struct cvq_ca_cert_info info;
	X509_REQ *csrs[300];
	X509_CRL *crl = NULL, *crl2 = NULL;
	uint64_t n1 = 0, n2 = 0;
	unsigned count = 0;
	char serial[67] = "";
	size_t i;

	for (i = 0; i < 300; i++)
		csrs[i] = make_csr(NULL);
	assert_int_equal(cvq_ca_issue_batch(f->ca, &req, csrs, 300, batch_cb, &b), CVQ_CA_OK);
	assert_int_equal(b.ok, 300);
	for (i = 0; i < 300; i++)
		X509_REQ_free(csrs[i]);
	assert_int_equal(cvq_ca_crl_issue(f->ca, &crl, &n1), CVQ_CA_OK);
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
	X509_CRL_free(crl);
	assert_int_equal(cvq_ca_revoke_card(f->ca, GUID, CVQ_CA_REASON_KEY_COMPROMISE, 1700000000,
	                                    CVQ_CA_CARD_LOST, &count), CVQ_CA_OK);
	assert_int_equal(count, 300);
	/* Idempotent. */
	assert_int_equal(cvq_ca_revoke_card(f->ca, GUID, CVQ_CA_REASON_SUPERSEDED, 0,
	                                    CVQ_CA_CARD_LOST, &count), CVQ_CA_OK);
	assert_int_equal(count, 0);
	assert_int_equal(cvq_ca_crl_issue(f->ca, &crl2, &n2), CVQ_CA_OK);
	assert_true(n2 > n1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl2)), 300);
	assert_int_equal(X509_CRL_verify(crl2, X509_get0_pubkey(cvq_ca_cert(f->ca))), 1);
	X509_CRL_free(crl2);
	crl2 = NULL;
	assert_int_equal(cvq_ca_crl_latest(f->ca, &crl2), CVQ_CA_OK);
	X509_CRL_free(crl2);
	/* The card is now lost; its certificates read as revoked. */
	assert_int_equal(cvq_ca_cert_list(f->ca, GUID, first_serial, serial), CVQ_CA_OK);
	assert_int_equal(cvq_ca_cert_get(f->ca, serial, &info, NULL), CVQ_CA_OK);
	assert_int_equal(info.status, CVQ_CA_CERT_REVOKED);
	assert_int_equal(info.reason, CVQ_CA_REASON_KEY_COMPROMISE);
	assert_int_equal(info.invalidity, 1700000000);
	/* Expired, they stay on the CRL, which says so (expiredCertsOnCRL). */
	char db[300];
	snprintf(db, sizeof(db), "%s/ca.db", f->dir);
	exec_sql(db, "UPDATE certs SET not_after = 1000");
	assert_int_equal(cvq_ca_crl_issue(f->ca, &crl2, &n2), CVQ_CA_OK);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl2)), 300);
	ASN1_OBJECT *eoc = OBJ_txt2obj("2.5.29.60", 1);
	int idx = X509_CRL_get_ext_by_OBJ(crl2, eoc, -1);
	assert_true(idx >= 0);
	assert_false(X509_EXTENSION_get_critical(X509_CRL_get_ext(crl2, idx)));
	ASN1_OBJECT_free(eoc);
	X509_CRL_free(crl2);
}

static OCSP_RESPONSE *
ask(cvq_ca_ocsp *o, X509 *issuer, const char *serial_hex, int *status, bool nonce)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	ASN1_INTEGER *serial;
	BIGNUM *bn = NULL;
	OCSP_CERTID *id;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	unsigned char *der = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;
	const unsigned char *p;
	int len, reason;

	BN_hex2bn(&bn, serial_hex);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
	                      serial);
	OCSP_request_add0_id(req, id);
	if (nonce)
		OCSP_request_add1_nonce(req, NULL, -1);
	len = i2d_OCSP_REQUEST(req, &der);
	assert_int_equal(cvq_ca_ocsp_respond(o, der, (size_t)len, &out, &out_len, NULL), CVQ_CA_OK);
	p = out;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)out_len);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	if (nonce)
		assert_int_equal(OCSP_check_nonce(req, bs), 1);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
	                      serial);
	assert_int_equal(OCSP_resp_find_status(bs, id, status, &reason, NULL, NULL, NULL), 1);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	ASN1_INTEGER_free(serial);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	OPENSSL_free(out);
	return resp;
}

/* The status in a DER response for one serial (SHA-1 CertID). */
static int
resp_status(const uint8_t *der, size_t len, X509 *issuer, const char *serial_hex)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs;
	ASN1_INTEGER *serial;
	BIGNUM *bn = NULL;
	OCSP_CERTID *id;
	int status = -1;

	assert_non_null(resp);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	BN_hex2bn(&bn, serial_hex);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
	                      serial);
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, NULL, NULL, NULL, NULL), 1);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return status;
}

/* Pre-signed answers are reused across unrelated commits (same bytes:
 * no new signature) and replaced at once after a revocation. */
static void
test_ocsp_cache(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CITIZEN_AUTH, .card_guid = GUID};
	X509_REQ *csr = make_csr(NULL), *csr2 = make_csr(NULL);
	X509 *a = NULL, *b = NULL, *issuer = cvq_ca_cert(f->ca);
	cvq_ca_ocsp *o = NULL;
	uint8_t *r1 = NULL, *r2 = NULL, *rq = NULL;
	size_t l1, l2, rq_len, n = 0;
	char sa[67], sb[67];

	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &a), CVQ_CA_OK);
	cvq_ca_serial_hex(X509_get0_serialNumber(a), sa);
	assert_int_equal(cvq_ca_ocsp_new(f->cfg, f->pass, 2, &o), CVQ_CA_OK);
	assert_int_equal(cvq_ca_ocsp_refresh(o, &n), CVQ_CA_OK);
	assert_true(n >= 1);
	assert_int_equal(cvq_ca_ocsp_refresh(o, &n), CVQ_CA_OK);
	assert_int_equal(n, 0); /* all still young */
	assert_int_equal(cvq_ca_ocsp_presign(o, sa, &rq, &rq_len, &r1, &l1), CVQ_CA_OK);
	OPENSSL_free(rq);
	assert_int_equal(resp_status(r1, l1, issuer, sa), V_OCSP_CERTSTATUS_GOOD);
	/* Another certificate issued: a commit, but A's answer stays right. */
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr2, &b), CVQ_CA_OK);
	cvq_ca_serial_hex(X509_get0_serialNumber(b), sb);
	assert_int_equal(cvq_ca_ocsp_presign(o, sa, &rq, &rq_len, &r2, &l2), CVQ_CA_OK);
	OPENSSL_free(rq);
	assert_int_equal(l1, l2);
	assert_memory_equal(r1, r2, l1);
	OPENSSL_free(r2);
	assert_int_equal(cvq_ca_ocsp_presign(o, sb, &rq, &rq_len, &r2, &l2), CVQ_CA_OK);
	OPENSSL_free(rq);
	assert_int_equal(resp_status(r2, l2, issuer, sb), V_OCSP_CERTSTATUS_GOOD);
	OPENSSL_free(r2);
	/* Revoked: the cached answer is not served again. */
	assert_int_equal(cvq_ca_revoke_serial(f->ca, sa, CVQ_CA_REASON_KEY_COMPROMISE, 0), CVQ_CA_OK);
	assert_int_equal(cvq_ca_ocsp_presign(o, sa, &rq, &rq_len, &r2, &l2), CVQ_CA_OK);
	OPENSSL_free(rq);
	assert_int_equal(resp_status(r2, l2, issuer, sa), V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(resp_status(r1, l1, issuer, sa), V_OCSP_CERTSTATUS_GOOD);
	OPENSSL_free(r2);
	OPENSSL_free(r1);
	cvq_ca_ocsp_free(o);
	X509_free(a);
	X509_free(b);
	X509_REQ_free(csr);
	X509_REQ_free(csr2);
}

static void
test_ocsp_core(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CITIZEN_AUTH, .card_guid = GUID};
	X509_REQ *csr = make_csr(NULL);
	X509 *x = NULL;
	cvq_ca_ocsp *o = NULL;
	OCSP_RESPONSE *r;
	uint8_t *out = NULL, *rq = NULL;
	size_t out_len, rq_len;
	char serial[67];
	int status;
	const unsigned char *p;

	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, csr, &x), CVQ_CA_OK);
	cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
	assert_int_equal(cvq_ca_ocsp_new(f->cfg, f->pass, 2, &o), CVQ_CA_OK);
	r = ask(o, cvq_ca_cert(f->ca), serial, &status, true);
	assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
	OCSP_RESPONSE_free(r);
	/* Nonce-less answers are cached; twice, so the second is a hit. */
	r = ask(o, cvq_ca_cert(f->ca), serial, &status, false);
	OCSP_RESPONSE_free(r);
	r = ask(o, cvq_ca_cert(f->ca), serial, &status, false);
	assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
	OCSP_RESPONSE_free(r);
	/* A revocation is seen at once by the responder's own connection. */
	assert_int_equal(cvq_ca_revoke_serial(f->ca, serial, CVQ_CA_REASON_KEY_COMPROMISE, 0), CVQ_CA_OK);
	assert_int_equal(cvq_ca_revoke_serial(f->ca, serial, CVQ_CA_REASON_SUPERSEDED, 0), CVQ_CA_OK);
	r = ask(o, cvq_ca_cert(f->ca), serial, &status, false);
	assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
	OCSP_RESPONSE_free(r);
	r = ask(o, cvq_ca_cert(f->ca), "1234567890ABCDEF", &status, false);
	assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
	OCSP_RESPONSE_free(r);
	/* Garbage gets malformedRequest, not a crash. */
	assert_int_equal(cvq_ca_ocsp_respond(o, (const uint8_t *)"\x30\x03\x02\x01", 4, &out, &out_len, NULL),
	                 CVQ_CA_OK);
	p = out;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)out_len);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OCSP_RESPONSE_free(r);
	OPENSSL_free(out);
	/* Another CA's certificate: unauthorized. */
	r = NULL;
	assert_int_equal(cvq_ca_ocsp_presign(o, serial, &rq, &rq_len, &out, &out_len), CVQ_CA_OK);
	OPENSSL_free(rq);
	OPENSSL_free(out);
	cvq_ca_ocsp_free(o);
	X509_free(x);
	X509_REQ_free(csr);
}

static void
exec_sql(const char *db, const char *sql)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void
test_audit_tamper(void **state)
{
	struct fx *f = *state;
	char db[300];
	int64_t bad = 0;
	uint64_t entries = 0, heads = 0;

	snprintf(db, sizeof(db), "%s/ca.db", f->dir);
	assert_int_equal(cvq_ca_audit_sign_head(f->ca), CVQ_CA_OK);
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, &entries, &heads), CVQ_CA_OK);
	assert_true(entries >= 4);
	assert_true(heads >= 1);
	/* Changed. */
	exec_sql(db, "UPDATE audit SET detail = 'holder=INF-9' WHERE seq = 4");
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_ERR_AUDIT);
	assert_int_equal(bad, 4);
	exec_sql(db, "UPDATE audit SET detail = 'holder=INF-1' WHERE seq = 4");
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_OK);
	/* Reordered (two entries swap places). */
	exec_sql(db, "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;"
	             "UPDATE audit SET seq = 3 WHERE seq = -1");
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_ERR_AUDIT);
	assert_int_equal(bad, 2);
	exec_sql(db, "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;"
	             "UPDATE audit SET seq = 3 WHERE seq = -1");
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_OK);
	/* Removed: in the middle, and the tail behind a signed head. */
	exec_sql(db, "CREATE TABLE keep AS SELECT * FROM audit; DELETE FROM audit WHERE seq = 3");
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_ERR_AUDIT);
	assert_int_equal(bad, 3);
	exec_sql(db, "INSERT INTO audit SELECT * FROM keep WHERE seq = 3;"
	             "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)");
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_ERR_AUDIT);
}

static void
test_store_faults(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	X509_REQ *csr = make_csr(NULL);
	cvq_ca *ro = NULL;
	X509 *x = NULL;
	char db[300];

	/* Read-only handle: a clear error, nothing written. */
	assert_int_equal(cvq_ca_open(f->cfg, NULL, CVQ_CA_OPEN_READONLY, &ro), CVQ_CA_OK);
	assert_int_equal(cvq_ca_issue_csr(ro, &req, csr, &x), CVQ_CA_ERR_KEY);
	assert_int_equal(cvq_ca_revoke_card(ro, GUID, 0, 0, CVQ_CA_CARD__COUNT, NULL), CVQ_CA_ERR_READONLY);
	cvq_ca_close(ro);
	/* A newer schema is refused. */
	cvq_ca_close(f->ca);
	f->ca = NULL;
	snprintf(db, sizeof(db), "%s/ca.db", f->dir);
	exec_sql(db, "PRAGMA user_version = 99");
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, 0, &f->ca), CVQ_CA_ERR_SCHEMA);
	exec_sql(db, "PRAGMA user_version = 1");
	assert_int_equal(cvq_ca_open(f->cfg, f->pass, 0, &f->ca), CVQ_CA_OK);
	X509_REQ_free(csr);
}

static void
test_names(void **state)
{
	enum cvq_ca_profile p;
	int r;

	(void)state;
	assert_int_equal(cvq_ca_profile_parse("ocsp-signer", &p), CVQ_CA_OK);
	assert_int_equal(p, CVQ_CA_PROFILE_OCSP_SIGNER);
	assert_int_equal(cvq_ca_profile_parse("root", &p), CVQ_CA_ERR_ARG);
	assert_int_equal(cvq_ca_reason_parse("keycompromise", &r), CVQ_CA_OK);
	assert_int_equal(r, 1);
	assert_string_equal(cvq_ca_reason_name(7), "none");
	assert_string_equal(cvq_ca_strerror(CVQ_CA_ERR_POP), "proof of possession failed");
	assert_string_equal(cvq_ca_strerror(CVQ_CA_ERR__COUNT), "unknown error");
}


/* The agent's request format: round trip, and every malformation refused. */
static void
test_agent_msg(void **state)
{
	static const uint8_t csr[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE, .csr = csr, .csr_len = sizeof(csr)};
	struct cvq_ca_agent_msg r;
	uint8_t *b = NULL, bad[64];
	size_t len = 0;

	(void)state;
	m.req.profile = CVQ_CA_PROFILE_CITIZEN_AUTH;
	m.req.card_guid = GUID;
	m.req.subject = "/CN=x";
	m.req.dns_name = "a.example";
	m.req.days = 30;
	assert_int_equal(cvq_ca_agent_encode(&m, &b, &len), CVQ_CA_OK);
	assert_int_equal(cvq_ca_agent_parse(b, len, &r), CVQ_CA_OK);
	assert_int_equal(r.op, CVQ_CA_AGENT_ISSUE);
	assert_int_equal(r.req.profile, CVQ_CA_PROFILE_CITIZEN_AUTH);
	assert_string_equal(r.req.card_guid, GUID);
	assert_string_equal(r.req.subject, "/CN=x");
	assert_string_equal(r.req.dns_name, "a.example");
	assert_int_equal(r.req.days, 30);
	assert_int_equal(r.csr_len, sizeof(csr));
	assert_memory_equal(r.csr, csr, sizeof(csr));
	/* Truncated anywhere, or with a byte more: refused. */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(cvq_ca_agent_parse(b, n, &r), CVQ_CA_ERR_REQUEST);
	free(b);
	/* A field twice, an unknown tag, a bad op, a bad days, a control character. */
	memcpy(bad, "CVQ1\x01\x00\x01\x02\x01\x00\x01\x02", 12);
	assert_int_equal(cvq_ca_agent_parse(bad, 12, &r), CVQ_CA_ERR_REQUEST);
	memcpy(bad, "CVQ1\x01\x00\x01\x02\x09\x00\x00", 11);
	assert_int_equal(cvq_ca_agent_parse(bad, 11, &r), CVQ_CA_ERR_REQUEST);
	memcpy(bad, "CVQ1\x01\x00\x01\x04", 8);
	assert_int_equal(cvq_ca_agent_parse(bad, 8, &r), CVQ_CA_ERR_REQUEST);
	memcpy(bad, "CVQ1\x01\x00\x01\x02", 8);
	assert_int_equal(cvq_ca_agent_parse(bad, 8, &r), CVQ_CA_OK);
	assert_int_equal(r.op, CVQ_CA_AGENT_STATUS);
	/* status carries nothing else */
	memcpy(bad + 8, "\x02\x00\x01\x03", 4);
	assert_int_equal(cvq_ca_agent_parse(bad, 12, &r), CVQ_CA_ERR_REQUEST);
	m.req.subject = "/CN=a\nb";
	assert_int_equal(cvq_ca_agent_encode(&m, &b, &len), CVQ_CA_ERR_REQUEST);
	m.req.subject = NULL;
	m.req.days = 40000;
	assert_int_equal(cvq_ca_agent_encode(&m, &b, &len), CVQ_CA_ERR_REQUEST);
}

static uint8_t *
csr_der(size_t *len)
{
	X509_REQ *r = make_csr(NULL);
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(r, &der);

	assert_true(n > 0);
	X509_REQ_free(r);
	*len = (size_t)n;
	return der;
}

static int
der_cb(void *ctx, size_t i, cvq_ca_err err, const uint8_t *der, size_t len, const char *serial)
{
	struct fx *f = ctx;
	const unsigned char *p = der;
	X509 *x;
	char s[67], why[128];

	(void)i;
	assert_int_equal(err, CVQ_CA_OK);
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(cvq_ca_serial_hex(X509_get0_serialNumber(x), s), CVQ_CA_OK);
	assert_string_equal(s, serial);
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), CVQ_CA_PROFILE_SERVICE, why,
	                                      sizeof(why)), CVQ_CA_OK);
	X509_free(x);
	return 0;
}

/* Certificates as DER: what the store holds, byte for byte. */
static void
test_issue_der(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE, .dns_name = "svc.test"};
	struct cvq_ca_cert_info info;
	uint8_t *csr[3], *der = NULL;
	size_t lens[3], len = 0;
	const unsigned char *p;
	unsigned char *again = NULL;
	X509 *x, *y = NULL;
	char serial[67], why[128];
	int i;

	for (i = 0; i < 3; i++)
		csr[i] = csr_der(&lens[i]);
	assert_int_equal(cvq_ca_issue_csr_der(f->ca, &req, csr[0], lens[0], &der, &len), CVQ_CA_OK);
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), CVQ_CA_PROFILE_SERVICE, why,
	                                      sizeof(why)), CVQ_CA_OK);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(cvq_ca_cert(f->ca))), 1);
	/* OpenSSL encodes it back to the same bytes: nothing non-canonical. */
	assert_int_equal(i2d_X509(x, &again), (int)len);
	assert_memory_equal(again, der, len);
	assert_int_equal(cvq_ca_serial_hex(X509_get0_serialNumber(x), serial), CVQ_CA_OK);
	assert_int_equal(cvq_ca_cert_get(f->ca, serial, &info, &y), CVQ_CA_OK);
	assert_int_equal(X509_cmp(x, y), 0);
	assert_true(X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0);
	req.dns_name = NULL;
	assert_int_equal(cvq_ca_issue_batch_der(f->ca, &req, (const uint8_t *const *)csr + 1, lens + 1,
	                                        2, der_cb, f), CVQ_CA_OK);
	req.dns_name = "bad,name";
	OPENSSL_free(der);
	assert_int_equal(cvq_ca_issue_csr_der(f->ca, &req, csr[1], lens[1], &der, &len), CVQ_CA_ERR_REQUEST);
	assert_null(der);
	X509_free(x);
	X509_free(y);
	OPENSSL_free(again);
	for (i = 0; i < 3; i++)
		OPENSSL_free(csr[i]);
	OPENSSL_free(der);
}

/*
 * A P-256 CSR whose public key is the point at infinity (BIT STRING 00 00)
 * with an ECDSA signature forged for it (R = kG, s = e/k: then u1 G = R),
 * which OpenSSL's verification accepts: anyone can make one.
 */
static uint8_t *
infinity_csr(size_t *len)
{
	static const uint8_t info[] = {
		0x30, 0x2e, 0x02, 0x01, 0x00,
		0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'x',
		0x30, 0x19, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
		0x03, 0x02, 0x00, 0x00,
		0xa0, 0x00,
	};
	static const uint8_t sigalg[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	                                 0x04, 0x03, 0x02};
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *k = BN_new(), *x = BN_new(), *ki = BN_new(), *e, *r = BN_new(), *s = BN_new();
	EC_POINT *R = EC_POINT_new(g);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char md[32], *sd = NULL;
	uint8_t *out;
	size_t n, body;
	int sl;

	EVP_Digest(info, sizeof(info), md, NULL, EVP_sha256(), NULL);
	e = BN_bin2bn(md, 32, NULL);
	assert_true(BN_rand_range(k, EC_GROUP_get0_order(g)) && !BN_is_zero(k));
	assert_true(EC_POINT_mul(g, R, k, NULL, NULL, bc));
	assert_true(EC_POINT_get_affine_coordinates(g, R, x, NULL, bc));
	assert_true(BN_nnmod(r, x, EC_GROUP_get0_order(g), bc));
	assert_non_null(BN_mod_inverse(ki, k, EC_GROUP_get0_order(g), bc));
	assert_true(BN_mod_mul(s, e, ki, EC_GROUP_get0_order(g), bc));
	assert_true(ECDSA_SIG_set0(sig, r, s));
	sl = i2d_ECDSA_SIG(sig, &sd);
	assert_true(sl > 0 && sl < 100);
	body = sizeof(info) + sizeof(sigalg) + 3 + (size_t)sl;
	out = malloc(3 + body);
	assert_non_null(out);
	n = 0;
	out[n++] = 0x30;
	out[n++] = 0x81;
	out[n++] = (uint8_t)body;
	memcpy(out + n, info, sizeof(info));
	n += sizeof(info);
	memcpy(out + n, sigalg, sizeof(sigalg));
	n += sizeof(sigalg);
	out[n++] = 0x03;
	out[n++] = (uint8_t)(sl + 1);
	out[n++] = 0x00;
	memcpy(out + n, sd, (size_t)sl);
	*len = n + (size_t)sl;
	OPENSSL_free(sd);
	ECDSA_SIG_free(sig);
	EC_POINT_free(R);
	BN_free(k);
	BN_free(x);
	BN_free(ki);
	BN_free(e);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return out;
}

static int
errs_cb(void *ctx, size_t i, cvq_ca_err err, const uint8_t *der, size_t len, const char *serial)
{
	cvq_ca_err *errs = ctx;

	(void)der;
	(void)len;
	(void)serial;
	errs[i] = err;
	return 0;
}

/* No certificate for the point at infinity, by any path. */
static void
test_issue_infinity(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE, .dns_name = "svc.test"};
	const unsigned char *p;
	X509_REQ *x;
	X509 *cert = (X509 *)1;
	uint8_t *csr, *der = NULL;
	size_t len, dlen = 0;

	csr = infinity_csr(&len);
	assert_int_equal(cvq_ca_issue_csr_der(f->ca, &req, csr, len, &der, &dlen), CVQ_CA_ERR_POLICY);
	assert_null(der);
	p = csr;
	x = d2i_X509_REQ(NULL, &p, (long)len);
	if (x) {
		/* OpenSSL's own parser: refused as well. */
		assert_int_not_equal(cvq_ca_issue_csr(f->ca, &req, x, &cert), CVQ_CA_OK);
		assert_null(cert);
		X509_REQ_free(x);
	}
	/* In a batch too (its parser skips no check): refused, the next issued. */
	{
		uint8_t *two[2] = {csr, NULL};
		size_t lens[2] = {len, 0};
		cvq_ca_err errs[2] = {CVQ_CA_OK, CVQ_CA_ERR_ARG};

		two[1] = csr_der(&lens[1]);
		assert_int_equal(cvq_ca_issue_batch_der(f->ca, &req, (const uint8_t *const *)two, lens, 2,
		                                        errs_cb, errs), CVQ_CA_OK);
		assert_int_equal(errs[0], CVQ_CA_ERR_POLICY);
		assert_int_equal(errs[1], CVQ_CA_OK);
		OPENSSL_free(two[1]);
	}
	free(csr);
}

struct big_ctx {
	size_t seen, ok;
	size_t stop_at;
};

static int
big_cb(void *ctx, size_t i, cvq_ca_err err, const uint8_t *der, size_t len, const char *serial)
{
	struct big_ctx *b = ctx;

	(void)der;
	(void)len;
	(void)serial;
	assert_int_equal(i, b->seen);
	b->seen++;
	if (err == CVQ_CA_OK)
		b->ok++;
	return b->stop_at && b->seen == b->stop_at;
}

static int
count_certs(void *ctx, const struct cvq_ca_cert_info *c)
{
	(void)c;
	(*(size_t *)ctx)++;
	return 0;
}

/* More than one transaction (chunks of 1024, the next signed while the
 * previous is recorded), for a card's citizen; a callback that stops. */
static void
test_batch_chunks(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CITIZEN_AUTH, .card_guid = GUID};
	enum { N = 1100 };
	uint8_t **csr = calloc(N, sizeof(*csr));
	size_t *lens = calloc(N, sizeof(*lens)), stored = 0;
	struct big_ctx b = {0};
	int i;

	assert_non_null(csr);
	assert_non_null(lens);
	for (i = 0; i < N; i++)
		csr[i] = csr_der(&lens[i]);
	assert_int_equal(cvq_ca_issue_batch_der(f->ca, &req, (const uint8_t *const *)csr, lens, N,
	                                        big_cb, &b), CVQ_CA_OK);
	assert_int_equal(b.seen, N);
	assert_int_equal(b.ok, N);
	assert_int_equal(cvq_ca_cert_list(f->ca, GUID, count_certs, &stored), CVQ_CA_OK);
	assert_int_equal(stored, N);
	/* Stopped after 3: the first chunk was committed, the second never is. */
	b = (struct big_ctx){.stop_at = 3};
	assert_int_equal(cvq_ca_issue_batch_der(f->ca, &req, (const uint8_t *const *)csr, lens, N,
	                                        big_cb, &b), CVQ_CA_OK);
	assert_int_equal(b.seen, 3);
	stored = 0;
	assert_int_equal(cvq_ca_cert_list(f->ca, GUID, count_certs, &stored), CVQ_CA_OK);
	assert_int_equal(stored, N + 1024);
	/* A card no longer active: nothing issued. */
	assert_int_equal(cvq_ca_card_set_status(f->ca, GUID, CVQ_CA_CARD_LOST), CVQ_CA_OK);
	b = (struct big_ctx){0};
	assert_int_equal(cvq_ca_issue_batch_der(f->ca, &req, (const uint8_t *const *)csr, lens, 2,
	                                        big_cb, &b), CVQ_CA_ERR_POLICY);
	assert_int_equal(b.seen, 0);
	for (i = 0; i < N; i++)
		OPENSSL_free(csr[i]);
	free(csr);
	free(lens);
}

/* CSRs fetched by the batch's threads (cvq_ca_issue_batch_load): each
 * index once, into the library's buffer; the unreadable, the oversized
 * and the malformed refused and audited, the others issued, in two chunks. */
struct load_ctx {
	uint8_t **csr;
	size_t *lens;
	unsigned char *calls;
	size_t n;
};

static size_t
load_cb(void *lctx, size_t i, uint8_t *buf, size_t cap)
{
	struct load_ctx *l = lctx;

	assert_true(i < l->n);
	assert_int_equal(cap, CVQ_CA_BATCH_CSR_MAX);
	l->calls[i]++;
	if (i == 5 || i == 1030)
		return 0;               /* unreadable */
	if (i == 7)
		return cap + 1;         /* a loader's mistake: never trusted */
	if (i == 9) {
		memcpy(buf, "not a CSR", 9);
		return 9;
	}
	memcpy(buf, l->csr[i], l->lens[i]);
	return l->lens[i];
}

struct refusals {
	int items[4];
	size_t n;
};

static int
refuse_cb(void *ctx, const struct cvq_ca_audit_entry *e)
{
	struct refusals *r = ctx;
	const char *p = strstr(e->detail, "batch item ");

	if (strcmp(e->action, "cert.refuse") == 0 && p && r->n < 4)
		r->items[r->n++] = atoi(p + strlen("batch item "));
	return 0;
}

static void
test_batch_load(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	enum { N = 1100 };
	struct load_ctx l = {calloc(N, sizeof(uint8_t *)), calloc(N, sizeof(size_t)),
	                     calloc(N, 1), N};
	cvq_ca_err *errs = calloc(N, sizeof(*errs));
	struct refusals r = {{0}, 0};
	size_t i, stored = 0, before = 0;
	int64_t bad = 0;

	assert_non_null(l.csr);
	assert_non_null(l.lens);
	assert_non_null(l.calls);
	assert_non_null(errs);
	for (i = 0; i < N; i++)
		l.csr[i] = csr_der(&l.lens[i]);
	/* What setup issued already. */
	assert_int_equal(cvq_ca_cert_list(f->ca, NULL, count_certs, &before), CVQ_CA_OK);
	assert_int_equal(cvq_ca_issue_batch_load(f->ca, &req, N, NULL, &l, errs_cb, errs),
	                 CVQ_CA_ERR_ARG);
	assert_int_equal(cvq_ca_issue_batch_load(f->ca, &req, N, load_cb, &l, errs_cb, errs),
	                 CVQ_CA_OK);
	for (i = 0; i < N; i++) {
		assert_int_equal(l.calls[i], 1);
		assert_int_equal(errs[i], i == 5 || i == 7 || i == 1030 ? CVQ_CA_ERR_IO
		                          : i == 9 ? CVQ_CA_ERR_REQUEST : CVQ_CA_OK);
	}
	assert_int_equal(cvq_ca_cert_list(f->ca, NULL, count_certs, &stored), CVQ_CA_OK);
	assert_int_equal(stored, before + N - 4);
	assert_int_equal(cvq_ca_audit_list(f->ca, 0, refuse_cb, &r), CVQ_CA_OK);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.items[0], 5);
	assert_int_equal(r.items[1], 7);
	assert_int_equal(r.items[2], 9);
	assert_int_equal(r.items[3], 1030);
	assert_int_equal(cvq_ca_audit_verify(f->ca, &bad, NULL, NULL), CVQ_CA_OK);
	for (i = 0; i < N; i++)
		OPENSSL_free(l.csr[i]);
	free(l.csr);
	free(l.lens);
	free(l.calls);
	free(errs);
}

struct serve_arg {
	struct fx *f;
	struct cvq_ca_agent_opts o;
	cvq_ca_err err;
	char why[160];
};

static void *
serve_thread(void *p)
{
	struct serve_arg *a = p;

	a->err = cvq_ca_agent_serve(a->f->ca, &a->o, a->why, sizeof(a->why));
	return NULL;
}

/* The agent in a thread: issue, status, a malformed request, stop. */
static void
test_agent_serve(void **state)
{
	struct fx *f = *state;
	struct serve_arg a = {.f = f};
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE};
	char sock[128], why[256];
	uint8_t *out = NULL, *csr;
	size_t len, csr_len;
	const unsigned char *p;
	pthread_t th;
	int ready[2], ok = 0;
	X509 *x;
	char c;

	snprintf(sock, sizeof(sock), "%s/agent/socket", f->dir);
	assert_int_equal(pipe(ready), 0);
	a.o = (struct cvq_ca_agent_opts){.socket = sock, .ready_fd = ready[1]};
	assert_int_equal(pthread_create(&th, NULL, serve_thread, &a), 0);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	csr = csr_der(&csr_len);
	m.req.profile = CVQ_CA_PROFILE_SERVICE;
	m.csr = csr;
	m.csr_len = csr_len;
	assert_int_equal(cvq_ca_agent_call(sock, &m, &out, &len, why, sizeof(why)), CVQ_CA_OK);
	p = out;
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	X509_free(x);
	free(out);
	/* A proof of possession that fails is the agent's answer, with its reason. */
	csr[csr_len - 1] ^= 1;
	assert_int_equal(cvq_ca_agent_call(sock, &m, &out, &len, why, sizeof(why)), CVQ_CA_ERR_POP);
	assert_non_null(strstr(why, "signature"));
	m.op = CVQ_CA_AGENT_STATUS;
	assert_int_equal(cvq_ca_agent_call(sock, &m, &out, &len, why, sizeof(why)), CVQ_CA_OK);
	assert_non_null(strstr((char *)out, "issued=1"));
	free(out);
	{
		/* Garbage on the socket: answered, and the agent goes on. */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		uint8_t junk[12] = {0, 0, 0, 8, 'j', 'u', 'n', 'k', 'j', 'u', 'n', 'k'}, ans[5];

		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
		assert_true(read(fd, ans, 5) == 5);
		ok = ans[4] == CVQ_CA_ERR_REQUEST;
		close(fd);
	}
	assert_true(ok);
	m.op = CVQ_CA_AGENT_STOP;
	assert_int_equal(cvq_ca_agent_call(sock, &m, &out, &len, why, sizeof(why)), CVQ_CA_OK);
	free(out);
	pthread_join(th, NULL);
	assert_int_equal(a.err, CVQ_CA_OK);
	assert_int_equal(access(sock, F_OK), -1);
	m.op = CVQ_CA_AGENT_STATUS;
	assert_int_equal(cvq_ca_agent_call(sock, &m, &out, &len, why, sizeof(why)), CVQ_CA_ERR_NET);
	OPENSSL_free(csr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_config_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_citizens_cards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_csr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_pubkey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_revoke_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_encoded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_pem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_thread_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsp_core, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocsp_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_faults, setup, teardown),
		cmocka_unit_test(test_agent_msg),
		cmocka_unit_test_setup_teardown(test_issue_der, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_infinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_serve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_load, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
