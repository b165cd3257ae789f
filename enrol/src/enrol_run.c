/*
 * libcvqenrol — the enrolment: turn a blank PIV card into a citizen's
 * card (moved from cvq-admin's enrol.c for issue #13).
 *
 * A state machine whose every step is recorded in the enrolment journal
 * (enrol_store.c) once it is done, and written so that doing it again is
 * harmless. A kill -9 or a pulled card at any point leaves a journal row
 * in state "enrolling"; `card enrol` on the same card reads the GUID from
 * its CHUID, finds the row and carries on from the last recorded step. A
 * failure that retrying cannot cure marks the row "failed" and revokes
 * every certificate the card got; enrol on that card then starts over
 * with a new GUID. docs/enrolment.md lists the steps and their recovery.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cvq/piv_authentic.h>
#include <cvq/profile.h>

#include "enrol_int.h"

#define FACTORY_PIN ENROL_FACTORY_PIN
#define FACTORY_PUK ENROL_FACTORY_PUK

struct run {
	const struct cvq_enrol_env *env;
	struct enrol_sess s;
	const struct cvq_enrol_run_opts *req;
	char *why;                 /* the caller's: what stopped the run */
	size_t why_len;
	struct cvq_enrol_result *res;
	struct cvq_enrol_rec rec;
	struct cvq_enrol_citizen cit;
	uint8_t guid[CVQ_CARD_GUID_LEN];
	int64_t expires;
	bool already;              /* the card was enrolled before this run */
	bool resumed;
	char letter[PATH_MAX];
	char serial[3][67];
};

/* Say why the run stops (into the caller's why[]) and return err. */
__attribute__((format(printf, 3, 4))) static cvq_enrol_err
fail(struct run *r, cvq_enrol_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->why, r->why_len, fmt, ap);
	va_end(ap);
	return err;
}

static cvq_enrol_err
advance(struct run *r, int step, const char *detail)
{
	char action[48];

	r->rec.step = step;
	snprintf(action, sizeof(action), "enrol.%s", cvq_enrol_step_name(step));
	if (cvq_enrol_store_put(r->env->st, &r->rec) != CVQ_ENROL_OK ||
	    enrol_log(&r->s, r->rec.guid, action, detail) != CVQ_ENROL_OK) {
		return fail(r, CVQ_ENROL_ERR_STORE, "enrolment journal: cannot record step '%s'",
		            cvq_enrol_step_name(step));
	}
	return CVQ_ENROL_OK;
}

/* compact: YYYYMMDD (CHUID), else YYYY-MM-DD */
static void
date_of(int64_t t, bool compact, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&tt, &tm))
		strftime(out, cap, compact ? "%Y%m%d" : "%Y-%m-%d", &tm);
}

/* Printed information wants YYYYMMMDD with the month in capitals (2031NOV28). */
static void
printed_expiry(int64_t t, char out[10])
{
	static const char *const mon[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	                                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&tt, &tm))
		snprintf(out, 10, "%04d%s%02d", (tm.tm_year + 1900) % 10000, mon[tm.tm_mon % 12],
		         tm.tm_mday % 100);
}

/* Earlier enrolments of this citizen that stopped before the card got its
 * GUID can never be resumed (the card does not name them): close them. */
static int
sweep_cb(void *ctx, const struct cvq_enrol_rec *rec)
{
	struct run *r = ctx;
	struct cvq_enrol_rec old = *rec;

	if (strcmp(old.guid, r->rec.guid) == 0)
		return 0;
	if (old.step >= CVQ_ENROL_STEP_CHUID) {
		/* That card knows its GUID: it can still be finished. */
		enrol_say(&r->s, old.guid, "note: citizen %s has an unfinished enrolment on card %s "
		          "(after step '%s'): put that card in and run 'card enrol' to finish it, or "
		          "'card destroyed %s'", old.holder, old.guid, cvq_enrol_step_name(old.step),
		          old.guid);
		OPENSSL_cleanse(&old, sizeof(old));
		return 0;
	}
	snprintf(old.state, sizeof(old.state), "failed");
	snprintf(old.error, sizeof(old.error), "abandoned before the card got its GUID");
	cvq_enrol_store_put(r->env->st, &old);
	if (enrol_log(&r->s, old.guid, "enrol.abandoned", "") != CVQ_ENROL_OK) {
		/* Said, and the sweep stops; the new enrolment's own record
		 * (enrol.start) then fails the command if the store is broken. */
		enrol_say(&r->s, old.guid, "cannot record the abandoned enrolment of card %s in the "
		          "journal and audit log", old.guid);
		OPENSSL_cleanse(&old, sizeof(old));
		return 1;
	}
	if (r->s.ops->card_set_status)
		(void)r->s.ops->card_set_status(r->s.ictx, old.guid,
		                                        CVQ_ENROL_CARD_RETURNED, NULL, 0);
	OPENSSL_cleanse(&old, sizeof(old));
	return 0;
}

