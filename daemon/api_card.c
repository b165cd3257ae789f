/* cvqd — POST /v1/sign and POST /v1/authenticate: the card operations. */
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "api.h"
#include "cvq/util.h"
#include "b64.h"
#include "canon.h"
#include "cvqd.h"
#include "display.h"
#include "log.h"
#include "receipt.h"
#include "session.h"

#define APP_VERSION "https://cvq.invalid/cvqd/" CVQ_VERSION

static void fail(cvqd_req *r, cvqd_session *s, cvqd_err e)
{
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", cvqd_err_code(e), "message",
	                      s->why[0] ? s->why : cvqd_strerror(e));
	if (e == CVQD_ERR_PIN_WRONG && s->tries_left >= 0)
		json_object_set_new(json_object_get(j, "error"), "pin_tries_left",
		                    json_integer(s->tries_left));
	cvqd_reply_json(r, cvqd_err_http_status(e), j);
}

static json_t *identity(cvqd_session *s)
{
	json_t *j = cvqd_api_cert_json(s->cert);
	if (s->info.guid[0])
		json_object_set_new(j, "card", json_string(s->info.guid));
	json_object_set_new(j, "reader", json_string(s->info.reader));
	json_object_set_new(j, "certificate_status", json_string("good"));
	return j;
}

/* Only the members a handler reads: a typo or an extra member is not ignored. */
static bool body_closed(cvqd_req *r, const char *const *known, size_t n)
{
	const char *k;
	json_t *v;
	json_object_foreach(r->body, k, v) {
		size_t i = 0;
		while (i < n && strcmp(known[i], k))
			i++;
		if (i == n) {
			char field[48], msg[96];
			snprintf(field, sizeof field, "%.40s", k);
			snprintf(msg, sizeof msg, "%s: not a member of this request", field);
			cvqd_reply_refusal(r, field, "unknown_field", msg);
			return false;
		}
	}
	return true;
}

static cvqd_err sign_cb(void *arg, const cvqd_tbs *tbs, uint8_t *sig, size_t *siglen)
{
	return cvqd_session_sign(arg, tbs, sig, siglen);
}

