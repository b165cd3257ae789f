/*
 * cvq-admin — the enrolment service of the issuing agent (agent_enrol.h):
 * one request of agent_enrol_msg.h in, one answer out, each op behind
 * the caller's role (counter operator or CA officer) and the store's
 * record of the card. The caller is already set on the CA handle by the
 * agent: every store change and every audit entry names the operator.
 *
 * Why the rules (docs/enrolment.md has the table):
 * - a card of the store, tied to a citizen, or nothing: the counter
 *   cannot make the CA speak about cards it never recorded;
 * - the management key and the PUK only for a card active or returned:
 *   a card reported lost, stolen or destroyed must stay beyond reach,
 *   and only an officer may take a card out of those states (else an
 *   operator could reactivate it and then ask for its key);
 * - the content signer signs only a CHUID that carries the card's own
 *   GUID (and expires no later than the card), and Security Objects that
 *   cover such a CHUID: it never signs bytes for another card, nor
 *   arbitrary bytes;
 * - every release of a secret and every signature is audited, never
 *   with the secret in it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cvq/piv.h>
#include <cvq/piv_authentic.h>
#include <cvq/profile.h>

#include "agent_enrol.h"
#include "agent_enrol_msg.h"

#define ROLE(r) (1u << (r))

/* ---- loading the secrets (ca-agent start) ---- */

/* path: explicit (must exist) or the default (may be absent: *none). */
static bool
load_master(struct cvq_admin_enrol_svc *s, const char *path, bool explicit, char *why,
            size_t why_len)
{
	struct stat st;
	cvq_enrol_err err;

	if (!explicit && stat(path, &st) != 0 && errno == ENOENT)
		return true;
	err = cvq_enrol_master_load(path, s->master, &s->master_len);
	if (err != CVQ_ENROL_OK) {
		s->master_len = 0;
		snprintf(why, why_len, "master secret %s: %s", path, cvq_enrol_strerror(err));
		return false;
	}
	return true;
}

static bool
load_signer(struct cvq_admin_enrol_svc *s, const char *kpath, const char *cpath, bool explicit,
            char *why, size_t why_len)
{
	struct stat st;
	FILE *f;

	/* No default one, or its certificate still waits for the second
	 * officer (card content-signer init): nothing to load, no warning. */
	if (!explicit && ((stat(kpath, &st) != 0 && errno == ENOENT) ||
	                  (stat(cpath, &st) != 0 && errno == ENOENT)))
		return true;
	f = fopen(kpath, "re");
	if (!f) {
		snprintf(why, why_len, "content signer key %s: %s", kpath, strerror(errno));
		return false;
	}
	/* The key that vouches for every card: nobody else may read it. */
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		fclose(f);
		snprintf(why, why_len, "content signer key %s: must be a regular file of mode 0600",
		         kpath);
		return false;
	}
	s->cs_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(cpath, "re");
	if (f) {
		s->cs_cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	ERR_clear_error();
	if (!s->cs_key || !s->cs_cert || X509_check_private_key(s->cs_cert, s->cs_key) != 1)
		snprintf(why, why_len, "content signer %s / %s: unreadable, or the key does not "
		         "match the certificate", kpath, cpath);
	else if (X509_cmp_current_time(X509_get0_notAfter(s->cs_cert)) <= 0)
		snprintf(why, why_len, "content signer %s has expired", cpath);
	else
		return true;
	X509_free(s->cs_cert);
	EVP_PKEY_free(s->cs_key);
	s->cs_cert = NULL;
	s->cs_key = NULL;
	/* The default one unusable: the agent still issues (a new content
	 * signer's certificate among others), without signing for cards. */
	return !explicit;
}

