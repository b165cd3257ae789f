/*
 * cvq-webeid — the three commands on a card.
 *
 *   authenticate             the 9A key signs hash(origin) || hash(nonce)
 *                            (Web eID's authentication token, web-eid:1.0)
 *   get-signing-certificate  the 9C certificate and what it can sign with
 *   sign                     the 9C key signs the portal's document hash
 *
 * Signatures are those of JWS and XAdES: ECDSA as r || s of fixed size,
 * RSA as PKCS#1 v1.5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "cvq/card_pinpad.h"
#include "host.h"

#define PIN_CAP 64
#define PIN_ASK_MAX 10

struct key_info {
	bool ec;
	int field;              /* EC: bytes of r and of s */
	const EVP_MD *auth_md;  /* authenticate: the JWS algorithm's hash */
	const char *auth_alg;   /* "ES256", "ES384", "RS256" */
};

static bool key_info(X509 *cert, struct key_info *k)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	int bits;

	memset(k, 0, sizeof(*k));
	if (!pk)
		return false;
	bits = EVP_PKEY_get_bits(pk);
	if (EVP_PKEY_is_a(pk, "EC")) {
		k->ec = true;
		k->field = (bits + 7) / 8;
		if (bits == 256) {
			k->auth_md = EVP_sha256();
			k->auth_alg = "ES256";
		} else if (bits == 384) {
			k->auth_md = EVP_sha384();
			k->auth_alg = "ES384";
		} else {
			return false;
		}
		return true;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		k->auth_md = EVP_sha256();
		k->auth_alg = "RS256";
		return true;
	}
	return false;
}

/* DER ECDSA-Sig-Value -> r || s, in place. */
static bool ecdsa_raw(uint8_t *sig, size_t *len, int field)
{
	const unsigned char *p = sig;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	uint8_t raw[2 * 66];
	bool ok = s && 2 * field <= (int)sizeof(raw) &&
	          BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, field) == field &&
	          BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + field, field) == field;

	ECDSA_SIG_free(s);
	if (ok) {
		memcpy(sig, raw, 2 * (size_t)field);
		*len = 2 * (size_t)field;
	}
	return ok;
}

/* A card with a certificate in slot whose key we can use. */
static webeid_err open_card(cvq_card_ctx *ctx, webeid_p11 *p11, const webeid_config *cfg,
                            cvq_card_slot slot, X509 *want, const char *origin, webeid_card *c,
                            struct key_info *k, char *why, size_t why_len)
{
	webeid_err e = webeid_card_pick(ctx, p11, cfg, slot, want, origin, c, why, why_len);

	if (e == WEBEID_OK && !key_info(c->cert, k)) {
		snprintf(why, why_len, "the card's key type is not supported");
		webeid_card_release(c);
		e = WEBEID_ERR_FATAL;
	}
	return e;
}

/* The card's signature as JWS wants it: ECDSA as r || s. */
static webeid_err jws_signature(const struct key_info *k, uint8_t *sig, size_t *len, char *why,
                                size_t why_len)
{
	if (k->ec && !ecdsa_raw(sig, len, k->field)) {
		snprintf(why, why_len, "the card returned a malformed signature");
		return WEBEID_ERR_FATAL;
	}
	return WEBEID_OK;
}

static webeid_err card_fail(cvq_card_err e, char *why, size_t why_len)
{
	snprintf(why, why_len, "card: %s", cvq_card_strerror(e));
	return WEBEID_ERR_FATAL;
}

/*
 * One PIN entry: the PIN dialog, or with a PIN pad the confirming dialog
 * only (the PIN is typed on the reader). error: why we ask again, or "".
 */
