/* Slots and tokens through the raw function list: fresh flags, URI matching. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11_int.h"

void p11_copy_trim(char *dst, size_t cap, const unsigned char *src, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, src, n);
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		n--;
	dst[n] = '\0';
}

static cvq_p11_err slot_list(cvq_p11_ctx *ctx, CK_BBOOL present,
                             CK_SLOT_ID *ids, CK_ULONG *n)
{
	CK_RV rv;

	*n = P11_MAX_SLOTS;
	rv = ctx->fl->C_GetSlotList(present, ids, n);
	if (rv == CKR_BUFFER_TOO_SMALL)
		*n = P11_MAX_SLOTS;   /* more than we track: use the first ones */
	else if (rv != CKR_OK) {
		ctx->last_rv = rv;
		return p11_map_rv(rv);
	}
	return CVQ_P11_OK;
}

static bool match_slot(const cvq_p11_uri *u, CK_SLOT_ID id,
                       const CK_SLOT_INFO *si)
{
	unsigned long want;
	char desc[65], manuf[33];
	const char *v;

	if (cvq_p11_uri_slot_id(u, &want) && want != id)
		return false;
	p11_copy_trim(desc, sizeof(desc), si->slotDescription,
	              sizeof(si->slotDescription));
	p11_copy_trim(manuf, sizeof(manuf), si->manufacturerID,
	              sizeof(si->manufacturerID));
	v = cvq_p11_uri_get(u, CVQ_P11_URI_SLOT_DESCRIPTION, NULL);
	if (v != NULL && strcmp(v, desc) != 0)
		return false;
	v = cvq_p11_uri_get(u, CVQ_P11_URI_SLOT_MANUFACTURER, NULL);
	if (v != NULL && strcmp(v, manuf) != 0)
		return false;
	return true;
}

static bool match_token(const cvq_p11_uri *u, const CK_TOKEN_INFO *ti)
{
	char label[33], manuf[33], model[17], serial[17];

	p11_copy_trim(label, sizeof(label), ti->label, sizeof(ti->label));
	p11_copy_trim(manuf, sizeof(manuf), ti->manufacturerID,
	              sizeof(ti->manufacturerID));
	p11_copy_trim(model, sizeof(model), ti->model, sizeof(ti->model));
	p11_copy_trim(serial, sizeof(serial), ti->serialNumber,
	              sizeof(ti->serialNumber));
	return cvq_p11_uri_match_token(u, label, manuf, model, serial);
}

cvq_p11_err p11_select_token(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                             CK_SLOT_ID *slot, CK_TOKEN_INFO *ti)
{
	CK_SLOT_ID ids[P11_MAX_SLOTS];
	CK_ULONG n, i, found = 0;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO t;
	cvq_p11_err err;
	CK_RV rv;

	err = slot_list(ctx, CK_TRUE, ids, &n);
	if (err != CVQ_P11_OK)
		return err;
	for (i = 0; i < n; i++) {
		if (ctx->fl->C_GetSlotInfo(ids[i], &si) != CKR_OK)
			continue;
		rv = ctx->fl->C_GetTokenInfo(ids[i], &t);
		if (rv != CKR_OK)
			continue;
		/* SoftHSM2 always shows one blank token for initialisation */
		if (!(t.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!match_slot(u, ids[i], &si) || !match_token(u, &t))
			continue;
		if (found++ == 0) {
			*slot = ids[i];
			*ti = t;
		}
	}
	if (found == 0)
		return CVQ_P11_ERR_NO_TOKEN;
	return found == 1 ? CVQ_P11_OK : CVQ_P11_ERR_AMBIGUOUS;
}

void p11_session_drop(cvq_p11_ctx *ctx, CK_SLOT_ID slot)
{
	size_t i;

	for (i = 0; i < ctx->nsess; i++) {
		if (ctx->sess[i].slot == slot) {
			ctx->fl->C_CloseSession(ctx->sess[i].h);
			ctx->sess[i] = ctx->sess[--ctx->nsess];
			return;
		}
	}
}

/*
 * The session kept open on a slot and its state (one C_GetSessionInfo);
 * reopened when the token went away. h may be NULL.
 */
cvq_p11_err p11_session_info(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                             CK_SESSION_HANDLE *h, CK_SESSION_INFO *info)
{
	CK_SESSION_HANDLE nh;
	size_t i;
	CK_RV rv;

	for (i = 0; i < ctx->nsess; i++) {
		if (ctx->sess[i].slot != slot)
			continue;
		if (ctx->fl->C_GetSessionInfo(ctx->sess[i].h, info) == CKR_OK) {
			if (h != NULL)
				*h = ctx->sess[i].h;
			return CVQ_P11_OK;
		}
		p11_session_drop(ctx, slot);
		break;
	}
	if (ctx->nsess == P11_MAX_SLOTS)
		return CVQ_P11_ERR_NOMEM;
	rv = ctx->fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &nh);
	if (rv == CKR_OK)
		rv = ctx->fl->C_GetSessionInfo(nh, info);
	if (rv != CKR_OK) {
		ctx->last_rv = rv;
		return p11_map_rv(rv);
	}
	ctx->sess[ctx->nsess].slot = slot;
	ctx->sess[ctx->nsess].h = nh;
	ctx->nsess++;
	if (h != NULL)
		*h = nh;
	return CVQ_P11_OK;
}

/* The kept session without asking the module whether it still lives. */
cvq_p11_err p11_session_cached(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                               CK_SESSION_HANDLE *h)
{
	size_t i;

	for (i = 0; i < ctx->nsess; i++) {
		if (ctx->sess[i].slot == slot) {
			*h = ctx->sess[i].h;
			return CVQ_P11_OK;
		}
	}
	return p11_session(ctx, slot, h);
}