bool
cvq_admin_enrol_svc_load(struct cvq_admin_enrol_svc *s, const struct cvq_ca_config *cfg,
                         const struct cvq_admin_enrol_svc_opts *o, char *why, size_t why_len)
{
	const char *m = o->master_file ? o->master_file : cfg->master_key;
	char *mp, *kp, *cp;
	bool ok = false;

	memset(s, 0, sizeof(*s));
	mp = o->master_file ? strdup(m) : cvq_ca_config_path(cfg, m ? m : "master.key");
	kp = o->cs_key ? strdup(o->cs_key) : cvq_ca_config_path(cfg, "content-signer.key");
	cp = o->cs_cert ? strdup(o->cs_cert) : cvq_ca_config_path(cfg, "content-signer.pem");
	if (!mp || !kp || !cp) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	ok = load_master(s, mp, m != NULL, why, why_len) &&
	     load_signer(s, kp, cp, o->cs_key != NULL || o->cs_cert != NULL, why, why_len);
out:
	if (!ok)
		cvq_admin_enrol_svc_clear(s);
	free(mp);
	free(kp);
	free(cp);
	return ok;
}

void
cvq_admin_enrol_svc_clear(struct cvq_admin_enrol_svc *s)
{
	OPENSSL_cleanse(s->master, sizeof(s->master));
	s->master_len = 0;
	X509_free(s->cs_cert);
	EVP_PKEY_free(s->cs_key); /* OpenSSL wipes the key's numbers as it frees them */
	s->cs_cert = NULL;
	s->cs_key = NULL;
}

/* ---- one request ---- */

struct op {
	struct cvq_admin_enrol_svc *s;
	cvq_ca *ca;
	const struct cvq_admin_enrol_req *r;
	struct cvq_admin_enrol_ans *a;
	struct cvq_ca_card k;          /* the request's card, for an op that names one (run) */
	uint8_t guid[CVQ_CARD_GUID_LEN]; /* its GUID as bytes, for the master secret's ops */
	uint8_t *owned;                /* what a->der or a->pem points to (freed after) */
	size_t owned_len;
	char *why;
	size_t why_len;
};

static cvq_ca_err say(struct op *o, cvq_ca_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* err with the reason in why[]: the answer the counter sees. */
static cvq_ca_err
say(struct op *o, cvq_ca_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->why, o->why_len, fmt, ap);
	va_end(ap);
	return err;
}

/* A libcvqca failure, with its message. */
static cvq_ca_err
ca_said(struct op *o, cvq_ca_err err)
{
	const char *m;

	if (err == CVQ_CA_OK)
		return CVQ_CA_OK;
	m = cvq_ca_errmsg(o->ca);
	return say(o, err, "%s", m && m[0] ? m : cvq_ca_strerror(err));
}

/* The card of the request, in the store (and so tied to a citizen). */
static cvq_ca_err
the_card(struct op *o, struct cvq_ca_card *k)
{
	cvq_ca_err err = cvq_ca_card_get(o->ca, o->r->guid, k);

	if (err == CVQ_CA_ERR_NOT_FOUND)
		return say(o, err, "card %s is not a card of this CA", o->r->guid);
	if (err != CVQ_CA_OK)
		return ca_said(o, err);
	if (!k->holder[0])
		return say(o, CVQ_CA_ERR_POLICY, "card %s has no holder", o->r->guid);
	return CVQ_CA_OK;
}

/* The citizen of the request, in the store. */
static cvq_ca_err
the_citizen(struct op *o, struct cvq_ca_citizen *c)
{
	cvq_ca_err err = cvq_ca_citizen_get(o->ca, o->r->ext_id, c);

	if (err == CVQ_CA_ERR_NOT_FOUND)
		return say(o, err, "no citizen %s", o->r->ext_id);
	return ca_said(o, err);
}

/* The card, for an op that releases a secret or signs for it: not found
 * is a refusal here (audited), not a plain answer. */
static cvq_ca_err
card_for_secret(struct op *o, struct cvq_ca_card *k)
{
	cvq_ca_err err = the_card(o, k);

	if (err == CVQ_CA_ERR_NOT_FOUND)
		return CVQ_CA_ERR_POLICY;
	if (err != CVQ_CA_OK)
		return err;
	if (k->status != CVQ_CA_CARD_ACTIVE && k->status != CVQ_CA_CARD_RETURNED)
		return say(o, CVQ_CA_ERR_POLICY, "card %s is %s: no %s for it", o->r->guid,
		           cvq_ca_card_status_name(k->status), cvq_admin_enrol_op_name(o->r->op));
	return CVQ_CA_OK;
}

static bool
reported(int status)
{
	return status == CVQ_CA_CARD_LOST || status == CVQ_CA_CARD_STOLEN ||
	       status == CVQ_CA_CARD_DESTROYED;
}