static webeid_err ask_pin(const webeid_config *cfg, bool pad, const char *desc, const char *error,
                          char *pin, size_t cap)
{
	char text[1200];
	webeid_err e;
	bool yes;

	if (!pad) {
		e = webeid_dialog_pin(cfg, desc, error[0] ? error : NULL, pin, cap);
		if (e != WEBEID_OK)
			OPENSSL_cleanse(pin, cap);
		return e;
	}
	snprintf(text, sizeof(text), "%s\n%s%s%s", desc,
	         _("Confirm, then type your PIN on the reader's keypad"), error[0] ? "\n" : "", error);
	e = webeid_dialog_confirm(cfg, text, _("Approve"), _("Cancel"), &yes);
	return e == WEBEID_OK && !yes ? WEBEID_ERR_CANCELLED : e;
}

/*
 * The PIN (dialog, or the reader's keypad), then the signature: wrong PINs
 * are asked again with the tries left, as the official host does.
 */
static webeid_err pin_and_sign(const webeid_config *cfg, webeid_card *c, const char *desc,
                               cvq_card_sign_req *req, uint8_t **sig, size_t *sig_len,
                               char *why, size_t why_len)
{
	char pin[PIN_CAP] = "", error[200] = "";
	webeid_err e = WEBEID_OK;
	cvq_card_err ce;
	bool pad = false;
	int tries = -1, asked = 0;

	if (cvq_card_has_pinpad(c->card, &pad) != CVQ_CARD_OK)
		pad = false;
	for (;;) {
		/* The card counts wrong PINs; this bounds what it does not count. */
		if (asked++ >= PIN_ASK_MAX) {
			snprintf(why, why_len, "too many PIN entries refused");
			return WEBEID_ERR_FATAL;
		}
		e = ask_pin(cfg, pad, desc, error, pin, sizeof(pin));
		if (e != WEBEID_OK)
			return e;
		if (pad) {
			ce = cvq_card_begin(c->card);
			if (ce == CVQ_CARD_OK) {
				ce = cvq_card_verify_pin_pinpad(c->card, cfg->pad_timeout, &tries);
				req->pin = NULL;
				if (ce == CVQ_CARD_OK)
					ce = cvq_card_sign(c->card, req, sig, sig_len, &tries);
				cvq_card_end(c->card, false);
			}
		} else {
			req->pin = pin;
			ce = cvq_card_sign(c->card, req, sig, sig_len, &tries);
			req->pin = NULL;
			OPENSSL_cleanse(pin, sizeof(pin));
		}
		switch (ce) {
		case CVQ_CARD_OK:
			return WEBEID_OK;
		case CVQ_CARD_ERR_PIN_WRONG:
		case CVQ_CARD_ERR_PIN_FORMAT:
			if (ce == CVQ_CARD_ERR_PIN_FORMAT)
				snprintf(error, sizeof(error), "%s", _("The PIN has 6 to 8 digits."));
			else
				snprintf(error, sizeof(error), _("Wrong PIN: %d tries left."), tries);
			continue;
		case CVQ_CARD_ERR_CANCELLED:
			return WEBEID_ERR_CANCELLED;
		case CVQ_CARD_ERR_TIMEOUT:
			return WEBEID_ERR_TIMEOUT;
		case CVQ_CARD_ERR_PIN_BLOCKED:
			snprintf(why, why_len, "the PIN is blocked");
			return WEBEID_ERR_FATAL;
		default:
			return card_fail(ce, why, why_len);
		}
	}
}

/* A digest signed by a PKCS#11 key (libp11's EVP_PKEY): DER ECDSA or PKCS#1 v1.5. */
static bool p11_sign_digest(cvq_p11_key *key, const cvq_card_sign_req *req, uint8_t **sig,
                            size_t *sig_len)
{
	EVP_PKEY *pk = cvq_p11_key_pkey(key);
	EVP_PKEY_CTX *pc = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
	size_t n = 0;
	bool ok = pc && EVP_PKEY_sign_init(pc) == 1 &&
	          (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1) &&
	          EVP_PKEY_CTX_set_signature_md(pc, req->md) == 1 &&
	          EVP_PKEY_sign(pc, NULL, &n, req->digest, req->digest_len) == 1 &&
	          (*sig = malloc(n)) != NULL &&
	          EVP_PKEY_sign(pc, *sig, &n, req->digest, req->digest_len) == 1;

	EVP_PKEY_CTX_free(pc);
	if (!ok) {
		free(*sig);
		*sig = NULL;
		return false;
	}
	*sig_len = n;
	return true;
}

