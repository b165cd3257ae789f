/*
 * cvq-admin — what every issuance command opens (the CA, the enrolment
 * journal, the master secret, the card) and the card operations they
 * share: management key authentication with the candidate keys, and
 * certifying a freshly generated key with proof of possession.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cvq/piv_authentic.h>
#include <cvq/profile.h>
#include <cvq/util.h>

#include "ca_common.h"
#include "enrol.h"

int
cvq_enrol_agent_opt(struct cvq_enrol_open_opts *o, int c, const char *arg)
{
	switch (c) {
	case 0x100:
		if (strncmp(arg, "https://", 8) == 0) {
			o->link.url = arg;
		} else if (strstr(arg, "://")) {
			cvq_admin_error("--agent %s: a Unix socket path or https://HOST:PORT", arg);
			return -1;
		} else {
			o->link.socket = arg;
		}
		return 1;
	case 0x101: o->link.ca_file = arg; return 1;
	case 0x102: o->link.cert_file = arg; return 1;
	case 0x103: o->link.key = arg; return 1;
	case 0x104: o->link.pin_source = arg; return 1;
	case 0x105: o->journal = arg; return 1;
	default: return 0;
	}
}

bool
cvq_enrol_has_agent(const struct cvq_enrol_open_opts *o)
{
	return o->link.socket || o->link.url;
}

/* With --agent the CA configuration is optional: used (the store for what
 * the agent does not do yet) when this process can read it. */
