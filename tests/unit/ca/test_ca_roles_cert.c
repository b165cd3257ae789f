/*
 * libcvqca, issue #13: who a TLS client is (cvq_ca_roles_of_cert): its
 * certificate must be the one this CA issued and stands by, and [roles]
 * members serial:HEX and citizen:ID name it. Each refusal is tried once:
 * a certificate re-signed by the CA key with a copied serial, a revoked
 * one, one on a lost card, one without clientAuth (the CA's own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/ca.h>

#define PASS "roles of certificates\n"
#define GUID "0C00000000000000000000000000000C"

struct fx {
	char dir[64], pass[96];
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
	X509 *svc, *op;
	char svc_serial[67];
};

static void
set(struct fx *f, const char *k, const char *v)
{
	assert_int_equal(cvq_ca_config_set(f->cfg, k, v), CVQ_CA_OK);
}

static X509 *
issue(struct fx *f, enum cvq_ca_profile p, const char *card, const char *cn)
{
	struct cvq_ca_issue_req req = {.profile = p, .card_guid = card};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	X509 *x = NULL;

	assert_non_null(k);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn,
	                                            -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, k), 1);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	assert_int_equal(cvq_ca_issue_csr(f->ca, &req, r, &x), CVQ_CA_OK);
	X509_NAME_free(n);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return x;
}

/* A CA whose [roles] name certificates; the store's serial of a service certificate. */
static int
setup(void **state)
{
	struct cvq_ca_init_opts io = {.subject = "/C=FR/O=Ville/CN=TLS peers CA"};
	struct cvq_ca_citizen c = {.given_name = "Odile", .family_name = "Guichet"};
	struct fx *f = calloc(1, sizeof(*f));
	char src[110], members[128], lower[67];
	FILE *p;
	size_t i;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cvq-peers.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->pass, sizeof(f->pass), "%s/pass", f->dir);
	assert_non_null(p = fopen(f->pass, "w"));
	fputs(PASS, p);
	fclose(p);
	assert_int_equal(chmod(f->pass, 0600), 0);
	f->cfg = cvq_ca_config_new();
	f->cfg->dir = strdup(f->dir);
	set(f, "db", "ca.db");
	set(f, "key", "ca-key.pem");
	set(f, "cert", "ca.pem");
	snprintf(src, sizeof(src), "file:%s", f->pass);
	set(f, "pass", src);
	set(f, "attest.unattested", "admit");
	assert_int_equal(cvq_ca_init(f->cfg, NULL, &io), CVQ_CA_OK);
	assert_int_equal(cvq_ca_open(f->cfg, NULL, 0, &f->ca), CVQ_CA_OK);
	snprintf(c.ext_id, sizeof(c.ext_id), "INF-OP");
	assert_int_equal(cvq_ca_citizen_add(f->ca, &c, NULL), CVQ_CA_OK);
	assert_int_equal(cvq_ca_card_add(f->ca, GUID, "INF-OP", 0, NULL), CVQ_CA_OK);
	f->svc = issue(f, CVQ_CA_PROFILE_SERVICE, NULL, "svc");
	f->op = issue(f, CVQ_CA_PROFILE_CITIZEN_AUTH, GUID, "x");
	assert_int_equal(cvq_ca_serial_hex(X509_get0_serialNumber(f->svc), f->svc_serial), CVQ_CA_OK);
	/* Roles only now (nothing pinned before): the serial in lower case, a leading zero. */
	for (i = 0; f->svc_serial[i]; i++)
		lower[i] = (char)(f->svc_serial[i] >= 'A' && f->svc_serial[i] <= 'F' ? f->svc_serial[i] + 32
		                                                                      : f->svc_serial[i]);
	lower[i] = '\0';
	snprintf(members, sizeof(members), "1001, serial:00%s, citizen:INF-OP", lower);
	set(f, "roles.officer", members);
	set(f, "roles.operator", "citizen:INF-OP, serial:01");
	set(f, "roles.auditor", "citizen:INF-XX");
	cvq_ca_close(f->ca);
	assert_int_equal(cvq_ca_open(f->cfg, NULL, CVQ_CA_OPEN_NOKEY, &f->ca), CVQ_CA_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	X509_free(f->svc);
	X509_free(f->op);
	cvq_ca_close(f->ca);
	cvq_ca_config_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static cvq_ca_err
judge(struct fx *f, X509 *x, char *actor, unsigned *roles)
{
	return cvq_ca_roles_of_cert(f->ca, x, actor, 64, roles);
}

static void
test_named(void **state)
{
	struct fx *f = *state;
	char actor[64], want[96];
	unsigned roles = 7;

	assert_int_equal(judge(f, f->svc, actor, &roles), CVQ_CA_OK);
	assert_int_equal(roles, 1u << CVQ_CA_ROLE_OFFICER);
	snprintf(want, sizeof(want), "tls=serial:%s(CN=svc)", f->svc_serial);
	assert_string_equal(actor, want);
	/* citizen:INF-OP: the holder of the card's citizen-auth certificate;
	 * an operator, never an officer by citizen: (officer = ... lists it too). */
	assert_int_equal(judge(f, f->op, actor, &roles), CVQ_CA_OK);
	assert_int_equal(roles, 1u << CVQ_CA_ROLE_OPERATOR);
	assert_non_null(strstr(actor, "(CN=Odile Guichet)"));
}

static void
test_refused(void **state)
{
	struct fx *f = *state;
	char actor[64], pass[64];
	unsigned roles = 7;
	EVP_PKEY *cakey;
	X509 *forged;
	FILE *p;

	/* The CA's own certificate chains, but is no TLS client's. */
	assert_int_equal(judge(f, cvq_ca_cert(f->ca), actor, &roles), CVQ_CA_ERR_DENIED);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "clientAuth"));
	assert_int_equal(roles, 0);
	/* Signed by the CA key, the officer's serial, another name: not the one issued. */
	snprintf(pass, sizeof(pass), "%s", PASS);
	pass[strlen(pass) - 1] = '\0';
	{
		char path[96];

		snprintf(path, sizeof(path), "%s/ca-key.pem", f->dir);
		assert_non_null(p = fopen(path, "r"));
	}
	cakey = PEM_read_PrivateKey(p, NULL, NULL, pass);
	fclose(p);
	assert_non_null(cakey);
	forged = X509_dup(f->svc);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(forged), "OU", MBSTRING_ASC,
	                                            (const unsigned char *)"evil", -1, -1, 0), 1);
	assert_true(X509_sign(forged, cakey, EVP_sha256()) > 0);
	assert_int_equal(judge(f, forged, actor, &roles), CVQ_CA_ERR_DENIED);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "not the one the CA issued"));
	assert_int_equal(roles, 0);
	X509_free(forged);
	EVP_PKEY_free(cakey);
	/* The card reported lost: its holder's certificate speaks for nobody. */
	assert_int_equal(cvq_ca_card_set_status(f->ca, GUID, CVQ_CA_CARD_LOST), CVQ_CA_OK);
	assert_int_equal(judge(f, f->op, actor, &roles), CVQ_CA_ERR_DENIED);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "is lost"));
	/* Revoked. */
	assert_int_equal(cvq_ca_revoke_serial(f->ca, f->svc_serial, CVQ_CA_REASON_KEY_COMPROMISE, 0),
	                 CVQ_CA_OK);
	assert_int_equal(judge(f, f->svc, actor, &roles), CVQ_CA_ERR_DENIED);
	assert_non_null(strstr(cvq_ca_errmsg(f->ca), "revoked"));
	assert_int_equal(roles, 0);
}

/* No [roles] at all: a good certificate has no role (every citizen has one). */
static void
test_no_roles(void **state)
{
	struct fx *f = *state;
	char actor[64];
	unsigned roles = 7;
	int r;

	cvq_ca_close(f->ca);
	for (r = 0; r < CVQ_CA_ROLE__COUNT; r++) {
		free(f->cfg->roles[r]);
		f->cfg->roles[r] = NULL;
	}
	/* A fresh store would pin none; this one has its roles pinned, so the
	 * check is on the configuration the handle keeps: approved = none. */
	assert_int_equal(cvq_ca_open(f->cfg, NULL, CVQ_CA_OPEN_READONLY, &f->ca), CVQ_CA_OK);
	assert_int_equal(judge(f, f->svc, actor, &roles), CVQ_CA_OK);
	assert_int_equal(roles, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_roles, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