static int p11_give_pin(void *arg, const char *label, char *buf, size_t cap)
{
	webeid_p11 *p = arg;

	if (!buf) /* the token's own PIN pad */
		return 0;
	if (!p->pin || strlen(p->pin) >= cap)
		return -1;
	memcpy(buf, p->pin, strlen(p->pin) + 1);
	return 0;
}

/* The same for a PKCS#11 token: its login takes the PIN, once per signature. */
static webeid_err p11_pin_and_sign(const webeid_config *cfg, webeid_p11 *p11, webeid_card *c,
                                   const char *desc, cvq_card_sign_req *req, uint8_t **sig,
                                   size_t *sig_len, char *why, size_t why_len)
{
	char pin[PIN_CAP] = "", error[200] = "";
	struct cvq_p11_pin_status st;
	webeid_err e;
	cvq_p11_err pe;

	for (int asked = 0; asked < PIN_ASK_MAX; asked++) {
		e = ask_pin(cfg, c->protected_auth, desc, error, pin, sizeof(pin));
		if (e != WEBEID_OK)
			return e;
		p11->pin = pin;
		pe = cvq_p11_login(p11->ctx, c->token_uri);
		p11->pin = NULL;
		OPENSSL_cleanse(pin, sizeof(pin));
		if (pe == CVQ_P11_OK) {
			bool ok = p11_sign_digest(c->key, req, sig, sig_len);

			/* The next signature asks the PIN again. */
			cvq_p11_logout(p11->ctx, c->token_uri);
			if (ok)
				return WEBEID_OK;
			snprintf(why, why_len, "the token did not sign");
			return WEBEID_ERR_FATAL;
		}
		switch (pe) {
		case CVQ_P11_ERR_PIN_INCORRECT:
		case CVQ_P11_ERR_PIN_LEN:
			if (cvq_p11_pin_status(p11->ctx, c->token_uri, &st) == CVQ_P11_OK && st.tries_left > 0)
				snprintf(error, sizeof(error), _("Wrong PIN: %d tries left."), st.tries_left);
			else
				snprintf(error, sizeof(error), "%s", _("Wrong PIN."));
			continue;
		case CVQ_P11_ERR_PIN_CANCELLED:
			return WEBEID_ERR_CANCELLED;
		case CVQ_P11_ERR_PIN_LOCKED:
			snprintf(why, why_len, "the PIN is blocked");
			return WEBEID_ERR_FATAL;
		default:
			snprintf(why, why_len, "token: %s", cvq_p11_strerror(pe));
			return WEBEID_ERR_FATAL;
		}
	}
	snprintf(why, why_len, "too many PIN entries refused");
	return WEBEID_ERR_FATAL;
}

static char *cert_b64(X509 *cert)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	char *b = n > 0 ? webeid_b64_encode(der, (size_t)n) : NULL;

	OPENSSL_free(der);
	return b;
}

