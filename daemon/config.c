#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse_ctx {
	cvqd_config *cfg;
	char *err;
	size_t errlen;
	char reason[160];
	char first[160];   /* inih goes on after an error: keep the first reason */
};

static int set_str(char **dst, const char *v)
{
	char *c = strdup(v);
	if (!c)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

static int set_uint(unsigned *dst, const char *v, int base, unsigned max)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, base);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		return -1;
	*dst = (unsigned)n;
	return 0;
}

static int set_bool(bool *dst, const char *v)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
		*dst = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0"))
		*dst = false;
	else
		return -1;
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Calls one(item) for each comma-separated, trimmed, non-empty item. */
static int for_each_item(const char *v, int (*one)(struct parse_ctx *, const char *, void *),
                         struct parse_ctx *pc, void *arg)
{
	char *copy = strdup(v), *save = NULL;
	int rc = 0;
	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok);
		if (*t && (rc = one(pc, t, arg)) != 0)
			break;
	}
	free(copy);
	return rc;
}

/* Where add_uid/add_gid put what they read: [daemon]'s or [seal]'s list. */
struct id_list { unsigned *v; size_t *n; };

static int add_uid(struct parse_ctx *pc, const char *item, void *arg)
{
	struct id_list *l = arg;
	unsigned n;
	if (*l->n >= CVQD_MAX_IDS) {
		snprintf(pc->reason, sizeof pc->reason, "too many users");
		return -1;
	}
	if (set_uint(&n, item, 10, UINT_MAX - 1) == 0) {
		l->v[(*l->n)++] = n;
		return 0;
	}
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(item, &pw, buf, sizeof buf, &res) != 0 || !res) {
		snprintf(pc->reason, sizeof pc->reason, "unknown user '%.64s'", item);
		return -1;
	}
	l->v[(*l->n)++] = res->pw_uid;
	return 0;
}

static int add_gid(struct parse_ctx *pc, const char *item, void *arg)
{
	struct id_list *l = arg;
	unsigned n;
	if (*l->n >= CVQD_MAX_IDS) {
		snprintf(pc->reason, sizeof pc->reason, "too many groups");
		return -1;
	}
	if (set_uint(&n, item, 10, UINT_MAX - 1) == 0) {
		l->v[(*l->n)++] = n;
		return 0;
	}
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r(item, &gr, buf, sizeof buf, &res) != 0 || !res) {
		snprintf(pc->reason, sizeof pc->reason, "unknown group '%.64s'", item);
		return -1;
	}
	l->v[(*l->n)++] = res->gr_gid;
	return 0;
}

struct path_list { char **v; size_t *n; };

static int add_path(struct parse_ctx *pc, const char *item, void *arg)
{
	struct path_list *l = arg;
	if (*l->n >= CVQD_MAX_PATHS) {
		snprintf(pc->reason, sizeof pc->reason, "too many files");
		return -1;
	}
	l->v[*l->n] = strdup(item);
	if (!l->v[*l->n])
		return -1;
	(*l->n)++;
	return 0;
}

static void free_paths(char **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(v[i]);
		v[i] = NULL;
	}
	*n = 0;
}

static int set_paths(struct parse_ctx *pc, char **v, size_t *n, const char *value)
{
	struct path_list l = { v, n };
	free_paths(v, n);
	return for_each_item(value, add_path, pc, &l);
}

static int set_size(size_t *dst, const char *v, size_t min, size_t max)
{
	unsigned n;
	if (set_uint(&n, v, 10, UINT_MAX) || n < min || n > max)
		return -1;
	*dst = n;
	return 0;
}

