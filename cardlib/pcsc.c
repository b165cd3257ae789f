/*
 * PC/SC (pcsc-lite): the context, readers, connections, transactions and
 * the PC/SC transport of cvq_card.
 */
#include <stdlib.h>
#include <string.h>

#include "card_internal.h"
#include "ctx_internal.h"

#define PROTOCOLS (SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1)

bool
card_pcsc_service_gone(LONG rv)
{
	/* SCARD_F_COMM_ERROR: pcsc-lite's client lost its socket to pcscd. */
	return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
	       rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

cvq_card_err
card_pcsc_err(LONG rv)
{
	switch (rv) {
	case SCARD_S_SUCCESS: return CVQ_CARD_OK;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_E_INVALID_HANDLE:
	case SCARD_F_COMM_ERROR: return CVQ_CARD_ERR_NO_SERVICE;
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
	case SCARD_E_NO_READERS_AVAILABLE: return CVQ_CARD_ERR_NO_READER;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_UNSUPPORTED_CARD: return CVQ_CARD_ERR_NO_CARD;
	case SCARD_W_REMOVED_CARD: return CVQ_CARD_ERR_CARD_REMOVED;
	case SCARD_E_SHARING_VIOLATION: return CVQ_CARD_ERR_BUSY;
	case SCARD_E_TIMEOUT: return CVQ_CARD_ERR_TIMEOUT;
	case SCARD_E_CANCELLED: return CVQ_CARD_ERR_CANCELLED;
	case SCARD_E_NO_MEMORY: return CVQ_CARD_ERR_NOMEM;
	case SCARD_E_NOT_TRANSACTED:
	case SCARD_E_PROTO_MISMATCH: return CVQ_CARD_ERR_COMM;
	default: return CVQ_CARD_ERR_PCSC;
	}
}

cvq_card_err
cvq_card_ctx_new(cvq_card_ctx **out)
{
	cvq_card_ctx *ctx;
	LONG rv;

	if (out == NULL)
		return CVQ_CARD_ERR_ARG;
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return CVQ_CARD_ERR_NOMEM;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx->h);
	if (rv != SCARD_S_SUCCESS) {
		free(ctx);
		return card_pcsc_err(rv);
	}
	ctx->h_valid = true;
	pthread_mutex_init(&ctx->mu, NULL);
	pthread_mutex_init(&ctx->wmu, NULL);
	*out = ctx;
	return CVQ_CARD_OK;
}

void
cvq_card_ctx_free(cvq_card_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->h_valid)
		SCardReleaseContext(ctx->h);
	if (ctx->wh_valid)
		SCardReleaseContext(ctx->wh);
	pthread_mutex_destroy(&ctx->mu);
	pthread_mutex_destroy(&ctx->wmu);
	free(ctx);
}

/* With ctx->mu held: a valid connection context, re-established if pcscd
 * was restarted since. */
static LONG
ctx_ensure(cvq_card_ctx *ctx)
{
	LONG rv;

	if (ctx->h_valid) {
		rv = SCardIsValidContext(ctx->h);
		if (rv == SCARD_S_SUCCESS)
			return rv;
		SCardReleaseContext(ctx->h);
		ctx->h_valid = false;
	}
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx->h);
	if (rv == SCARD_S_SUCCESS)
		ctx->h_valid = true;
	return rv;
}

/* With ctx->mu held: the reader names as a multi-string, malloc'd. */
static LONG
ctx_list(cvq_card_ctx *ctx, char **multi)
{
	DWORD len = 0;
	LONG rv;
	int attempt;

	*multi = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		rv = ctx_ensure(ctx);
		if (rv != SCARD_S_SUCCESS)
			return rv;
		rv = SCardListReaders(ctx->h, NULL, NULL, &len);
		if (rv == SCARD_S_SUCCESS) {
			*multi = calloc(1, len + 1);
			if (*multi == NULL)
				return SCARD_E_NO_MEMORY;
			rv = SCardListReaders(ctx->h, NULL, *multi, &len);
			if (rv == SCARD_S_SUCCESS)
				return rv;
			free(*multi);
			*multi = NULL;
		}
		if (rv == SCARD_E_NO_READERS_AVAILABLE)
			return rv;
		if (!card_pcsc_service_gone(rv))
			return rv;
		/* pcscd restarted under us: a fresh context, once. */
		SCardReleaseContext(ctx->h);
		ctx->h_valid = false;
	}
	return rv;
}

