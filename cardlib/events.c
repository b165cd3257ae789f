/*
 * Reader and card events: SCardGetStatusChange on every reader plus the
 * "\\?PnP?\Notification" pseudo-reader (hotplug), a queue so no event is
 * lost between calls, cancellation with SCardCancel, and recovery when
 * pcscd goes away and comes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "card_internal.h"
#include "ctx_internal.h"

#define PNP_READER "\\\\?PnP?\\Notification"
#define RETRY_MS 250
/*
 * pcsc-lite's SCardCancel does nothing unless SCardGetStatusChange has
 * already reached its blocking part; a cancel that lands between our
 * `waiting = true` and that point would be lost and an endless wait
 * would never return. Long waits are therefore cut into slices, and
 * cancel_pending is looked at between them: a lost cancel costs at most
 * one slice.
 */
#define WAIT_SLICE_MS 1000

const char *
cvq_card_event_name(cvq_card_event_type type)
{
	switch (type) {
	case CVQ_CARD_EV_READER_ADDED: return "reader-added";
	case CVQ_CARD_EV_READER_REMOVED: return "reader-removed";
	case CVQ_CARD_EV_CARD_INSERTED: return "card-inserted";
	case CVQ_CARD_EV_CARD_REMOVED: return "card-removed";
	case CVQ_CARD_EV_SERVICE_LOST: return "service-lost";
	case CVQ_CARD_EV_SERVICE_BACK: return "service-back";
	}
	return "unknown";
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
push(cvq_card_ctx *ctx, cvq_card_event_type type, const char *reader,
     const uint8_t *atr, size_t atr_len, bool excl)
{
	cvq_card_event *ev;

	if (ctx->q_len == CTX_MAX_QUEUE)
		return; /* a full queue: the oldest states are still reported */
	ev = &ctx->queue[(ctx->q_head + ctx->q_len++) % CTX_MAX_QUEUE];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	if (reader != NULL)
		snprintf(ev->reader, sizeof(ev->reader), "%s", reader);
	if (atr != NULL && atr_len <= sizeof(ev->atr)) {
		memcpy(ev->atr, atr, atr_len);
		ev->atr_len = atr_len;
	}
	ev->in_use_exclusive = excl;
}

static void
lose_service(cvq_card_ctx *ctx)
{
	pthread_mutex_lock(&ctx->wmu);
	if (ctx->wh_valid)
		SCardReleaseContext(ctx->wh);
	ctx->wh_valid = false;
	pthread_mutex_unlock(&ctx->wmu);
	if (!ctx->service_lost) {
		ctx->service_lost = true;
		push(ctx, CVQ_CARD_EV_SERVICE_LOST, NULL, NULL, 0, false);
	}
	ctx->n_readers = 0;
}

/* Compare pcscd's reader list with ours; queue added/removed readers. */
static LONG
refresh_readers(cvq_card_ctx *ctx)
{
	char *multi = NULL, *p;
	DWORD len = 0;
	size_t i, j;
	bool seen[CTX_MAX_READERS] = {false}, found;
	LONG rv;

	rv = SCardListReaders(ctx->wh, NULL, NULL, &len);
	if (rv == SCARD_S_SUCCESS) {
		multi = calloc(1, len + 1);
		if (multi == NULL)
			return SCARD_E_NO_MEMORY;
		rv = SCardListReaders(ctx->wh, NULL, multi, &len);
	}
	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		rv = SCARD_S_SUCCESS;
	if (rv != SCARD_S_SUCCESS)
		goto out;
	for (p = multi; p != NULL && *p; p += strlen(p) + 1) {
		found = false;
		for (i = 0; i < ctx->n_readers; i++) {
			if (strcmp(ctx->readers[i].name, p) == 0) {
				seen[i] = found = true;
				break;
			}
		}
		if (found || ctx->n_readers == CTX_MAX_READERS ||
		    strlen(p) >= CVQ_CARD_READER_MAX)
			continue;
		i = ctx->n_readers++;
		memset(&ctx->readers[i], 0, sizeof(ctx->readers[i]));
		strcpy(ctx->readers[i].name, p);
		ctx->readers[i].state = SCARD_STATE_UNAWARE;
		seen[i] = true;
		push(ctx, CVQ_CARD_EV_READER_ADDED, p, NULL, 0, false);
	}
	for (i = 0, j = 0; i < ctx->n_readers; i++) {
		if (!seen[i]) {
			if (ctx->readers[i].present)
				push(ctx, CVQ_CARD_EV_CARD_REMOVED, ctx->readers[i].name,
				     NULL, 0, false);
			push(ctx, CVQ_CARD_EV_READER_REMOVED, ctx->readers[i].name,
			     NULL, 0, false);
			continue;
		}
		ctx->readers[j++] = ctx->readers[i];
	}
	ctx->n_readers = j;
out:
	free(multi);
	return rv;
}

/* Queue what changed in reader r according to st. */
static void
note_state(cvq_card_ctx *ctx, struct ctx_reader *r, const SCARD_READERSTATE *st)
{
	DWORD ev = st->dwEventState;
	bool present = (ev & SCARD_STATE_PRESENT) && !(ev & SCARD_STATE_MUTE);
	bool excl = (ev & SCARD_STATE_EXCLUSIVE) != 0;

	/* The high word counts insertions: a card pulled out and put back
	 * between two calls still shows as removed then inserted. */
	if (present && r->present && ((ev ^ r->state) & 0xFFFF0000u) &&
	    r->state != SCARD_STATE_UNAWARE)
		push(ctx, CVQ_CARD_EV_CARD_REMOVED, r->name, NULL, 0, false);
	if (present && (!r->present || (((ev ^ r->state) & 0xFFFF0000u) &&
	                                r->state != SCARD_STATE_UNAWARE)))
		push(ctx, CVQ_CARD_EV_CARD_INSERTED, r->name, st->rgbAtr,
		     st->cbAtr, excl);
	else if (!present && r->present)
		push(ctx, CVQ_CARD_EV_CARD_REMOVED, r->name, NULL, 0, false);
	r->present = present;
	r->state = ev & ~(DWORD)SCARD_STATE_CHANGED;
}

static cvq_card_err
take_cancel(cvq_card_ctx *ctx)
{
	bool c;

	pthread_mutex_lock(&ctx->wmu);
	c = ctx->cancel_pending;
	ctx->cancel_pending = false;
	pthread_mutex_unlock(&ctx->wmu);
	return c ? CVQ_CARD_ERR_CANCELLED : CVQ_CARD_OK;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reach pcscd again (or for the first time) on the waiting context. */
static bool
ensure_wait_ctx(cvq_card_ctx *ctx)
{
	SCARDCONTEXT h;
	bool ok;

	pthread_mutex_lock(&ctx->wmu);
	ok = ctx->wh_valid;
	pthread_mutex_unlock(&ctx->wmu);
	if (ok)
		return true;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &h) != SCARD_S_SUCCESS) {
		if (!ctx->service_lost && ctx->started) {
			ctx->service_lost = true;
			push(ctx, CVQ_CARD_EV_SERVICE_LOST, NULL, NULL, 0, false);
		}
		return false;
	}
	pthread_mutex_lock(&ctx->wmu);
	ctx->wh = h;
	ctx->wh_valid = true;
	pthread_mutex_unlock(&ctx->wmu);
	if (ctx->service_lost) {
		ctx->service_lost = false;
		push(ctx, CVQ_CARD_EV_SERVICE_BACK, NULL, NULL, 0, false);
	}
	ctx->n_readers = 0;
	ctx->pnp_state = 0;
	return true;
}