static cvq_enrol_err
start_new(struct run *r, const char *prev)
{
	char detail[160];

	cvq_enrol_store_list(r->env->st, r->req->citizen, "enrolling", sweep_cb, r);
	if (RAND_bytes(r->guid, sizeof(r->guid)) != 1) {
		return fail(r, CVQ_ENROL_ERR_CRYPTO, "no random numbers for the GUID");
	}
	memset(&r->rec, 0, sizeof(r->rec));
	cvq_card_guid_hex(r->guid, r->rec.guid);
	snprintf(r->rec.holder, sizeof(r->rec.holder), "%s", r->req->citizen);
	snprintf(r->rec.state, sizeof(r->rec.state), "enrolling");
	snprintf(r->rec.prev_guid, sizeof(r->rec.prev_guid), "%s", prev ? prev : "");
	snprintf(r->rec.reader, sizeof(r->rec.reader), "%s", cvq_card_reader_name(r->env->card));
	r->rec.mgmt_alg = CVQ_CARD_MGMT_ALG_DEFAULT;
	r->rec.key_alg = r->req->key_alg ? r->req->key_alg : CVQ_CARD_ALG_ECCP256;
	r->rec.step = CVQ_ENROL_STEP_NONE;
	snprintf(detail, sizeof(detail), "citizen %s, reader %s%s%s", r->req->citizen,
	         r->rec.reader, prev && prev[0] ? ", restarts " : "", prev ? prev : "");
	if (cvq_enrol_store_put(r->env->st, &r->rec) ||
	    enrol_log(&r->s, r->rec.guid, "enrol.start", detail)) {
		return fail(r, CVQ_ENROL_ERR_STORE, "enrolment journal: cannot record the new "
		            "enrolment");
	}
	return CVQ_ENROL_OK;
}