static int daemon_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	if (!strcmp(k, "socket"))
		return set_str(&c->socket_path, v);
	if (!strcmp(k, "socket_mode"))
		return set_uint(&c->socket_mode, v, 8, 0777);
	if (!strcmp(k, "allow_users")) {
		struct id_list l = { c->allow_uids, &c->n_allow_uids };
		c->n_allow_uids = 0;
		return for_each_item(v, add_uid, pc, &l);
	}
	if (!strcmp(k, "allow_groups")) {
		struct id_list l = { c->allow_gids, &c->n_allow_gids };
		c->n_allow_gids = 0;
		return for_each_item(v, add_gid, pc, &l);
	}
	if (!strcmp(k, "log_level"))
		return cvqd_log_level_parse(v, &c->log_level);
	if (!strcmp(k, "journal"))
		return set_str(&c->journal_path, v);
	if (!strcmp(k, "max_body"))
		return set_size(&c->max_body, v, 256, 16u << 20);
	if (!strcmp(k, "max_header"))
		return set_size(&c->max_header, v, 4096, 1u << 20);
	if (!strcmp(k, "request_timeout"))
		return set_uint(&c->request_timeout, v, 10, 3600);
	if (!strcmp(k, "max_clients"))
		return set_uint(&c->max_clients, v, 10, 4096);
	if (!strcmp(k, "max_clients_per_caller"))
		return set_uint(&c->max_clients_per_caller, v, 10, 4096) || !c->max_clients_per_caller ? -1 : 0;
	if (!strcmp(k, "max_refused_clients"))
		return set_uint(&c->max_refused_clients, v, 10, 4096) || !c->max_refused_clients ? -1 : 0;
	if (!strcmp(k, "max_card_ops_per_caller"))
		return set_uint(&c->max_card_ops_per_caller, v, 10, 4096) || !c->max_card_ops_per_caller ? -1 : 0;
	return 1;
}

static int trust_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	if (!strcmp(k, "anchors"))
		return set_paths(pc, c->anchors, &c->n_anchors, v);
	if (!strcmp(k, "crls"))
		return set_paths(pc, c->crls, &c->n_crls, v);
	if (!strcmp(k, "intermediates"))
		return set_paths(pc, c->intermediates, &c->n_intermediates, v);
	if (!strcmp(k, "require_crl"))
		return set_bool(&c->require_crl, v);
	if (!strcmp(k, "ocsp"))
		return set_bool(&c->ocsp, v);
	if (!strcmp(k, "ocsp_url"))
		return set_str(&c->ocsp_url, v);
	if (!strcmp(k, "ocsp_timeout"))
		return set_uint(&c->ocsp_timeout, v, 10, 60) || c->ocsp_timeout == 0 ? -1 : 0;
	if (!strcmp(k, "ocsp_cache"))
		return set_uint(&c->ocsp_cache, v, 10, 86400);
	if (!strcmp(k, "signer_policy"))
		return set_str(&c->signer_policy, v);
	return 1;
}

static int pin_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	if (!strcmp(k, "pinentry"))
		return set_str(&c->pinentry, v);
	if (!strcmp(k, "timeout"))
		return set_uint(&c->pin_timeout, v, 10, 3600);
	if (!strcmp(k, "language"))
		return set_str(&c->language, v);
	if (!strcmp(k, "localedir"))
		return set_str(&c->localedir, v);
	if (!strcmp(k, "pinpad")) {
		/* auto: the reader's pad when it has one; never: always the dialog. */
		if (strcmp(v, "auto") && strcmp(v, "never"))
			return -1;
		c->pinpad = !strcmp(v, "auto");
		return 0;
	}
	return 1;
}

static int display_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	if (!strcmp(k, "scripts"))
		return set_str(&c->scripts, v);
	if (!strcmp(k, "schemas"))
		return set_paths(pc, c->schemas, &c->n_schemas, v);
	return 1;
}

static int card_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	if (!strcmp(k, "backend")) {
		if (strcmp(v, "pcsc") && strcmp(v, "pkcs11") && strcmp(v, "none"))
			return -1;
		return set_str(&c->backend, v);
	}
	if (!strcmp(k, "wait"))
		return set_uint(&c->card_wait, v, 10, 3600);
	if (!strcmp(k, "op_timeout"))
		return set_uint(&c->op_timeout, v, 10, 3600);
	if (!strcmp(k, "pkcs11_module"))
		return set_str(&c->pkcs11_module, v);
	if (!strcmp(k, "pkcs11_auth_id"))
		return set_str(&c->pkcs11_auth_id, v);
	if (!strcmp(k, "pkcs11_sign_id"))
		return set_str(&c->pkcs11_sign_id, v);
	if (!strcmp(k, "readers"))
		return set_str(&c->readers_filter, v);
	if (!strcmp(k, "foreign_cards")) {   /* issue #17 */
		if (strcmp(v, "allow") && strcmp(v, "refuse"))
			return -1;
		c->foreign_cards = !strcmp(v, "allow");
		return 0;
	}
	return 1;
}