cvq_card_err
cvq_card_wait_event(cvq_card_ctx *ctx, int timeout_ms, cvq_card_event *out)
{
	SCARD_READERSTATE st[CTX_MAX_READERS + 1];
	long long deadline = 0, left;
	cvq_card_err err;
	size_t i, n;
	DWORD wait;
	bool sliced;
	LONG rv;

	if (ctx == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	if (timeout_ms >= 0)
		deadline = now_ms() + timeout_ms;
	for (;;) {
		if (ctx->q_len > 0) {
			*out = ctx->queue[ctx->q_head];
			ctx->q_head = (ctx->q_head + 1) % CTX_MAX_QUEUE;
			ctx->q_len--;
			return CVQ_CARD_OK;
		}
		err = take_cancel(ctx);
		if (err)
			return err;
		left = timeout_ms < 0 ? -1 : deadline - now_ms();
		if (timeout_ms >= 0 && left < 0)
			left = 0;

		if (!ensure_wait_ctx(ctx)) {
			if (ctx->q_len > 0)
				continue;
			if (left == 0)
				return CVQ_CARD_ERR_TIMEOUT;
			sleep_ms(left < 0 || left > RETRY_MS ? RETRY_MS : (long)left);
			continue;
		}
		rv = refresh_readers(ctx);
		if (card_pcsc_service_gone(rv)) {
			lose_service(ctx);
			continue;
		}
		if (rv != SCARD_S_SUCCESS)
			return card_pcsc_err(rv);
		n = ctx->n_readers;
		memset(st, 0, sizeof(st));
		for (i = 0; i < n; i++) {
			st[i].szReader = ctx->readers[i].name;
			st[i].dwCurrentState = ctx->readers[i].state;
		}
		st[n].szReader = PNP_READER;
		st[n].dwCurrentState = ctx->pnp_state;

		pthread_mutex_lock(&ctx->wmu);
		if (ctx->cancel_pending) {
			ctx->cancel_pending = false;
			pthread_mutex_unlock(&ctx->wmu);
			return CVQ_CARD_ERR_CANCELLED;
		}
		ctx->waiting = true;
		pthread_mutex_unlock(&ctx->wmu);
		/* The initial pass only reads the states: no waiting. */
		sliced = ctx->started && (left < 0 || left > WAIT_SLICE_MS);
		wait = !ctx->started ? 0 : sliced ? WAIT_SLICE_MS : (DWORD)left;
		rv = SCardGetStatusChange(ctx->wh, wait, st, (DWORD)(n + 1));
		pthread_mutex_lock(&ctx->wmu);
		ctx->waiting = false;
		pthread_mutex_unlock(&ctx->wmu);

		if (rv == SCARD_E_CANCELLED) {
			err = take_cancel(ctx);
			if (err)
				return err;
			continue;
		}
		if (rv == SCARD_E_TIMEOUT) {
			if (!ctx->started) {
				ctx->started = true;
				continue;
			}
			if (sliced)
				continue; /* the deadline is further: look for a cancel */
			return CVQ_CARD_ERR_TIMEOUT;
		}
		if (card_pcsc_service_gone(rv)) {
			lose_service(ctx);
			continue;
		}
		if (rv == SCARD_E_UNKNOWN_READER || rv == SCARD_E_READER_UNAVAILABLE)
			continue; /* a reader left between list and wait: list again */
		if (rv != SCARD_S_SUCCESS)
			return card_pcsc_err(rv);
		ctx->started = true;
		/* Its high word is pcscd's reader count: keep it, or the next
		 * wait returns at once. */
		ctx->pnp_state = st[n].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
		for (i = 0; i < n; i++) {
			if (st[i].dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE))
				continue; /* gone: the next refresh reports it */
			if (st[i].dwEventState & SCARD_STATE_CHANGED)
				note_state(ctx, &ctx->readers[i], &st[i]);
		}
	}
}

cvq_card_err
cvq_card_cancel(cvq_card_ctx *ctx)
{
	if (ctx == NULL)
		return CVQ_CARD_ERR_ARG;
	pthread_mutex_lock(&ctx->wmu);
	ctx->cancel_pending = true;
	if (ctx->waiting && ctx->wh_valid)
		SCardCancel(ctx->wh);
	pthread_mutex_unlock(&ctx->wmu);
	return CVQ_CARD_OK;
}
