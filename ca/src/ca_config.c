/* libcvqca — the CA configuration: defaults, INI load (inih) and save. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/bn.h>
#include <openssl/rand.h>

#include <cvq/util.h>

#include "ca_int.h"

/* String fields by INI name ("section.key", section "ca" omitted). */
struct str_field {
	const char *name;
	size_t off;
};

#define F(n, f) {n, offsetof(struct cvq_ca_config, f)}
static const struct str_field str_fields[] = {
	F("db", db), F("key", key), F("cert", cert), F("chain", chain),
	F("pass", pass), F("crl_url", crl_url), F("ocsp_url", ocsp_url),
	F("issuers_url", issuers_url), F("policy_oid", policy_oid),
	F("org", org), F("country", country),
	F("ocsp.key", ocsp_key), F("ocsp.cert", ocsp_cert), F("ocsp.pass", ocsp_pass),
	F("enrol.master_key", master_key),
	F("tsa.key", tsa_key), F("tsa.cert", tsa_cert), F("tsa.pass", tsa_pass),
	F("tsa.policy", tsa_policy),
	F("roles.officer", roles[0]), F("roles.operator", roles[1]),
	F("roles.auditor", roles[2]), F("roles.service", roles[3]),
	F("roles.officer_profiles", role_profiles[0]), F("roles.operator_profiles", role_profiles[1]),
	F("roles.auditor_profiles", role_profiles[2]), F("roles.service_profiles", role_profiles[3]),
	F("attest.roots", attest_roots), F("policy.keys", key_policy),
};
#undef F

static const unsigned default_days[CVQ_CA_PROFILE__COUNT] = {
	[CVQ_CA_PROFILE_CITIZEN_AUTH] = 1095,
	[CVQ_CA_PROFILE_CITIZEN_SIGN] = 1095,
	[CVQ_CA_PROFILE_OCSP_SIGNER] = 365,
	[CVQ_CA_PROFILE_SERVICE] = 397,
	[CVQ_CA_PROFILE_SUBCA] = 1825,
	[CVQ_CA_PROFILE_TSA] = 1825,
	[CVQ_CA_PROFILE_CONTENT_SIGNING] = 1095,
	[CVQ_CA_PROFILE_CARD_AUTH] = 1825,
	[CVQ_CA_PROFILE_SEAL] = 1095,
};

struct cvq_ca_config *
cvq_ca_config_new(void)
{
	struct cvq_ca_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	memcpy(c->days, default_days, sizeof(c->days));
	c->crl_hours = 168;
	c->ocsp_minutes = 60;
	c->audit_sign_every = 256;
	c->tsa_accuracy_ms = 1000;
	c->approvals = 1;
	c->subject_max = 64;
	return c;
}

void
cvq_ca_config_free(struct cvq_ca_config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++)
		free(*(char **)((char *)c + str_fields[i].off));
	free(c->dir);
	free(c);
}

static bool
parse_uint(const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n == 0 || n > max || v[0] == '-')
		return false;
	*out = (unsigned)n;
	return true;
}

cvq_ca_err
cvq_ca_config_set(struct cvq_ca_config *c, const char *key, const char *value)
{
	enum cvq_ca_profile p;
	size_t i;
	char **slot;

	if (!c || !key || !value)
		return CVQ_CA_ERR_ARG;
	for (i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++) {
		if (strcmp(key, str_fields[i].name) != 0)
			continue;
		slot = (char **)((char *)c + str_fields[i].off);
		free(*slot);
		*slot = NULL;
		if (!*value)
			return CVQ_CA_OK;
		*slot = strdup(value);
		return *slot ? CVQ_CA_OK : CVQ_CA_ERR_NOMEM;
	}
	if (strcmp(key, "sync") == 0) {
		if (strcmp(value, "full") != 0 && strcmp(value, "normal") != 0)
			return CVQ_CA_ERR_CONFIG;
		c->sync_normal = strcmp(value, "normal") == 0;
		return CVQ_CA_OK;
	}
	if (strcmp(key, "attest.unattested") == 0) {
		if (strcmp(value, "admit") != 0 && strcmp(value, "refuse") != 0)
			return CVQ_CA_ERR_CONFIG;
		c->admit_unattested = strcmp(value, "admit") == 0;
		return CVQ_CA_OK;
	}
	if (strcmp(key, "dual.approvals") == 0)
		return parse_uint(value, 16, &c->approvals) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	if (strcmp(key, "policy.subject_max") == 0)
		return parse_uint(value, 256, &c->subject_max) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	if (strcmp(key, "crl_hours") == 0)
		return parse_uint(value, 24 * 366, &c->crl_hours) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	if (strcmp(key, "ocsp.minutes") == 0)
		return parse_uint(value, 60 * 24 * 31, &c->ocsp_minutes) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	if (strcmp(key, "audit_sign_every") == 0)
		return parse_uint(value, 1000000, &c->audit_sign_every) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	if (strcmp(key, "tsa.accuracy_ms") == 0)
		return parse_uint(value, 60000, &c->tsa_accuracy_ms) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	if (strncmp(key, "days.", 5) == 0 && cvq_ca_profile_parse(key + 5, &p) == CVQ_CA_OK)
		return parse_uint(value, 36500, &c->days[p]) ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
	return CVQ_CA_ERR_CONFIG;
}