cvq_card_err
cvq_card_list_readers(cvq_card_ctx *ctx, char ***names, size_t *count)
{
	char *multi = NULL, *p, **v = NULL;
	size_t n = 0, i = 0;
	cvq_card_err err = CVQ_CARD_OK;
	LONG rv;

	if (ctx == NULL || names == NULL)
		return CVQ_CARD_ERR_ARG;
	pthread_mutex_lock(&ctx->mu);
	rv = ctx_list(ctx, &multi);
	pthread_mutex_unlock(&ctx->mu);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_NO_READERS_AVAILABLE)
		return card_pcsc_err(rv);
	for (p = multi; p != NULL && *p; p += strlen(p) + 1)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	for (p = multi; p != NULL && *p; p += strlen(p) + 1) {
		v[i] = strdup(p);
		if (v[i++] == NULL) {
			err = CVQ_CARD_ERR_NOMEM;
			goto out;
		}
	}
	*names = v;
	v = NULL;
	if (count != NULL)
		*count = n;
out:
	cvq_card_readers_free(v);
	free(multi);
	return err;
}

void
cvq_card_readers_free(char **names)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

/*
 * After a failed transmit: was the card pulled out? A reader reports a
 * communication error first and the removal a moment later, so wait up
 * to a second for the reader's state to settle; "removed" is the error a
 * person at the counter understands.
 */
static bool
card_gone(cvq_card *card)
{
	SCARD_READERSTATE st;
	DWORD state = 0, proto, alen = 0, rlen = 0;
	LONG rv;

	rv = SCardStatus(card->h, NULL, &rlen, &state, &proto, NULL, &alen);
	if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD ||
	    (rv == SCARD_S_SUCCESS && (state & SCARD_ABSENT)))
		return true;
	memset(&st, 0, sizeof(st));
	st.szReader = card->reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	pthread_mutex_lock(&card->ctx->mu);
	rv = card->ctx->h_valid ? SCardGetStatusChange(card->ctx->h, 0, &st, 1)
	                        : SCARD_E_NO_SERVICE;
	if (rv == SCARD_S_SUCCESS && !(st.dwEventState & SCARD_STATE_EMPTY)) {
		st.dwCurrentState = st.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
		rv = SCardGetStatusChange(card->ctx->h, 1000, &st, 1);
	}
	pthread_mutex_unlock(&card->ctx->mu);
	return rv == SCARD_S_SUCCESS && (st.dwEventState & SCARD_STATE_EMPTY);
}

static cvq_card_err
pcsc_transmit(void *impl, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
              size_t *rsp_len)
{
	cvq_card *card = impl;
	const SCARD_IO_REQUEST *pci;
	DWORD rlen = (DWORD)*rsp_len;
	LONG rv;

	pci = card->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	rv = SCardTransmit(card->h, pci, cmd, (DWORD)cmd_len, NULL, rsp, &rlen);
	if (rv != SCARD_S_SUCCESS) {
		*rsp_len = 0;
		/* Reset by another application: the card is there (no need to
		 * wait a second in card_gone for a removal) and PIV, with its
		 * PIN state, is deselected; the next begin reconnects. */
		if (rv == SCARD_W_RESET_CARD) {
			card->selected = false;
			return CVQ_CARD_ERR_COMM;
		}
		if (rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_REMOVED_CARD ||
		    card_gone(card))
			return CVQ_CARD_ERR_CARD_REMOVED;
		return card_pcsc_err(rv);
	}
	if (rlen < 2) {
		/* No status word: the card went mute, most often pulled out. */
		*rsp_len = 0;
		return card_gone(card) ? CVQ_CARD_ERR_CARD_REMOVED : CVQ_CARD_ERR_COMM;
	}
	*rsp_len = rlen;
	return CVQ_CARD_OK;
}