static void
record(struct op *o, const char *action, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An audit entry of this op (under the caller's name). */
static void
record(struct op *o, const char *action, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	cvq_ca_audit_record(o->ca, action, o->r->guid[0] ? o->r->guid : o->r->ext_id, detail);
}

static bool
agent_own_action(const char *action)
{
	static const char *const own[] = {
		"enrol.mgmt-key", "enrol.puk-open", "enrol.chuid-sign", "enrol.secobj-sign",
	};
	size_t i;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(action, own[i]) == 0)
			return true;
	return false;
}

static cvq_ca_err
op_audit(struct op *o)
{
	const struct cvq_admin_enrol_req *r = o->r;
	struct cvq_ca_card k;
	char detail[256];
	cvq_ca_err err;

	/* What the agent records of itself (its releases of a secret or a
	 * signature, its refusals) must be its word alone: a counter's entry
	 * named like one would read, in the chained log, as a release that
	 * never happened. */
	if (agent_own_action(r->action))
		return say(o, CVQ_CA_ERR_POLICY, "audit: %s is written by the agent only", r->action);
	err = the_card(o, &k);
	/*
	 * The two steps before the card is recorded name a GUID the store
	 * does not know yet: only those, so the rest of the log speaks of
	 * cards of the CA only.
	 */
	if (err == CVQ_CA_ERR_NOT_FOUND &&
	    (strcmp(r->action, "enrol.start") == 0 || strcmp(r->action, "enrol.abandoned") == 0))
		err = CVQ_CA_OK;
	else if (err == CVQ_CA_ERR_NOT_FOUND)
		err = CVQ_CA_ERR_POLICY;
	if (err != CVQ_CA_OK)
		return err;
	snprintf(detail, sizeof(detail), "%.230s via=agent", r->detail);
	err = cvq_ca_audit_record(o->ca, r->action, r->guid, detail);
	return ca_said(o, err);
}

static cvq_ca_err
op_citizen_get(struct op *o)
{
	struct cvq_ca_citizen c;
	cvq_ca_err err = the_citizen(o, &c);

	if (err != CVQ_CA_OK)
		return err;
	snprintf(o->a->citizen.ext_id, sizeof(o->a->citizen.ext_id), "%s", c.ext_id);
	snprintf(o->a->citizen.given_name, sizeof(o->a->citizen.given_name), "%s", c.given_name);
	snprintf(o->a->citizen.family_name, sizeof(o->a->citizen.family_name), "%s",
	         c.family_name);
	return CVQ_CA_OK;
}

static void
card_out(const struct cvq_ca_card *k, struct cvq_enrol_card_rec *c)
{
	memset(c, 0, sizeof(*c));
	/* Lower-case, as libcvqenrol's records have it (the store's are upper). */
	for (size_t i = 0; k->guid[i] && i < sizeof(c->guid) - 1; i++)
		c->guid[i] = (char)tolower((unsigned char)k->guid[i]);
	snprintf(c->holder, sizeof(c->holder), "%s", k->holder);
	c->status = (int)k->status;
	c->expires = k->expires;
	c->created = k->created;
}

static cvq_ca_err
op_card_get(struct op *o)
{
	card_out(&o->k, &o->a->cards[0]);
	o->a->n_cards = 1;
	return CVQ_CA_OK;
}

static cvq_ca_err
op_card_add(struct op *o)
{
	struct cvq_ca_citizen c;
	int64_t now = (int64_t)time(NULL);
	cvq_ca_err err;

	err = the_citizen(o, &c);
	if (err != CVQ_CA_OK)
		return err;
	if (o->r->expires <= now || o->r->expires > now + (int64_t)36500 * 86400)
		return say(o, CVQ_CA_ERR_POLICY, "a card's expiry must be in the next 100 years");
	err = cvq_ca_card_add(o->ca, o->r->guid, o->r->ext_id, o->r->expires, NULL);
	return ca_said(o, err);
}

/* A reported card stays so at the counter (reactivated, it would get
 * its management key again): only an officer takes it to status to. */
static cvq_ca_err
leave_reported(struct op *o, int to)
{
	if (reported(o->k.status) && (int)o->k.status != to &&
	    !(cvq_ca_caller_roles(o->ca) & ROLE(CVQ_CA_ROLE_OFFICER)))
		return say(o, CVQ_CA_ERR_POLICY, "card %s is %s: only a CA officer may change that",
		           o->r->guid, cvq_ca_card_status_name(o->k.status));
	return CVQ_CA_OK;
}

static cvq_ca_err
op_card_set_status(struct op *o)
{
	cvq_ca_err err = leave_reported(o, o->r->status);

	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_card_set_status(o->ca, o->r->guid, (enum cvq_ca_card_status)o->r->status);
	return ca_said(o, err);
}

static int
list_card_cb(void *ctx, const struct cvq_ca_card *k)
{
	struct cvq_admin_enrol_ans *a = ctx;

	if (a->n_cards == CVQ_ADMIN_ENROL_MAX_CARDS)
		return 1;
	card_out(k, &a->cards[a->n_cards++]);
	return 0;
}

static cvq_ca_err
op_card_list(struct op *o)
{
	struct cvq_ca_citizen c;
	cvq_ca_err err = the_citizen(o, &c);

	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_card_list(o->ca, o->r->ext_id, list_card_cb, o->a);
	if (err != CVQ_CA_OK)
		return ca_said(o, err);
	if (o->a->n_cards == CVQ_ADMIN_ENROL_MAX_CARDS)
		return say(o, CVQ_CA_ERR_POLICY, "citizen %s has more cards than the link carries "
		           "(%d): ask the CA officer", o->r->ext_id, CVQ_ADMIN_ENROL_MAX_CARDS);
	return CVQ_CA_OK;
}

static int
list_cert_cb(void *ctx, const struct cvq_ca_cert_info *ci)
{
	struct cvq_admin_enrol_ans *a = ctx;
	struct cvq_enrol_cert_rec *c;

	if (a->n_certs == CVQ_ADMIN_ENROL_MAX_CERTS)
		return 1;
	c = &a->certs[a->n_certs++];
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", ci->serial);
	snprintf(c->profile, sizeof(c->profile), "%s", cvq_ca_profile_name(ci->profile));
	c->good = ci->status == CVQ_CA_CERT_GOOD && ci->not_after > (int64_t)time(NULL);
	c->not_after = ci->not_after;
	c->revoked = ci->status == CVQ_CA_CERT_REVOKED;
	if (c->revoked) /* "none" without a reason, as the in-process issuer says */
		snprintf(c->reason, sizeof(c->reason), "%s", cvq_ca_reason_name(ci->reason));
	return 0;
}

/* The card's certificates into the answer, all of them or a refusal. */
static cvq_ca_err
op_cert_list(struct op *o)
{
	cvq_ca_err err = cvq_ca_cert_list(o->ca, o->k.guid, list_cert_cb, o->a);

	if (err != CVQ_CA_OK)
		return ca_said(o, err);
	if (o->a->n_certs == CVQ_ADMIN_ENROL_MAX_CERTS)
		return say(o, CVQ_CA_ERR_POLICY, "card %s has more certificates than the link "
		           "carries (%d): ask the CA officer", o->k.guid, CVQ_ADMIN_ENROL_MAX_CERTS);
	return CVQ_CA_OK;
}

static cvq_ca_err
op_revoke_card(struct op *o)
{
	const struct cvq_ca_card *k = &o->k;
	cvq_ca_err err = CVQ_CA_OK;

	/* Revoking more is always allowed; taking a reported card out of
	 * its state is card_set_status's rule. */
	if (o->r->status != CVQ_ENROL_CARD__COUNT && !reported(o->r->status))
		err = leave_reported(o, o->r->status);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_revoke_card(o->ca, k->guid, o->r->reason, o->r->since,
	                         (enum cvq_ca_card_status)o->r->status, &o->a->count);
	return ca_said(o, err);
}

static cvq_ca_err
op_revoke_strays(struct op *o)
{
	size_t i, j;
	cvq_ca_err err = op_cert_list(o);

	if (err != CVQ_CA_OK)
		return err;
	for (i = 0; i < o->a->n_certs; i++) {
		const struct cvq_enrol_cert_rec *c = &o->a->certs[i];
		bool kept = false;

		for (j = 0; j < o->r->n_keep && !kept; j++)
			kept = strcasecmp(c->serial, o->r->keep[j]) == 0;
		if (kept || !c->good)
			continue;
		err = cvq_ca_revoke_serial(o->ca, c->serial, CVQ_CA_REASON_SUPERSEDED, 0);
		if (err != CVQ_CA_OK)
			return ca_said(o, err);
		o->a->count++;
	}
	o->a->n_certs = 0; /* the answer is the count */
	return CVQ_CA_OK;
}

static cvq_ca_err
op_crl_issue(struct op *o)
{
	X509_CRL *crl = NULL;
	BIO *b = NULL;
	uint64_t number = 0;
	char *p;
	long n;
	cvq_ca_err err;

	err = cvq_ca_crl_issue(o->ca, &crl, &number);
	if (err != CVQ_CA_OK)
		return ca_said(o, err);
	b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_X509_CRL(b, crl) != 1 || (n = BIO_get_mem_data(b, &p)) <= 0) {
		err = say(o, CVQ_CA_ERR_CRYPTO, "cannot encode the CRL");
		goto out;
	}
	/* A CRL too long for one answer is still issued: the officer
	 * publishes it from the CA. */
	if ((size_t)n > CVQ_CA_AGENT_MAX_MSG - 64) {
		err = say(o, CVQ_CA_ERR_IO, "CRL %llu issued but too long for the link: publish it "
		          "from the CA", (unsigned long long)number);
		goto out;
	}
	o->owned = malloc((size_t)n);
	if (!o->owned) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	memcpy(o->owned, p, (size_t)n);
	o->owned_len = (size_t)n;
	o->a->pem = o->owned;
	o->a->pem_len = (size_t)n;
	o->a->number = (int64_t)number;
out:
	BIO_free(b);
	X509_CRL_free(crl);
	return err;
}

