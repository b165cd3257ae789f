/*
 * libcvqca, issue #13: the input policy on subjects and keys, two-person
 * control with k = 2 (by uid, as SO_PEERCRED gives it), and PIV
 * attestation verification against a root built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cvq/ca.h>
#include <cvq/ca_attest.h>
#include <cvq/ca_tsa.h>

struct fx {
	char dir[64];
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
};

static int
setup(void **state)
{
	struct cvq_ca_init_opts io = {.subject = "/C=FR/O=Ville/CN=Roles CA"};
	struct fx *f = calloc(1, sizeof(*f));
	char pass[128], src[140];
	FILE *p;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cvq-roles.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(pass, sizeof(pass), "%s/pass", f->dir);
	p = fopen(pass, "w");
	assert_non_null(p);
	fputs("roles test passphrase\n", p);
	fclose(p);
	assert_int_equal(chmod(pass, 0600), 0);
	f->cfg = cvq_ca_config_new();
	f->cfg->dir = strdup(f->dir);
	assert_int_equal(cvq_ca_config_set(f->cfg, "db", "ca.db"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "key", "ca-key.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "cert", "ca.pem"), CVQ_CA_OK);
	snprintf(src, sizeof(src), "file:%s", pass);
	assert_int_equal(cvq_ca_config_set(f->cfg, "pass", src), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "roles.officer", "1001, 1002,1003"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "roles.operator", "1010"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "dual.approvals", "2"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_init(f->cfg, NULL, &io), CVQ_CA_OK);
	assert_int_equal(cvq_ca_open(f->cfg, NULL, 0, &f->ca), CVQ_CA_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	cvq_ca_close(f->ca);
	cvq_ca_config_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static X509_REQ *
make_req(EVP_PKEY *k, X509_NAME *n)
{
	X509_REQ *r = X509_REQ_new();

	assert_non_null(r);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, k), 1);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	return r;
}

/* issue a service certificate for key k and subject n: the error */
static cvq_ca_err
issue(struct fx *f, EVP_PKEY *k, X509_NAME *n, X509 **out)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	X509_REQ *r = make_req(k, n);
	X509 *x = NULL;
	cvq_ca_err err = cvq_ca_issue_csr(f->ca, &req, r, &x);

	X509_REQ_free(r);
	if (out)
		*out = x;
	else
		X509_free(x);
	return err;
}

static X509_NAME *
name_bytes(int nid, int type, const void *v, int len)
{
	X509_NAME *n = X509_NAME_new();

	assert_int_equal(X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v, len, -1, 0), 1);
	return n;
}

static void
test_subjects(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char long_cn[66];
	X509_NAME *n;
	X509 *x = NULL;
	char why[160];

	assert_non_null(k);
	/* Plain: accepted, and the profile checker agrees. */
	n = name_bytes(NID_commonName, MBSTRING_UTF8, "svc.ville.test", -1);
	assert_int_equal(issue(f, k, n, &x), CVQ_CA_OK);
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), CVQ_CA_PROFILE_SERVICE, why,
	                                      sizeof(why)), CVQ_CA_OK);
	X509_free(x);
	X509_NAME_free(n);
	/* Accented letters are fine (UTF-8, not control characters). */
	n = name_bytes(NID_commonName, MBSTRING_UTF8, "Alen\xc3\xa7on", -1);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_OK);
	X509_NAME_free(n);
	/* NUL, ESC, CR/LF, C1 (U+009B CSI), DEL. (Bad UTF-8 does not even make
	 * a CSR: OpenSSL refuses to encode or decode such a name.) */
	static const struct { const char *v; int len; } bad[] = {
		{"nul\0byte", 8}, {"esc\x1b[2J", 7}, {"a\r\nb", 4}, {"c1\xc2\x9bx", 5},
		{"del\x7f", 4},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = name_bytes(NID_commonName, V_ASN1_UTF8STRING, bad[i].v, bad[i].len);
		assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
		assert_non_null(strstr(cvq_ca_errmsg(f->ca), "control character"));
		X509_NAME_free(n);
	}
	/* 65 bytes: beyond ub-common-name. */
	memset(long_cn, 'A', 65);
	long_cn[65] = '\0';
	n = name_bytes(NID_commonName, V_ASN1_UTF8STRING, long_cn, 65);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	X509_NAME_free(n);
	/* A BMPString, an unknown attribute, a three-letter country. */
	n = name_bytes(NID_commonName, V_ASN1_BMPSTRING, "\0a\0b", 4);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	X509_NAME_free(n);
	n = X509_NAME_new();
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "1.2.3.4", MBSTRING_UTF8,
	                                            (const unsigned char *)"x", -1, -1, 0), 1);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "not allowed"));
	X509_NAME_free(n);
	n = name_bytes(NID_countryName, V_ASN1_PRINTABLESTRING, "FRA", 3);
	X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)"x", -1, -1, 0);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	X509_NAME_free(n);
	/* A multi-valued RDN: CN=a+OU=b. */
	n = name_bytes(NID_commonName, MBSTRING_UTF8, "a", -1);
	assert_int_equal(X509_NAME_add_entry_by_NID(n, NID_organizationalUnitName, MBSTRING_UTF8,
	                                            (const unsigned char *)"b", -1, -1, -1), 1);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "multi-valued"));
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

