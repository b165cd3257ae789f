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
cvq_enrol_ctx_open(struct cvq_enrol_ctx *e, const struct cvq_admin_opts *opts,
                   const struct cvq_enrol_open_opts *o)
{
	char why[256] = "", *db = NULL, *mpath = NULL;
	const char *mfile;
	cvq_enrol_err err;
	int rc;

	memset(e, 0, sizeof(*e));
	e->opts = opts;
	/* With --agent the key stays in the agent: the store is opened here
	 * without it (the journal, the citizen and card records). */
	rc = cvq_admin_ca_open(opts, o->pass,
	                       (o->need & CVQ_ENROL_NEED_KEY) && !o->agent ? 0 : CVQ_CA_OPEN_NOKEY,
	                       &e->cfg, &e->ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (o->agent)
		{
			struct cvq_admin_link link = {.socket = o->agent};

			cvq_admin_issuer_agent(&e->issuer_st, e->ca, &link, &e->issuer);
		}
	else
		cvq_admin_issuer_ca(&e->issuer_st, e->ca, &e->issuer);
	db = cvq_ca_config_path(e->cfg, e->cfg->db);
	if (!db) {
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto fail;
	}
	err = cvq_enrol_store_open(db, &e->st, why, sizeof(why));
	if (err) {
		cvq_admin_error("enrolment journal: %s", why[0] ? why : cvq_enrol_strerror(err));
		rc = CVQ_ADMIN_EXIT_STORE;
		goto fail;
	}
	if (o->need & CVQ_ENROL_NEED_MASTER) {
		/* The master secret lives with the CA: --master-key-file, else
		 * $CVQ_MASTER_KEY_FILE, else [enrol] master_key in the CA
		 * configuration, else master.key beside it. */
		mfile = o->master_file ? o->master_file : getenv("CVQ_MASTER_KEY_FILE");
		if (mfile == NULL)
			mfile = e->cfg->master_key;
		mpath = cvq_ca_config_path(e->cfg, mfile ? mfile : "master.key");
		if (!mpath) {
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto fail;
		}
		err = cvq_enrol_master_load(mpath, e->master, &e->master_len);
		if (err) {
			cvq_admin_error("master secret %s: %s", mpath, cvq_enrol_strerror(err));
			rc = err == CVQ_ENROL_ERR_PERM ? CVQ_ADMIN_EXIT_PIN : CVQ_ADMIN_EXIT_FAIL;
			goto fail;
		}
	}
	e->db_path = db;
	free(mpath);
	return CVQ_ADMIN_EXIT_OK;
fail:
	free(db);
	free(mpath);
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
	OPENSSL_cleanse(e->master, sizeof(e->master));
	X509_free(e->cs_cert);
	EVP_PKEY_free(e->cs_key);
	memset(e, 0, sizeof(*e));
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

cvq_card_err
cvq_enrol_mgmt_auth(struct cvq_enrol_ctx *e, const uint8_t guid[16], const char *prev_guid,
                    int alg, int *which)
{
	return cvq_enrol_card_mgmt_auth(e->card, e->master, e->master_len, guid, prev_guid, alg,
	                                which);
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
                       int key_alg, const char *pin, cvq_ca_err *ca_err, char serial[67])
{
	uint8_t *att = NULL, *f9 = NULL;
	size_t att_len = 0, f9_len = 0;
	EVP_PKEY *pub = NULL;
	X509 *cert = NULL;
	cvq_card_err err;
	cvq_enrol_err ee;
	char detail[80], why[256] = "";

	*ca_err = CVQ_CA_OK;
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
		cvq_admin_error("audit log: cannot record the attestation of slot %02x",
		                (unsigned)slot);
		*ca_err = CVQ_CA_ERR_STORE;
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
		*ca_err = e->issuer_st.last ? e->issuer_st.last : CVQ_CA_ERR_CRYPTO;
		snprintf(e->issuer_why, sizeof(e->issuer_why), "%s", why);
		/* In-process, the caller prints libcvqca's own message; the
		 * agent's reason arrived in why[]. */
		if (e->issuer.ops != NULL && e->issuer_st.agent)
			cvq_admin_error("card %s, slot %02x: %s: %s", guid, (unsigned)slot,
			                cvq_enrol_strerror(ee), why);
		err = CVQ_CARD_ERR_INTERNAL;
		goto out;
	}
	cvq_ca_serial_hex(X509_get0_serialNumber(cert), serial);
	err = cvq_card_write_cert(e->card, slot, cert, false);
out:
	free(att);
	free(f9);
	EVP_PKEY_free(pub);
	X509_free(cert);
	return err;
}

struct strays {
	struct cvq_enrol_ctx *e;
	char on_card[3][67];
	char (*bad)[67];
	size_t n;
};

static int
stray_cb(void *ctx, const struct cvq_ca_cert_info *c)
{
	struct strays *s = ctx;
	void *p;

	if (c->status != CVQ_CA_CERT_GOOD || strcmp(c->serial, s->on_card[0]) == 0 ||
	    strcmp(c->serial, s->on_card[1]) == 0 || strcmp(c->serial, s->on_card[2]) == 0)
		return 0;
	p = realloc(s->bad, (s->n + 1) * sizeof(*s->bad));
	if (!p)
		return 1;
	s->bad = p;
	snprintf(s->bad[s->n++], 67, "%s", c->serial);
	return 0;
}

int
cvq_enrol_revoke_strays(struct cvq_enrol_ctx *e, const char *guid, unsigned *count)
{
	static const cvq_card_slot slots[3] = {CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN,
	                                       CVQ_CARD_SLOT_CARDAUTH};
	struct strays s = {.e = e};
	unsigned unlogged = 0;
	cvq_ca_err err;
	X509 *x;
	size_t i;

	*count = 0;
	for (i = 0; i < 3; i++) {
		x = NULL;
		if (cvq_card_read_cert(e->card, slots[i], &x) == CVQ_CARD_OK)
			cvq_ca_serial_hex(X509_get0_serialNumber(x), s.on_card[i]);
		X509_free(x);
	}
	err = cvq_ca_cert_list(e->ca, guid, stray_cb, &s);
	for (i = 0; err == CVQ_CA_OK && i < s.n; i++) {
		err = cvq_ca_revoke_serial(e->ca, s.bad[i], CVQ_CA_REASON_SUPERSEDED, 0);
		if (err == CVQ_CA_OK) {
			(*count)++;
			if (cvq_enrol_log(e, guid, "cert.superseded", s.bad[i]) != CVQ_ENROL_OK)
				unlogged++;
		}
	}
	free(s.bad);
	if (err)
		return cvq_admin_ca_fail(e->ca, err, "revoking superseded certificates");
	if (unlogged) {
		cvq_admin_error("%u superseded certificate(s) of card %s revoked but not recorded in "
		                "the journal and audit log", unlogged, guid);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	return CVQ_ADMIN_EXIT_OK;
}