/* What ca-agent start did not load (an op that needs it is refused). */
static cvq_ca_err
not_loaded(struct op *o, const char *what, const char *options)
{
	return say(o, CVQ_CA_ERR_CONFIG, "the agent holds no %s: the CA officer starts it with %s",
	           what, options);
}

/* The card for an op of the master secret, and its GUID as bytes. */
static cvq_ca_err
card_for_master(struct op *o, struct cvq_ca_card *k, uint8_t guid[CVQ_CARD_GUID_LEN])
{
	cvq_ca_err err = card_for_secret(o, k);

	if (err != CVQ_CA_OK)
		return err;
	if (!o->s->master_len)
		return not_loaded(o, "master secret", "--master-key-file");
	if (!cvq_enrol_guid_parse(k->guid, guid))
		return say(o, CVQ_CA_ERR_STORE, "card %s: not a GUID in the store", k->guid);
	return CVQ_CA_OK;
}

static cvq_ca_err
op_mgmt_key(struct op *o)
{
	if (cvq_card_mgmt_key_derive(o->s->master, o->s->master_len, o->guid,
	                             (cvq_card_alg)o->r->alg, o->a->key) != CVQ_CARD_OK)
		return say(o, CVQ_CA_ERR_CRYPTO, "cannot derive the management key");
	o->a->key_len = cvq_card_mgmt_key_len((cvq_card_alg)o->r->alg);
	record(o, "enrol.mgmt-key", "alg=%d status=%s via=agent", o->r->alg,
	       cvq_ca_card_status_name(o->k.status));
	return CVQ_CA_OK;
}