static int
config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	char key[96];

	if (strcmp(section, "ca") == 0)
		snprintf(key, sizeof(key), "%s", name);
	else
		snprintf(key, sizeof(key), "%s.%s", section, name);
	return cvq_ca_config_set(user, key, value) == CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_config_load(const char *path, struct cvq_ca_config **out)
{
	struct cvq_ca_config *c;
	const char *slash;
	int rc;

	if (!path || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	c = cvq_ca_config_new();
	if (!c)
		return CVQ_CA_ERR_NOMEM;
	rc = ini_parse(path, config_ini_handler, c);
	if (rc != 0) {
		cvq_ca_config_free(c);
		return rc < 0 ? CVQ_CA_ERR_IO : CVQ_CA_ERR_CONFIG;
	}
	slash = strrchr(path, '/');
	c->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	if (!c->dir) {
		cvq_ca_config_free(c);
		return CVQ_CA_ERR_NOMEM;
	}
	*out = c;
	return CVQ_CA_OK;
}

char *
cvq_ca_config_path(const struct cvq_ca_config *c, const char *p)
{
	char *r;
	size_t n;

	if (!p)
		return NULL;
	if (p[0] == '/' || !c || !c->dir || strncmp(p, "pkcs11:", 7) == 0)
		return strdup(p);
	n = strlen(c->dir) + strlen(p) + 2;
	r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", c->dir, p);
	return r;
}

cvq_ca_err
cvq_ca_config_save(const struct cvq_ca_config *c, const char *path)
{
	FILE *f;
	size_t i;
	int p;
	bool ocsp_done = false;

	if (!c || !path)
		return CVQ_CA_ERR_ARG;
	{
		/* Paths and passphrase *sources*, no secret: 0644, never 0666. */
		int fd = cvq_util_file_create(path, O_WRONLY | O_EXCL, 0644);

		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			return e == EEXIST ? CVQ_CA_ERR_EXISTS : CVQ_CA_ERR_IO;
		}
	}
	fprintf(f, "# cvq CA configuration (docs/ca.md). Relative paths are\n"
	           "# relative to this file's directory.\n[ca]\n");
	for (i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++) {
		const char *v = *(char *const *)((const char *)c + str_fields[i].off);
		const char *n = str_fields[i].name;

		if (strncmp(n, "enrol.", 6) == 0 || strncmp(n, "tsa.", 4) == 0 ||
		    strncmp(n, "roles.", 6) == 0 ||
		    strncmp(n, "attest.", 7) == 0 || strncmp(n, "policy.", 7) == 0)
			continue; /* their own sections, written last */
		if (strncmp(n, "ocsp.", 5) == 0) {
			if (!ocsp_done) {
				fprintf(f, "\n[ocsp]\nminutes = %u\n", c->ocsp_minutes);
				ocsp_done = true;
			}
			n += 5;
		}
		if (v)
			fprintf(f, "%s = %s\n", n, v);
		if (strcmp(n, "country") == 0)
			fprintf(f, "crl_hours = %u\naudit_sign_every = %u\nsync = %s\n",
			        c->crl_hours, c->audit_sign_every, c->sync_normal ? "normal" : "full");
	}
	fprintf(f, "\n[days]\n");
	for (p = 0; p < CVQ_CA_PROFILE__COUNT; p++)
		fprintf(f, "%s = %u\n", cvq_ca_profile_name((enum cvq_ca_profile)p), c->days[p]);
	if (c->master_key)
		fprintf(f, "\n[enrol]\nmaster_key = %s\n", c->master_key);
	if (c->tsa_key) {
		fprintf(f, "\n[tsa]\nkey = %s\naccuracy_ms = %u\n", c->tsa_key, c->tsa_accuracy_ms);
		if (c->tsa_cert)
			fprintf(f, "cert = %s\n", c->tsa_cert);
		if (c->tsa_pass)
			fprintf(f, "pass = %s\n", c->tsa_pass);
		if (c->tsa_policy)
			fprintf(f, "policy = %s\n", c->tsa_policy);
	}
	fprintf(f, "\n# Who may ask the issuing agent for what (user names or uids).\n[roles]\n");
	for (i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++) {
		const char *v = *(char *const *)((const char *)c + str_fields[i].off);

		if (v && strncmp(str_fields[i].name, "roles.", 6) == 0)
			fprintf(f, "%s = %s\n", str_fields[i].name + 6, v);
	}
	fprintf(f, "\n[dual]\napprovals = %u\n", c->approvals);
	fprintf(f, "\n# Citizen keys must be attested by their card (PIV attestation).\n[attest]\n"
	           "unattested = %s\n", c->admit_unattested ? "admit" : "refuse");
	if (c->attest_roots)
		fprintf(f, "roots = %s\n", c->attest_roots);
	fprintf(f, "\n[policy]\nsubject_max = %u\n", c->subject_max);
	if (c->key_policy)
		fprintf(f, "keys = %s\n", c->key_policy);
	if (fclose(f) != 0)
		return CVQ_CA_ERR_IO;
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_config_policy_default(struct cvq_ca_config *c)
{
	uint8_t u[16];
	BIGNUM *bn = NULL;
	char *dec = NULL, oid[64];
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;

	if (!c)
		return CVQ_CA_ERR_ARG;
	if (c->policy_oid)
		return CVQ_CA_OK;
	if (RAND_bytes(u, sizeof(u)) != 1)
		return CVQ_CA_ERR_CRYPTO;
	/* A random (version 4, RFC 9562) UUID, written as one integer (X.667). */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	bn = BN_bin2bn(u, sizeof(u), NULL);
	dec = bn ? BN_bn2dec(bn) : NULL;
	if (dec && snprintf(oid, sizeof(oid), "2.25.%s", dec) < (int)sizeof(oid))
		err = cvq_ca_config_set(c, "policy_oid", oid);
	OPENSSL_free(dec);
	BN_free(bn);
	return err;
}