void cvqd_api_sign(cvqd_req *r)
{
	static const char *const known[] = { "transaction", "reader", "card" };
	cvqd_session s;
	char why[200], desc[2048], padtext[4096], dialog[4096], ts[32], gts[32], tswhy[160] = "";
	uint8_t rnd[16], digest[32];
	char *content = NULL, *nonce = NULL, *b64 = NULL;
	uint8_t *der = NULL, *bt = NULL;
	size_t clen = 0, derlen = 0, btlen = 0;
	time_t gen = 0;
	json_t *who = NULL, *ans;
	bool carded;
	cvqd_err e;
	cvqd_display_refusal ref;
	json_t *tx = json_object_get(r->body, "transaction");
	const char *lang = cvqd_display_lang(r->d->cfg.language);

	memset(&s, 0, sizeof s);
	if (!body_closed(r, known, sizeof known / sizeof known[0]))
		return;
	/*
	 * What you see is what you sign: the type's schema admits only fields
	 * its sentence shows, and the sentence is the dialog text. All this
	 * before any card work.
	 */
	if (!tx) {
		cvqd_reply_refusal(r, "transaction", "missing", "\"transaction\" is required");
		return;
	}
	if (cvqd_display_render(r->d->display, tx, lang, desc, sizeof desc, &ref)) {
		cvqd_reply_refusal(r, ref.field, ref.reason, ref.message);
		return;
	}
	if (cvqd_canon_check_transaction(tx, why, sizeof why)) {
		cvqd_reply_refusal(r, "transaction", "structure", why);
		return;
	}
	if (!cvq_pinentry_description_fits(desc) || cvqd_pin_pad_text(desc, padtext, sizeof padtext) ||
	    !cvq_pinentry_description_fits(padtext)) {
		cvqd_reply_refusal(r, "transaction", "too_long_to_show",
		                   "transaction text too long to show in the PIN dialog");
		return;
	}
	time_t now = time(NULL);
	if (RAND_bytes(rnd, sizeof rnd) != 1 || !(nonce = cvqd_b64url_encode(rnd, sizeof rnd))) {
		cvqd_reply_error(r, CVQD_ERR_INTERNAL, NULL);
		goto out;
	}

	e = cvqd_session_open(&s, r, CVQD_SLOT_SIGN);
	/* The receipt holds the dialog's exact text, known once the reader is. */
	if (e == CVQD_OK && (cvqd_session_dialog_text(&s, desc, dialog, sizeof dialog) ||
	                     !(content = cvqd_canon_receipt_shown(tx, lang, dialog, now, nonce, &clen)))) {
		snprintf(s.why, sizeof s.why, "cannot build the receipt content");
		e = CVQD_ERR_INTERNAL;
	}
	if (e == CVQD_OK) {
		EVP_Digest(content, clen, digest, NULL, EVP_sha256(), NULL);
		e = cvqd_session_pin(&s, desc);
	}
	if (e == CVQD_OK) {
		struct cvqd_trust *t = cvqd_trust_get(r->d);
		e = cvqd_receipt_build((const uint8_t *)content, clen, s.cert,
		                       cvqd_trust_intermediates(t), now, sign_cb, &s, &der, &derlen);
		cvqd_trust_put(t);
	}
	/* The card is done: give the reader back before the TSA is asked, so
	 * a slow TSA never holds the reader's queue. */
	carded = s.op != NULL;
	if (e == CVQD_OK)
		who = identity(&s);
	cvqd_cards_release(s.op);
	s.op = NULL;
	if (e == CVQD_OK) {
		cvqd_err te = cvqd_receipt_timestamp(&r->d->cfg, der, derlen, &bt, &btlen, &gen,
		                                     tswhy, sizeof tswhy);
		if (te == CVQD_OK) {
			free(der);
			der = bt;
			derlen = btlen;
			bt = NULL;
		} else if (te == CVQD_ERR_NOMEM || (r->d->cfg.tsa_url[0] && r->d->cfg.tsa_refuse)) {
			cvqd_warn("sign for uid %u: no timestamp (%s): refused", (unsigned)r->uid, tswhy);
			snprintf(s.why, sizeof s.why, "%s: %s", cvqd_strerror(te), tswhy);
			e = te;
		} else {
			cvqd_warn("sign for uid %u: no timestamp (%s): B-B receipt", (unsigned)r->uid, tswhy);
		}
	}
	if (carded && cvqd_session_journal(&s, "sign", content ? digest : NULL, e) != 0 && e == CVQD_OK)
		e = CVQD_ERR_JOURNAL;
	if (e != CVQD_OK) {
		cvqd_info("sign for uid %u: %s", (unsigned)r->uid, cvqd_err_code(e));
		fail(r, &s, e);
		goto out;
	}
	if (!(b64 = cvqd_b64_encode(der, derlen))) {
		cvqd_reply_error(r, CVQD_ERR_NOMEM, NULL);
		goto out;
	}
	cvqd_time_rfc3339(now, ts, sizeof ts);
	cvqd_info("signed for uid %u with card %s (%s)", (unsigned)r->uid, s.info.guid,
	          gen ? "B-T" : "B-B");
	ans = json_pack("{s:s,s:s%,s:O,s:s,s:s,s:s,s:O,s:s}",
		"receipt", b64, "content", content, clen, "transaction", tx, "dialog", dialog,
		"nonce", nonce, "time", ts, "signer", who, "level", gen ? "B-T" : "B-B");
	/* A B-B receipt says so in the answer: no proof of time yet. */
	if (ans && gen) {
		cvqd_time_rfc3339(gen, gts, sizeof gts);
		json_object_set_new(ans, "timestamp", json_string(gts));
	} else if (ans) {
		json_object_set_new(ans, "timestamp", json_null());
		json_object_set_new(ans, "timestamp_missing", json_string(tswhy));
	}
	cvqd_reply_json(r, 200, ans);
out:
	json_decref(who);
	cvqd_session_close(&s);
	free(b64);
	free(bt);
	free(der);
	free(content);
	free(nonce);
}

/* Web eID: ES256/ES384 as r||s, RS256 as is. */
static int token_alg(X509 *cert, const EVP_MD **md, const char **name, int *fieldlen)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	if (!pk)
		return -1;
	if (EVP_PKEY_is_a(pk, "EC")) {
		int bits = EVP_PKEY_get_bits(pk);
		*fieldlen = (bits + 7) / 8;
		if (bits == 256) {
			*md = EVP_sha256();
			*name = "ES256";
			return 0;
		}
		if (bits == 384) {
			*md = EVP_sha384();
			*name = "ES384";
			return 0;
		}
		return -1;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		*md = EVP_sha256();
		*name = "RS256";
		*fieldlen = 0;
		return 0;
	}
	return -1;
}

/* DER ECDSA-Sig-Value -> fixed-size r||s. */
static int der_to_raw(const uint8_t *der, size_t len, int field, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	int ok = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, field) == field &&
	         BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + field, field) == field;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

/* Web eID: 44 to 128 characters of standard base64 for at least 32 bytes. */
static const char *challenge_reason(const json_t *j)
{
	if (!j)
		return "missing";
	if (!json_is_string(j))
		return "not_a_string";
	size_t n = json_string_length(j), len = 0;
	if (n < 44 || n > 128)
		return "length";
	uint8_t *raw = cvqd_b64_decode(json_string_value(j), n, &len);
	free(raw);
	if (!raw)
		return "not_base64";
	return len >= 32 ? NULL : "too_short";
}