/* Which enrolment does the card in the reader belong to? */
static cvq_enrol_err
identify(struct run *r)
{
	struct cvq_enrol_card_rec k;
	cvq_card_status cs;
	char hex[33], why[256] = "";
	cvq_card_err cerr;
	cvq_enrol_err err;

	cerr = cvq_enrol_card_status(r->env->card, &cs);
	if (cerr) {
		r->res->card_err = cerr;
		return fail(r, cvq_enrol_card_interrupted(cerr) ? CVQ_ENROL_ERR_INTERRUPTED
		                                                : CVQ_ENROL_ERR_CARD,
		            "reading the card: %s", cvq_card_strerror(cerr));
	}
	if (!cs.has_guid) {
		enrol_say(&r->s, NULL, "The card in \"%s\" is blank: new enrolment for %s %s (%s).",
		              cvq_card_reader_name(r->env->card), r->cit.given_name,
		              r->cit.family_name, r->cit.ext_id);
		return start_new(r, NULL);
	}
	cvq_card_guid_hex(cs.guid, hex);
	err = cvq_enrol_store_get(r->env->st, hex, &r->rec);
	if (err == CVQ_ENROL_ERR_NOT_FOUND) {
		err = enrol_card_get(&r->s, hex, &k, why, sizeof(why));
		if (err == CVQ_ENROL_OK)
			return fail(r, CVQ_ENROL_ERR_REFUSED, "card %s belongs to citizen %s but was not "
			            "enrolled here; report it (card lost|destroyed) or reset it first",
			            hex, k.holder);
		if (err != CVQ_ENROL_ERR_NOT_FOUND)
			return fail(r, err, "%s: %s", hex, why[0] ? why : cvq_enrol_strerror(err));
		enrol_say(&r->s, NULL, "The card in \"%s\" has an unknown identity (%s): new enrolment "
		              "for %s %s (%s).", cvq_card_reader_name(r->env->card), hex,
		              r->cit.given_name, r->cit.family_name, r->cit.ext_id);
		return start_new(r, NULL);
	}
	if (err)
		return fail(r, CVQ_ENROL_ERR_STORE, "enrolment journal: %s", cvq_enrol_strerror(err));
	if (strcmp(r->rec.state, "failed") == 0) {
		enrol_say(&r->s, NULL, "Card %s failed an earlier enrolment (%s): starting over with a "
		              "new identity.", hex, r->rec.error);
		return start_new(r, hex);
	}
	if (strcmp(r->rec.holder, r->req->citizen) != 0) {
		return fail(r, CVQ_ENROL_ERR_REFUSED, "card %s is %s for citizen %s, not %s", hex,
		            strcmp(r->rec.state, "active") == 0 ? "enrolled" : "being enrolled",
		            r->rec.holder, r->req->citizen);
	}
	memcpy(r->guid, cs.guid, sizeof(r->guid));
	if (strcmp(r->rec.state, "active") == 0) {
		r->already = true;
		enrol_say(&r->s, NULL, "Card %s is already enrolled for %s %s: nothing to do.", hex,
		              r->cit.given_name, r->cit.family_name);
		return CVQ_ENROL_OK;
	}
	r->resumed = true;
	enrol_say(&r->s, NULL, "Card %s: resuming the enrolment of %s %s after step '%s'.", hex,
	              r->cit.given_name, r->cit.family_name, cvq_enrol_step_name(r->rec.step));
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
step_record(struct run *r)
{
	const struct cvq_enrol_issuer_ops *ops = r->s.ops;
	struct cvq_enrol_card_rec k;
	char d[32], why[256] = "";
	cvq_enrol_err err;

	err = enrol_card_get(&r->s, r->rec.guid, &k, why, sizeof(why));
	if (err == CVQ_ENROL_ERR_NOT_FOUND && !ops->card_add) {
		snprintf(why, sizeof(why), "the %s issuer cannot record cards", ops->name);
		err = CVQ_ENROL_ERR_ISSUER;
	}
	if (err == CVQ_ENROL_ERR_NOT_FOUND) {
		r->expires = (int64_t)time(NULL) + (int64_t)r->req->days * 86400;
		why[0] = '\0';
		err = ops->card_add(r->s.ictx, r->rec.guid, r->rec.holder, r->expires, why,
		                    sizeof(why));
	} else if (err == CVQ_ENROL_OK && k.status != CVQ_ENROL_CARD_ACTIVE) {
		return fail(r, CVQ_ENROL_ERR_REFUSED, "card %s is %s in the CA", r->rec.guid,
		            cvq_enrol_card_status_name(k.status));
	}
	if (err)
		return fail(r, err, "recording the card: %s", why[0] ? why : cvq_enrol_strerror(err));
	date_of(r->expires, false, d, sizeof(d));
	enrol_say_step(&r->s, 1, r->rec.guid, "  1/11 card %s recorded for citizen %s, valid until %s", r->rec.guid,
	              r->rec.holder, d);
	return advance(r, CVQ_ENROL_STEP_RECORDED, d);
}

static cvq_card_err
auth(struct run *r, int *which)
{
	return enrol_mgmt_auth(&r->s, r->rec.guid, r->rec.prev_guid, r->rec.mgmt_alg, which);
}

static cvq_card_err
step_chuid(struct run *r)
{
	uint8_t buf[128];
	char exp[9];
	size_t len;
	int which;
	cvq_card_err err;

	date_of(r->expires, true, exp, sizeof(exp));
	err = auth(r, &which);
	if (!err)
		err = cvq_card_chuid_build(r->guid, exp, buf, sizeof(buf), &len);
	if (!err)
		err = cvq_card_write_object(r->env->card, CVQ_CARD_OBJ_CHUID, buf, len);
	return err;
}

static cvq_card_err
step_mgmt(struct run *r)
{
	const uint8_t *key;
	size_t klen;
	int which = -1;
	cvq_card_err err;

	err = auth(r, &which);
	if (err || which == 0)
		return err;
	/* auth() fetched the card's key from the issuer: it is cached. */
	if (enrol_mgmt_key(&r->s, r->rec.guid, r->rec.mgmt_alg, &key, &klen))
		return CVQ_CARD_ERR_INTERNAL;
	err = cvq_card_mgmt_set_key(r->env->card, (cvq_card_alg)r->rec.mgmt_alg, key, klen);
	/* Prove the card took it before the journal says so. */
	if (!err)
		err = cvq_card_mgmt_auth(r->env->card, (cvq_card_alg)r->rec.mgmt_alg, key, klen);
	return err;
}

struct slot_find {
	const char *serial, *profile;
	bool done;
};

static int
slot_find_cb(void *ctx, const struct cvq_enrol_cert_rec *c)
{
	struct slot_find *f = ctx;

	if (strcmp(c->serial, f->serial) == 0)
		f->done = c->good && strcmp(c->profile, f->profile) == 0;
	return 0;
}

/* A certificate already on the card from an interrupted run, good in the
 * CA for this card and this slot's profile? */
static bool
slot_done(struct run *r, cvq_card_slot slot, char serial[67])
{
	struct slot_find f = {.serial = serial,
	                      .profile = slot == CVQ_CARD_SLOT_SIGN       ? "citizen-sign"
	                                 : slot == CVQ_CARD_SLOT_CARDAUTH ? "card-auth"
	                                                                  : "citizen-auth"};
	X509 *x = NULL;

	if (!r->s.ops->cert_list || cvq_card_read_cert(r->env->card, slot, &x) != CVQ_CARD_OK)
		return false;
	if (cvq_enrol_serial_hex(X509_get0_serialNumber(x), serial) &&
	    r->s.ops->cert_list(r->s.ictx, r->rec.guid, slot_find_cb, &f, NULL, 0) !=
	            CVQ_ENROL_OK)
		f.done = false;
	X509_free(x);
	return f.done;
}

static cvq_card_err
step_slot(struct run *r, cvq_card_slot slot, char serial[67])
{
	int which;
	cvq_card_err err;

	if (slot_done(r, slot, serial))
		return CVQ_CARD_OK;
	err = auth(r, &which);
	if (!err)
		/* 9E needs no PIN (its PIN policy is "never"). */
		err = enrol_certify_slot(&r->s, r->rec.guid, (int)slot, r->rec.key_alg,
		                         slot == CVQ_CARD_SLOT_CARDAUTH ? NULL : FACTORY_PIN, serial);
	return err;
}

/* The same bytes every time for a card: the Security Object step
 * rebuilds them instead of reading them back (reading needs the PIN). */
static cvq_card_err
printed_value(struct run *r, uint8_t *buf, size_t cap, size_t *len)
{
	cvq_card_printed p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%.62s %.62s", r->cit.given_name, r->cit.family_name);
	snprintf(p.affiliation, sizeof(p.affiliation), "Citoyen");
	printed_expiry(r->expires, p.expiry);
	snprintf(p.serial, sizeof(p.serial), "%.10s", r->rec.guid);
	snprintf(p.issuer, sizeof(p.issuer), "Infoville");
	return cvq_card_printed_build(&p, buf, cap, len);
}

static cvq_card_err
step_objects(struct run *r, bool *has_discovery)
{
	cvq_card_discovery d;
	uint8_t buf[256];
	size_t len;
	int which;
	cvq_card_err err;

	err = auth(r, &which);
	if (!err)
		err = printed_value(r, buf, sizeof(buf), &len);
	if (!err)
		err = cvq_card_write_object(r->env->card, CVQ_CARD_OBJ_PRINTED, buf, len);
	if (!err)
		err = cvq_piv_ccc_build(r->guid, buf, sizeof(buf), &len);
	if (!err)
		err = cvq_card_write_object(r->env->card, CVQ_CARD_OBJ_CCC, buf, len);
	/* Discovery is written by the card maker (PUT DATA cannot reach it);
	 * we only check it is there, as OpenSC relies on it. */
	*has_discovery = false;
	if (!err) {
		err = cvq_card_read_discovery(r->env->card, &d);
		*has_discovery = err == CVQ_CARD_OK;
		if (err == CVQ_CARD_ERR_NOT_FOUND || err == CVQ_CARD_ERR_TLV ||
		    err == CVQ_CARD_ERR_BAD_DATA)
			err = CVQ_CARD_OK;
	}
	return err;
}

/*
 * The issuer's signatures (issue #17): the CHUID again, now with its
 * signature (same GUID, FASC-N and expiry as step 2), then the Security
 * Object over the CHUID, CCC, printed information and 9E certificate.
 * The 9A/9C certificates are left out: the CA signs them already, and a
 * renewal at the counter replaces them without re-signing the card.
 */
static cvq_card_err
step_signed(struct run *r)
{
	const struct cvq_enrol_issuer_ops *ops = r->s.ops;
	uint8_t chuid[128], ccc[64], printed[256], *signed_chuid = NULL, *so = NULL,
	        *cardauth = NULL;
	size_t chuid_len, ccc_len, printed_len, signed_len = 0, so_len = 0, ca_len = 0;
	cvq_piv_secobj_item items[4];
	char exp[9];
	int which;
	cvq_card_err err;

	if (!ops->chuid_sign || !ops->secobj_build) {
		r->s.ierr = CVQ_ENROL_ERR_ISSUER;
		snprintf(r->s.why, sizeof(r->s.why),
		         "the %s issuer signs no card content", ops->name);
		return CVQ_CARD_ERR_INTERNAL;
	}
	date_of(r->expires, true, exp, sizeof(exp));
	err = auth(r, &which);
	if (!err)
		err = cvq_card_chuid_build(r->guid, exp, chuid, sizeof(chuid), &chuid_len);
	if (!err) {
		r->s.ierr = ops->chuid_sign(r->s.ictx, r->rec.guid, chuid, chuid_len,
		                          &signed_chuid, &signed_len, r->s.why,
		                          sizeof(r->s.why));
		if (r->s.ierr)
			err = CVQ_CARD_ERR_INTERNAL;
	}
	if (!err)
		err = cvq_piv_ccc_build(r->guid, ccc, sizeof(ccc), &ccc_len);
	if (!err)
		err = printed_value(r, printed, sizeof(printed), &printed_len);
	if (!err)
		err = cvq_card_read_object(r->env->card, CVQ_CARD_OBJ_CARDAUTH, &cardauth, &ca_len);
	if (err)
		goto out;
	items[0] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CHUID, signed_chuid, signed_len};
	items[1] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CCC, ccc, ccc_len};
	items[2] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_PRINTED, printed, printed_len};
	items[3] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CARDAUTH, cardauth, ca_len};
	r->s.ierr = ops->secobj_build(r->s.ictx, r->rec.guid, items, 4, &so, &so_len,
	                            r->s.why, sizeof(r->s.why));
	if (r->s.ierr)
		err = CVQ_CARD_ERR_INTERNAL;
	if (!err)
		err = cvq_card_write_object(r->env->card, CVQ_CARD_OBJ_CHUID, signed_chuid, signed_len);
	if (!err)
		err = cvq_card_write_object(r->env->card, CVQ_CARD_OBJ_SECOBJ, so, so_len);
