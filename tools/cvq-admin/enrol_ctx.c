/*
 * cvq-admin — what every issuance command opens (the issuer: the CA
 * in-process or the agent; the enrolment journal; the card), the
 * narration on stdout and the exit codes of libcvqenrol's errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cvq/util.h>

#include "ca_common.h"
#include "enrol.h"

/* The link's options are agent_link_opts.c's; --journal is ours. 1: taken,
 * 0: not ours, -1: a bad value (said on stderr). */
static int
agent_opt(struct cvq_enrol_open_opts *o, int c, const char *arg)
{
	if (c == CVQ_ENROL_OPT_JOURNAL) {
		o->journal = arg;
		return 1;
	}
	if (!cvq_admin_link_option(&o->link, c, arg))
		return 0;
	/* Another scheme is not a socket path: say so now, not "no agent at". */
	if (c == CVQ_ADMIN_LINK_OPT_FIRST && o->link.socket && strstr(arg, "://")) {
		cvq_admin_error("--agent %s: a Unix socket path or https://HOST:PORT", arg);
		return -1;
	}
	return 1;
}

int
cvq_enrol_getopt(int argc, char **argv, const char *shortopts, const struct option *lo,
                 struct cvq_enrol_open_opts *o)
{
	int c, t;

	while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		t = agent_opt(o, c, optarg);
		if (t == 0)
			return c;
		if (t < 0)
			return '?';
	}
	return -1;
}

bool
cvq_enrol_has_agent(const struct cvq_enrol_open_opts *o)
{
	return o->link.socket || o->link.url;
}