static cvq_ca_err
op_puk_seal(struct op *o)
{
	if (cvq_enrol_puk_seal(o->s->master, o->s->master_len, o->guid, o->r->puk, o->a->blob) !=
	    CVQ_ENROL_OK)
		return say(o, CVQ_CA_ERR_CRYPTO, "cannot seal the PUK");
	return CVQ_CA_OK;
}

static cvq_ca_err
op_puk_open(struct op *o)
{
	const struct cvq_ca_card *k = &o->k;

	if (cvq_enrol_puk_open(o->s->master, o->s->master_len, o->guid, o->r->blob, o->r->blob_len,
	                       o->a->puk) != CVQ_ENROL_OK) {
		/* Sealed for another card, or by another master secret. */
		return say(o, CVQ_CA_ERR_POLICY, "the sealed PUK does not open for card %s", k->guid);
	}
	record(o, "enrol.puk-open", "status=%s via=agent", cvq_ca_card_status_name(k->status));
	return CVQ_CA_OK;
}

/*
 * The CHUID parses, carries the GUID of the card asked for, and expires
 * no later than the card does in the store (UTC date, as the enrolment
 * writes it): a signed CHUID must not outlive the card's record.
 */
static cvq_ca_err
chuid_is_the_cards(struct op *o, const struct cvq_ca_card *k, const uint8_t *chuid, size_t len)
{
	uint8_t want[CVQ_CARD_GUID_LEN];
	time_t t = (time_t)k->expires;
	char last[16] = "";
	cvq_card_chuid c;
	struct tm tm;

	if (cvq_card_chuid_parse(chuid, len, &c) != CVQ_CARD_OK)
		return say(o, CVQ_CA_ERR_POLICY, "not a CHUID");
	if (!cvq_enrol_guid_parse(o->r->guid, want) ||
	    CRYPTO_memcmp(c.guid, want, sizeof(want)) != 0)
		return say(o, CVQ_CA_ERR_POLICY, "the CHUID is not card %s's", o->r->guid);
	if (gmtime_r(&t, &tm))
		strftime(last, sizeof(last), "%Y%m%d", &tm);
	if (strlen(c.expiry) != 8 || !last[0] || strcmp(c.expiry, last) > 0)
		return say(o, CVQ_CA_ERR_POLICY, "the CHUID's expiry (%s) is not within the card's "
		           "(%s)", c.expiry[0] ? c.expiry : "none", last);
	return CVQ_CA_OK;
}