/* ADDR:PORT as libcvqca's responder takes it: IPv4 or [IPv6], port 0-65535. */
static bool listen_ok(const char *v)
{
	char host[64];
	const char *colon;
	size_t hl;
	unsigned port;
	unsigned char a[16];

	if (v[0] == '[') {
		colon = strstr(v, "]:");
		if (!colon)
			return false;
		hl = (size_t)(colon - v - 1);
		if (hl >= sizeof host)
			return false;
		memcpy(host, v + 1, hl);
		host[hl] = '\0';
		return inet_pton(AF_INET6, host, a) == 1 && set_uint(&port, colon + 2, 10, 65535) == 0;
	}
	colon = strrchr(v, ':');
	if (!colon || (size_t)(colon - v) >= sizeof host)
		return false;
	hl = (size_t)(colon - v);
	memcpy(host, v, hl);
	host[hl] = '\0';
	return inet_pton(AF_INET, host, a) == 1 && set_uint(&port, colon + 1, 10, 65535) == 0;
}

/*
 * A passphrase source, never a passphrase: "file:PATH" (absolute; its mode
 * is checked when read), "fd:N" or "pinentry:PROG". A daemon has no tty.
 */
static bool pass_source_ok(const char *v)
{
	unsigned fd;
	if (!strncmp(v, "file:", 5))
		return v[5] == '/';
	if (!strncmp(v, "fd:", 3))
		return set_uint(&fd, v + 3, 10, 65535) == 0;
	if (!strncmp(v, "pinentry:", 9))
		return v[9] == '/';
	return false;
}

static int responder_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	c->responder = true;
	if (!strcmp(k, "ca_config")) {
		if (v[0] != '/') {
			snprintf(pc->reason, sizeof pc->reason, "'ca_config' must be an absolute path");
			return -1;
		}
		return set_str(&c->resp_ca_config, v);
	}
	if (!strcmp(k, "listen")) {
		if (!listen_ok(v)) {
			snprintf(pc->reason, sizeof pc->reason,
			         "'listen' must be IPv4:PORT or [IPv6]:PORT");
			return -1;
		}
		return set_str(&c->resp_listen, v);
	}
	if (!strcmp(k, "pass")) {
		if (v[0] && !pass_source_ok(v)) {
			snprintf(pc->reason, sizeof pc->reason,
			         "'pass' must be a source (file:/PATH, fd:N or pinentry:/PROG), "
			         "never the passphrase");
			return -1;
		}
		return set_str(&c->resp_pass, v);
	}
	if (!strcmp(k, "threads"))
		return set_uint(&c->resp_threads, v, 10, 256);
	if (!strcmp(k, "timeout")) {
		if (set_uint(&c->resp_timeout, v, 10, 3600) || c->resp_timeout == 0)
			return -1;
		return 0;
	}
	return 1;
}

/* [tsa] (docs/daemon.md "Receipts"): where cvqd gets signature timestamps. */
static int tsa_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	if (!strcmp(k, "url")) {
		if (v[0] && strncmp(v, "http://", 7)) {
			snprintf(pc->reason, sizeof pc->reason, "'url' must be http://HOST:PORT/PATH");
			return -1;
		}
		return set_str(&c->tsa_url, v);
	}
	if (!strcmp(k, "timeout"))
		return set_uint(&c->tsa_timeout, v, 10, 300) || c->tsa_timeout == 0 ? -1 : 0;
	if (!strcmp(k, "unavailable")) {
		if (strcmp(v, "refuse") && strcmp(v, "basic"))
			return -1;
		c->tsa_refuse = !strcmp(v, "refuse");
		return 0;
	}
	if (!strcmp(k, "policy"))
		return set_str(&c->tsa_policy, v);
	if (!strcmp(k, "anchors"))
		return set_paths(pc, c->tsa_anchors, &c->n_tsa_anchors, v);
	return 1;
}