void cvqd_api_authenticate(cvqd_req *r)
{
	static const char *const known[] = { "challenge", "origin", "reader", "card" };
	cvqd_session s;
	char desc[1400], ascii[300], shown[1100], msg[120];
	const char *why;
	uint8_t tbs[128], digest[64], sig[600], raw[132];
	unsigned int hl = 0, dl = 0;
	size_t siglen = sizeof sig;
	char *certb64 = NULL, *sigb64 = NULL;
	unsigned char *certder = NULL;
	const EVP_MD *md = NULL;
	const char *alg = NULL;
	int field = 0;
	cvqd_err e;
	json_t *jc = json_object_get(r->body, "challenge"), *jo = json_object_get(r->body, "origin");

	memset(&s, 0, sizeof s);
	if (!body_closed(r, known, sizeof known / sizeof known[0]))
		return;
	if ((why = challenge_reason(jc))) {
		snprintf(msg, sizeof msg, "challenge: %s (44 to 128 characters of base64, 32 bytes or more)", why);
		cvqd_reply_refusal(r, "challenge", why, msg);
		return;
	}
	why = !jo ? "missing" : !json_is_string(jo) || json_string_length(jo) > 256 ||
	      strlen(json_string_value(jo)) != json_string_length(jo) ? "not_a_string"
	      : cvqd_text_origin(cvqd_display_text(r->d->display), json_string_value(jo),
	                         ascii, sizeof ascii, shown, sizeof shown);
	if (why) {
		snprintf(msg, sizeof msg, "origin: %s (https://host[:port], nothing more)", why);
		cvqd_reply_refusal(r, "origin", why, msg);
		return;
	}
	/* The token binds the origin as a browser serialises it (ASCII);
	 * the holder reads it in Unicode, after the spoof checks. */
	const char *origin = ascii, *challenge = json_string_value(jc);
	e = cvqd_session_open(&s, r, CVQD_SLOT_AUTH);
	if (e == CVQD_OK && token_alg(s.cert, &md, &alg, &field) != 0) {
		snprintf(s.why, sizeof s.why, "unsupported key type on the card");
		e = CVQD_ERR_CARD;
	}
	if (e == CVQD_OK) {
		/* hash(origin) || hash(challenge), then the algorithm's own hash of that. */
		EVP_Digest(origin, strlen(origin), tbs, &hl, md, NULL);
		EVP_Digest(challenge, strlen(challenge), tbs + hl, &hl, md, NULL);
		EVP_Digest(tbs, 2 * (size_t)hl, digest, &dl, md, NULL);
		if (cvqd_pin_describe_login(shown, s.info.holder, desc, sizeof desc))
			snprintf(desc, sizeof desc, "%s", shown);
		e = cvqd_session_pin(&s, desc);
	}
	if (e == CVQD_OK) {
		cvqd_tbs t = { tbs, 2 * (size_t)hl, digest, dl, md };
		e = cvqd_session_sign(&s, &t, sig, &siglen);
	}
	if (e == CVQD_OK && field) {
		if (der_to_raw(sig, siglen, field, raw) == 0) {
			memcpy(sig, raw, 2 * (size_t)field);
			siglen = 2 * (size_t)field;
		} else {
			snprintf(s.why, sizeof s.why, "the card returned a malformed signature");
			e = CVQD_ERR_CARD;
		}
	}
	uint8_t jd[32];
	EVP_Digest(tbs, 2 * (size_t)hl, jd, NULL, EVP_sha256(), NULL);
	if (s.op && cvqd_session_journal(&s, "authenticate", hl ? jd : NULL, e) != 0 && e == CVQD_OK)
		e = CVQD_ERR_JOURNAL;
	if (e != CVQD_OK) {
		cvqd_info("authenticate for uid %u: %s", (unsigned)r->uid, cvqd_err_code(e));
		fail(r, &s, e);
		goto out;
	}
	int n = i2d_X509(s.cert, &certder);
	if (n <= 0 || !(certb64 = cvqd_b64_encode(certder, (size_t)n)) ||
	    !(sigb64 = cvqd_b64_encode(sig, siglen))) {
		cvqd_reply_error(r, CVQD_ERR_NOMEM, NULL);
		goto out;
	}
	cvqd_info("authenticated uid %u with card %s", (unsigned)r->uid, s.info.guid);
	cvqd_reply_json(r, 200, json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:o}",
		"token", "format", "web-eid:1.0", "unverifiedCertificate", certb64,
		"algorithm", alg, "signature", sigb64, "appVersion", APP_VERSION,
		"identity", identity(&s)));
out:
	cvqd_session_close(&s);
	OPENSSL_free(certder);
	free(certb64);
	free(sigb64);
}