/* The content signer's signature of the request's CHUID, or of its
 * Security Object (secobj), as the answer; audited. */
static cvq_ca_err
content_signed(struct op *o, bool secobj)
{
	const struct cvq_admin_enrol_req *r = o->r;
	cvq_card_err cerr;

	if (!o->s->cs_key)
		return not_loaded(o, "PIV content signer",
		                  "--content-signer and --content-signer-cert");
	cerr = secobj ? cvq_piv_secobj_build(r->items, r->n_items, o->s->cs_cert, o->s->cs_key,
	                                     &o->owned, &o->owned_len)
	              : cvq_piv_chuid_sign(r->chuid, r->chuid_len, o->s->cs_cert, o->s->cs_key,
	                                   &o->owned, &o->owned_len);
	if (cerr != CVQ_CARD_OK)
		return say(o, CVQ_CA_ERR_CRYPTO, "%s",
		           secobj ? "cannot build the Security Object" : "cannot sign the CHUID");
	o->a->der = o->owned;
	o->a->der_len = o->owned_len;
	if (secobj)
		record(o, "enrol.secobj-sign", "objects=%zu via=agent", r->n_items);
	else
		record(o, "enrol.chuid-sign", "bytes=%zu via=agent", o->owned_len);
	return CVQ_CA_OK;
}

static cvq_ca_err
op_chuid_sign(struct op *o)
{
	cvq_ca_err err = chuid_is_the_cards(o, &o->k, o->r->chuid, o->r->chuid_len);

	return err != CVQ_CA_OK ? err : content_signed(o, false);
}

static cvq_ca_err
op_secobj_build(struct op *o)
{
	const struct cvq_admin_enrol_req *r = o->r;
	size_t i, chuids = 0;
	cvq_ca_err err;

	/* The object covers the card's own CHUID: it cannot vouch for
	 * another card's objects. */
	for (i = 0; i < r->n_items; i++) {
		if (r->items[i].tag != CVQ_CARD_OBJ_CHUID)
			continue;
		chuids++;
		err = chuid_is_the_cards(o, &o->k, r->items[i].data, r->items[i].len);
		if (err != CVQ_CA_OK)
			return err;
	}
	if (chuids != 1)
		return say(o, CVQ_CA_ERR_POLICY, "a Security Object covers the card's CHUID, once");
	return content_signed(o, true);
}