out:
	free(signed_chuid);
	free(so);
	free(cardauth);
	return err;
}

static cvq_card_err
step_puk(struct run *r, bool *store_failed)
{
	char puk[CVQ_ENROL_PUK_LEN + 1], prev_puk[CVQ_ENROL_PUK_LEN + 1] = "";
	struct cvq_enrol_rec prev;
	bool resumed = r->rec.has_puk_pending;
	cvq_card_err err = CVQ_CARD_ERR_INTERNAL;
	int tries;

	*store_failed = false;
	if (!r->rec.has_puk_pending) {
		/* Seal the new PUK in the journal before the card learns it: a
		 * kill between the two then still knows every PUK it may have. */
		if (cvq_enrol_random_digits(puk, CVQ_ENROL_PUK_LEN))
			goto out;
		r->s.ierr = r->s.ops->puk_seal
		                  ? r->s.ops->puk_seal(r->s.ictx, r->rec.guid, puk,
		                                               r->rec.puk_pending, r->s.why,
		                                               sizeof(r->s.why))
		                  : CVQ_ENROL_ERR_ISSUER;
		if (r->s.ierr)
			goto out;
		r->rec.has_puk_pending = true;
		if (cvq_enrol_store_put(r->env->st, &r->rec)) {
			*store_failed = true;
			goto out;
		}
	} else if (enrol_puk_open(&r->s, r->rec.guid, r->rec.puk_pending, puk)) {
		goto out;
	}
	if (resumed)
		err = cvq_card_pin_change(r->env->card, CVQ_CARD_PUK, puk, puk, &tries);
	if (!resumed || err == CVQ_CARD_ERR_PIN_WRONG)
		err = cvq_card_pin_change(r->env->card, CVQ_CARD_PUK, FACTORY_PUK, puk, &tries);
	if (err == CVQ_CARD_ERR_PIN_WRONG && r->rec.prev_guid[0] &&
	    cvq_enrol_store_get(r->env->st, r->rec.prev_guid, &prev) == CVQ_ENROL_OK && prev.has_puk) {
		/* A card re-enrolled after a failure still has the old PUK
		 * (only a candidate: if the issuer will not open it, the
		 * card's refusal stands). */
		if (enrol_puk_open(&r->s, prev.guid, prev.puk, prev_puk) == CVQ_ENROL_OK)
			err = cvq_card_pin_change(r->env->card, CVQ_CARD_PUK, prev_puk, puk, &tries);
		r->s.ierr = CVQ_ENROL_OK;
		OPENSSL_cleanse(&prev, sizeof(prev));
	}
	if (!err) {
		memcpy(r->rec.puk, r->rec.puk_pending, CVQ_ENROL_PUK_BLOB_LEN);
		r->rec.has_puk = true;
		r->rec.has_puk_pending = false;
	}
out:
	OPENSSL_cleanse(puk, sizeof(puk));
	OPENSSL_cleanse(prev_puk, sizeof(prev_puk));
	return err;
}