static void
card_note_atr(cvq_card *card)
{
	BYTE atr[MAX_ATR_SIZE];
	DWORD atr_len = sizeof(atr), state, proto, rlen = 0;

	if (SCardStatus(card->h, NULL, &rlen, &state, &proto, atr, &atr_len) ==
	    SCARD_S_SUCCESS && atr_len <= sizeof(card->atr)) {
		memcpy(card->atr, atr, atr_len);
		card->atr_len = atr_len;
	}
}

cvq_card_err
cvq_card_connect(cvq_card_ctx *ctx, const char *reader, cvq_card **out)
{
	cvq_card *card = NULL;
	cvq_card_err err;
	LONG rv;
	int attempt;

	if (ctx == NULL || reader == NULL || out == NULL ||
	    strlen(reader) >= CVQ_CARD_READER_MAX)
		return CVQ_CARD_ERR_ARG;
	*out = NULL;
	err = card_alloc(&card);
	if (err)
		return err;
	pthread_mutex_lock(&ctx->mu);
	for (attempt = 0; attempt < 2; attempt++) {
		rv = ctx_ensure(ctx);
		if (rv != SCARD_S_SUCCESS)
			break;
		rv = SCardConnect(ctx->h, reader, SCARD_SHARE_SHARED, PROTOCOLS,
		                  &card->h, &card->proto);
		if (!card_pcsc_service_gone(rv))
			break;
		SCardReleaseContext(ctx->h);
		ctx->h_valid = false;
	}
	pthread_mutex_unlock(&ctx->mu);
	if (rv != SCARD_S_SUCCESS) {
		free(card);
		return rv == SCARD_W_REMOVED_CARD ? CVQ_CARD_ERR_NO_CARD : card_pcsc_err(rv);
	}
	card->ctx = ctx;
	card->connected = true;
	strcpy(card->reader, reader);
	card->tp.transmit = pcsc_transmit;
	card->tp.impl = card;
	/* Short APDUs with chaining and 61xx work on every PIV card and reader;
	 * extended ones do not, so PC/SC does not use them. */
	card->tp.extended = false;
	card_note_atr(card);
	*out = card;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_connect_any(cvq_card_ctx *ctx, cvq_card **out)
{
	char **names = NULL;
	size_t n = 0, i;
	cvq_card_err err, last = CVQ_CARD_ERR_NO_READER;

	if (ctx == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_list_readers(ctx, &names, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		err = cvq_card_connect(ctx, names[i], out);
		if (err == CVQ_CARD_OK)
			break;
		if (err != CVQ_CARD_ERR_NO_CARD && err != CVQ_CARD_ERR_NO_READER) {
			last = err;
			break;
		}
		last = CVQ_CARD_ERR_NO_CARD;
	}
	cvq_card_readers_free(names);
	return err == CVQ_CARD_OK ? CVQ_CARD_OK : last;
}

void
card_pcsc_disconnect(cvq_card *card, bool reset)
{
	if (card->connected) {
		if (card->tx_depth > 0)
			SCardEndTransaction(card->h, SCARD_LEAVE_CARD);
		SCardDisconnect(card->h, reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
		card->connected = false;
	}
}

cvq_card_err
card_pcsc_reconnect(cvq_card *card, bool *reinserted)
{
	cvq_card_ctx *ctx = card->ctx;
	LONG rv;

	*reinserted = false;
	if (card->connected) {
		rv = SCardReconnect(card->h, SCARD_SHARE_SHARED, PROTOCOLS,
		                    SCARD_LEAVE_CARD, &card->proto);
		if (rv == SCARD_S_SUCCESS) {
			card->removed = false;
			card_note_atr(card);
			return CVQ_CARD_OK;
		}
		SCardDisconnect(card->h, SCARD_LEAVE_CARD);
		card->connected = false;
	}
	/* The old handle is dead (removal, pcscd restart): a new one. */
	*reinserted = true;
	pthread_mutex_lock(&ctx->mu);
	rv = ctx_ensure(ctx);
	if (rv == SCARD_S_SUCCESS)
		rv = SCardConnect(ctx->h, card->reader, SCARD_SHARE_SHARED, PROTOCOLS,
		                  &card->h, &card->proto);
	pthread_mutex_unlock(&ctx->mu);
	if (rv != SCARD_S_SUCCESS)
		return rv == SCARD_W_REMOVED_CARD ? CVQ_CARD_ERR_NO_CARD : card_pcsc_err(rv);
	card->connected = true;
	card->removed = false;
	card_note_atr(card);
	return CVQ_CARD_OK;
}

/*
 * After PC/SC reported a reset by someone else: same card or another?
 * Called inside our transaction, tx_depth already 1.
 */
static cvq_card_err
check_same_card(cvq_card *card)
{
	bool had_guid = card->has_last_guid;
	uint8_t old[CVQ_CARD_GUID_LEN];
	cvq_card_chuid now;
	cvq_card_err err;

	card->selected = false;
	if (!had_guid) {
		/* Nothing to compare with: read everything anew. */
		card_forget(card);
		return CVQ_CARD_OK;
	}
	memcpy(old, card->last_guid, sizeof(old));
	card->chuid_c.known = false;
	err = card_read_chuid_raw(card, &now);
	if (err == CVQ_CARD_ERR_NOT_FOUND || err == CVQ_CARD_ERR_NOT_PIV ||
	    (err == CVQ_CARD_OK && memcmp(now.guid, old, sizeof(old)) != 0)) {
		card_forget(card);
		return CVQ_CARD_ERR_CARD_CHANGED;
	}
	return err;
}

cvq_card_err
card_pcsc_begin(cvq_card *card)
{
	cvq_card_err err;
	LONG rv;
	int attempt;

	if (!card->connected || card->removed)
		return CVQ_CARD_ERR_CARD_REMOVED;
	for (attempt = 0; attempt < 2; attempt++) {
		rv = SCardBeginTransaction(card->h);
		if (rv == SCARD_S_SUCCESS)
			break;
		if (rv == SCARD_W_RESET_CARD && attempt == 0) {
			rv = SCardReconnect(card->h, SCARD_SHARE_SHARED, PROTOCOLS,
			                    SCARD_LEAVE_CARD, &card->proto);
			if (rv != SCARD_S_SUCCESS)
				break;
			card->selected = false;
			continue;
		}
		break;
	}
	if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD) {
		card->removed = true;
		card->selected = false;
		card_forget(card);
		return CVQ_CARD_ERR_CARD_REMOVED;
	}
	if (rv != SCARD_S_SUCCESS)
		return card_pcsc_err(rv);
	if (attempt > 0) {
		card->tx_depth = 1;
		err = check_same_card(card);
		card->tx_depth = 0;
		if (err) {
			SCardEndTransaction(card->h, SCARD_LEAVE_CARD);
			return err;
		}
	}
	return CVQ_CARD_OK;
}

cvq_card_err
card_pcsc_end(cvq_card *card, bool reset)
{
	LONG rv;

	if (!card->connected)
		return CVQ_CARD_OK;
	rv = SCardEndTransaction(card->h, reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
	if (reset)
		card->selected = false;
	if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD) {
		card->removed = true;
		card_forget(card);
		return CVQ_CARD_ERR_CARD_REMOVED;
	}
	return card_pcsc_err(rv);
}