static void
test_keys(void **state)
{
	struct fx *f = *state;
	X509_NAME *n = name_bytes(NID_commonName, MBSTRING_UTF8, "k", -1);
	EVP_PKEY *k;

	k = EVP_EC_gen("secp256k1");
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "secp256k1"));
	EVP_PKEY_free(k);
	k = EVP_EC_gen("P-521");
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	EVP_PKEY_free(k);
	k = EVP_RSA_gen(1024);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	EVP_PKEY_free(k);
	k = EVP_EC_gen("P-384");
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_OK);
	/* Configurable: P-384 only. */
	assert_int_equal(cvq_ca_config_set(f->cfg, "policy.keys", "ec-p256"), CVQ_CA_OK);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY);
	assert_int_equal(cvq_ca_config_set(f->cfg, "policy.keys", "ec-p256, ec-p384, rsa-3072"), CVQ_CA_OK);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_OK);
	EVP_PKEY_free(k);
	k = EVP_RSA_gen(2048);
	assert_int_equal(issue(f, k, n, NULL), CVQ_CA_ERR_POLICY); /* below rsa-3072 */
	EVP_PKEY_free(k);
	assert_int_equal(cvq_ca_config_set(f->cfg, "policy.keys", ""), CVQ_CA_OK);
	X509_NAME_free(n);
}

static int
count_audit(void *ctx, const struct cvq_ca_audit_entry *e)
{
	int *n = ctx;

	if (strcmp(e->action, "request.approve") == 0 && strstr(e->actor, "uid=1002") &&
	    strstr(e->detail, "approvals=1/2"))
		n[0]++;
	if (strcmp(e->action, "request.approve") == 0 && strstr(e->detail, "refused"))
		n[1]++;
	if (strcmp(e->action, "cert.refuse") == 0 && strstr(e->detail, "two-person"))
		n[2]++;
	return 0;
}

