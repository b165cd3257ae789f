/*
 * cvqd — readers and cards as the API sees them: a snapshot kept fresh by
 * a monitor thread (so /v1/status never touches a card), and one FIFO
 * queue per reader so that operations on one card run one at a time, in
 * arrival order, each with a deadline.
 */
#ifndef CVQD_CARDS_H
#define CVQD_CARDS_H

#include <stdbool.h>

#include "card_backend.h"
#include "events.h"

#define CVQD_MAX_READERS 16

typedef struct cvqd_cards cvqd_cards;
typedef struct cvqd_card_op cvqd_card_op;

/* Takes ownership of the backend; starts the monitor thread. */
cvqd_cards *cvqd_cards_start(cvqd_card_backend *b, cvqd_events *ev);
void cvqd_cards_stop(cvqd_cards *c);

cvqd_card_backend *cvqd_cards_backend(cvqd_cards *c);

/* Copy of the current readers and cards. */
size_t cvqd_cards_snapshot(cvqd_cards *c, cvqd_card_info *out, size_t cap);

/* Operations holding or waiting for the reader's card now. */
size_t cvqd_cards_queue_length(cvqd_cards *c, const char *reader);

/* Polled while waiting: true => give up (client gone, daemon stopping). */
typedef bool (*cvqd_abandon_fn)(void *arg);

/*
 * Wait up to wait_card_s for a matching card (reader name and/or GUID, or
 * NULL for "the only card present"), then for our turn on its reader, up
 * to queue_s in total. On success *op holds the reader until released and
 * *info describes the card.
 */
cvqd_err cvqd_cards_acquire(cvqd_cards *c, const char *reader, const char *guid,
                            unsigned wait_card_s, unsigned queue_s,
                            cvqd_abandon_fn abandon, void *arg,
                            cvqd_card_op **op, cvqd_card_info *info);
/* True once the card held by op was removed (or replaced). */
bool cvqd_card_op_removed(const cvqd_card_op *op);
/* Record what the card said about its PIN, for /v1/status. */
void cvqd_card_op_set_tries(cvqd_card_op *op, int tries);
void cvqd_cards_release(cvqd_card_op *op);

#endif
