/* cvq-admin — helpers shared by the CA command groups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca_common.h"

int
cvq_admin_ca_config(const struct cvq_admin_opts *opts, struct cvq_ca_config **cfg)
{
	const char *path = opts->config ? opts->config : getenv("CVQ_CA_CONFIG");
	cvq_ca_err err;

	if (!path)
		path = "ca.conf";
	err = cvq_ca_config_load(path, cfg);
	if (err != CVQ_CA_OK) {
		cvq_admin_error("configuration %s: %s", path, cvq_ca_strerror(err));
		return err == CVQ_CA_ERR_IO ? CVQ_ADMIN_EXIT_STORE : CVQ_ADMIN_EXIT_FAIL;
	}
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_admin_ca_exit(cvq_ca_err err)
{
	switch (err) {
	case CVQ_CA_OK: return CVQ_ADMIN_EXIT_OK;
	case CVQ_CA_ERR_ARG: return CVQ_ADMIN_EXIT_USAGE;
	case CVQ_CA_ERR_PASSPHRASE: return CVQ_ADMIN_EXIT_PIN;
	case CVQ_CA_ERR_NOT_FOUND: return CVQ_ADMIN_EXIT_NOT_FOUND;
	case CVQ_CA_ERR_AUDIT: case CVQ_CA_ERR_POP: return CVQ_ADMIN_EXIT_INVALID;
	case CVQ_CA_ERR_STORE: case CVQ_CA_ERR_READONLY: case CVQ_CA_ERR_FULL:
	case CVQ_CA_ERR_SCHEMA: return CVQ_ADMIN_EXIT_STORE;
	default: return CVQ_ADMIN_EXIT_FAIL;
	}
}

int
cvq_admin_ca_fail(cvq_ca *ca, cvq_ca_err err, const char *what)
{
	const char *m = cvq_ca_errmsg(ca);

	if (m[0])
		cvq_admin_error("%s: %s (%s)", what, cvq_ca_strerror(err), m);
	else
		cvq_admin_error("%s: %s", what, cvq_ca_strerror(err));
	return cvq_admin_ca_exit(err);
}

int
cvq_admin_ca_open(const struct cvq_admin_opts *opts, const char *pass, unsigned flags,
                  struct cvq_ca_config **cfg, cvq_ca **ca)
{
	char why[256] = "";
	cvq_ca_err err;
	int rc;

	*ca = NULL;
	rc = cvq_admin_ca_config(opts, cfg);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	err = cvq_ca_open2(*cfg, pass, flags | (opts->fix_mode ? CVQ_CA_OPEN_FIX_MODE : 0), ca, why,
	                   sizeof(why));
	if (err != CVQ_CA_OK) {
		cvq_admin_error("cannot open the CA: %s", why);
		if (err == CVQ_CA_ERR_PERM && strstr(why, " more open than ") && !opts->fix_mode)
			cvq_admin_error("(or run it once with --fix-mode to tighten the store)");
		cvq_ca_config_free(*cfg);
		*cfg = NULL;
		return cvq_admin_ca_exit(err);
	}
	/* The actor is the kernel's word (getuid(), set by cvq_ca_open2()), never
	 * $USER or $SUDO_USER: any caller sets those as it likes. */
	return CVQ_ADMIN_EXIT_OK;
}

void
cvq_admin_ca_close(struct cvq_ca_config *cfg, cvq_ca *ca)
{
	cvq_ca_close(ca);
	cvq_ca_config_free(cfg);
}

void
cvq_admin_json_print(json_t *v)
{
	if (!v)
		return;
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(v);
}

const char *
cvq_admin_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	buf[0] = '\0';
	if (t && gmtime_r(&tt, &tm))
		strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

json_t *
cvq_admin_json_cert(const struct cvq_ca_cert_info *c)
{
	char fp[65], t1[32], t2[32], t3[32], t4[32], t5[32];
	int i;

	for (i = 0; i < 32; i++)
		snprintf(fp + 2 * i, 3, "%02x", c->sha256[i]);
	return json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s}",
	        "serial", c->serial,
	        "card", c->card_guid[0] ? c->card_guid : NULL,
	        "profile", cvq_ca_profile_name(c->profile),
	        "subject", c->subject,
	        "not_before", cvq_admin_time(c->not_before, t1),
	        "not_after", cvq_admin_time(c->not_after, t2),
	        "issued", cvq_admin_time(c->issued, t3),
	        "status", c->status == CVQ_CA_CERT_REVOKED ? "revoked" : "good",
	        "revoked_at", c->revoked_at ? cvq_admin_time(c->revoked_at, t4) : NULL,
	        "reason", c->status == CVQ_CA_CERT_REVOKED ? cvq_ca_reason_name(c->reason) : NULL,
	        "invalidity", c->invalidity ? cvq_admin_time(c->invalidity, t5) : NULL,
	        "sha256", fp);
}

long
cvq_admin_number(const char *s)
{
	char *end;
	long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	return v;
}