static void
test_dual(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SUBCA, .subject = "/C=FR/O=Ville/CN=Sub"};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_NAME *n = name_bytes(NID_commonName, MBSTRING_UTF8, "csr", -1);
	X509_REQ *r = make_req(k, n);
	struct cvq_ca_request_info info;
	unsigned char *csr = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int csr_len = i2d_X509_REQ(r, &csr), seen[3] = {0};
	int64_t id = 0;
	X509 *x = NULL;
	const unsigned char *p;
	char why[160];

	/* Not even an officer issues a sub-CA directly. */
	cvq_ca_set_caller(f->ca, 1001);
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, r, &x), CVQ_CA_ERR_POLICY);
	/* An operator may not request; an officer may. */
	cvq_ca_set_caller(f->ca, 1010);
	assert_int_equal(cvq_ca_request_submit(f->ca, &req, csr, (size_t)csr_len, &id), CVQ_CA_ERR_DENIED);
	cvq_ca_set_caller(f->ca, 1001);
	assert_int_equal(cvq_ca_request_submit(f->ca, &req, csr, (size_t)csr_len, &id), CVQ_CA_OK);
	assert_true(id > 0);
	/* The requester, an operator, a stranger: refused. */
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_ERR_DENIED);
	cvq_ca_set_caller(f->ca, 1010);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_ERR_DENIED);
	cvq_ca_set_caller(f->ca, 4242);
	assert_int_equal(cvq_ca_caller_roles(f->ca), 0);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_ERR_DENIED);
	/* One of two approvals: nothing signed yet. */
	cvq_ca_set_caller(f->ca, 1002);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_OK);
	assert_null(der);
	assert_int_equal(cvq_ca_request_get(f->ca, id, &info), CVQ_CA_OK);
	assert_int_equal(info.state, CVQ_CA_REQUEST_PENDING);
	assert_int_equal(info.approvals, 1);
	assert_int_equal(info.needed, 2);
	/* The same officer twice counts once. */
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_ERR_EXISTS);
	assert_null(der);
	/* The second officer: issued. */
	cvq_ca_set_caller(f->ca, 1003);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_OK);
	assert_non_null(der);
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	assert_non_null(x);
	assert_int_equal(cvq_ca_check_profile(x, cvq_ca_cert(f->ca), CVQ_CA_PROFILE_SUBCA, why, sizeof(why)),
	                 CVQ_CA_OK);
	assert_int_equal(cvq_ca_request_get(f->ca, id, &info), CVQ_CA_OK);
	assert_int_equal(info.state, CVQ_CA_REQUEST_ISSUED);
	assert_true(info.serial[0] != '\0');
	OPENSSL_free(der);
	der = NULL;
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_ERR_POLICY);
	assert_int_equal(cvq_ca_audit_list(f->ca, 0, count_audit, seen), CVQ_CA_OK);
	assert_int_equal(seen[0], 1);
	assert_true(seen[1] >= 3);
	assert_int_equal(seen[2], 1);
	assert_int_equal(cvq_ca_audit_verify(f->ca, NULL, NULL, NULL), CVQ_CA_OK);
	X509_free(x);
	OPENSSL_free(der);
	OPENSSL_free(csr);
	X509_REQ_free(r);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

/* The PIV content signer makes every card authentic: dual too (issue #13). */
static void
test_dual_content_signing(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CONTENT_SIGNING,
	                               .subject = "/O=Ville/CN=PIV content signer"};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_NAME *n = name_bytes(NID_commonName, MBSTRING_UTF8, "csr", -1);
	X509_REQ *r = make_req(k, n);
	unsigned char *csr = NULL;
	int csr_len = i2d_X509_REQ(r, &csr);
	int64_t id = 0;
	X509 *x = NULL;

	assert_true(cvq_ca_profile_dual(CVQ_CA_PROFILE_CONTENT_SIGNING));
	cvq_ca_set_caller(f->ca, 1001);
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, r, &x), CVQ_CA_ERR_POLICY);
	assert_null(x);
	assert_int_equal(cvq_ca_request_submit(f->ca, &req, csr, (size_t)csr_len, &id), CVQ_CA_OK);
	assert_true(id > 0);
	OPENSSL_free(csr);
	X509_REQ_free(r);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

/* One request through the agent's front path as peer p: the status byte,
 * the payload in out (NUL-terminated text or a DER). */
static cvq_ca_err
as_peer(cvq_ca_agent *a, const char *actor, const struct cvq_ca_agent_msg *m, char *out, size_t cap)
{
	struct cvq_ca_agent_peer p = {.actor = actor, .roles = 1u << CVQ_CA_ROLE_OFFICER};
	uint8_t *body = NULL, *ans = NULL;
	size_t len = 0, ans_len = 0;

	assert_int_equal(cvq_ca_agent_encode(m, &body, &len), CVQ_CA_OK);
	assert_int_equal(cvq_ca_agent_handle(a, &p, body, len, &ans, &ans_len), CVQ_CA_OK);
	assert_true(ans_len >= 1);
	snprintf(out, cap, "%.*s", (int)(ans_len - 1), (const char *)ans + 1);
	{
		cvq_ca_err st = (cvq_ca_err)ans[0];

		free(body);
		free(ans);
		return st;
	}
}

/*
 * Peers a front identified by their certificate (no uid: caller_uid -1)
 * are told apart by their actor: the requester may not approve, each
 * counts once, two of them are two officers, and none is taken for a uid.
 */