static int
letter_path(struct run *r)
{
	int n;

	if (!r->req->letter)
		return cvq_enrol_letter_default(r->letter, sizeof(r->letter), NULL, r->rec.holder)
		       ? 0 : -1;
	n = snprintf(r->letter, sizeof(r->letter), "%s", r->req->letter);
	return n > 0 && (size_t)n < sizeof(r->letter) ? 0 : -1;
}

/* The PIN is set with the PUK (RESET RETRY COUNTER), so this step works
 * whatever the PIN was, and may be done again after an interruption. */
static cvq_card_err
step_pin(struct run *r, bool *letter_failed)
{
	char pin[CVQ_ENROL_PIN_MAX + 1], puk[CVQ_ENROL_PUK_LEN + 1];
	struct cvq_enrol_letter l = {.path = r->letter, .given_name = r->cit.given_name,
	                             .family_name = r->cit.family_name, .ext_id = r->cit.ext_id,
	                             .guid = r->rec.guid,
	                             .expires = r->expires};
	cvq_card_err err = CVQ_CARD_ERR_CRYPTO;
	int tries;

	*letter_failed = false;
	if (cvq_enrol_random_digits(pin, (size_t)r->req->pin_len))
		goto out;
	if (enrol_puk_open(&r->s, r->rec.guid, r->rec.puk, puk)) {
		err = CVQ_CARD_ERR_INTERNAL;
		goto out;
	}
	err = cvq_card_pin_unblock(r->env->card, puk, pin, &tries);
	if (err)
		goto out;
	l.pin = pin;
	if (cvq_enrol_letter_write(&l) != CVQ_ENROL_OK)
		*letter_failed = true;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(puk, sizeof(puk));
	return err;
}

