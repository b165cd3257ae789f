/* cvq-webeid — configuration: defaults, then an INI file (inih). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "webeid.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static int handler(void *user, const char *section, const char *name, const char *value)
{
	webeid_config *c = user;
	char *end;
	long n;

	if (strcmp(section, "webeid") != 0)
		return 0;
	if (!strcmp(name, "pinentry"))
		return snprintf(c->pinentry, sizeof(c->pinentry), "%s", value) < (int)sizeof(c->pinentry);
	if (!strcmp(name, "localedir"))
		return snprintf(c->localedir, sizeof(c->localedir), "%s", value) < (int)sizeof(c->localedir);
	if (!strcmp(name, "pkcs11_module"))
		return snprintf(c->pkcs11_module, sizeof(c->pkcs11_module), "%s", value) <
		       (int)sizeof(c->pkcs11_module);
	if (!strcmp(name, "pkcs11_auth_id"))
		return snprintf(c->pkcs11_auth_id, sizeof(c->pkcs11_auth_id), "%s", value) <
		       (int)sizeof(c->pkcs11_auth_id);
	if (!strcmp(name, "pkcs11_sign_id"))
		return snprintf(c->pkcs11_sign_id, sizeof(c->pkcs11_sign_id), "%s", value) <
		       (int)sizeof(c->pkcs11_sign_id);
	if (!strcmp(name, "language"))
		return snprintf(c->language, sizeof(c->language), "%s", value) < (int)sizeof(c->language);
	errno = 0;
	n = strtol(value, &end, 10);
	if (errno || end == value || *end || n < 0 || n > 3600)
		return 0;
	if (!strcmp(name, "pin_timeout"))
		c->pin_timeout = (int)n;
	else if (!strcmp(name, "card_prompts") && n >= 1 && n <= 100)
		c->card_prompts = (int)n;
	else if (!strcmp(name, "pad_timeout") && n <= 255)
		c->pad_timeout = (unsigned)n;
	else
		return 0;
	return 1;
}

int webeid_config_load(webeid_config *c, char *why, size_t why_len)
{
	const char *path = getenv("CVQ_WEBEID_CONFIG");
	bool given = path && *path;
	FILE *f;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->pinentry, sizeof(c->pinentry), "/usr/bin/pinentry");
	snprintf(c->localedir, sizeof(c->localedir), "%s", LOCALEDIR);
	snprintf(c->language, sizeof(c->language), "fr");
	c->pin_timeout = 120;
	c->card_prompts = 3;
	snprintf(c->pkcs11_auth_id, sizeof(c->pkcs11_auth_id), "%%01");
	snprintf(c->pkcs11_sign_id, sizeof(c->pkcs11_sign_id), "%%02");
	if (!given)
		path = SYSCONFDIR "/cvq/webeid.conf";
	f = fopen(path, "r");
	if (!f) {
		/* The system file is optional; one named in the environment is not. */
		if (!given && errno == ENOENT)
			return 0;
		snprintf(why, why_len, "cannot read %s", path);
		return -1;
	}
	rc = ini_parse_file(f, handler, c);
	fclose(f);
	if (rc != 0) {
		snprintf(why, why_len, "%s: bad line %d", path, rc);
		return -1;
	}
	return 0;
}
