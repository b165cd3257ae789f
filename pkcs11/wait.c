/*
 * Token insertion and removal. libp11 has no event API: C_WaitForSlotEvent
 * through the raw function list, never blocking inside the module (a
 * blocked call can only be ended by C_Finalize); where the module lacks it
 * (SoftHSM2), a comparison of slot snapshots.
 */
#include <time.h>

#include "p11_int.h"

#define POLL_MS 50

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static size_t snapshot(cvq_p11_ctx *ctx, struct p11_slot_state *st)
{
	CK_SLOT_ID ids[P11_MAX_SLOTS];
	CK_ULONG n = P11_MAX_SLOTS, i;
	CK_SLOT_INFO si;

	if (ctx->fl->C_GetSlotList(CK_FALSE, ids, &n) != CKR_OK)
		return 0;
	if (n > P11_MAX_SLOTS)
		n = P11_MAX_SLOTS;
	for (i = 0; i < n; i++) {
		st[i].slot = ids[i];
		st[i].present = ctx->fl->C_GetSlotInfo(ids[i], &si) == CKR_OK &&
		                (si.flags & CKF_TOKEN_PRESENT);
	}
	return n;
}

/* A slot whose presence changed since the last snapshot, if any. */
static bool snapshot_diff(cvq_p11_ctx *ctx, CK_SLOT_ID *slot, bool *present)
{
	struct p11_slot_state now[P11_MAX_SLOTS];
	size_t n = snapshot(ctx, now), i, j;
	bool changed = false;

	for (i = 0; i < n && !changed; i++) {
		bool before = false;
		for (j = 0; j < ctx->nsnap; j++)
			if (ctx->snap[j].slot == now[i].slot)
				before = ctx->snap[j].present;
		if (before != now[i].present) {
			*slot = now[i].slot;
			*present = now[i].present;
			changed = true;
		}
	}
	for (j = 0; j < ctx->nsnap && !changed; j++) {
		bool still = false;
		for (i = 0; i < n; i++)
			still |= now[i].slot == ctx->snap[j].slot;
		if (!still && ctx->snap[j].present) {
			*slot = ctx->snap[j].slot;
			*present = false;
			changed = true;
		}
	}
	for (i = 0; i < n; i++)
		ctx->snap[i] = now[i];
	ctx->nsnap = n;
	return changed;
}

void p11_wait_init(cvq_p11_ctx *ctx)
{
	CK_SLOT_ID s;
	int n;

	ctx->nsnap = snapshot(ctx, ctx->snap);
	ctx->snap_valid = true;
	/* OpenSC queues an "insertion" for each card present at start: old news */
	for (n = 0; n < P11_MAX_SLOTS; n++)
		if (ctx->fl->C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL) != CKR_OK)
			break;
}

/* One non-blocking look; true when an event was found. */
static bool poll_once(cvq_p11_ctx *ctx, CK_SLOT_ID *slot, bool *present)
{
	CK_SLOT_ID s;
	CK_SLOT_INFO si;
	CK_RV rv;

	if (!ctx->snap_valid) {
		ctx->nsnap = snapshot(ctx, ctx->snap);
		ctx->snap_valid = true;
	}
	if (!ctx->no_wait_fn) {
		rv = ctx->fl->C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL);
		if (rv == CKR_OK) {
			size_t i;
			*slot = s;
			*present = ctx->fl->C_GetSlotInfo(s, &si) == CKR_OK &&
			           (si.flags & CKF_TOKEN_PRESENT);
			for (i = 0; i < ctx->nsnap; i++)
				if (ctx->snap[i].slot == s)
					ctx->snap[i].present = *present;
			return true;
		}
		if (rv != CKR_NO_EVENT)
			ctx->no_wait_fn = true;
	}
	/*
	 * Also compare slot snapshots: OpenSC reports no removal of a card
	 * this process never opened a session with.
	 */
	return snapshot_diff(ctx, slot, present);
}

cvq_p11_err cvq_p11_wait(cvq_p11_ctx *ctx, int timeout_ms,
                         unsigned long *slot_id, bool *present)
{
	long deadline;
	CK_SLOT_ID s = 0;
	bool p = false, got;

	if (ctx == NULL || slot_id == NULL || present == NULL)
		return CVQ_P11_ERR_ARG;
	deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		pthread_mutex_lock(&ctx->lock);
		got = poll_once(ctx, &s, &p);
		pthread_mutex_unlock(&ctx->lock);
		if (got) {
			*slot_id = s;
			*present = p;
			return CVQ_P11_OK;
		}
		if (timeout_ms >= 0 && now_ms() >= deadline)
			return CVQ_P11_ERR_NO_TOKEN;
		sleep_ms(POLL_MS);
	}
}