static void
roles_text(unsigned roles, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int r = 0; r < CVQ_CA_ROLE__COUNT; r++)
		if (roles & ROLE(r))
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
			                      cvq_ca_role_name((enum cvq_ca_role)r));
	if (!out[0])
		snprintf(out, cap, "none");
}

/* A refusal in the audit log, as the agent records its own. */
static void
audit_refusal(struct op *o)
{
	char roles[64];

	roles_text(cvq_ca_caller_roles(o->ca), roles, sizeof(roles));
	record(o, "agent.refuse", "refused: %s: %.150s (roles: %s) via=agent",
	       cvq_admin_enrol_op_name(o->r->op), o->why, roles);
}

static cvq_ca_err
run(struct op *o)
{
	/* Each op and the card it needs looked up first (into o->k): none
	 * (it finds its own, or none), the store's, the store's for a secret
	 * (active or returned; unknown is a refusal), that and the master
	 * secret (o->guid). */
	enum { NONE, CARD, SECRET, MASTER };
	static const struct {
		cvq_ca_err (*fn)(struct op *);
		int card;
	} ops[] = {
		{op_audit, NONE}, {op_citizen_get, NONE}, {op_card_get, CARD},
		{op_card_add, NONE}, {op_card_set_status, CARD}, {op_card_list, NONE},
		{op_cert_list, CARD}, {op_revoke_card, CARD}, {op_revoke_strays, CARD},
		{op_crl_issue, NONE}, {op_mgmt_key, MASTER}, {op_puk_seal, MASTER},
		{op_puk_open, MASTER}, {op_chuid_sign, SECRET}, {op_secobj_build, SECRET},
	};
	unsigned roles = cvq_ca_caller_roles(o->ca);
	int i = o->r->op - CVQ_ADMIN_ENROL_AUDIT;
	cvq_ca_err err = CVQ_CA_OK;

	/* The agent admitted a peer with some role; enrolment is the
	 * counter operator's and the officer's, not an auditor's or a
	 * service's. */
	if (!(roles & (ROLE(CVQ_CA_ROLE_OPERATOR) | ROLE(CVQ_CA_ROLE_OFFICER))))
		return say(o, CVQ_CA_ERR_DENIED, "%s: only a counter operator or a CA officer may",
		           cvq_admin_enrol_op_name(o->r->op));
	if (ops[i].card == CARD)
		err = the_card(o, &o->k);
	else if (ops[i].card == SECRET)
		err = card_for_secret(o, &o->k);
	else if (ops[i].card == MASTER)
		err = card_for_master(o, &o->k, o->guid);
	return err != CVQ_CA_OK ? err : ops[i].fn(o);
}

cvq_ca_err
cvq_admin_enrol_svc_ext(void *ctx, cvq_ca *ca, const uint8_t *body, size_t len,
                        uint8_t **payload, size_t *payload_len, char *why, size_t why_len)
{
	struct cvq_admin_enrol_req *r = malloc(sizeof(*r));
	struct cvq_admin_enrol_ans *a = calloc(1, sizeof(*a));
	struct op o = {.s = ctx, .ca = ca, .r = r, .a = a, .why = why, .why_len = why_len};
	cvq_ca_err err;

	*payload = NULL;
	*payload_len = 0;
	why[0] = '\0';
	if (!r || !a) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	if (cvq_admin_enrol_req_parse(body, len, r) != CVQ_CA_OK) {
		err = say(&o, CVQ_CA_ERR_REQUEST, "malformed enrolment request");
		goto out;
	}
	a->op = r->op;
	err = run(&o);
	if (err == CVQ_CA_ERR_DENIED || err == CVQ_CA_ERR_POLICY)
		audit_refusal(&o);
	if (err == CVQ_CA_OK) {
		err = cvq_admin_enrol_ans_encode(a, payload, payload_len);
		if (err != CVQ_CA_OK)
			say(&o, err, "the answer does not fit the link");
	}
out:
	if (o.owned) {
		OPENSSL_cleanse(o.owned, o.owned_len);
		free(o.owned);
	}
	if (r) {
		OPENSSL_cleanse(r, sizeof(*r)); /* a PUK */
		free(r);
	}
	if (a) {
		OPENSSL_cleanse(a, sizeof(*a)); /* a key, a PUK */
		free(a);
	}
	return err;
}