/* A failure no retry will cure: mark the enrolment failed, revoke. */
static cvq_enrol_err
give_up(struct run *r, const char *reason, cvq_enrol_err cause)
{
	const struct cvq_enrol_issuer_ops *ops = r->s.ops;
	unsigned n = 0;
	cvq_enrol_err err;
	char why[200], rwhy[256] = "", note[320] = "";

	/* reason may be the issuer's buffer, which the revocation below
	 * overwrites: keep it. */
	snprintf(why, sizeof(why), "%s", reason);
	snprintf(r->rec.state, sizeof(r->rec.state), "failed");
	snprintf(r->rec.error, sizeof(r->rec.error), "step %s: %s",
	         cvq_enrol_step_name(r->rec.step + 1), why);
	cvq_enrol_store_put(r->env->st, &r->rec);
	if (enrol_log(&r->s, r->rec.guid, "enrol.failed", r->rec.error) != CVQ_ENROL_OK)
		snprintf(note, sizeof(note), " (not recorded in the journal and audit log)");
	/* RFC 5280 cessationOfOperation (5) */
	err = ops->revoke_card ? ops->revoke_card(r->s.ictx, r->rec.guid, 5, 0,
	                                          CVQ_ENROL_CARD_RETURNED, &n, rwhy, sizeof(rwhy))
	                       : CVQ_ENROL_ERR_ISSUER;
	if (err && err != CVQ_ENROL_ERR_NOT_FOUND)
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
		         " (revoking its certificates: %.200s)", rwhy[0] ? rwhy : cvq_enrol_strerror(err));
	r->res->cause = cause;
	return fail(r, CVQ_ENROL_ERR_FAILED, "enrolment of card %s failed at step '%s': %s; %u "
	            "certificate(s) revoked%s. 'card enrol' on this card starts over.", r->rec.guid,
	            cvq_enrol_step_name(r->rec.step + 1), why, n, note);
}

static cvq_enrol_err
card_step_failed(struct run *r, cvq_card_err err)
{
	/* The CA side said no (policy, attestation, the card's state): no
	 * retry will cure it. */
	if (r->s.ierr == CVQ_ENROL_ERR_REFUSED || r->s.ierr == CVQ_ENROL_ERR_NOT_FOUND)
		return give_up(r, r->s.why[0] ? r->s.why : cvq_enrol_strerror(r->s.ierr), r->s.ierr);
	/* It failed or did not answer (the agent stopped, locked when idle, a
	 * timeout, its store): nothing was refused, the journal stays
	 * 'enrolling' and the step is redone (a new key) when it is back. */
	if (r->s.ierr)
		return fail(r, r->s.ierr, "enrolment of card %s paused at step '%s': %s. Run 'card "
		            "enrol' again once the issuing service answers: it carries on.",
		            r->rec.guid, cvq_enrol_step_name(r->rec.step + 1),
		            r->s.why[0] ? r->s.why : cvq_enrol_strerror(r->s.ierr));
	/* A card pulled out in the middle of an APDU may surface as a garbled
	 * answer: ask PC/SC whether the card is still there before giving up. */
	if (!cvq_enrol_card_interrupted(err) && cvq_card_reconnect(r->env->card) != CVQ_CARD_OK)
		err = CVQ_CARD_ERR_CARD_REMOVED;
	r->res->card_err = err;
	if (cvq_enrol_card_interrupted(err))
		return fail(r, CVQ_ENROL_ERR_INTERRUPTED, "enrolment of card %s interrupted at step "
		            "'%s' (%s). Put the card back and run 'card enrol' again: it carries on.",
		            r->rec.guid, cvq_enrol_step_name(r->rec.step + 1), cvq_card_strerror(err));
	return give_up(r, cvq_card_strerror(err), CVQ_ENROL_ERR_CARD);
}

/* One step (next = the step to do). *rc gets an error that ends the run
 * at once (journal or letter trouble, why[] said); the card error is
 * returned. */
