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

static cvqd_err sign_cb(void *arg, const cvqd_tbs *tbs, uint8_t *sig, size_t *siglen)
{
	return cvqd_session_sign(arg, tbs, sig, siglen);
}

void cvqd_api_sign(cvqd_req *r)
{
	cvqd_session s;
	char why[200], desc[2048], padtext[4096], ts[32], gts[32], tswhy[160] = "";
	uint8_t rnd[16], digest[32];
	char *content = NULL, *nonce = NULL, *b64 = NULL;
	uint8_t *der = NULL, *bt = NULL;
	size_t clen = 0, derlen = 0, btlen = 0;
	time_t gen = 0;
	json_t *who = NULL, *ans;
	bool carded;
	cvqd_err e;
	json_t *tx = json_object_get(r->body, "transaction");

	memset(&s, 0, sizeof s);
	if (cvqd_canon_check_transaction(tx, why, sizeof why)) {
		cvqd_reply_error(r, CVQD_ERR_BAD_REQUEST, why);
		return;
	}
	/* What you see is what you sign: a transaction whose text the PIN
	 * dialog cannot show whole is refused before any card work. */
	if (cvqd_pin_describe_transaction(tx, desc, sizeof desc) ||
	    !cvq_pinentry_description_fits(desc) ||
	    cvqd_pin_pad_text(desc, padtext, sizeof padtext) ||
	    !cvq_pinentry_description_fits(padtext)) {
		cvqd_reply_error(r, CVQD_ERR_BAD_REQUEST,
		                 "transaction text too long to show in the PIN dialog");
		goto out;
	}
	time_t now = time(NULL);
	if (RAND_bytes(rnd, sizeof rnd) != 1 || !(nonce = cvqd_b64url_encode(rnd, sizeof rnd)) ||
	    !(content = cvqd_canon_receipt(tx, now, nonce, &clen))) {
		cvqd_reply_error(r, CVQD_ERR_INTERNAL, NULL);
		goto out;
	}
	EVP_Digest(content, clen, digest, NULL, EVP_sha256(), NULL);

	e = cvqd_session_open(&s, r, CVQD_SLOT_SIGN);
	if (e == CVQD_OK)
		e = cvqd_session_pin(&s, desc);
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
	if (carded && cvqd_session_journal(&s, "sign", digest, e) != 0 && e == CVQD_OK)
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
	ans = json_pack("{s:s,s:s%,s:O,s:s,s:s,s:O,s:s}",
		"receipt", b64, "content", content, clen, "transaction", tx,
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

static bool text_field(const json_t *j, size_t max)
{
	if (!json_is_string(j) || json_string_length(j) == 0 || json_string_length(j) > max)
		return false;
	const char *s = json_string_value(j);
	for (size_t i = 0; i < json_string_length(j); i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

void cvqd_api_authenticate(cvqd_req *r)
{
	cvqd_session s;
	char desc[1024];
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
	if (!text_field(jc, 256) || !text_field(jo, 256)) {
		cvqd_reply_error(r, CVQD_ERR_BAD_REQUEST,
		                 "\"challenge\" and \"origin\" must be strings of 1 to 256 bytes");
		return;
	}
	const char *origin = json_string_value(jo), *challenge = json_string_value(jc);
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
		if (cvqd_pin_describe_login(origin, s.info.holder, desc, sizeof desc))
			snprintf(desc, sizeof desc, "%s", origin);
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
