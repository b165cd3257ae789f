#define _GNU_SOURCE /* POLLRDHUP */
#include "session.h"

#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crlfetch.h"
#include "cvqd.h"
#include "journal.h"
#include "log.h"
#include "quota.h"

static bool abandon(void *arg)
{
	cvqd_req *r = arg;
	return atomic_load(&r->d->stopping) || cvqd_req_client_gone(r);
}

/* Our turn on the card's reader, and the certificate of the slot. */
static cvqd_err take_card(cvqd_session *s, const char *reader, const char *guid)
{
	const cvqd_config *cfg = &s->r->d->cfg;
	cvqd_err e = cvqd_cards_acquire(s->r->d->cards, reader, guid, cfg->card_wait, cfg->op_timeout,
	                                abandon, s->r, &s->op, &s->info);
	if (e == CVQD_ERR_BAD_REQUEST)
		snprintf(s->why, sizeof s->why,
		         "several cards present: name one with \"reader\" or \"card\"");
	if (e != CVQD_OK)
		return e;
	cvqd_card_backend *b = cvqd_cards_backend(s->r->d->cards);
	e = b->get_cert(b->impl, s->info.reader, s->slot, &s->cert);
	if (e != CVQD_OK)
		snprintf(s->why, sizeof s->why, "cannot read the certificate of slot %02X", s->slot);
	else  /* its CRL distribution points, for [crl] (#16) */
		cvqd_crlfetch_note_cert(s->r->d->crlfetch, s->cert);
	return e;
}

cvqd_err cvqd_session_open(cvqd_session *s, cvqd_req *r, cvqd_key_slot slot)
{
	memset(s, 0, sizeof *s);
	s->r = r;
	s->slot = slot;
	s->tries_left = -1;
	json_t *jr = json_object_get(r->body, "reader"), *jc = json_object_get(r->body, "card");
	if ((jr && !json_is_string(jr)) || (jc && !json_is_string(jc))) {
		snprintf(s->why, sizeof s->why, "\"reader\" and \"card\" must be strings");
		return CVQD_ERR_BAD_REQUEST;
	}
	/* A caller's queued operations would make the next caller's time out
	 * behind them (card_busy): each caller gets its share only. */
	const cvqd_config *cfg = &r->d->cfg;
	if (!cvqd_quota_take(r->d->quota, r->uid, CVQD_QUOTA_OP, cfg->max_card_ops_per_caller)) {
		snprintf(s->why, sizeof s->why, "this caller already has %u card operations under way",
		         cfg->max_card_ops_per_caller);
		return CVQD_ERR_TOO_MANY;
	}
	s->quota = true;
	cvqd_err e = take_card(s, json_string_value(jr), json_string_value(jc));
	if (e != CVQD_OK)
		return e;
	/* The signature slot must hold a citizen signature certificate. */
	unsigned flags = slot == CVQD_SLOT_SIGN ? CVQD_TRUST_SIGNING : 0;
	struct cvqd_trust *t = cvqd_trust_get(r->d);
	cvqd_trust_check_flags(t, s->cert, NULL, time(NULL), flags | CVQD_TRUST_OFFLINE, &s->status);
	if (s->status.ocsp_pending) {
		/*
		 * OCSP would wait on the network: never while we hold the reader,
		 * or every request queued behind us waits too (up to the OCSP
		 * timeout each). Give the reader back, ask, then take the same card
		 * again and make sure it still shows the certificate we checked.
		 */
		char reader[sizeof s->info.reader], guid[sizeof s->info.guid];
		X509 *checked = s->cert;
		snprintf(reader, sizeof reader, "%s", s->info.reader);
		snprintf(guid, sizeof guid, "%s", s->info.guid);
		s->cert = NULL;
		cvqd_cards_release(s->op);
		s->op = NULL;
		cvqd_trust_check_flags(t, checked, NULL, time(NULL), flags, &s->status);
		e = take_card(s, reader, guid[0] ? guid : NULL);
		if (e == CVQD_OK && X509_cmp(checked, s->cert) != 0) {
			snprintf(s->why, sizeof s->why, "the card changed while its certificate was checked");
			e = CVQD_ERR_CARD_REMOVED;
		}
		X509_free(checked);
	}
	cvqd_trust_put(t);
	if (e != CVQD_OK)
		return e;
	if (s->status.err != CVQD_OK) {
		snprintf(s->why, sizeof s->why, "card refused: %s", s->status.reason);
		return s->status.err;
	}
	return CVQD_OK;
}

struct watch {
	cvqd_session *s;
	int efd;
	atomic_bool done;
	atomic_int why;   /* the cvqd_err behind a cancel */
};

/* Turns "client gone / card gone / stopping" into one readable fd. */
static void *watcher(void *arg)
{
	struct watch *w = arg;
	cvqd_req *r = w->s->r;
	while (!atomic_load(&w->done)) {
		struct pollfd p[2] = { { .fd = r->fd, .events = POLLRDHUP },
		                       { .fd = r->d->stop_fd, .events = POLLIN } };
		int n = poll(p, 2, 200);
		cvqd_err why = CVQD_OK;
		if (n > 0 && (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)))
			why = CVQD_ERR_CLIENT_GONE;
		else if (n > 0 && p[1].revents)
			why = CVQD_ERR_SHUTTING_DOWN;
		else if (cvqd_card_op_removed(w->s->op))
			why = CVQD_ERR_CARD_REMOVED;
		if (why != CVQD_OK) {
			atomic_store(&w->why, (int)why);
			uint64_t one = 1;
			if (write(w->efd, &one, sizeof one) < 0)
				cvqd_dbg("watcher: eventfd write failed");
			break;
		}
	}
	return NULL;
}

