/*
 * The PC/SC + PIV backend, through libcvqcard. The monitor thread feeds
 * reader events in (wait_change) and probes each newly inserted card once
 * (GUID, PIN tries, holder); request threads use the connected handle of
 * their reader, one at a time (the per-reader queue in cards.c), under the
 * reader's handle lock that also keeps the prober off the card meanwhile.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "card_backend.h"
#include "cvq/card.h"
#include "cvq/card_pinpad.h"
#include "cvq/piv.h"
#include "cvq/piv_authentic.h"
#include "cvq/profile.h"
#include "log.h"
#include "trust.h"

struct rdr {
	char name[CVQ_CARD_READER_MAX];
	bool used;
	bool present;
	bool stale;              /* the card left: drop the handle before use */
	bool probed;
	bool pinpad;             /* the reader's, learnt with its first card */
	bool have_info;          /* info was probed from the card now inserted */
	cvqd_card_info info;
	cvq_card *card;          /* guarded by hlock */
	pthread_mutex_t hlock;
};

struct piv {
	cvq_card_ctx *ctx;
	pthread_mutex_t lock;    /* the table (not the card handles) */
	struct rdr r[16];
	bool service_lost;
	char *filter;
	X509_STORE *trust;       /* issue #17: whose cards are genuine; NULL: no check */
	bool foreign_ok;
};

static cvqd_err map(cvq_card_err e)
{
	switch (e) {
	case CVQ_CARD_OK: return CVQD_OK;
	case CVQ_CARD_ERR_NOMEM: return CVQD_ERR_NOMEM;
	case CVQ_CARD_ERR_NO_SERVICE: return CVQD_ERR_NO_SERVICE;
	case CVQ_CARD_ERR_NO_READER:
	case CVQ_CARD_ERR_NO_CARD: return CVQD_ERR_NO_CARD;
	case CVQ_CARD_ERR_CARD_REMOVED:
	case CVQ_CARD_ERR_CARD_CHANGED: return CVQD_ERR_CARD_REMOVED;
	case CVQ_CARD_ERR_PIN_WRONG: return CVQD_ERR_PIN_WRONG;
	case CVQ_CARD_ERR_PIN_BLOCKED: return CVQD_ERR_PIN_BLOCKED;
	case CVQ_CARD_ERR_PIN_FORMAT: return CVQD_ERR_PIN_FORMAT;
	/* Only the PIN pad answers these to a card operation. */
	case CVQ_CARD_ERR_CANCELLED: return CVQD_ERR_PIN_CANCELLED;
	case CVQ_CARD_ERR_TIMEOUT: return CVQD_ERR_PIN_TIMEOUT;
	default: return CVQD_ERR_CARD;
	}
}

static struct rdr *find(struct piv *p, const char *name, bool create)
{
	struct rdr *freer = NULL;
	for (size_t i = 0; i < 16; i++) {
		if (p->r[i].used && !strcmp(p->r[i].name, name))
			return &p->r[i];
		if (!p->r[i].used && !freer)
			freer = &p->r[i];
	}
	if (!create || !freer)
		return NULL;
	freer->used = true;
	freer->present = freer->probed = freer->pinpad = freer->have_info = false;
	freer->stale = true;
	snprintf(freer->name, sizeof freer->name, "%s", name);
	return freer;
}

/* With r->hlock held: a live handle on the card now in the reader. */
static cvq_card_err handle(struct piv *p, struct rdr *r)
{
	if (r->stale && r->card) {
		cvq_card_disconnect(r->card, true);
		r->card = NULL;
	}
	r->stale = false;
	if (r->card)
		return CVQ_CARD_OK;
	return cvq_card_connect(p->ctx, r->name, &r->card);
}

/*
 * Issue #17: at insertion, before anything can ask for the PIN, is the
 * card one the city issued? A copy of a city card (its signed objects on
 * a blank chip) is never usable; another issuer's card only if allowed.
 */