static void
test_dual_peers(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_agent_opts o = {.ready_fd = -1};
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_REQUEST,
	                             .req = {.profile = CVQ_CA_PROFILE_SUBCA, .subject = "/C=FR/O=Ville/CN=Sub"}};
	struct cvq_ca_request_info info;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_NAME *n = name_bytes(NID_commonName, MBSTRING_UTF8, "csr", -1);
	X509_REQ *r = make_req(k, n);
	unsigned char *csr = NULL;
	int csr_len = i2d_X509_REQ(r, &csr);
	char sock[96], line[256], why[160];
	cvq_ca_agent *a = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	long long id = 0;

	snprintf(sock, sizeof(sock), "%s/agent/socket", f->dir);
	o.socket = sock;
	assert_int_equal(cvq_ca_agent_new(f->ca, &o, &a, why, sizeof(why)), CVQ_CA_OK);
	m.csr = csr;
	m.csr_len = (size_t)csr_len;
	assert_int_equal(as_peer(a, "cert:CN=Alice", &m, line, sizeof(line)), CVQ_CA_OK);
	assert_int_equal(sscanf(line, "request %lld pending", &id), 1);
	assert_true(id > 0);
	m = (struct cvq_ca_agent_msg){.op = CVQ_CA_AGENT_APPROVE, .request_id = (uint64_t)id};
	/* The requester, by its certificate, may not approve. */
	assert_int_equal(as_peer(a, "cert:CN=Alice", &m, line, sizeof(line)), CVQ_CA_ERR_DENIED);
	assert_non_null(strstr(line, "another officer"));
	/* Another certificate is another officer: one of two. */
	assert_int_equal(as_peer(a, "cert:CN=Bob", &m, line, sizeof(line)), CVQ_CA_OK);
	assert_string_equal(line, "pending 1/2");
	/* The same certificate again counts once. */
	assert_int_equal(as_peer(a, "cert:CN=Bob", &m, line, sizeof(line)), CVQ_CA_ERR_EXISTS);
	assert_int_equal(cvq_ca_request_get(f->ca, id, &info), CVQ_CA_OK);
	assert_int_equal(info.state, CVQ_CA_REQUEST_PENDING);
	/* A uid officer on the CA directly is a second one: issued. */
	cvq_ca_set_caller(f->ca, 1001);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_OK);
	assert_non_null(der);
	assert_int_equal(cvq_ca_request_get(f->ca, id, &info), CVQ_CA_OK);
	assert_int_equal(info.state, CVQ_CA_REQUEST_ISSUED);
	assert_int_equal(info.approvals, 2);
	cvq_ca_agent_free(a);
	/* uid -1 is no uid: no roles, whatever [roles] says or omits. */
	assert_int_equal(cvq_ca_config_set(f->cfg, "roles.officer", "1001, 4294967295"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_roles_of(f->cfg, (unsigned)-1), 0);
	assert_int_equal(cvq_ca_roles_of(f->cfg, 1001), 1u << CVQ_CA_ROLE_OFFICER);
	OPENSSL_free(der);
	OPENSSL_free(csr);
	X509_REQ_free(r);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

/* approve request id as officers a then b (k = 2): the certificate's DER is dropped */
static void
approve_two(struct fx *f, int64_t id, unsigned a, unsigned b)
{
	uint8_t *der = NULL;
	size_t der_len = 0;

	cvq_ca_set_caller(f->ca, a);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_OK);
	assert_null(der);
	cvq_ca_set_caller(f->ca, b);
	assert_int_equal(cvq_ca_request_approve(f->ca, id, &der, &der_len), CVQ_CA_OK);
	assert_non_null(der);
	OPENSSL_free(der);
}

static bool
exists(const char *dir, const char *name)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

/*
 * CA key operations under two-person control: the TSA and an issuing CA
 * are a key and a request first, nothing certified; the certificate comes
 * only after two other officers, and only to the key it was asked for.
 */
