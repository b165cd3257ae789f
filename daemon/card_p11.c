/*
 * The PKCS#11 backend, through libcvqp11: cards and tokens that are not
 * PIV (or PIV through OpenSC) behind any PKCS#11 module. Each token is a
 * "reader" named by its label; its serial stands for the GUID. The keys
 * are found by CKA_ID (config: auth_id, sign_id). The PIN goes through the
 * module's login, handed over by the PIN callback for the one signature,
 * and the token is logged out after each one: a PIN for every signature.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_backend.h"
#include "cvq/p11.h"
#include "log.h"
#include "trust.h"

#define MAX_TOKENS 16

struct p11 {
	cvq_p11_ctx *ctx;
	pthread_mutex_t lock;    /* libcvqp11 calls and the PIN hand-over */
	const char *pin;         /* set during one signature only */
	char auth_id[64], sign_id[64];
	struct cvq_p11_token_info tok[MAX_TOKENS];
	cvqd_card_info info[MAX_TOKENS];
	size_t n;
	bool dirty;
};

static cvqd_err map(cvq_p11_err e)
{
	switch (e) {
	case CVQ_P11_OK: return CVQD_OK;
	case CVQ_P11_ERR_NOMEM: return CVQD_ERR_NOMEM;
	case CVQ_P11_ERR_NO_TOKEN: return CVQD_ERR_NO_CARD;
	case CVQ_P11_ERR_TOKEN_REMOVED: return CVQD_ERR_CARD_REMOVED;
	case CVQ_P11_ERR_PIN_INCORRECT: return CVQD_ERR_PIN_WRONG;
	case CVQ_P11_ERR_PIN_LOCKED: return CVQD_ERR_PIN_BLOCKED;
	case CVQ_P11_ERR_PIN_LEN: return CVQD_ERR_PIN_FORMAT;
	case CVQ_P11_ERR_PIN_CANCELLED: return CVQD_ERR_PIN_CANCELLED;
	default: return CVQD_ERR_CARD;
	}
}

static int give_pin(void *arg, const char *label, char *buf, size_t cap)
{
	struct p11 *p = arg;
	if (!buf) /* a PIN pad: the holder types on the reader */
		return 0;
	if (!p->pin || strlen(p->pin) >= cap)
		return -1;
	memcpy(buf, p->pin, strlen(p->pin) + 1);
	return 0;
}

static void token_uri(const struct cvq_p11_token_info *t, const char *id, char *out, size_t len)
{
	snprintf(out, len, "pkcs11:serial=%s%s%s", t->serial, id ? ";id=" : "", id ? id : "");
}

/* With p->lock held. */
static void refresh(struct p11 *p)
{
	size_t n = 0;
	if (cvq_p11_tokens(p->ctx, p->tok, MAX_TOKENS, &n) != CVQ_P11_OK)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		cvqd_card_info *ci = &p->info[i];
		char uri[256];
		memset(ci, 0, sizeof *ci);
		snprintf(ci->reader, sizeof ci->reader, "%s", p->tok[i].label);
		snprintf(ci->guid, sizeof ci->guid, "%s", p->tok[i].serial);
		snprintf(ci->kind, sizeof ci->kind, "pkcs11");
		ci->present = true;
		ci->pin_tries = -1;
		/* The module asks its own pad (CKF_PROTECTED_AUTHENTICATION_PATH). */
		ci->pinpad = p->tok[i].protected_auth;
		token_uri(&p->tok[i], NULL, uri, sizeof uri);
		struct cvq_p11_pin_status st;
		if (cvq_p11_pin_status(p->ctx, uri, &st) == CVQ_P11_OK)
			ci->pin_tries = st.locked ? 0 : st.tries_left;
		token_uri(&p->tok[i], p->sign_id, uri, sizeof uri);
		cvq_p11_key *k = NULL;
		if (cvq_p11_key_find(p->ctx, uri, &k) == CVQ_P11_OK) {
			ci->usable = cvq_p11_key_cert(k) != NULL;
			cvq_p11_key_free(k);
		}
		token_uri(&p->tok[i], p->auth_id, uri, sizeof uri);
		if (cvq_p11_key_find(p->ctx, uri, &k) == CVQ_P11_OK) {
			if (cvq_p11_key_cert(k))
				cvqd_x509_cn(cvq_p11_key_cert(k), ci->holder, sizeof ci->holder);
			cvq_p11_key_free(k);
		}
	}
	p->n = n;
	p->dirty = false;
}

static cvqd_err p11_list(void *impl, cvqd_card_info *out, size_t cap, size_t *n)
{
	struct p11 *p = impl;
	pthread_mutex_lock(&p->lock);
	if (p->dirty)
		refresh(p);
	*n = p->n < cap ? p->n : cap;
	memcpy(out, p->info, *n * sizeof out[0]);
	pthread_mutex_unlock(&p->lock);
	return CVQD_OK;
}