static cvq_card_err
do_step(struct run *r, int next, char *d, size_t dcap, cvq_enrol_err *rc)
{
	const struct cvq_enrol_issuer_ops *ops = r->s.ops;
	cvq_card_err err = CVQ_CARD_OK;
	bool flag = false;
	unsigned n;

	d[0] = '\0';
	r->s.ierr = CVQ_ENROL_OK;
	r->s.why[0] = '\0';
	switch (next) {
	case CVQ_ENROL_STEP_CHUID:
		err = step_chuid(r);
		if (!err)
			enrol_say_step(&r->s, 2, r->rec.guid, "  2/11 card identity (CHUID) written");
		break;
	case CVQ_ENROL_STEP_MGMT:
		err = step_mgmt(r);
		if (!err)
			enrol_say_step(&r->s, 3, r->rec.guid, "  3/11 factory management key replaced by the card's own key");
		break;
	case CVQ_ENROL_STEP_AUTH:
	case CVQ_ENROL_STEP_SIGN:
	case CVQ_ENROL_STEP_CARDAUTH: {
		cvq_card_slot slot = next == CVQ_ENROL_STEP_AUTH ? CVQ_CARD_SLOT_AUTH
		                     : next == CVQ_ENROL_STEP_SIGN ? CVQ_CARD_SLOT_SIGN
		                                                   : CVQ_CARD_SLOT_CARDAUTH;
		char *serial = r->serial[next == CVQ_ENROL_STEP_AUTH ? 0 : next == CVQ_ENROL_STEP_SIGN ? 1 : 2];

		err = step_slot(r, slot, serial);
		snprintf(d, dcap, "%.66s", serial);
		if (!err && !r->s.ierr)
			enrol_say_step(&r->s, next, r->rec.guid, "  %d/11 %s key (%s) generated on the card (slot %02X), "
			              "certificate %s issued and written", next,
			              slot == CVQ_CARD_SLOT_AUTH ? "authentication"
			              : slot == CVQ_CARD_SLOT_SIGN ? "signature" : "card authentication",
			              cvq_enrol_key_alg_name(r->rec.key_alg), (unsigned)slot, serial);
		break;
	}
	case CVQ_ENROL_STEP_OBJECTS:
		err = step_objects(r, &flag);
		if (!err)
			enrol_say_step(&r->s, 7, r->rec.guid, "  7/11 printed information and CCC written (%s %s)%s",
			              r->cit.given_name, r->cit.family_name,
			              flag ? "; Discovery present" : "; warning: no Discovery object");
		break;
	case CVQ_ENROL_STEP_SIGNED:
		err = step_signed(r);
		if (!err)
			enrol_say_step(&r->s, 8, r->rec.guid, "  8/11 CHUID signed, Security Object written (the "
			              "city's content signer)");
		break;
	case CVQ_ENROL_STEP_PUK:
		err = step_puk(r, &flag);
		if (flag) {
			*rc = fail(r, CVQ_ENROL_ERR_STORE, "enrolment journal: cannot record the new PUK");
		} else if (!err) {
			enrol_say_step(&r->s, 9, r->rec.guid, "  9/11 PUK set (kept encrypted by the city)");
		}
		break;
	case CVQ_ENROL_STEP_PIN:
		err = step_pin(r, &flag);
		if (!err && flag)
			*rc = fail(r, CVQ_ENROL_ERR_IO, "cannot write the PIN letter %s; run 'card enrol' "
			           "again", r->letter);
		snprintf(d, dcap, "letter %.150s", r->letter);
		if (!err && !flag)
			enrol_say_step(&r->s, 10, r->rec.guid, "  10/11 PIN set; PIN letter written to %s", r->letter);
		break;
	case CVQ_ENROL_STEP_ACTIVE:
		{
			char why[256] = "";

			*rc = enrol_revoke_strays(&r->s, r->rec.guid, &n, why, sizeof(why));
			if (*rc) {
				fail(r, *rc, "revoking superseded certificates: %s",
				     why[0] ? why : cvq_enrol_strerror(*rc));
				break;
			}
			r->res->superseded = n;
		}
		/* The card was active in the store since step 1 (issuance needs
		 * it); saying so again puts the completed enrolment in the CA's
		 * own hash-chained audit log. */
		{
			char why[256] = "";
			cvq_enrol_err ie = ops->card_set_status
			        ? ops->card_set_status(r->s.ictx, r->rec.guid,
			                               CVQ_ENROL_CARD_ACTIVE, why, sizeof(why))
			        : CVQ_ENROL_ERR_ISSUER;

			if (ie) {
				*rc = fail(r, ie, "recording the card active: %s",
				           why[0] ? why : cvq_enrol_strerror(ie));
				break;
			}
		}
		snprintf(r->rec.state, sizeof(r->rec.state), "active");
		snprintf(d, dcap, "%u stray certificate(s) revoked", n);
		enrol_say_step(&r->s, 11, r->rec.guid, "  11/11 card active%s", n ? " (certificates of the interrupted "
		              "attempt revoked)" : "");
		break;
	}
	return err;
}

/* Still the same card in the reader after an error? (A reset by pcscd, e.g.
 * when a killed cvq-admin's handle is cleaned up, looks like an I/O error.) */
static bool
same_card_back(struct run *r)
{
	uint8_t g[CVQ_CARD_GUID_LEN];
	cvq_card_err err = cvq_card_reconnect(r->env->card);

	if (err == CVQ_CARD_ERR_CARD_CHANGED)
		err = cvq_card_guid(r->env->card, g) == CVQ_CARD_OK &&
		      memcmp(g, r->guid, sizeof(g)) == 0 ? CVQ_CARD_OK : err;
	return err == CVQ_CARD_OK;
}

