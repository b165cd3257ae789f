/* libcvqca — names: profiles, card states, revocation reasons, subjects. */
#include <string.h>

#include <openssl/err.h>

#include "ca_int.h"

static const char *const profile_names[CVQ_CA_PROFILE__COUNT] = {
	"citizen-auth", "citizen-sign", "ocsp-signer", "service", "subca", "tsa",
	[CVQ_CA_PROFILE_CONTENT_SIGNING] = "content-signing",
	[CVQ_CA_PROFILE_CARD_AUTH] = "card-auth",
	[CVQ_CA_PROFILE_SEAL] = "seal",
};

const char *
cvq_ca_profile_name(enum cvq_ca_profile p)
{
	return (unsigned)p < CVQ_CA_PROFILE__COUNT ? profile_names[p] : "?";
}

cvq_ca_err
cvq_ca_profile_parse(const char *name, enum cvq_ca_profile *p)
{
	int i;

	for (i = 0; name && i < CVQ_CA_PROFILE__COUNT; i++) {
		if (strcmp(name, profile_names[i]) == 0) {
			*p = (enum cvq_ca_profile)i;
			return CVQ_CA_OK;
		}
	}
	return CVQ_CA_ERR_ARG;
}

static const char *const card_names[CVQ_CA_CARD__COUNT] = {
	"active", "suspended", "lost", "stolen", "destroyed", "returned",
};

const char *
cvq_ca_card_status_name(enum cvq_ca_card_status s)
{
	return (unsigned)s < CVQ_CA_CARD__COUNT ? card_names[s] : "?";
}

cvq_ca_err
cvq_ca_card_status_parse(const char *name, enum cvq_ca_card_status *s)
{
	int i;

	for (i = 0; name && i < CVQ_CA_CARD__COUNT; i++) {
		if (strcmp(name, card_names[i]) == 0) {
			*s = (enum cvq_ca_card_status)i;
			return CVQ_CA_OK;
		}
	}
	return CVQ_CA_ERR_ARG;
}

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};
#define N_REASONS ((int)(sizeof(reason_names) / sizeof(reason_names[0])))

const char *
cvq_ca_reason_name(int r)
{
	if (r < 0 || r >= N_REASONS || !reason_names[r])
		return "none";
	return reason_names[r];
}

cvq_ca_err
cvq_ca_reason_parse(const char *name, int *r)
{
	int i;

	for (i = 0; name && i < N_REASONS; i++) {
		if (reason_names[i] && strcasecmp(name, reason_names[i]) == 0) {
			*r = i;
			return CVQ_CA_OK;
		}
	}
	return CVQ_CA_ERR_ARG;
}

/* "/C=FR/O=Ville/CN=Name" (OpenSSL's -subj form; "\/" escapes a slash). */
X509_NAME *
ca_name_parse(const char *s)
{
	X509_NAME *n = NULL;
	char buf[1024], *field, *eq;
	size_t i, j;

	if (!s || s[0] != '/' || strlen(s) >= sizeof(buf))
		return NULL;
	n = X509_NAME_new();
	if (!n)
		return NULL;
	i = 1;
	while (s[i]) {
		for (j = 0; s[i] && s[i] != '/'; i++) {
			if (s[i] == '\\' && s[i + 1])
				i++;
			buf[j++] = s[i];
		}
		buf[j] = '\0';
		if (s[i] == '/')
			i++;
		field = buf;
		eq = strchr(field, '=');
		if (!eq || eq == field || !eq[1])
			goto fail;
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
		                                (const unsigned char *)eq + 1, -1, -1, 0))
			goto fail;
	}
	if (X509_NAME_entry_count(n) == 0)
		goto fail;
	return n;
fail:
	ERR_clear_error();
	X509_NAME_free(n);
	return NULL;
}