static cvqd_err p11_wait(void *impl, unsigned timeout_ms)
{
	struct p11 *p = impl;
	unsigned long slot;
	bool present;
	/* Not under p->lock: libcvqp11 serializes, and signing must not wait. */
	if (cvq_p11_wait(p->ctx, (int)timeout_ms, &slot, &present) == CVQ_P11_OK) {
		pthread_mutex_lock(&p->lock);
		p->dirty = true;
		pthread_mutex_unlock(&p->lock);
	}
	return CVQD_OK;
}

/* With p->lock held: the key of a slot on the token shown as `reader`. */
static cvqd_err find_key(struct p11 *p, const char *reader, cvqd_key_slot slot,
                         cvq_p11_key **k, char *tok_uri, size_t len)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->info[i].reader, reader) != 0)
			continue;
		char uri[256];
		token_uri(&p->tok[i], slot == CVQD_SLOT_SIGN ? p->sign_id : p->auth_id, uri, sizeof uri);
		token_uri(&p->tok[i], NULL, tok_uri, len);
		return map(cvq_p11_key_find(p->ctx, uri, k));
	}
	return CVQD_ERR_CARD_REMOVED;
}

static cvqd_err p11_cert(void *impl, const char *reader, cvqd_key_slot slot, X509 **out)
{
	struct p11 *p = impl;
	cvq_p11_key *k = NULL;
	char tok[256];
	pthread_mutex_lock(&p->lock);
	cvqd_err e = find_key(p, reader, slot, &k, tok, sizeof tok);
	if (e == CVQD_OK) {
		X509 *x = cvq_p11_key_cert(k);
		*out = x ? X509_dup(x) : NULL;
		e = *out ? CVQD_OK : CVQD_ERR_CARD;
		cvq_p11_key_free(k);
	}
	pthread_mutex_unlock(&p->lock);
	return e;
}

static cvqd_err p11_sign(void *impl, const char *reader, cvqd_key_slot slot,
                         const char *pin, unsigned pad_timeout_s, const cvqd_tbs *tbs,
                         uint8_t *sig, size_t *siglen, int *tries_left)
{
	struct p11 *p = impl;
	cvq_p11_key *k = NULL;
	char tok[256];
	pthread_mutex_lock(&p->lock);
	cvqd_err e = find_key(p, reader, slot, &k, tok, sizeof tok);
	if (e == CVQD_OK) {
		EVP_PKEY *pub = cvq_p11_key_public(k);
		cvq_p11_sig alg = pub && EVP_PKEY_is_a(pub, "EC") ? CVQ_P11_SIG_ECDSA : CVQ_P11_SIG_RSA_PKCS1;
		p->pin = pin;
		e = map(cvq_p11_sign(k, alg, tbs->md, tbs->msg, tbs->msg_len, sig, siglen));
		p->pin = NULL;
		cvq_p11_key_free(k);
		/* The next signature needs the PIN again. */
		cvq_p11_logout(p->ctx, tok);
		if (e == CVQD_ERR_PIN_WRONG) {
			struct cvq_p11_pin_status st;
			*tries_left = cvq_p11_pin_status(p->ctx, tok, &st) == CVQ_P11_OK ? st.tries_left : -1;
		}
		p->dirty = true;
	}
	pthread_mutex_unlock(&p->lock);
	return e;
}

static void p11_destroy(void *impl)
{
	struct p11 *p = impl;
	cvq_p11_close(p->ctx);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

cvqd_card_backend *cvqd_card_backend_p11(const char *module, const char *auth_id, const char *sign_id)
{
	struct p11 *p = calloc(1, sizeof *p);
	cvqd_card_backend *b = calloc(1, sizeof *b);
	if (!p || !b)
		goto fail;
	cvq_p11_err e = cvq_p11_open(module, &p->ctx);
	if (e != CVQ_P11_OK) {
		cvqd_error("PKCS#11 module %s: %s", module, cvq_p11_strerror(e));
		goto fail;
	}
	pthread_mutex_init(&p->lock, NULL);
	snprintf(p->auth_id, sizeof p->auth_id, "%s", auth_id);
	snprintf(p->sign_id, sizeof p->sign_id, "%s", sign_id);
	p->dirty = true;
	cvq_p11_set_pin_callback(p->ctx, give_pin, p);
	b->name = "pkcs11";
	b->impl = p;
	b->destroy = p11_destroy;
	b->list = p11_list;
	b->wait_change = p11_wait;
	b->get_cert = p11_cert;
	b->sign = p11_sign;
	return b;
fail:
	free(p);
	free(b);
	return NULL;
}