cvqd_err cvqd_session_pin(cvqd_session *s, const char *description)
{
	struct watch w = { .s = s };
	pthread_t th;
	atomic_init(&w.done, false);
	atomic_init(&w.why, CVQD_OK);
	w.efd = eventfd(0, EFD_CLOEXEC);
	if (w.efd < 0)
		return CVQD_ERR_INTERNAL;
	if (pthread_create(&th, NULL, watcher, &w) != 0) {
		close(w.efd);
		return CVQD_ERR_INTERNAL;
	}
	const cvqd_config *cfg = &s->r->d->cfg;
	s->pinpad = cfg->pinpad && s->info.pinpad;
	cvqd_err e = s->pinpad ? cvqd_pin_confirm_pad(cfg, description, w.efd)
	                       : cvqd_pin_ask(cfg, description, w.efd, s->pin, sizeof s->pin);
	atomic_store(&w.done, true);
	pthread_join(th, NULL);
	close(w.efd);
	if (e == CVQD_ERR_PIN_CANCELLED && atomic_load(&w.why) != CVQD_OK)
		e = (cvqd_err)atomic_load(&w.why);
	if (e != CVQD_OK) {
		OPENSSL_cleanse(s->pin, sizeof s->pin);
		if (e == CVQD_ERR_CARD_REMOVED)
			snprintf(s->why, sizeof s->why, "the card was removed during PIN entry");
		return e;
	}
	s->have_pin = true;
	return CVQD_OK;
}

cvqd_err cvqd_session_sign(cvqd_session *s, const cvqd_tbs *tbs,
                           uint8_t *sig, size_t *siglen)
{
	cvqd_card_backend *b = cvqd_cards_backend(s->r->d->cards);
	cvqd_err e;
	if (!s->have_pin) {
		e = CVQD_ERR_INTERNAL;
	} else if (cvqd_card_op_removed(s->op)) {
		e = CVQD_ERR_CARD_REMOVED;
	} else {
		int tries = -1;
		e = b->sign(b->impl, s->info.reader, s->slot, s->pinpad ? NULL : s->pin,
		            s->r->d->cfg.pin_timeout, tbs, sig, siglen, &tries);
		if (e == CVQD_OK && tries >= 0)
			cvqd_card_op_set_tries(s->op, tries);
		if (e == CVQD_ERR_PIN_WRONG || e == CVQD_ERR_PIN_BLOCKED) {
			s->tries_left = e == CVQD_ERR_PIN_BLOCKED ? 0 : tries;
			cvqd_card_op_set_tries(s->op, s->tries_left);
		}
	}
	OPENSSL_cleanse(s->pin, sizeof s->pin);
	s->have_pin = false;
	if (e == CVQD_ERR_PIN_WRONG)
		snprintf(s->why, sizeof s->why, "wrong PIN: %d tries left", s->tries_left);
	else if (e == CVQD_ERR_PIN_BLOCKED)
		snprintf(s->why, sizeof s->why, "the PIN is blocked: the card must be unblocked at the counter");
	else if (e == CVQD_ERR_CARD_REMOVED)
		snprintf(s->why, sizeof s->why, "the card was removed during signing");
	else if (e == CVQD_ERR_PIN_CANCELLED && s->pinpad)
		snprintf(s->why, sizeof s->why, "PIN entry cancelled on the reader's keypad");
	else if (e == CVQD_ERR_PIN_TIMEOUT && s->pinpad)
		snprintf(s->why, sizeof s->why, "nobody typed the PIN on the reader's keypad in time");
	return e;
}

int cvqd_session_journal(cvqd_session *s, const char *op, const uint8_t *digest, cvqd_err result)
{
	if (!s->r->d->journal)
		return 0;
	cvqd_journal_entry je = {
		.op = op, .uid = s->r->uid, .pid = s->r->pid, .card = s->info.guid,
		.reader = s->info.reader, .digest = digest,
		.result = result == CVQD_OK ? "ok" : cvqd_err_code(result),
	};
	return cvqd_journal_add(s->r->d->journal, &je);
}

int cvqd_session_dialog_text(const cvqd_session *s, const char *description,
                             char *out, size_t len)
{
	const cvqd_config *cfg = &s->r->d->cfg;
	if (cfg->pinpad && s->info.pinpad)
		return cvqd_pin_pad_text(description, out, len);
	int n = snprintf(out, len, "%s", description);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

void cvqd_session_close(cvqd_session *s)
{
	if (s->quota && s->r)
		cvqd_quota_give(s->r->d->quota, s->r->uid, CVQD_QUOTA_OP);
	s->quota = false;
	OPENSSL_cleanse(s->pin, sizeof s->pin);
	cvqd_cards_release(s->op);
	s->op = NULL;
	X509_free(s->cert);
	s->cert = NULL;
}