static cvq_enrol_err
run_steps(struct run *r)
{
	cvq_card_err err = CVQ_CARD_OK;
	struct cvq_enrol_card_rec k;
	cvq_enrol_err ie, rc = CVQ_ENROL_OK;
	int retries = 0;
	char d[160], why[256] = "";

	if (r->rec.step < CVQ_ENROL_STEP_RECORDED) {
		rc = step_record(r);
		if (rc)
			return rc;
	}
	ie = enrol_card_get(&r->s, r->rec.guid, &k, why, sizeof(why));
	if (ie)
		return fail(r, ie, "%s: %s", r->rec.guid, why[0] ? why : cvq_enrol_strerror(ie));
	/* A resumed card may have been reported lost, stolen or destroyed
	 * since step 1 (its certificates revoked then): finishing it would set
	 * it active again (step 11) and give it a PIN. Refused, its status
	 * kept; a suspended one goes on to the CA's refusal (give_up). */
	if (k.status == CVQ_ENROL_CARD_LOST || k.status == CVQ_ENROL_CARD_STOLEN ||
	    k.status == CVQ_ENROL_CARD_DESTROYED)
		return fail(r, CVQ_ENROL_ERR_REFUSED, "card %s is %s in the CA", r->rec.guid,
		            cvq_enrol_card_status_name(k.status));
	r->expires = k.expires;
	if (letter_path(r))
		return fail(r, CVQ_ENROL_ERR_ARG, "the PIN letter's path is too long");
	while (rc == CVQ_ENROL_OK && r->rec.step < CVQ_ENROL_STEP_ACTIVE) {
		int next = r->rec.step + 1;

		/* One transaction per step: nobody else talks to the card
		 * between the management key authentication and its use. */
		err = cvq_card_begin(r->env->card);
		if (!err) {
			err = do_step(r, next, d, sizeof(d), &rc);
			cvq_card_end(r->env->card, false);
		}
		if (rc)
			break;
		/* Every step can be done again: retry once when the card was
		 * only reset under us and is still there. */
		if (err && !r->s.ierr && retries < 2 &&
		    (cvq_enrol_card_interrupted(err) || err == CVQ_CARD_ERR_BAD_DATA) &&
		    same_card_back(r)) {
			retries++;
			enrol_say(&r->s, NULL, "  (the card was reset by the system; step '%s' again)",
			              cvq_enrol_step_name(next));
			continue;
		}
		if (err || r->s.ierr)
			return card_step_failed(r, err);
		rc = advance(r, next, d);
	}
	return rc;
}


cvq_enrol_err
cvq_enrol_run(const struct cvq_enrol_env *env, const struct cvq_enrol_run_opts *o,
              struct cvq_enrol_result *res, char *why, size_t why_len)
{
	struct run *r;
	cvq_enrol_err err;
	char w[256] = "";

	memset(res, 0, sizeof(*res));
	res->step = -1;
	if (why_len)
		why[0] = '\0';
	if (!env || !env->card || !env->st || !env->issuer || !env->issuer->ops || !o ||
	    !o->citizen || o->pin_len < CVQ_ENROL_PIN_MIN || o->pin_len > CVQ_ENROL_PIN_MAX) {
		snprintf(why, why_len, "invalid argument");
		return CVQ_ENROL_ERR_ARG;
	}
	/* The run holds the journal row (sealed PUKs) and the management
	 * keys: on the heap, wiped at the end. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(why, why_len, "out of memory");
		return CVQ_ENROL_ERR_IO;
	}
	r->env = env;
	enrol_sess_init(&r->s, env);
	r->req = o;
	r->why = why;
	r->why_len = why_len;
	r->res = res;
	err = enrol_citizen_get(&r->s, o->citizen, &r->cit, w, sizeof(w));
	if (err) {
		fail(r, err, "%s: %s", o->citizen, w[0] ? w : cvq_enrol_strerror(err));
		goto out;
	}
	err = identify(r);
	if (err == CVQ_ENROL_OK && !r->already) {
		if (!r->rec.guid[0] || !cvq_enrol_guid_parse(r->rec.guid, r->guid))
			err = fail(r, CVQ_ENROL_ERR_STORE, "the journal's row has no card GUID");
		else
			err = run_steps(r);
	}
	if (err == CVQ_ENROL_OK && !r->already)
		enrol_say(&r->s, r->rec.guid, "Card %s is ready for %s %s. Hand over the card; the PIN "
		          "letter goes by post.", r->rec.guid, r->cit.given_name, r->cit.family_name);
out:
	snprintf(res->guid, sizeof(res->guid), "%s", r->rec.guid);
	snprintf(res->holder, sizeof(res->holder), "%s", r->rec.holder[0] ? r->rec.holder
	                                                                  : o->citizen);
	snprintf(res->state, sizeof(res->state), "%s", r->rec.state);
	res->key_alg = r->rec.key_alg;
	res->expires = r->expires;
	res->resumed = r->resumed;
	res->already = r->already;
	if (err)
		res->step = r->rec.step + 1;
	snprintf(res->letter, sizeof(res->letter), "%s", r->letter);
	memcpy(res->serial, r->serial, sizeof(res->serial));
	enrol_sess_clear(&r->s);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
	return err;
}