static bool
ca_config_readable(const struct cvq_admin_opts *opts)
{
	const char *path = opts->config ? opts->config : getenv("CVQ_CA_CONFIG");

	return access(path ? path : "ca.conf", R_OK) == 0;
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
	if (agent && o->link.url && (!o->link.ca_file || !o->link.cert_file || !o->link.key)) {
		cvq_admin_error("--agent %s needs --agent-ca, --agent-cert and --agent-key",
		                o->link.url);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	/* With --agent the key stays in the agent: the store, when this
	 * process can read it, is opened here without it. */
	if (!agent || ca_config_readable(opts)) {
		rc = cvq_admin_ca_open(opts, o->pass,
		                       (o->need & CVQ_ENROL_NEED_KEY) && !agent ? 0 : CVQ_CA_OPEN_NOKEY,
		                       &e->cfg, &e->ca);
		if (rc != CVQ_ADMIN_EXIT_OK)
			return rc;
	}
	if (agent) {
		cvq_admin_issuer_agent(&e->issuer_st, e->ca, &o->link, &e->issuer);
		if (e->ca) {
			e->issuer_st.cfg = e->cfg;
			cvq_admin_issuer_mix(&e->issuer_st, &e->issuer);
		}
	} else {
		cvq_admin_issuer_ca(&e->issuer_st, e->ca, e->cfg, &e->issuer);
	}
	/* The journal: --journal, else $CVQ_ENROL_JOURNAL, else the CA store. */
	journal = o->journal ? o->journal : getenv("CVQ_ENROL_JOURNAL");
	own = journal && journal[0];
	if (own)
		db = strdup(journal);
	else if (e->cfg)
		db = cvq_ca_config_path(e->cfg, e->cfg->db);
	else {
		cvq_admin_error("with --agent and no CA configuration here, name the enrolment "
		                "journal: --journal FILE or $CVQ_ENROL_JOURNAL");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto fail;
	}
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
	if ((o->need & CVQ_ENROL_NEED_MASTER) && e->cfg) {
		rc = cvq_admin_issuer_master(&e->issuer_st, o->master_file);
		if (rc)
			goto fail;
	}
	e->db_path = db;
	return CVQ_ADMIN_EXIT_OK;
fail:
	free(db);
	cvq_enrol_ctx_close(e);
	return rc;
}

cvq_enrol_err
cvq_enrol_log(struct cvq_enrol_ctx *e, const char *guid, const char *action,
              const char *detail)
{
	cvq_enrol_err err;

	err = cvq_enrol_store_log(e->st, guid, action, detail);
	if (err != CVQ_ENROL_OK)
		return err;
	if (!e->issuer.ops->audit)
		return CVQ_ENROL_ERR_ISSUER;
	return e->issuer.ops->audit(e->issuer.ctx, action, guid, detail);
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
	if (e->ca || e->cfg)
		cvq_admin_ca_close(e->cfg, e->ca);
	cvq_admin_issuer_clear(&e->issuer_st);
	OPENSSL_cleanse(e->mkey, sizeof(e->mkey));
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

bool
cvq_enrol_issuer_unreachable(const struct cvq_enrol_ctx *e, cvq_enrol_err err)
{
	return err == CVQ_ENROL_ERR_ISSUER && e->issuer_st.agent &&
	       e->issuer_st.last == CVQ_CA_ERR_NET;
}

bool
cvq_enrol_card_interrupted(cvq_card_err err)
{
	switch (err) {
	case CVQ_CARD_ERR_CARD_REMOVED: case CVQ_CARD_ERR_NO_CARD: case CVQ_CARD_ERR_COMM:
	case CVQ_CARD_ERR_NO_SERVICE: case CVQ_CARD_ERR_PCSC: case CVQ_CARD_ERR_BUSY:
	case CVQ_CARD_ERR_CARD_CHANGED: case CVQ_CARD_ERR_NO_READER: case CVQ_CARD_ERR_TIMEOUT:
		return true;
	default:
		return false;
	}
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

cvq_card_err
cvq_enrol_card_status(struct cvq_enrol_ctx *e, cvq_card_status *cs)
{
	cvq_card_err err = cvq_card_get_status(e->card, cs);

	/* pcscd may reset the card while it cleans up after another client
	 * (one killed mid-enrolment, or yubico-piv-tool disconnecting with a
	 * reset): reconnect once and ask again. */
	if ((cvq_enrol_card_interrupted(err) || err == CVQ_CARD_ERR_BAD_DATA) &&
	    err != CVQ_CARD_ERR_NO_CARD) {
		err = cvq_card_reconnect(e->card);
		if (err == CVQ_CARD_OK || err == CVQ_CARD_ERR_CARD_CHANGED)
			err = cvq_card_get_status(e->card, cs);
	}
	return err;
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

static void
say(const struct cvq_enrol_ctx *e, enum cvq_enrol_event ev, int step, const char *fmt,
    va_list ap)
{
	char text[512];

	if (e->quiet && !e->progress)
		return;
	if (e->opts->json)
		return;
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	cvq_enrol_progress_emit(e->progress ? e->progress : say_stdout,
	                        e->progress ? e->progress_ctx : (void *)e, ev, step, NULL, "%s",
	                        text);
}

void
cvq_enrol_say(const struct cvq_enrol_ctx *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(e, CVQ_ENROL_EV_INFO, -1, fmt, ap);
	va_end(ap);
}

void
cvq_enrol_say_step(const struct cvq_enrol_ctx *e, int step, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(e, CVQ_ENROL_EV_STEP, step, fmt, ap);
	va_end(ap);
}

/* Entry idx of the cache (0: the card's key, 1: a failed enrolment's),
 * fetched from the issuer when it holds another card's. */
static cvq_enrol_err
mkey_get(struct cvq_enrol_ctx *e, int idx, const char *guid, int alg, char *why,
         size_t why_len)
{
	struct cvq_enrol_mkey *k = &e->mkey[idx];
	cvq_enrol_err err;

	if (k->len && k->alg == alg && strcasecmp(k->guid, guid) == 0)
		return CVQ_ENROL_OK;
	OPENSSL_cleanse(k, sizeof(*k));
	if (!e->issuer.ops->mgmt_key) {
		snprintf(why, why_len, "the %s issuer gives no management keys",
		         e->issuer.ops->name);
		return CVQ_ENROL_ERR_ISSUER;
	}
	err = e->issuer.ops->mgmt_key(e->issuer.ctx, guid, alg, k->key, &k->len, why, why_len);
	if (err || k->len == 0 || k->len > sizeof(k->key)) {
		OPENSSL_cleanse(k, sizeof(*k));
		return err ? err : CVQ_ENROL_ERR_ISSUER;
	}
	snprintf(k->guid, sizeof(k->guid), "%s", guid);
	k->alg = alg;
	return CVQ_ENROL_OK;
}

cvq_enrol_err
cvq_enrol_mgmt_key(struct cvq_enrol_ctx *e, const char *guid, int alg, const uint8_t **key,
                   size_t *len, char *why, size_t why_len)
{
	cvq_enrol_err err = mkey_get(e, 0, guid, alg, why, why_len);

	*key = err ? NULL : e->mkey[0].key;
	*len = err ? 0 : e->mkey[0].len;
	return err;
}

cvq_card_err
cvq_enrol_mgmt_auth(struct cvq_enrol_ctx *e, const char *guid, const char *prev_guid, int alg,
                    int *which, cvq_enrol_err *ierr)
{
	bool prev = false;
	char why[256] = "";

	*ierr = mkey_get(e, 0, guid, alg, why, sizeof(why));
	if (*ierr) {
		snprintf(e->issuer_why, sizeof(e->issuer_why), "the card's management key: %s",
		         why[0] ? why : cvq_enrol_strerror(*ierr));
		return CVQ_CARD_ERR_INTERNAL;
	}
	/* A failed enrolment's key is only a candidate: if the issuer will not
	 * give it, the factory key is next. */
	if (prev_guid && prev_guid[0])
		prev = mkey_get(e, 1, prev_guid, alg, why, sizeof(why)) == CVQ_ENROL_OK;
	return cvq_enrol_card_mgmt_auth_keys(e->card, alg, e->mkey[0].key, e->mkey[0].len,
	                                     prev ? e->mkey[1].key : NULL,
	                                     prev ? e->mkey[1].len : 0, which);
}

/* The proof of possession: the issuer's digest signed with the new key. */
struct pop {
	struct cvq_enrol_ctx *e;
	cvq_card_slot slot;
	EVP_PKEY *pub;
	const char *pin;
	cvq_card_err err;
};

static cvq_enrol_err
pop_sign(void *ctx, const uint8_t digest[32], uint8_t **sig, size_t *sig_len)
{
	struct pop *p = ctx;
	cvq_card_sign_req req = {
		.slot = p->slot, .pub = p->pub, .md = EVP_sha256(), .padding = CVQ_CARD_PAD_PKCS1,
		.digest = digest, .digest_len = 32, .pin = p->pin,
	};
	int tries = -1;

	if (EVP_PKEY_base_id(p->pub) == EVP_PKEY_EC)
		req.padding = CVQ_CARD_PAD_NONE;
	p->err = cvq_card_sign(p->e->card, &req, sig, sig_len, &tries);
	return p->err ? CVQ_ENROL_ERR_CARD : CVQ_ENROL_OK;
}

cvq_card_err
cvq_enrol_certify_slot(struct cvq_enrol_ctx *e, const char *guid, cvq_card_slot slot,
                       int key_alg, const char *pin, cvq_enrol_err *ierr, char serial[67])
{
	uint8_t *att = NULL, *f9 = NULL;
	size_t att_len = 0, f9_len = 0;
	EVP_PKEY *pub = NULL;
	X509 *cert = NULL;
	cvq_card_err err;
	cvq_enrol_err ee;
	char detail[80], why[256] = "";

	*ierr = CVQ_ENROL_OK;
	serial[0] = '\0';
	err = cvq_card_generate(e->card, slot,
	                        key_alg ? (cvq_card_alg)key_alg : CVQ_CARD_ALG_ECCP256, &pub);
	if (!err)
		err = cvq_enrol_card_attest(e->card, (int)slot, &att, &att_len, &f9, &f9_len);
	if (err)
		goto out;
	snprintf(detail, sizeof(detail), "slot %02x: %s", (unsigned)slot,
	         att_len ? "attestation sent to the CA" : "the card has no attestation");
	/* No key is certified without its provenance in the audit log. */
	if (cvq_enrol_log(e, guid, "attest", detail) != CVQ_ENROL_OK) {
		snprintf(e->issuer_why, sizeof(e->issuer_why),
		         "audit log: cannot record the attestation of slot %02x", (unsigned)slot);
		*ierr = CVQ_ENROL_ERR_STORE;
		err = CVQ_CARD_ERR_INTERNAL;
		goto out;
	}
	{
		struct pop pop = {.e = e, .slot = slot, .pub = pub, .pin = pin};
		struct cvq_enrol_cert_req req = {
			.guid = guid, .slot = (int)slot, .pub = pub, .attest = att,
			.attest_len = att_len, .f9 = f9, .f9_len = f9_len,
			.sign = pop_sign, .sign_ctx = &pop,
		};

		ee = e->issuer.ops->certify(e->issuer.ctx, &req, &cert, why, sizeof(why));
		if (ee == CVQ_ENROL_ERR_CARD) {
			/* the card failed to sign, or signed what does not verify */
			err = pop.err ? pop.err : CVQ_CARD_ERR_CRYPTO;
			goto out;
		}
	}
	if (ee) {
		*ierr = ee;
		snprintf(e->issuer_why, sizeof(e->issuer_why), "%s",
		         why[0] ? why : cvq_enrol_strerror(ee));
		err = CVQ_CARD_ERR_INTERNAL;
		goto out;
	}
	cvq_enrol_serial_hex(X509_get0_serialNumber(cert), serial);
	err = cvq_card_write_cert(e->card, slot, cert, false);
out:
	free(att);
	free(f9);
	EVP_PKEY_free(pub);
	X509_free(cert);
	return err;
}

int
cvq_enrol_revoke_strays(struct cvq_enrol_ctx *e, const char *guid, unsigned *count)
{
	static const cvq_card_slot slots[3] = {CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN,
	                                       CVQ_CARD_SLOT_CARDAUTH};
	const struct cvq_enrol_issuer_ops *ops = e->issuer.ops;
	char on_card[3][67];
	const char *keep[3];
	struct cvq_enrol_strays s = {.keep = keep};
	unsigned unlogged = 0;
	size_t i, n_keep = 0;
	char why[256] = "";
	cvq_enrol_err err;
	X509 *x;

	*count = 0;
	for (i = 0; i < 3; i++) {
		x = NULL;
		if (cvq_card_read_cert(e->card, slots[i], &x) == CVQ_CARD_OK &&
		    cvq_enrol_serial_hex(X509_get0_serialNumber(x), on_card[i]))
			keep[n_keep++] = on_card[i];
		X509_free(x);
	}
	s.n_keep = n_keep;
	/* Which ones, for the journal; then the CA side revokes them. */
	err = ops->cert_list && ops->revoke_strays ? CVQ_ENROL_OK : CVQ_ENROL_ERR_ISSUER;
	if (!err)
		err = ops->cert_list(e->issuer.ctx, guid, cvq_enrol_strays_cb, &s, why, sizeof(why));
	if (!err && s.nomem)
		err = CVQ_ENROL_ERR_IO;
	if (!err && s.n)
		err = ops->revoke_strays(e->issuer.ctx, guid, keep, n_keep, count, why, sizeof(why));
	for (i = 0; !err && i < s.n; i++)
		if (cvq_enrol_log(e, guid, "cert.superseded", s.serial[i]) != CVQ_ENROL_OK)
			unlogged++;
	free(s.serial);
	if (err)
		return cvq_enrol_issuer_fail(e, err, why, "revoking superseded certificates");
	if (unlogged) {
		cvq_admin_error("%u superseded certificate(s) of card %s revoked but not recorded in "
		                "the journal and audit log", unlogged, guid);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	return CVQ_ADMIN_EXIT_OK;
}