/* [seal] (docs/daemon.md "The city's seal"): POST /v1/seal. */
static int seal_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	c->seal = true;
	if (!strcmp(k, "key"))
		return set_str(&c->seal_key, v);
	if (!strcmp(k, "pin")) {
		unsigned fd;
		if (v[0] && strncmp(v, "file:/", 6) &&
		    (strncmp(v, "fd:", 3) || set_uint(&fd, v + 3, 10, 65535))) {
			snprintf(pc->reason, sizeof pc->reason,
			         "'pin' must be a source (file:/PATH or fd:N), never the PIN");
			return -1;
		}
		return set_str(&c->seal_pin, v);
	}
	if (!strcmp(k, "cert"))
		return set_str(&c->seal_cert, v);
	if (!strcmp(k, "chain"))
		return set_str(&c->seal_chain, v);
	if (!strcmp(k, "dss_certs"))
		return set_str(&c->seal_dss_certs, v);
	if (!strcmp(k, "tsa_url")) {
		if (v[0] && strncmp(v, "http://", 7)) {
			snprintf(pc->reason, sizeof pc->reason, "'tsa_url' must be http://HOST:PORT/PATH");
			return -1;
		}
		return set_str(&c->seal_tsa_url, v);
	}
	if (!strcmp(k, "tsa_anchors"))
		return set_str(&c->seal_tsa_anchors, v);
	if (!strcmp(k, "tsa_timeout"))
		return set_uint(&c->seal_tsa_timeout, v, 10, 300) || !c->seal_tsa_timeout ? -1 : 0;
	if (!strcmp(k, "crls"))
		return set_paths(pc, c->seal_crls, &c->n_seal_crls, v);
	if (!strcmp(k, "allow_users")) {
		struct id_list l = { c->seal_uids, &c->n_seal_uids };
		c->n_seal_uids = 0;
		return for_each_item(v, add_uid, pc, &l);
	}
	if (!strcmp(k, "allow_groups")) {
		struct id_list l = { c->seal_gids, &c->n_seal_gids };
		c->n_seal_gids = 0;
		return for_each_item(v, add_gid, pc, &l);
	}
	if (!strcmp(k, "max_document"))
		return set_size(&c->seal_max_document, v, 1024, 64u << 20);
	if (!strcmp(k, "reason"))
		return set_str(&c->seal_reason, v);
	if (!strcmp(k, "location"))
		return set_str(&c->seal_location, v);
	if (!strcmp(k, "name"))
		return set_str(&c->seal_name, v);
	return 1;
}

/*
 * The line of the [responder] header (0: none). inih calls the handler for
 * keys only, so an empty section would silently mean "no responder", and
 * a missing key is reported at the header.
 */
static int responder_header_line(const char *text)
{
	const char *l = text;
	for (int n = 1; l; n++) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (!strncmp(l, "[responder]", 11))
			return n;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return 0;
}

/* [crl] (issue #16): CRL fetching; kept in one block. */
static int crl_key(struct parse_ctx *pc, const char *k, const char *v)
{
	cvqd_config *c = pc->cfg;
	c->crl_fetch = true;
	if (!strcmp(k, "urls"))
		return set_str(&c->crl_urls, v);
	if (!strcmp(k, "from_certificates"))
		return set_bool(&c->crl_from_certs, v);
	if (!strcmp(k, "cache_dir"))
		return v[0] != '/' ? -1 : set_str(&c->crl_cache_dir, v);
	if (!strcmp(k, "interval"))
		return set_uint(&c->crl_interval, v, 10, 7 * 86400) || !c->crl_interval ? -1 : 0;
	if (!strcmp(k, "retry_min"))
		return set_uint(&c->crl_retry_min, v, 10, 86400) || !c->crl_retry_min ? -1 : 0;
	if (!strcmp(k, "retry_max"))
		return set_uint(&c->crl_retry_max, v, 10, 7 * 86400) || !c->crl_retry_max ? -1 : 0;
	if (!strcmp(k, "timeout"))
		return set_uint(&c->crl_timeout, v, 10, 300) || !c->crl_timeout ? -1 : 0;
	if (!strcmp(k, "max_size"))
		return set_size(&c->crl_max_size, v, 1024, 256u << 20);
	return 1;
}