static webeid_err authenticate(const webeid_config *cfg, cvq_card_ctx *ctx, webeid_p11 *p11,
                               const webeid_cmd *cmd,
                               json_t **result, char *why, size_t why_len)
{
	webeid_card c;
	struct key_info k;
	uint8_t tbs[128], digest[64], *sig = NULL;
	unsigned int hl = 0, dl = 0;
	size_t sig_len = 0;
	char desc[900], *certb = NULL, *sigb = NULL;
	webeid_err e;

	e = open_card(ctx, p11, cfg, CVQ_CARD_SLOT_AUTH, NULL, cmd->origin, &c, &k, why, why_len);
	if (e != WEBEID_OK)
		return e;
	/* Each hashed apart, so origin and nonce can never run into each other. */
	if (!EVP_Digest(cmd->origin, strlen(cmd->origin), tbs, &hl, k.auth_md, NULL) ||
	    !EVP_Digest(cmd->nonce, strlen(cmd->nonce), tbs + hl, &hl, k.auth_md, NULL) ||
	    !EVP_Digest(tbs, 2 * (size_t)hl, digest, &dl, k.auth_md, NULL)) {
		e = WEBEID_ERR_FATAL;
		goto out;
	}
	if (c.holder[0])
		snprintf(desc, sizeof(desc), _("Log in to %s as %s"), cmd->origin, c.holder);
	else
		snprintf(desc, sizeof(desc), _("Log in to %s"), cmd->origin);
	cvq_card_sign_req req = {
		.slot = CVQ_CARD_SLOT_AUTH, .md = k.auth_md, .padding = CVQ_CARD_PAD_PKCS1,
		.digest = digest, .digest_len = dl,
	};
	e = c.key ? p11_pin_and_sign(cfg, p11, &c, desc, &req, &sig, &sig_len, why, why_len)
	          : pin_and_sign(cfg, &c, desc, &req, &sig, &sig_len, why, why_len);
	if (e == WEBEID_OK)
		e = jws_signature(&k, sig, &sig_len, why, why_len);
	if (e != WEBEID_OK)
		goto out;
	certb = cert_b64(c.cert);
	sigb = webeid_b64_encode(sig, sig_len);
	*result = certb && sigb ? json_pack("{s:s,s:s,s:s,s:s,s:s}",
	                                    "unverifiedCertificate", certb, "algorithm", k.auth_alg,
	                                    "signature", sigb, "format", "web-eid:1.0",
	                                    "appVersion", WEBEID_APP_URL) : NULL;
	e = *result ? WEBEID_OK : WEBEID_ERR_FATAL;
out:
	free(sig);
	free(certb);
	free(sigb);
	webeid_card_release(&c);
	return e;
}

static json_t *sig_algo(const struct key_info *k, const char *hash)
{
	return json_pack("{s:s,s:s,s:s}", "cryptoAlgorithm", k->ec ? "ECC" : "RSA",
	                 "hashFunction", hash, "paddingScheme", k->ec ? "NONE" : "PKCS1.5");
}