/* The TLS settings go with an https agent, which needs all three. */
static int
link_usage(const struct cvq_admin_link *l)
{
	if (l->url && (!l->ca_file || !l->cert_file || !l->key)) {
		cvq_admin_error("--agent %s needs --agent-ca, --agent-cert and --agent-key", l->url);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (!l->url && (l->ca_file || l->cert_file || l->key || l->pin_source)) {
		cvq_admin_error("--agent-ca, --agent-cert, --agent-key and --agent-pin-source go "
		                "with --agent https://...");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	return CVQ_ADMIN_EXIT_OK;
}

/* An https link's context and key loaded into l (once: l->tls). */
static int
link_load(struct cvq_admin_link *l)
{
	char why[256] = "";
	cvq_ca_err err;

	if (!l->url || l->tls)
		return CVQ_ADMIN_EXIT_OK;
	err = cvq_admin_link_open(l, why, sizeof(why));
	if (err == CVQ_CA_OK)
		return CVQ_ADMIN_EXIT_OK;
	cvq_admin_error("agent %s: %s", l->url, why[0] ? why : cvq_ca_strerror(err));
	return cvq_admin_ca_exit(err);
}

/* What a command's options must say before anything is opened. */
static int
open_usage(const struct cvq_enrol_open_opts *o)
{
	const char *journal = o->journal ? o->journal : getenv("CVQ_ENROL_JOURNAL");
	int rc = link_usage(&o->link);

	if (rc || !cvq_enrol_has_agent(o))
		return rc;
	/* The CA store is the agent's, never an agent's counter's journal. */
	if (!journal || !journal[0]) {
		cvq_admin_error("with --agent, name the enrolment journal: --journal FILE or "
		                "$CVQ_ENROL_JOURNAL (the CA store is the agent's)");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (o->pass || o->master_file) {
		cvq_admin_error("with --agent, the CA key's passphrase and the master secret "
		                "stay with the agent (no --pass, no --master-key-file)");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_enrol_link_open(struct cvq_enrol_open_opts *o)
{
	int rc = open_usage(o);

	return rc ? rc : link_load(&o->link);
}

void
cvq_enrol_link_close(struct cvq_enrol_open_opts *o)
{
	cvq_admin_link_close(&o->link);
}

int
cvq_enrol_ctx_open(struct cvq_enrol_ctx *e, const struct cvq_admin_opts *opts,
                   const struct cvq_enrol_open_opts *o)
{
	char why[256] = "", *db = NULL;
	const char *journal;
	bool agent = cvq_enrol_has_agent(o), own;
	cvq_enrol_err err;
	int rc;

	memset(e, 0, sizeof(*e));
	e->opts = opts;
	rc = open_usage(o);
	if (rc)
		return rc;
	/* The journal: --journal, else $CVQ_ENROL_JOURNAL, else (in-process
	 * only: open_usage) the CA store. */
	journal = o->journal ? o->journal : getenv("CVQ_ENROL_JOURNAL");
	own = journal && journal[0];
	if (agent) {
		/* Nothing of the CA's is opened here: no configuration, store,
		 * master secret or content signer; every op is the agent's. */
		cvq_admin_issuer_agent(&e->issuer_st, &o->link, &e->issuer);
	} else {
		rc = cvq_admin_ca_open(opts, o->pass,
		                       (o->need & CVQ_ENROL_NEED_KEY) ? 0 : CVQ_CA_OPEN_NOKEY,
		                       &e->cfg, &e->ca);
		if (rc != CVQ_ADMIN_EXIT_OK)
			return rc;
		cvq_admin_issuer_ca(&e->issuer_st, e->ca, e->cfg, &e->issuer);
	}
	db = own ? strdup(journal) : e->cfg ? cvq_ca_config_path(e->cfg, e->cfg->db) : NULL;
	if (!db) {
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto fail;
	}
	err = own ? cvq_enrol_store_open_own(db, &e->st, why, sizeof(why))
	          : cvq_enrol_store_open(db, &e->st, why, sizeof(why));
	if (err) {
		cvq_admin_error("enrolment journal %s: %s", db, why[0] ? why : cvq_enrol_strerror(err));
		rc = CVQ_ADMIN_EXIT_STORE;
		goto fail;
	}
	/* Only where this process derives the keys: never with --agent. */
	if ((o->need & CVQ_ENROL_NEED_MASTER) && !agent) {
		rc = cvq_admin_issuer_master(&e->issuer_st, o->master_file);
		if (rc)
			goto fail;
	}
	/* The TLS key now, before the command takes its card (agent_link.h);
	 * a batch's workers share what enrol-batch loaded once. */
	if (agent && !o->link.tls) {
		rc = link_load(&e->issuer_st.link);
		if (rc)
			goto fail;
		e->link_own = e->issuer_st.link.tls != NULL;
	}
	e->db_path = db;
	return CVQ_ADMIN_EXIT_OK;
fail:
	free(db);
	cvq_enrol_ctx_close(e);
	return rc;
}

void
cvq_enrol_ctx_close(struct cvq_enrol_ctx *e)
{
	if (e->card)
		cvq_card_disconnect(e->card, true);
	if (e->cctx)
		cvq_card_ctx_free(e->cctx);
	cvq_enrol_store_close(e->st);
	free(e->db_path);
	if (e->link_own)
		cvq_admin_link_close(&e->issuer_st.link);
	if (e->ca || e->cfg)
		cvq_admin_ca_close(e->cfg, e->ca);
	cvq_admin_issuer_clear(&e->issuer_st);
	memset(e, 0, sizeof(*e));
}

int
cvq_enrol_issuer_exit(const struct cvq_enrol_ctx *e, cvq_enrol_err err)
{
	cvq_ca_err last = e->issuer_st.last;

	switch (err) {
	case CVQ_ENROL_OK: return CVQ_ADMIN_EXIT_OK;
	case CVQ_ENROL_ERR_NOT_FOUND: return CVQ_ADMIN_EXIT_NOT_FOUND;
	case CVQ_ENROL_ERR_STORE: return CVQ_ADMIN_EXIT_STORE;
	case CVQ_ENROL_ERR_PERM: return CVQ_ADMIN_EXIT_PIN;
	case CVQ_ENROL_ERR_ARG: return CVQ_ADMIN_EXIT_USAGE;
	case CVQ_ENROL_ERR_REFUSED: case CVQ_ENROL_ERR_ISSUER:
		/* The CA side's own word, when it gave one (in-process). */
		return last != CVQ_CA_OK && last != CVQ_CA_ERR_NET ? cvq_admin_ca_exit(last)
		                                                  : CVQ_ADMIN_EXIT_FAIL;
	default: return CVQ_ADMIN_EXIT_FAIL;
	}
}

int
cvq_enrol_issuer_fail(const struct cvq_enrol_ctx *e, cvq_enrol_err err, const char *why,
                      const char *what)
{
	cvq_admin_error("%s: %s", what, why && why[0] ? why : cvq_enrol_strerror(err));
	return cvq_enrol_issuer_exit(e, err);
}

int
cvq_enrol_card_fail(cvq_card_err err, const char *what)
{
	cvq_admin_error("%s: %s", what, cvq_card_strerror(err));
	switch (err) {
	case CVQ_CARD_ERR_PIN_WRONG: case CVQ_CARD_ERR_PIN_BLOCKED: case CVQ_CARD_ERR_PIN_FORMAT:
	case CVQ_CARD_ERR_NOT_VERIFIED:
		return CVQ_ADMIN_EXIT_PIN;
	case CVQ_CARD_ERR_NOT_FOUND:
		return CVQ_ADMIN_EXIT_NOT_FOUND;
	default:
		return cvq_enrol_card_interrupted(err) ? CVQ_ADMIN_EXIT_NO_CARD : CVQ_ADMIN_EXIT_FAIL;
	}
}

int
cvq_enrol_ctx_card(struct cvq_enrol_ctx *e, const char *reader)
{
	cvq_card_err err;

	err = cvq_card_ctx_new(&e->cctx);
	if (err == CVQ_CARD_OK)
		err = reader ? cvq_card_connect(e->cctx, reader, &e->card)
		             : cvq_card_connect_any(e->cctx, &e->card);
	if (err)
		return cvq_enrol_card_fail(err, reader ? reader : "no card in any reader");
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_enrol_reader_lock(struct cvq_enrol_ctx *e)
{
	const char *reader = cvq_card_reader_name(e->card);
	char path[4096];
	size_t n, i;
	int fd, w;

	w = snprintf(path, sizeof(path), "%s.enrol-", e->db_path);
	if (w < 0 || (size_t)w + 6 >= sizeof(path)) {
		cvq_admin_error("store path too long for a lock file");
		return -1;
	}
	n = (size_t)w;
	for (i = 0; reader[i] && n + 6 < sizeof(path); i++) {
		char c = reader[i];

		path[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') ? c : '_';
	}
	snprintf(path + n, sizeof(path) - n, ".lock");
	fd = cvq_util_file_create(path, O_RDWR, 0600);
	if (fd < 0) {
		cvq_admin_error("lock %s: %s", path, strerror(errno));
		return -1;
	}
	/* Released by the kernel when the process dies: a kill -9 never
	 * leaves a stale lock behind. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		cvq_admin_error("another enrolment is running on \"%s\"", reader);
		close(fd);
		return -1;
	}
	return fd;
}

/* The CLI's progress callback: the text on stdout, after the reader in a
 * batch (several workers: one line at a time). */
static void
say_stdout(void *ctx, const struct cvq_enrol_progress *p)
{
	const struct cvq_enrol_ctx *e = ctx;

	flockfile(stdout);
	if (e->prefix)
		printf("%s: ", e->prefix);
	fputs(p->text, stdout);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
}

/* The narration of the library and of our commands: e->progress (a
 * batch's) gets it all; else stdout unless quiet; nothing with --json. */
static void
narrate(void *ctx, const struct cvq_enrol_progress *p)
{
	struct cvq_enrol_ctx *e = ctx;

	if (e->opts->json)
		return;
	if (e->progress)
		e->progress(e->progress_ctx, p);
	else if (!e->quiet)
		say_stdout(e, p);
}

void
cvq_enrol_env_of(struct cvq_enrol_ctx *e, struct cvq_enrol_env *env)
{
	env->card = e->card;
	env->st = e->st;
	env->issuer = &e->issuer;
	env->progress = narrate;
	env->progress_ctx = e;
}

void
cvq_enrol_say(struct cvq_enrol_ctx *e, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cvq_enrol_progress_emit(narrate, e, CVQ_ENROL_EV_INFO, -1, NULL, "%s", text);
}

int
cvq_enrol_exit(const struct cvq_enrol_ctx *e, cvq_enrol_err err,
               const struct cvq_enrol_result *res, const char *why)
{
	if (err == CVQ_ENROL_OK)
		return CVQ_ADMIN_EXIT_OK;
	cvq_admin_error("%s", why && why[0] ? why : cvq_enrol_strerror(err));
	switch (err) {
	case CVQ_ENROL_ERR_INTERRUPTED: return CVQ_ADMIN_EXIT_NO_CARD;
	case CVQ_ENROL_ERR_INVALID: return CVQ_ADMIN_EXIT_INVALID;
	case CVQ_ENROL_ERR_FAILED: return CVQ_ADMIN_EXIT_FAIL;
	case CVQ_ENROL_ERR_CARD:
		switch (res->card_err) {
		case CVQ_CARD_ERR_PIN_WRONG: case CVQ_CARD_ERR_PIN_BLOCKED:
		case CVQ_CARD_ERR_PIN_FORMAT: case CVQ_CARD_ERR_NOT_VERIFIED:
			return CVQ_ADMIN_EXIT_PIN;
		case CVQ_CARD_ERR_NOT_FOUND:
			return CVQ_ADMIN_EXIT_NOT_FOUND;
		default:
			return cvq_enrol_card_interrupted(res->card_err) ? CVQ_ADMIN_EXIT_NO_CARD
			                                                 : CVQ_ADMIN_EXIT_FAIL;
		}
	default: return cvq_enrol_issuer_exit(e, err);
	}
}