static int on_item(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *pc = user;
	int rc;
	pc->reason[0] = '\0';
	if (!name) /* a section header alone */
		return 1;
	if (!strcmp(section, "daemon"))
		rc = daemon_key(pc, name, value);
	else if (!strcmp(section, "trust"))
		rc = trust_key(pc, name, value);
	else if (!strcmp(section, "pin"))
		rc = pin_key(pc, name, value);
	else if (!strcmp(section, "seal"))
		rc = seal_key(pc, name, value);
	else if (!strcmp(section, "card"))
		rc = card_key(pc, name, value);
	else if (!strcmp(section, "display"))
		rc = display_key(pc, name, value);
	else if (!strcmp(section, "responder"))
		rc = responder_key(pc, name, value);
	else if (!strcmp(section, "tsa"))
		rc = tsa_key(pc, name, value);
	else if (!strcmp(section, "crl"))
		rc = crl_key(pc, name, value);
	else {
		snprintf(pc->reason, sizeof pc->reason, "unknown section [%.40s]", section);
		if (!pc->first[0])
			memcpy(pc->first, pc->reason, sizeof pc->first);
		return 0;
	}
	if (rc == 1)
		snprintf(pc->reason, sizeof pc->reason, "unknown key '%.40s' in [%.40s]", name, section);
	else if (rc != 0 && !pc->reason[0])
		snprintf(pc->reason, sizeof pc->reason, "bad value for '%.40s'", name);
	if (rc != 0 && !pc->first[0])
		memcpy(pc->first, pc->reason, sizeof pc->first);
	return rc == 0;
}

static int defaults(cvqd_config *c)
{
	memset(c, 0, sizeof *c);
	c->socket_mode = 0660;
	c->log_level = CVQD_LOG_INFO;
	c->max_body = 64 * 1024;
	c->max_header = 32 * 1024;
	c->request_timeout = 30;
	c->max_clients = 64;
	/* One caller never fills the daemon (docs/threat-model.md). */
	c->max_clients_per_caller = 32;
	c->max_refused_clients = 4;
	c->max_card_ops_per_caller = 2;
	c->seal_tsa_timeout = 10;
	c->seal_max_document = 16u << 20;
	c->pin_timeout = 60;
	c->card_wait = 30;
	c->op_timeout = 120;
	c->require_crl = true;
	c->ocsp_timeout = 5;
	c->ocsp_cache = 300;
	c->pinpad = true;
	c->resp_timeout = 10;
	c->tsa_timeout = 5;
	c->tsa_refuse = true;
	c->crl_from_certs = true;
	c->crl_interval = 3600, c->crl_retry_min = 30, c->crl_retry_max = 3600;
	c->crl_timeout = 10, c->crl_max_size = 16u << 20;
	c->allow_uids[c->n_allow_uids++] = 0;
	if (set_str(&c->socket_path, "/run/cvqd/cvqd.sock") ||
	    set_str(&c->pinentry, "/usr/bin/pinentry") ||
	    set_str(&c->language, "fr") ||
	    set_str(&c->scripts, "Latin") ||
	    set_str(&c->localedir, LOCALEDIR) ||
	    set_str(&c->journal_path, "") ||
	    set_str(&c->pkcs11_module, "") ||
	    set_str(&c->pkcs11_auth_id, "%01") ||
	    set_str(&c->pkcs11_sign_id, "%02") ||
	    set_str(&c->backend, "pcsc") ||
	    set_str(&c->ocsp_url, "") ||
	    set_str(&c->signer_policy, "") ||
	    set_str(&c->readers_filter, "") ||
	    set_str(&c->resp_pass, "") ||
	    set_str(&c->tsa_url, "") ||
	    set_str(&c->crl_urls, "") || set_str(&c->crl_cache_dir, "/var/lib/cvqd/crl") ||
	    set_str(&c->tsa_policy, ""))
		return -1;
	return 0;
}

