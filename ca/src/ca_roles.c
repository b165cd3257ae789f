/*
 * libcvqca — roles: who may ask the CA for what (issue #13).
 *
 * The configuration's [roles] section names the members of each role (user
 * names or numeric uids, comma-separated) and, optionally, the profiles
 * each role may ask for. Who a caller is comes from the kernel only: the
 * agent's SO_PEERCRED, the process's getuid() — never an environment
 * variable, which any caller sets as it likes.
 *
 * Members may also be certificates, for the agent's TLS front:
 * "serial:HEX" (one certificate) and "citizen:ID" (whoever holds a good
 * citizen-auth certificate of citizen ID): ca_roles_cert.c.
 *
 * With no [roles] at all (a CA made before roles existed) the CA's own uid
 * (the agent's owner) is the officer and everyone else the agent admits is
 * a counter operator: a member of the agent's group gets citizen
 * certificates for store cards, never a sub-CA.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca_int.h"

static const char *const role_names[CVQ_CA_ROLE__COUNT] = {
	"officer", "operator", "auditor", "service",
};

const char *
cvq_ca_role_name(enum cvq_ca_role r)
{
	return (unsigned)r < CVQ_CA_ROLE__COUNT ? role_names[r] : "?";
}

cvq_ca_err
cvq_ca_role_parse(const char *name, enum cvq_ca_role *r)
{
	int i;

	for (i = 0; name && r && i < CVQ_CA_ROLE__COUNT; i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*r = (enum cvq_ca_role)i;
			return CVQ_CA_OK;
		}
	}
	return CVQ_CA_ERR_ARG;
}

bool
cvq_ca_profile_dual(enum cvq_ca_profile p)
{
	enum cvq_ca_profile tsa;

	/* The seal signs in the city's name (issue #14): two officers too. The
	 * PIV content signer makes every card "authentic" (its CHUID and
	 * Security Object): one officer must not mint it alone either. */
	if (p == CVQ_CA_PROFILE_SUBCA || p == CVQ_CA_PROFILE_OCSP_SIGNER || p == CVQ_CA_PROFILE_SEAL ||
	    p == CVQ_CA_PROFILE_CONTENT_SIGNING)
		return true;
	/* The TSA profile comes with the timestamping work (by name, so this
	 * file needs no change when it lands). */
	return cvq_ca_profile_parse("tsa", &tsa) == CVQ_CA_OK && p == tsa;
}

/* The default profiles of each role, by name ("tsa" when it exists). */
static const char *const default_profiles[CVQ_CA_ROLE__COUNT] = {
	[CVQ_CA_ROLE_OFFICER] = "service,ocsp-signer,subca,tsa,content-signing,seal",
	[CVQ_CA_ROLE_OPERATOR] = "citizen-auth,citizen-sign,card-auth",
	[CVQ_CA_ROLE_AUDITOR] = "",
	[CVQ_CA_ROLE_SERVICE] = "service",
};

/*
 * The next comma-separated item of a list: *item and *len (blanks around
 * it trimmed), *p moved past it. false at the end.
 */
bool
ca_list_next(const char **p, const char **item, size_t *len)
{
	const char *s = *p, *e;
	size_t k;

	while (s && *s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		e = s;
		while (*e && *e != ',')
			e++;
		k = (size_t)(e - s);
		while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k) {
			*item = s;
			*len = k;
			*p = e;
			return true;
		}
		s = e;
	}
	if (p)
		*p = s;
	return false;
}

/* Whether `want` is one of the comma-separated items of `list`. */
static bool
list_has(const char *list, const char *want)
{
	size_t n = strlen(want), k;
	const char *p = list, *item;

	while (ca_list_next(&p, &item, &k))
		if (k == n && memcmp(item, want, n) == 0)
			return true;
	return false;
}

bool
ca_any_roles(const struct cvq_ca_config *cfg)
{
	int r;

	for (r = 0; r < CVQ_CA_ROLE__COUNT; r++)
		if (cfg->roles[r] && *cfg->roles[r])
			return true;
	return false;
}

unsigned
cvq_ca_roles_of(const struct cvq_ca_config *cfg, unsigned uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024], num[16];
	unsigned out = 0;
	int r;

	/* (unsigned)-1 is no uid (a certificate peer, ca_agent.c): never the
	 * roles of a uid, nor the default ones of "anyone else". */
	if (!cfg || uid == (unsigned)-1)
		return 0;
	if (!ca_any_roles(cfg))
		return uid == (unsigned)geteuid() ? 1u << CVQ_CA_ROLE_OFFICER : 1u << CVQ_CA_ROLE_OPERATOR;
	snprintf(num, sizeof(num), "%u", uid);
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0)
		res = NULL;
	for (r = 0; r < CVQ_CA_ROLE__COUNT; r++)
		if (cfg->roles[r] && (list_has(cfg->roles[r], num) || (res && list_has(cfg->roles[r], res->pw_name))))
			out |= 1u << r;
	return out;
}

bool
cvq_ca_roles_allow(const struct cvq_ca_config *cfg, unsigned roles, enum cvq_ca_profile p)
{
	const char *name = cvq_ca_profile_name(p);
	int r;

	if (!cfg || (unsigned)p >= CVQ_CA_PROFILE__COUNT)
		return false;
	for (r = 0; r < CVQ_CA_ROLE__COUNT; r++) {
		const char *list = cfg->role_profiles[r] ? cfg->role_profiles[r] : default_profiles[r];

		if ((roles & (1u << r)) && list_has(list, name))
			return true;
	}
	return false;
}

void
cvq_ca_actor_of_uid(unsigned uid, char *out, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (!out || !cap)
		return;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, cap, "uid=%u(%s)", uid, res->pw_name);
	else
		snprintf(out, cap, "uid=%u", uid);
}

void
cvq_ca_set_caller(cvq_ca *ca, unsigned uid)
{
	char actor[64];

	if (!ca)
		return;
	cvq_ca_actor_of_uid(uid, actor, sizeof(actor));
	cvq_ca_set_actor(ca, actor);
	ca->caller_uid = uid;
	ca->caller_roles = cvq_ca_roles_of(ca_roles_cfg(ca), uid);
}

unsigned
cvq_ca_caller_roles(const cvq_ca *ca)
{
	return ca ? ca->caller_roles : 0;
}

/* "officer,operator" for messages and the audit. */
void
ca_roles_text(unsigned roles, char *out, size_t cap)
{
	size_t n = 0;
	int r;

	out[0] = '\0';
	for (r = 0; r < CVQ_CA_ROLE__COUNT; r++)
		if (roles & (1u << r))
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", role_names[r]);
	if (!out[0])
		snprintf(out, cap, "none");
}
