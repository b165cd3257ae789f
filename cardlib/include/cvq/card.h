/*
 * cvq cardlib — readers, events and connections (PC/SC, pcsc-lite).
 *
 *   cvq_card_ctx  a PC/SC context: list readers, wait for reader and card
 *                 events, connect. It survives a pcscd restart: the next
 *                 call re-establishes the context, and a waiter sees
 *                 CVQ_CARD_EV_SERVICE_LOST then CVQ_CARD_EV_SERVICE_BACK.
 *   cvq_card      one connected card (shared mode). Every operation in
 *                 cvq/piv.h runs inside its own PC/SC transaction, begun
 *                 and ended by the library; no transaction is ever held
 *                 while a PIN is being typed (the PIN is asked before the
 *                 call and handed to it).
 *
 * Threads: a cvq_card_ctx may be used from several threads: one thread
 * waits for events (cvq_card_wait_event) while others connect; it uses a
 * separate PC/SC context for waiting so that a blocked wait never stalls
 * a connection. cvq_card_cancel() may be called from any thread. A
 * cvq_card handle must be used by one thread at a time.
 *
 * Return values: every function returning cvq_card_err returns
 * CVQ_CARD_OK (0) on success; the errors listed per function are the ones
 * a caller should expect and handle; CVQ_CARD_ERR_ARG (a NULL or invalid
 * argument), CVQ_CARD_ERR_NOMEM and CVQ_CARD_ERR_INTERNAL can come from
 * any function and are not repeated below. Output arguments are left
 * untouched (or zeroed) on error.
 */
#ifndef CVQ_CARD_H
#define CVQ_CARD_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvq/card_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvq_card_ctx cvq_card_ctx;
typedef struct cvq_card cvq_card;

#define CVQ_CARD_READER_MAX 128 /* bytes of a reader name, NUL included */
#define CVQ_CARD_ATR_MAX 33
#define CVQ_CARD_GUID_LEN 16

/* ---- context ---------------------------------------------------------- */

/*
 * Establish a PC/SC context (SCARD_SCOPE_SYSTEM).
 *   CVQ_CARD_ERR_NO_SERVICE  pcscd is not running
 *   CVQ_CARD_ERR_PCSC        any other PC/SC failure
 */
CVQ_EXPORT cvq_card_err cvq_card_ctx_new(cvq_card_ctx **out);

/* Release the context. Every cvq_card from it must be freed first. */
CVQ_EXPORT void cvq_card_ctx_free(cvq_card_ctx *ctx);

/*
 * The readers known to pcscd now, as a NULL-terminated array of
 * NUL-terminated names in *names (free with cvq_card_readers_free);
 * *count (optional) gets their number. No reader is not an error: an
 * empty array, *count = 0.
 *   CVQ_CARD_ERR_NO_SERVICE  pcscd is gone and could not be reached again
 *   CVQ_CARD_ERR_PCSC        any other PC/SC failure
 */
CVQ_EXPORT cvq_card_err cvq_card_list_readers(cvq_card_ctx *ctx, char ***names,
                                   size_t *count);
CVQ_EXPORT void cvq_card_readers_free(char **names);

/* ---- events ----------------------------------------------------------- */

typedef enum cvq_card_event_type {
	CVQ_CARD_EV_READER_ADDED = 1,  /* a reader appeared (also: initial state) */
	CVQ_CARD_EV_READER_REMOVED,    /* a reader was unplugged */
	CVQ_CARD_EV_CARD_INSERTED,     /* a card is now present (also: initial state) */
	CVQ_CARD_EV_CARD_REMOVED,      /* the card was removed */
	CVQ_CARD_EV_SERVICE_LOST,      /* pcscd went away; readers are forgotten */
	CVQ_CARD_EV_SERVICE_BACK,      /* pcscd answers again; READER_ADDED follow */
} cvq_card_event_type;

typedef struct cvq_card_event {
	cvq_card_event_type type;
	char reader[CVQ_CARD_READER_MAX];  /* empty for SERVICE_* events */
	uint8_t atr[CVQ_CARD_ATR_MAX];     /* CARD_INSERTED only */
	size_t atr_len;
	bool in_use_exclusive;             /* CARD_INSERTED: another app holds it exclusively */
} cvq_card_event;

/* Human-readable name of an event type ("card-inserted", ...). */
CVQ_EXPORT const char *cvq_card_event_name(cvq_card_event_type type);