int cvqd_config_parse(cvqd_config *cfg, const char *text, char *err, size_t errlen)
{
	struct parse_ctx pc = { .cfg = cfg, .err = err, .errlen = errlen };
	if (defaults(cfg)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!text)
		return 0;
	int line = ini_parse_string(text, on_item, &pc);
	if (line != 0) {
		snprintf(err, errlen, "line %d: %s", line, pc.first[0] ? pc.first : "syntax error");
		return -1;
	}
	line = responder_header_line(text);
	if (line)
		cfg->responder = true;
	if (cfg->responder && (!cfg->resp_ca_config || !cfg->resp_listen)) {
		snprintf(err, errlen, "line %d: [responder] needs '%s'", line,
		         !cfg->resp_ca_config ? "ca_config" : "listen");
		return -1;
	}
	/* Every seal is journalled: no journal, no seal. */
	if (cfg->seal && (!cfg->seal_key || !cfg->seal_cert || !cfg->journal_path[0])) {
		snprintf(err, errlen, "[seal] needs %s", !cfg->seal_key ? "'key'" :
		         !cfg->seal_cert ? "'cert'" : "a journal ([daemon] journal =)");
		return -1;
	}
	return 0;
}

int cvqd_config_load(cvqd_config *cfg, const char *path, char *err, size_t errlen)
{
	if (!path)
		return cvqd_config_parse(cfg, NULL, err, errlen);
	FILE *f = fopen(path, "r");
	if (!f) {
		defaults(cfg);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t cap = 0, len = 0;
	int rc = -1;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			if (cap > (1u << 20)) {
				snprintf(err, errlen, "%s: file too large", path);
				defaults(cfg);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			char *n = realloc(text, cap);
			if (!n) {
				snprintf(err, errlen, "out of memory");
				defaults(cfg);
				goto out;
			}
			text = n;
		}
		size_t got = fread(text + len, 1, 4096, f);
		len += got;
		if (got < 4096)
			break;
	}
	text[len] = '\0';
	char sub[200];
	rc = cvqd_config_parse(cfg, text, sub, sizeof sub);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, sub);
out:
	free(text);
	fclose(f);
	return rc;
}

void cvqd_config_free(cvqd_config *c)
{
	free(c->socket_path);
	free(c->journal_path);
	free(c->pinentry);
	free(c->language);
	free(c->scripts);
	free_paths(c->schemas, &c->n_schemas);
	free(c->localedir);
	free(c->pkcs11_module);
	free(c->pkcs11_auth_id);
	free(c->pkcs11_sign_id);
	free(c->backend);
	free(c->ocsp_url);
	free(c->signer_policy);
	free(c->readers_filter);
	free(c->resp_ca_config);
	free(c->resp_listen);
	free(c->resp_pass);
	free(c->tsa_url);
	free(c->tsa_policy);
	free(c->crl_urls);
	free(c->crl_cache_dir);
	free_paths(c->tsa_anchors, &c->n_tsa_anchors);
	free(c->seal_key);
	free(c->seal_pin);
	free(c->seal_cert);
	free(c->seal_chain);
	free(c->seal_dss_certs);
	free(c->seal_tsa_url);
	free(c->seal_tsa_anchors);
	free_paths(c->seal_crls, &c->n_seal_crls);
	free(c->seal_reason);
	free(c->seal_location);
	free(c->seal_name);
	free_paths(c->anchors, &c->n_anchors);
	free_paths(c->crls, &c->n_crls);
	free_paths(c->intermediates, &c->n_intermediates);
	memset(c, 0, sizeof *c);
}