static cvq_card_err authenticity(struct piv *p, struct rdr *r, cvqd_card_info *ci)
{
	cvq_piv_authenticity a;
	cvq_card_err e = cvq_piv_authenticate(r->card, p->trust, CVQ_PIV_AUTH_QUICK, &a);
	if (e != CVQ_CARD_OK) {
		ci->usable = false;
		return e;
	}
	ci->authentic = a.authentic ? 1 : -1;
	snprintf(ci->auth_reason, sizeof ci->auth_reason, "%s", cvq_piv_auth_reason_name(a.reason));
	if (a.authentic)
		return CVQ_CARD_OK;
	bool foreign = a.reason == CVQ_PIV_AUTH_NO_CHUID || a.reason == CVQ_PIV_AUTH_CHUID_UNSIGNED ||
	               a.reason == CVQ_PIV_AUTH_SIGNER_UNTRUSTED ||
	               a.reason == CVQ_PIV_AUTH_SIGNER_NOT_CONTENT;
	ci->usable = foreign && p->foreign_ok;
	cvqd_warn("reader %s: card %s is not authentic (%s%s%s)%s", r->name,
	          ci->guid[0] ? ci->guid : "?", cvq_piv_auth_reason_text(a.reason),
	          a.detail[0] ? ": " : "", a.detail,
	          ci->usable ? "; another issuer's card, allowed" : "; refused");
	return CVQ_CARD_OK;
}

/*
 * Read GUID, PIN tries and holder once per insertion. False when the reader
 * is busy with a card operation (a PIN typed on its pad may take minutes):
 * status never waits behind one; the card is listed without its details
 * and probed on a later listing.
 */
static bool probe(struct piv *p, struct rdr *r, cvqd_card_info *ci)
{
	cvq_card_status st;
	if (pthread_mutex_trylock(&r->hlock) != 0)
		return false;
	cvq_card_err e = handle(p, r);
	if (e == CVQ_CARD_OK)
		e = cvq_card_get_status(r->card, &st);
	if (e == CVQ_CARD_OK) {
		ci->usable = st.state == CVQ_CARD_STATE_ENROLLED || st.state == CVQ_CARD_STATE_PIN_BLOCKED ||
		             st.state == CVQ_CARD_STATE_BLOCKED || st.has_cert_auth || st.has_cert_sign;
		if (st.has_guid)
			cvq_card_guid_hex(st.guid, ci->guid);
		ci->pin_tries = st.pin_tries;
		bool pad = false;
		if (cvq_card_has_pinpad(r->card, &pad) == CVQ_CARD_OK)
			ci->pinpad = pad;
		X509 *x = NULL;
		if (st.has_cert_auth && cvq_card_read_cert(r->card, CVQ_CARD_SLOT_AUTH, &x) == CVQ_CARD_OK) {
			cvqd_x509_cn(x, ci->holder, sizeof ci->holder);
			X509_free(x);
		}
		if (ci->usable && p->trust)
			e = authenticity(p, r, ci);
	}
	if (e != CVQ_CARD_OK) {
		cvqd_dbg("reader %s: card not readable: %s", r->name, cvq_card_strerror(e));
	}
	pthread_mutex_unlock(&r->hlock);
	return true;
}

static cvqd_err piv_list(void *impl, cvqd_card_info *out, size_t cap, size_t *n)
{
	struct piv *p = impl;
	*n = 0;
	pthread_mutex_lock(&p->lock);
	if (p->service_lost) {
		pthread_mutex_unlock(&p->lock);
		return CVQD_ERR_NO_SERVICE;
	}
	for (size_t i = 0; i < 16; i++) {
		struct rdr *r = &p->r[i];
		if (!r->used)
			continue;
		if (r->present && !r->probed) {
			cvqd_card_info ci = { .present = true, .pin_tries = -1 };
			snprintf(ci.reader, sizeof ci.reader, "%s", r->name);
			snprintf(ci.kind, sizeof ci.kind, "piv");
			/* Probe without the table lock: the card may be slow. */
			pthread_mutex_unlock(&p->lock);
			bool probed = probe(p, r, &ci);
			pthread_mutex_lock(&p->lock);
			if (r->used && r->present && !r->probed) {
				if (probed) {
					r->info = ci;
					r->probed = r->have_info = true;
					r->pinpad = ci.pinpad;
				} else if (!r->have_info) {
					r->info = ci;
					r->info.pinpad = r->pinpad;
				}
				/* else busy: what the last probe of this card said stands */
			}
		}
		if (!r->present) {
			memset(&r->info, 0, sizeof r->info);
			snprintf(r->info.reader, sizeof r->info.reader, "%s", r->name);
			r->info.pin_tries = -1;
			r->info.pinpad = r->pinpad;
		}
		if (*n < cap)
			out[(*n)++] = r->info;
	}
	pthread_mutex_unlock(&p->lock);
	return CVQD_OK;
}

