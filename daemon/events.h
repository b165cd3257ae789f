/*
 * cvqd — the event bus behind GET /v1/events: reader and card changes,
 * numbered, kept in a small ring so a slow subscriber loses old events
 * (and is told so) instead of holding memory or the publisher.
 */
#ifndef CVQD_EVENTS_H
#define CVQD_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define CVQD_EVENTS_RING 128

typedef struct cvqd_events cvqd_events;

cvqd_events *cvqd_events_new(void);
void cvqd_events_free(cvqd_events *e);

/* Publish {type, data}; takes ownership of data. */
void cvqd_events_publish(cvqd_events *e, const char *type, json_t *data);

/* Sequence number of the next event to be published. */
uint64_t cvqd_events_next_seq(cvqd_events *e);

/*
 * Wait up to timeout_ms for the event numbered `seq` (or the oldest one
 * still kept, if seq fell out of the ring). Returns 1 and an "event: type
 * / id / data" SSE text (malloc'd) with *seq advanced, 0 on timeout, -1
 * once the bus is closed.
 */
int cvqd_events_wait(cvqd_events *e, uint64_t *seq, unsigned timeout_ms, char **sse);

/* Wake every waiter for good (shutdown). */
void cvqd_events_close(cvqd_events *e);

#endif