static void
test_key_ops(void **state)
{
	struct fx *f = *state;
	struct cvq_ca_tsa_init_opts to = {0};
	struct cvq_ca_init_opts so = {.subject = "/C=FR/O=Ville/CN=Sub CA"};
	struct cvq_ca_config *sub = cvq_ca_config_new();
	char why[256] = "", sdir[96], src[140];
	int64_t id = 0, sid = 0;
	cvq_ca *sca = NULL;

	/* The TSA: a non-officer gets nothing, and no key is left behind. */
	assert_int_equal(cvq_ca_config_set(f->cfg, "tsa.key", "tsa-key.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(f->cfg, "tsa.cert", "tsa.pem"), CVQ_CA_OK);
	to.request_id = &id;
	to.why = why;
	to.why_len = sizeof(why);
	cvq_ca_set_caller(f->ca, 1010);
	assert_int_equal(cvq_ca_tsa_init(f->ca, f->cfg, NULL, &to), CVQ_CA_ERR_DENIED);
	assert_false(exists(f->dir, "tsa-key.pem"));
	cvq_ca_set_caller(f->ca, 1001);
	assert_int_equal(cvq_ca_tsa_init(f->ca, f->cfg, NULL, &to), CVQ_CA_OK);
	assert_true(id > 0);
	assert_true(exists(f->dir, "tsa-key.pem"));
	assert_false(exists(f->dir, "tsa.pem"));
	/* A caller's buffer with an old reason still gets this one. */
	snprintf(why, sizeof(why), "stale");
	assert_int_equal(cvq_ca_tsa_finish(f->ca, f->cfg, NULL, id, why, sizeof(why)), CVQ_CA_ERR_POLICY);
	assert_non_null(strstr(why, "pending"));
	assert_false(exists(f->dir, "tsa.pem"));
	approve_two(f, id, 1002, 1003);
	assert_int_equal(cvq_ca_tsa_finish(f->ca, f->cfg, NULL, id, why, sizeof(why)), CVQ_CA_OK);
	assert_true(exists(f->dir, "tsa.pem"));
	assert_int_equal(cvq_ca_tsa_finish(f->ca, f->cfg, NULL, id, why, sizeof(why)), CVQ_CA_ERR_EXISTS);

	/* An issuing CA: the key and the parent's request, no store yet. */
	snprintf(sdir, sizeof(sdir), "%s/sub", f->dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	sub->dir = strdup(sdir);
	assert_int_equal(cvq_ca_config_set(sub, "db", "ca.db"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(sub, "key", "ca-key.pem"), CVQ_CA_OK);
	assert_int_equal(cvq_ca_config_set(sub, "cert", "ca.pem"), CVQ_CA_OK);
	snprintf(src, sizeof(src), "file:%s/pass", f->dir);
	assert_int_equal(cvq_ca_config_set(sub, "pass", src), CVQ_CA_OK);
	so.parent = f->ca;
	so.request_id = &sid;
	cvq_ca_set_caller(f->ca, 1002);
	assert_int_equal(cvq_ca_init(sub, NULL, &so), CVQ_CA_OK);
	assert_true(sid > 0 && sid != id);
	assert_true(exists(sdir, "ca-key.pem"));
	assert_false(exists(sdir, "ca.pem") || exists(sdir, "ca.db"));
	/* Pending; then the TSA's request is not this key's; then issued. */
	so.request_id = NULL;
	so.finish_request = sid;
	assert_int_equal(cvq_ca_init(sub, NULL, &so), CVQ_CA_ERR_POLICY);
	so.finish_request = id;
	assert_int_equal(cvq_ca_init(sub, NULL, &so), CVQ_CA_ERR_ARG);
	assert_false(exists(sdir, "ca.pem") || exists(sdir, "ca.db"));
	approve_two(f, sid, 1001, 1003);
	so.finish_request = sid;
	assert_int_equal(cvq_ca_init(sub, NULL, &so), CVQ_CA_OK);
	assert_int_equal(cvq_ca_open(sub, NULL, 0, &sca), CVQ_CA_OK);
	assert_int_equal(cvq_ca_check_profile(cvq_ca_cert(sca), cvq_ca_cert(f->ca), CVQ_CA_PROFILE_SUBCA,
	                                      why, sizeof(why)), CVQ_CA_OK);
	cvq_ca_close(sca);
	cvq_ca_config_free(sub);
}

/* ---- attestation: a root, a card's F9 certificate, an attestation ---- */

static X509 *
cert(EVP_PKEY *subj_key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, const char *exts[][2])
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, subj_key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (ca) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");

		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	for (int i = 0; exts && exts[i][0]; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);

		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
test_attest(void **state)
{
	static const char *ext[][2] = {
		{"1.3.6.1.4.1.41482.3.3", "DER:05:02:07"}, {"1.3.6.1.4.1.41482.3.7", "DER:02:03:01:e2:40"},
		{"1.3.6.1.4.1.41482.3.8", "DER:03:02"}, {"1.3.6.1.4.1.41482.3.9", "DER:01"},
		{"1.3.6.1.4.1.55555.13.1", "DER:aa:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0a"},
		{NULL, NULL},
	};
	EVP_PKEY *rk = EVP_EC_gen("P-256"), *fk = EVP_EC_gen("P-256"), *kk = EVP_EC_gen("P-256");
	EVP_PKEY *other = EVP_EC_gen("P-256"), *ek = EVP_EC_gen("P-256");
	X509 *root = cert(rk, "Root", NULL, rk, true, NULL);
	X509 *evil = cert(ek, "Root", NULL, ek, true, NULL);
	X509 *f9 = cert(fk, "F9", root, rk, true, NULL);
	X509 *f9_evil = cert(fk, "F9", evil, ek, true, NULL);
	X509 *att = cert(kk, "YubiKey PIV Attestation 9c", f9, fk, false, ext);
	X509 *att_self = cert(kk, "YubiKey PIV Attestation 9c", f9, kk, false, ext);
	X509_STORE *st = X509_STORE_new();
	struct cvq_ca_attest_info info;
	unsigned char *a = NULL, *f = NULL, *fe = NULL, *as = NULL;
	int al = i2d_X509(att, &a), fl = i2d_X509(f9, &f), fel = i2d_X509(f9_evil, &fe);
	int asl = i2d_X509(att_self, &as);
	char why[200];

	(void)state;
	assert_int_equal(X509_STORE_add_cert(st, root), 1);
	assert_int_equal(cvq_ca_attest_verify_store(st, a, (size_t)al, f, (size_t)fl, kk, 0x9c, &info,
	                                            why, sizeof(why)), CVQ_CA_OK);
	assert_int_equal(info.slot, 0x9c);
	assert_int_equal(info.firmware[0], 5);
	assert_int_equal(info.firmware[2], 7);
	assert_true(info.has_serial);
	assert_int_equal(info.serial, 123456);
	assert_int_equal(info.pin_policy, 3);
	assert_int_equal(info.touch_policy, 2);
	assert_int_equal(info.form_factor, 1);
	assert_string_equal(info.guid, "AA00000000000000000000000000000A");
	/* Another key, another slot, a root we do not trust, not signed by F9. */
	assert_int_equal(cvq_ca_attest_verify_store(st, a, (size_t)al, f, (size_t)fl, other, 0x9c, &info,
	                                            why, sizeof(why)), CVQ_CA_ERR_POP);
	assert_non_null(strstr(why, "not the key"));
	assert_int_equal(cvq_ca_attest_verify_store(st, a, (size_t)al, f, (size_t)fl, kk, 0x9a, &info,
	                                            why, sizeof(why)), CVQ_CA_ERR_POP);
	assert_int_equal(cvq_ca_attest_verify_store(st, a, (size_t)al, fe, (size_t)fel, kk, 0x9c, &info,
	                                            why, sizeof(why)), CVQ_CA_ERR_POP);
	assert_non_null(strstr(why, "chain"));
	assert_int_equal(cvq_ca_attest_verify_store(st, as, (size_t)asl, f, (size_t)fl, kk, 0x9c, &info,
	                                            why, sizeof(why)), CVQ_CA_ERR_POP);
	assert_non_null(strstr(why, "F9 key"));
	/* Garbage and trailing bytes. */
	assert_int_equal(cvq_ca_attest_verify_store(st, f, 10, f, (size_t)fl, kk, 0x9c, &info,
	                                            why, sizeof(why)), CVQ_CA_ERR_REQUEST);
	X509_STORE_free(st);
	OPENSSL_free(a);
	OPENSSL_free(f);
	OPENSSL_free(fe);
	OPENSSL_free(as);
	X509_free(root);
	X509_free(evil);
	X509_free(f9);
	X509_free(f9_evil);
	X509_free(att);
	X509_free(att_self);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(fk);
	EVP_PKEY_free(kk);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ek);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_subjects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_content_signing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_ops, setup, teardown),
		cmocka_unit_test(test_attest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