cvq_p11_err p11_session(cvq_p11_ctx *ctx, CK_SLOT_ID slot, CK_SESSION_HANDLE *h)
{
	CK_SESSION_INFO info;

	return p11_session_info(ctx, slot, h, &info);
}

cvq_p11_err cvq_p11_tokens(cvq_p11_ctx *ctx, struct cvq_p11_token_info *out,
                           size_t cap, size_t *n)
{
	CK_SLOT_ID ids[P11_MAX_SLOTS];
	CK_ULONG count = 0, i;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	cvq_p11_err err;
	size_t k = 0;

	if (ctx == NULL || n == NULL || (out == NULL && cap > 0))
		return CVQ_P11_ERR_ARG;
	pthread_mutex_lock(&ctx->lock);
	err = slot_list(ctx, CK_TRUE, ids, &count);
	for (i = 0; err == CVQ_P11_OK && i < count; i++) {
		if (ctx->fl->C_GetSlotInfo(ids[i], &si) != CKR_OK ||
		    ctx->fl->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		if (k < cap) {
			struct cvq_p11_token_info *t = &out[k];
			memset(t, 0, sizeof(*t));
			t->slot_id = ids[i];
			p11_copy_trim(t->slot_description, sizeof(t->slot_description),
			              si.slotDescription, sizeof(si.slotDescription));
			p11_copy_trim(t->label, sizeof(t->label), ti.label,
			              sizeof(ti.label));
			p11_copy_trim(t->manufacturer, sizeof(t->manufacturer),
			              ti.manufacturerID, sizeof(ti.manufacturerID));
			p11_copy_trim(t->model, sizeof(t->model), ti.model,
			              sizeof(ti.model));
			p11_copy_trim(t->serial, sizeof(t->serial), ti.serialNumber,
			              sizeof(ti.serialNumber));
			t->removable = (si.flags & CKF_REMOVABLE_DEVICE) != 0;
			t->login_required = (ti.flags & CKF_LOGIN_REQUIRED) != 0;
			t->protected_auth =
				(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
			t->write_protected = (ti.flags & CKF_WRITE_PROTECTED) != 0;
		}
		k++;
	}
	*n = k;
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

cvq_p11_err cvq_p11_pin_status(cvq_p11_ctx *ctx, const char *uri,
                               struct cvq_p11_pin_status *st)
{
	cvq_p11_uri *u = NULL;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	cvq_p11_err err;

	if (ctx == NULL || st == NULL)
		return CVQ_P11_ERR_ARG;
	err = cvq_p11_uri_parse(uri, &u);
	if (err != CVQ_P11_OK)
		return err;
	pthread_mutex_lock(&ctx->lock);
	err = p11_select_token(ctx, u, &slot, &ti);
	pthread_mutex_unlock(&ctx->lock);
	cvq_p11_uri_free(u);
	if (err != CVQ_P11_OK)
		return err;
	memset(st, 0, sizeof(*st));
	st->count_low = (ti.flags & CKF_USER_PIN_COUNT_LOW) != 0;
	st->final_try = (ti.flags & CKF_USER_PIN_FINAL_TRY) != 0;
	st->locked = (ti.flags & CKF_USER_PIN_LOCKED) != 0;
	st->to_be_changed = (ti.flags & CKF_USER_PIN_TO_BE_CHANGED) != 0;
	st->tries_left = st->locked ? 0 : st->final_try ? 1 : -1;
	return CVQ_P11_OK;
}

/*
 * Is the token out of its slot? C_GetSlotInfo only: OpenSC looks at the
 * reader for it, and OpenSC 0.23's C_GetTokenInfo deadlocks on a card
 * pulled out during a command (sc_pkcs15_get_pin_info re-takes a lock).
 */
bool p11_token_gone(cvq_p11_ctx *ctx, CK_SLOT_ID slot)
{
	CK_SLOT_INFO si;

	return ctx->fl->C_GetSlotInfo(slot, &si) != CKR_OK ||
	       !(si.flags & CKF_TOKEN_PRESENT);
}

/* C_GetTokenInfo, unless the token is gone (see above). */
cvq_p11_err p11_token_info(cvq_p11_ctx *ctx, CK_SLOT_ID slot, CK_TOKEN_INFO *ti)
{
	CK_RV rv;

	if (p11_token_gone(ctx, slot))
		return CVQ_P11_ERR_TOKEN_REMOVED;
	rv = ctx->fl->C_GetTokenInfo(slot, ti);
	if (rv != CKR_OK) {
		ctx->last_rv = rv;
		return CVQ_P11_ERR_TOKEN_REMOVED;
	}
	return CVQ_P11_OK;
}

/*
 * After a failure: was it the token going away? A card pulled out during a
 * command fails it with CKR_GENERAL_ERROR / CKR_DEVICE_ERROR before the
 * reader stack (pcscd polls its drivers) shows the slot empty; give it up
 * to a second in that case only, so the caller gets "token removed"
 * rather than "signature failed".
 */
bool p11_token_gone_settled(cvq_p11_ctx *ctx, CK_SLOT_ID slot)
{
	struct timespec ts = { 0, 50 * 1000000L };
	CK_RV rv = ctx->last_rv;
	int i;

	if (p11_token_gone(ctx, slot))
		return true;
	if (rv != CKR_GENERAL_ERROR && rv != CKR_DEVICE_ERROR &&
	    rv != CKR_FUNCTION_FAILED)
		return false;
	for (i = 0; i < 20; i++) {
		nanosleep(&ts, NULL);
		if (p11_token_gone(ctx, slot))
			return true;
	}
	return false;
}
