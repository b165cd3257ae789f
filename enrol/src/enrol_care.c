/*
 * libcvqenrol — the after-care on the card (moved from cvq-admin's
 * card_care.c, issue #13):
 *   cvq_enrol_renew     new 9A and 9C keys and certificates, the old ones
 *                       revoked as superseded
 *   cvq_enrol_unblock   a new PIN set with the PUK the city keeps
 * Both find the card's enrolment by the GUID its CHUID carries and go to
 * the CA side only through the issuing link.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <cvq/piv.h>
#include <cvq/profile.h>

#include "enrol_int.h"

__attribute__((format(printf, 4, 5))) static cvq_enrol_err
say_err(char *why, size_t why_len, cvq_enrol_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return err;
}

/* The card in env, its GUID and its journal row (an active enrolment),
 * and the CA's record of it (an active card). */
static cvq_enrol_err
card_known(struct enrol_sess *s, uint8_t guid[CVQ_CARD_GUID_LEN], struct cvq_enrol_rec *rec,
           struct cvq_enrol_card_rec *k, struct cvq_enrol_result *res, char *why,
           size_t why_len)
{
	cvq_card *card = s->env->card;
	cvq_card_err err;
	cvq_enrol_err ee;
	char w[256] = "";

	err = cvq_card_guid(card, guid);
	if (err == CVQ_CARD_ERR_NOT_FOUND)
		return say_err(why, why_len, CVQ_ENROL_ERR_NOT_FOUND, "the card in \"%s\" is blank "
		               "(no CHUID): enrol it first", cvq_card_reader_name(card));
	if (err) {
		res->card_err = err;
		return say_err(why, why_len, cvq_enrol_card_interrupted(err)
		                                     ? CVQ_ENROL_ERR_INTERRUPTED : CVQ_ENROL_ERR_CARD,
		               "reading the card's identity: %s", cvq_card_strerror(err));
	}
	cvq_card_guid_hex(guid, res->guid);
	if (cvq_enrol_store_get(s->env->st, res->guid, rec) != CVQ_ENROL_OK)
		return say_err(why, why_len, CVQ_ENROL_ERR_NOT_FOUND, "card %s was not enrolled here",
		               res->guid);
	snprintf(res->holder, sizeof(res->holder), "%s", rec->holder);
	snprintf(res->state, sizeof(res->state), "%s", rec->state);
	if (strcmp(rec->state, "active") != 0)
		return say_err(why, why_len, CVQ_ENROL_ERR_REFUSED, "card %s is not active (enrolment "
		               "%s at step '%s'): run 'card enrol'", res->guid, rec->state,
		               cvq_enrol_step_name(rec->step));
	ee = enrol_card_get(s, res->guid, k, w, sizeof(w));
	if (ee)
		return say_err(why, why_len, ee, "%s: %s", res->guid, w[0] ? w : cvq_enrol_strerror(ee));
	res->expires = k->expires;
	if (k->status != CVQ_ENROL_CARD_ACTIVE)
		return say_err(why, why_len, CVQ_ENROL_ERR_INVALID, "card %s is %s: it cannot be used "
		               "any more", res->guid, cvq_enrol_card_status_name(k->status));
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
card_fail(struct cvq_enrol_result *res, cvq_card_err err, char *why, size_t why_len,
          const char *what)
{
	res->card_err = err;
	return say_err(why, why_len, cvq_enrol_card_interrupted(err) ? CVQ_ENROL_ERR_INTERRUPTED
	                                                             : CVQ_ENROL_ERR_CARD,
	               "%s: %s", what, cvq_card_strerror(err));
}

cvq_enrol_err
cvq_enrol_renew(const struct cvq_enrol_env *env, cvq_enrol_pin_cb pin_cb, void *pin_ctx,
                struct cvq_enrol_result *res, char *why, size_t why_len)
{
	static const cvq_card_slot slots[2] = {CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN};
	struct cvq_enrol_card_rec k;
	struct cvq_enrol_rec rec;
	struct enrol_sess s;
	uint8_t guid[CVQ_CARD_GUID_LEN];
	char pin[64] = "", *hex = res->guid;
	cvq_card_err err = CVQ_CARD_OK;
	cvq_enrol_err ee;
	bool unlogged = false;
	int tries = -1, which, i;

	memset(res, 0, sizeof(*res));
	res->step = -1;
	if (!env || !env->card || !env->st || !env->issuer || !env->issuer->ops || !pin_cb)
		return say_err(why, why_len, CVQ_ENROL_ERR_ARG, "invalid argument");
	enrol_sess_init(&s, env);
	ee = card_known(&s, guid, &rec, &k, res, why, why_len);
	if (ee)
		goto out;
	/* The holder proves possession of the new keys with the PIN: asked
	 * before any transaction is held, typed by the citizen. */
	ee = pin_cb(pin_ctx, pin, sizeof(pin));
	if (ee) {
		say_err(why, why_len, ee, "PIN: %s", cvq_enrol_strerror(ee));
		goto out;
	}
	err = cvq_card_pin_verify(env->card, pin, &tries);
	if (err == CVQ_CARD_ERR_PIN_WRONG) {
		res->card_err = err;
		ee = say_err(why, why_len, CVQ_ENROL_ERR_CARD, "wrong PIN, %d tries left", tries);
		goto out;
	}
	if (err) {
		ee = card_fail(res, err, why, why_len, "PIN");
		goto out;
	}
	enrol_say(&s, hex, "Renewing card %s of citizen %s.", hex, rec.holder);
	err = cvq_card_begin(env->card);
	if (!err)
		err = enrol_mgmt_auth(&s, hex, NULL, rec.mgmt_alg, &which);
	for (i = 0; !err && i < 2; i++) {
		err = enrol_certify_slot(&s, hex, (int)slots[i], rec.key_alg, pin, res->serial[i]);
		if (!err) {
			if (enrol_log(&s, hex, "renew.cert", res->serial[i]) != CVQ_ENROL_OK)
				unlogged = true;
			enrol_say(&s, hex, "  new %s key and certificate %s",
			          i ? "signature" : "authentication", res->serial[i]);
		}
	}
	cvq_card_end(env->card, true);
	if (s.ierr) {
		ee = say_err(why, why_len, s.ierr, "renewal: %s",
		             s.why[0] ? s.why : cvq_enrol_strerror(s.ierr));
		goto out;
	}
	if (err) {
		ee = card_fail(res, err, why, why_len, "renewal (run 'card renew' again)");
		goto out;
	}
	ee = enrol_revoke_strays(&s, hex, &res->superseded, why, why_len);
	if (ee)
		goto out;
	if (enrol_log(&s, hex, "renew.done", "") != CVQ_ENROL_OK || unlogged) {
		ee = say_err(why, why_len, CVQ_ENROL_ERR_STORE, "card %s renewed but not recorded in "
		             "the journal and audit log", hex);
		goto out;
	}
	enrol_say(&s, hex, "Card %s renewed; %u old certificate(s) revoked as superseded.", hex,
	          res->superseded);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(&rec, sizeof(rec));
	enrol_sess_clear(&s);
	return ee;
}

cvq_enrol_err
cvq_enrol_unblock(const struct cvq_enrol_env *env, const struct cvq_enrol_unblock_opts *o,
                  struct cvq_enrol_result *res, char *why, size_t why_len)
{
	char pin[CVQ_ENROL_PIN_MAX + 1] = "", puk[CVQ_ENROL_PUK_LEN + 1] = "", w[256] = "";
	struct cvq_enrol_letter l = {0};
	struct cvq_enrol_citizen cit;
	struct cvq_enrol_card_rec k;
	struct cvq_enrol_rec rec;
	struct enrol_sess s;
	uint8_t guid[CVQ_CARD_GUID_LEN];
	const char *hex = res->guid;
	cvq_card_err err;
	cvq_enrol_err ee;
	int tries = -1;

	memset(res, 0, sizeof(*res));
	res->step = -1;
	if (!env || !env->card || !env->st || !env->issuer || !env->issuer->ops || !o ||
	    !o->citizen || o->pin_len < CVQ_ENROL_PIN_MIN || o->pin_len > CVQ_ENROL_PIN_MAX)
		return say_err(why, why_len, CVQ_ENROL_ERR_ARG, "invalid argument");
	enrol_sess_init(&s, env);
	ee = card_known(&s, guid, &rec, &k, res, why, why_len);
	if (ee)
		goto out;
	/* --citizen is the staff's statement that they checked the holder's
	 * identity; it must name the card's holder. */
	if (strcmp(rec.holder, o->citizen) != 0) {
		ee = say_err(why, why_len, CVQ_ENROL_ERR_REFUSED, "card %s belongs to citizen %s, "
		             "not %s", hex, rec.holder, o->citizen);
		goto out;
	}
	ee = enrol_citizen_get(&s, o->citizen, &cit, w, sizeof(w));
	if (ee) {
		say_err(why, why_len, ee, "%s: %s", o->citizen, w[0] ? w : cvq_enrol_strerror(ee));
		goto out;
	}
	if (o->letter ? snprintf(res->letter, sizeof(res->letter), "%s", o->letter) >=
	                        (int)sizeof(res->letter)
	              : !cvq_enrol_letter_default(res->letter, sizeof(res->letter), NULL,
	                                          o->citizen)) {
		ee = say_err(why, why_len, CVQ_ENROL_ERR_ARG, "the PIN letter's path is too long");
		goto out;
	}
	if (!rec.has_puk) {
		ee = say_err(why, why_len, CVQ_ENROL_ERR_NOT_FOUND, "the journal has no PUK for card "
		             "%s", hex);
		goto out;
	}
	if (enrol_puk_open(&s, hex, rec.puk, puk)) {
		ee = say_err(why, why_len, s.ierr, "%s", s.why);
		goto out;
	}
	ee = cvq_enrol_random_digits(pin, (size_t)o->pin_len);
	if (ee) {
		say_err(why, why_len, ee, "no random numbers for the PIN");
		goto out;
	}
	err = cvq_card_pin_unblock(env->card, puk, pin, &tries);
	if (err == CVQ_CARD_ERR_PIN_WRONG) {
		res->card_err = err;
		ee = say_err(why, why_len, CVQ_ENROL_ERR_CARD, "the card refused the city's PUK (%d "
		             "tries left)", tries);
		goto out;
	}
	if (err) {
		ee = card_fail(res, err, why, why_len, "unblocking the PIN");
		goto out;
	}
	l.path = res->letter;
	l.given_name = cit.given_name;
	l.family_name = cit.family_name;
	l.ext_id = cit.ext_id;
	l.guid = hex;
	l.expires = k.expires;
	l.pin = pin;
	l.unblock = true;
	if (cvq_enrol_letter_write(&l) != CVQ_ENROL_OK) {
		/* The card has a PIN nobody knows: running unblock again fixes it. */
		ee = say_err(why, why_len, CVQ_ENROL_ERR_IO, "cannot write the PIN letter %s; run "
		             "'card unblock' again", res->letter);
		goto out;
	}
	if (enrol_log(&s, hex, "pin.unblock", res->letter) != CVQ_ENROL_OK) {
		ee = say_err(why, why_len, CVQ_ENROL_ERR_STORE, "PIN of card %s unblocked (letter %s) "
		             "but not recorded in the journal and audit log", hex, res->letter);
		goto out;
	}
	enrol_say(&s, hex, "PIN of card %s unblocked; new PIN letter written to %s.", hex,
	          res->letter);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(puk, sizeof(puk));
	OPENSSL_cleanse(&rec, sizeof(rec));
	enrol_sess_clear(&s);
	return ee;
}