/*
 * Return the next event. The first call reports the current state as
 * events (READER_ADDED for each reader, CARD_INSERTED for each card
 * present); later calls report changes. Events are queued inside the
 * context, so none is lost between calls. Reader hotplug uses the
 * "\\?PnP?\Notification" pseudo-reader. When pcscd dies the call reports
 * SERVICE_LOST, then keeps trying to reach pcscd (about every 250 ms)
 * until it reports SERVICE_BACK and the readers as READER_ADDED.
 *
 * timeout_ms < 0 waits forever, 0 polls.
 *   CVQ_CARD_ERR_TIMEOUT    nothing happened within timeout_ms
 *   CVQ_CARD_ERR_CANCELLED  cvq_card_cancel() was called (before or during
 *                           the wait; the cancellation is consumed)
 *   CVQ_CARD_ERR_PCSC       an unexpected PC/SC failure
 */
CVQ_EXPORT cvq_card_err cvq_card_wait_event(cvq_card_ctx *ctx, int timeout_ms,
                                 cvq_card_event *ev);

/*
 * Make the current (or the next) cvq_card_wait_event return
 * CVQ_CARD_ERR_CANCELLED. Safe from any thread and from a signal-free
 * context only (it takes a mutex; not async-signal-safe).
 */
CVQ_EXPORT cvq_card_err cvq_card_cancel(cvq_card_ctx *ctx);

/* ---- connections ------------------------------------------------------ */

/*
 * Connect to the card in `reader` (shared mode, T=0 or T=1) and note its
 * ATR. Sends nothing to the card: the PIV application is selected by the
 * first operation that needs it.
 *   CVQ_CARD_ERR_NO_READER   no reader of that name
 *   CVQ_CARD_ERR_NO_CARD     the reader is empty, or the card is mute
 *   CVQ_CARD_ERR_BUSY        another application holds the card exclusively
 *   CVQ_CARD_ERR_NO_SERVICE  pcscd is gone (re-established once, in vain)
 *   CVQ_CARD_ERR_PCSC        any other PC/SC failure
 */
CVQ_EXPORT cvq_card_err cvq_card_connect(cvq_card_ctx *ctx, const char *reader,
                              cvq_card **out);

/*
 * Connect to the first reader that holds a card (readers in pcscd's
 * order). Same errors as cvq_card_connect; CVQ_CARD_ERR_NO_CARD when no
 * reader holds a card, CVQ_CARD_ERR_NO_READER when there is no reader.
 */
CVQ_EXPORT cvq_card_err cvq_card_connect_any(cvq_card_ctx *ctx, cvq_card **out);

/*
 * Disconnect and free. reset=true resets the card (clears its security
 * state: verified PIN, management key), false leaves it as it is. NULL
 * is accepted.
 */
CVQ_EXPORT void cvq_card_disconnect(cvq_card *card, bool reset);

/*
 * Make sure the handle still speaks to the same card: reconnects after a
 * reset (by us or another application) or a removal and re-insertion,
 * and compares the GUID (CHUID) with the one seen before.
 *   CVQ_CARD_OK               same card (its PIN state may have been reset)
 *   CVQ_CARD_ERR_CARD_CHANGED another card is in the reader; the handle now
 *                             speaks to it and every cached object is gone
 *   CVQ_CARD_ERR_NO_CARD      the reader is empty
 *   CVQ_CARD_ERR_NO_SERVICE, CVQ_CARD_ERR_PCSC as for cvq_card_connect
 * Operations do this themselves when PC/SC reports a reset; a caller uses
 * it after CVQ_CARD_ERR_CARD_REMOVED once the card is back.
 */
CVQ_EXPORT cvq_card_err cvq_card_reconnect(cvq_card *card);

/* The reader's name and the ATR seen at connection (never NULL). */
CVQ_EXPORT const char *cvq_card_reader_name(const cvq_card *card);
CVQ_EXPORT const uint8_t *cvq_card_atr(const cvq_card *card, size_t *len);

/*
 * Group several operations into one PC/SC transaction (enrolment does
 * mgmt auth + generate + write under one). Nestable; every begin needs
 * an end. Never hold one across a PIN prompt.
 *   CVQ_CARD_ERR_CARD_REMOVED  the card is gone
 *   CVQ_CARD_ERR_CARD_CHANGED  another card is now in the reader
 *   CVQ_CARD_ERR_BUSY, CVQ_CARD_ERR_NO_SERVICE, CVQ_CARD_ERR_PCSC
 */
CVQ_EXPORT cvq_card_err cvq_card_begin(cvq_card *card);
/* reset=true resets the card when the transaction ends (drops PIN state). */
CVQ_EXPORT cvq_card_err cvq_card_end(cvq_card *card, bool reset);

/*
 * Number of command APDUs this handle sent (GET RESPONSE and chained
 * blocks included): what a real card makes you wait for.
 */
CVQ_EXPORT unsigned long cvq_card_apdu_count(const cvq_card *card);

#ifdef __cplusplus
}
#endif
#endif