static webeid_err get_cert(const webeid_config *cfg, cvq_card_ctx *ctx, webeid_p11 *p11,
                           const webeid_cmd *cmd,
                           json_t **result, char *why, size_t why_len)
{
	static const char *const hashes[] = {"SHA-224", "SHA-256", "SHA-384", "SHA-512",
	                                      "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512"};
	webeid_card c;
	struct key_info k;
	char desc[900], *certb = NULL;
	json_t *algos = NULL;
	webeid_err e;
	bool yes;

	e = open_card(ctx, p11, cfg, CVQ_CARD_SLOT_SIGN, NULL, cmd->origin, &c, &k, why, why_len);
	if (e != WEBEID_OK)
		return e;
	/* The certificate names the citizen: she agrees before a site reads it. */
	snprintf(desc, sizeof(desc), _("%s asks for the signing certificate of %s."),
	         cmd->origin, c.holder[0] ? c.holder : "?");
	e = webeid_dialog_confirm(cfg, desc, _("Allow"), _("Cancel"), &yes);
	if (e == WEBEID_OK && !yes)
		e = WEBEID_ERR_CANCELLED;
	if (e != WEBEID_OK)
		goto out;
	algos = json_array();
	for (size_t i = 0; algos && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		json_array_append_new(algos, sig_algo(&k, hashes[i]));
	certb = cert_b64(c.cert);
	*result = certb && algos ? json_pack("{s:s,s:O}", "certificate", certb,
	                                     "supportedSignatureAlgorithms", algos) : NULL;
	e = *result ? WEBEID_OK : WEBEID_ERR_FATAL;
out:
	json_decref(algos);
	free(certb);
	webeid_card_release(&c);
	return e;
}

static webeid_err sign(const webeid_config *cfg, cvq_card_ctx *ctx, webeid_p11 *p11,
                       const webeid_cmd *cmd,
                       json_t **result, char *why, size_t why_len)
{
	webeid_card c;
	struct key_info k;
	uint8_t *sig = NULL;
	size_t sig_len = 0, i;
	char desc[900], hex[2 * 64 + 1], *sigb = NULL;
	webeid_err e;

	e = open_card(ctx, p11, cfg, CVQ_CARD_SLOT_SIGN, cmd->cert, cmd->origin, &c, &k, why, why_len);
	if (e != WEBEID_OK)
		return e;
	for (i = 0; i < cmd->hash_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", cmd->hash[i]);
	{
		char head[600], tail[300];

		snprintf(head, sizeof(head), _("Electronic signature of a document for %s as %s"),
		         cmd->origin, c.holder[0] ? c.holder : "?");
		snprintf(tail, sizeof(tail), _("Document hash (%s): %s"), cmd->hash_name, hex);
		snprintf(desc, sizeof(desc), "%s\n%s", head, tail);
	}
	cvq_card_sign_req req = {
		.slot = CVQ_CARD_SLOT_SIGN, .md = cmd->md, .padding = CVQ_CARD_PAD_PKCS1,
		.digest = cmd->hash, .digest_len = cmd->hash_len,
	};
	e = c.key ? p11_pin_and_sign(cfg, p11, &c, desc, &req, &sig, &sig_len, why, why_len)
	          : pin_and_sign(cfg, &c, desc, &req, &sig, &sig_len, why, why_len);
	if (e == WEBEID_OK)
		e = jws_signature(&k, sig, &sig_len, why, why_len);
	if (e != WEBEID_OK)
		goto out;
	sigb = webeid_b64_encode(sig, sig_len);
	*result = sigb ? json_pack("{s:s,s:o}", "signature", sigb, "signatureAlgorithm",
	                           sig_algo(&k, cmd->hash_name)) : NULL;
	e = *result ? WEBEID_OK : WEBEID_ERR_FATAL;
out:
	free(sig);
	free(sigb);
	webeid_card_release(&c);
	return e;
}

webeid_err webeid_run(const webeid_config *cfg, const webeid_cmd *cmd, json_t **result,
                      char *why, size_t why_len)
{
	cvq_card_ctx *ctx = NULL;
	webeid_p11 p11 = {0};
	cvq_card_err ce;
	webeid_err e;

	*result = NULL;
	if (cmd->type == WEBEID_CMD_QUIT) {
		*result = json_object();
		return *result ? WEBEID_OK : WEBEID_ERR_FATAL;
	}
	if (cfg->pkcs11_module[0]) {
		cvq_p11_err pe = cvq_p11_open(cfg->pkcs11_module, &p11.ctx);

		if (pe != CVQ_P11_OK) {
			snprintf(why, why_len, "PKCS#11 module: %s", cvq_p11_strerror(pe));
			return WEBEID_ERR_FATAL;
		}
		cvq_p11_set_pin_callback(p11.ctx, p11_give_pin, &p11);
	}
	ce = cvq_card_ctx_new(&ctx);
	/* Without pcscd, a PKCS#11 module may still hold the citizen's keys. */
	if (ce != CVQ_CARD_OK && !p11.ctx)
		return card_fail(ce, why, why_len);
	switch (cmd->type) {
	case WEBEID_CMD_AUTHENTICATE:
		e = authenticate(cfg, ctx, &p11, cmd, result, why, why_len);
		break;
	case WEBEID_CMD_GET_SIGNING_CERT:
		e = get_cert(cfg, ctx, &p11, cmd, result, why, why_len);
		break;
	case WEBEID_CMD_SIGN:
		e = sign(cfg, ctx, &p11, cmd, result, why, why_len);
		break;
	default:
		e = WEBEID_ERR_FATAL;
	}
	cvq_card_ctx_free(ctx);
	cvq_p11_close(p11.ctx);
	return e;
}