static void on_event(struct piv *p, const cvq_card_event *ev)
{
	if (ev->reader[0] && p->filter[0] && !strstr(ev->reader, p->filter))
		return;
	pthread_mutex_lock(&p->lock);
	struct rdr *r = ev->reader[0] ? find(p, ev->reader, ev->type == CVQ_CARD_EV_READER_ADDED ||
	                                     ev->type == CVQ_CARD_EV_CARD_INSERTED) : NULL;
	switch (ev->type) {
	case CVQ_CARD_EV_READER_ADDED:
		p->service_lost = false;
		break;
	case CVQ_CARD_EV_CARD_INSERTED:
		if (r) {
			r->present = true;
			r->probed = r->have_info = false;
			r->stale = true;
		}
		break;
	case CVQ_CARD_EV_CARD_REMOVED:
	case CVQ_CARD_EV_READER_REMOVED:
		if (r) {
			r->present = false;
			r->probed = r->have_info = false;
			r->stale = true;
			if (ev->type == CVQ_CARD_EV_READER_REMOVED && !r->card)
				r->used = false;
		}
		break;
	case CVQ_CARD_EV_SERVICE_LOST:
		p->service_lost = true;
		for (size_t i = 0; i < 16; i++) {
			p->r[i].present = false;
			p->r[i].probed = p->r[i].have_info = false;
			p->r[i].stale = true;
		}
		break;
	case CVQ_CARD_EV_SERVICE_BACK:
		p->service_lost = false;
		break;
	}
	pthread_mutex_unlock(&p->lock);
}

static cvqd_err piv_wait(void *impl, unsigned timeout_ms)
{
	struct piv *p = impl;
	cvq_card_event ev;
	cvq_card_err e = cvq_card_wait_event(p->ctx, (int)timeout_ms, &ev);
	while (e == CVQ_CARD_OK) {
		cvqd_dbg("pcsc event %s %s", cvq_card_event_name(ev.type), ev.reader);
		on_event(p, &ev);
		e = cvq_card_wait_event(p->ctx, 0, &ev);
	}
	if (e == CVQ_CARD_ERR_TIMEOUT || e == CVQ_CARD_ERR_CANCELLED)
		return CVQD_OK;
	return map(e);
}

static struct rdr *reader_for_op(struct piv *p, const char *reader)
{
	pthread_mutex_lock(&p->lock);
	struct rdr *r = find(p, reader, false);
	bool ok = r && r->present;
	pthread_mutex_unlock(&p->lock);
	return ok ? r : NULL;
}

static cvqd_err piv_cert(void *impl, const char *reader, cvqd_key_slot slot, X509 **out)
{
	struct piv *p = impl;
	struct rdr *r = reader_for_op(p, reader);
	if (!r)
		return CVQD_ERR_CARD_REMOVED;
	pthread_mutex_lock(&r->hlock);
	cvq_card_err e = handle(p, r);
	if (e == CVQ_CARD_OK)
		e = cvq_card_read_cert(r->card, (cvq_card_slot)slot, out);
	pthread_mutex_unlock(&r->hlock);
	return map(e);
}

static cvqd_err piv_sign(void *impl, const char *reader, cvqd_key_slot slot,
                         const char *pin, unsigned pad_timeout_s, const cvqd_tbs *tbs,
                         uint8_t *sig, size_t *siglen, int *tries_left)
{
	struct piv *p = impl;
	struct rdr *r = reader_for_op(p, reader);
	if (!r)
		return CVQD_ERR_CARD_REMOVED;
	cvq_card_sign_req req = {
		.slot = (cvq_card_slot)slot,
		.md = tbs->md,
		.padding = CVQ_CARD_PAD_PKCS1,
		.digest = tbs->digest,
		.digest_len = tbs->digest_len,
		.pin = pin,
	};
	uint8_t *s = NULL;
	size_t slen = 0;
	pthread_mutex_lock(&r->hlock);
	cvq_card_err e = handle(p, r);
	if (e == CVQ_CARD_OK)
		e = cvq_card_begin(r->card);
	if (e == CVQ_CARD_OK) {
		/* PIN pad: its VERIFY right before the signature, in this
		 * transaction (9C is PIN-always); the PIN never comes here. */
		if (!pin)
			e = cvq_card_verify_pin_pinpad(r->card, pad_timeout_s > 255 ? 255 : pad_timeout_s,
			                               tries_left);
		if (e == CVQ_CARD_OK)
			e = cvq_card_sign(r->card, &req, &s, &slen, tries_left);
		/*
		 * A verified PIN opens every slot until the card is reset, so end
		 * with a reset: nothing stays usable after our one signature.
		 * The handle (and its certificate cache) survives the reset.
		 */
		cvq_card_err e2 = cvq_card_end(r->card, true);
		if (e == CVQ_CARD_OK && e2 != CVQ_CARD_OK) {
			cvqd_dbg("reader %s: reset after signing: %s", r->name, cvq_card_strerror(e2));
			cvq_card_disconnect(r->card, true);
			r->card = NULL;
		}
	}
	pthread_mutex_unlock(&r->hlock);
	/* What the card said about its PIN, for /v1/status. */
	pthread_mutex_lock(&p->lock);
	if (e == CVQ_CARD_ERR_PIN_WRONG && tries_left)
		r->info.pin_tries = *tries_left;
	else if (e == CVQ_CARD_ERR_PIN_BLOCKED)
		r->info.pin_tries = 0;
	else if (e == CVQ_CARD_OK)
		r->probed = false; /* the counter is full again: ask the card */
	pthread_mutex_unlock(&p->lock);
	if (e == CVQ_CARD_OK) {
		if (slen > *siglen) {
			free(s);
			return CVQD_ERR_CARD;
		}
		memcpy(sig, s, slen);
		*siglen = slen;
		free(s);
	}
	return map(e);
}

static void piv_destroy(void *impl)
{
	struct piv *p = impl;
	for (size_t i = 0; i < 16; i++) {
		if (p->r[i].card)
			cvq_card_disconnect(p->r[i].card, true);
		pthread_mutex_destroy(&p->r[i].hlock);
	}
	cvq_card_ctx_free(p->ctx);
	pthread_mutex_destroy(&p->lock);
	X509_STORE_free(p->trust);
	free(p->filter);
	free(p);
}

void cvqd_card_backend_piv_trust(cvqd_card_backend *b, X509_STORE *trust, bool foreign_ok)
{
	struct piv *p = b->impl;
	if (trust && X509_STORE_up_ref(trust) != 1)
		trust = NULL;
	X509_STORE_free(p->trust);
	p->trust = trust;
	p->foreign_ok = foreign_ok;
}

cvqd_card_backend *cvqd_card_backend_piv(const char *reader_filter)
{
	struct piv *p = calloc(1, sizeof *p);
	cvqd_card_backend *b = calloc(1, sizeof *b);
	if (!p || !b)
		goto fail;
	p->filter = strdup(reader_filter ? reader_filter : "");
	if (!p->filter)
		goto fail;
	pthread_mutex_init(&p->lock, NULL);
	for (size_t i = 0; i < 16; i++)
		pthread_mutex_init(&p->r[i].hlock, NULL);
	cvq_card_err e = cvq_card_ctx_new(&p->ctx);
	if (e != CVQ_CARD_OK) {
		/* pcscd may come later: the context re-establishes itself. */
		cvqd_error("PC/SC: %s", cvq_card_strerror(e));
		piv_destroy(p);
		free(b);
		return NULL;
	}
	b->name = "pcsc";
	b->impl = p;
	b->destroy = piv_destroy;
	b->list = piv_list;
	b->wait_change = piv_wait;
	b->get_cert = piv_cert;
	b->sign = piv_sign;
	return b;
fail:
	if (p)
		free(p->filter);
	free(p);
	free(b);
	return NULL;
}
