/*
 * cvqd — the daemon context shared by the API handlers. One per process,
 * created in main.c and passed to everything (no global state).
 */
#ifndef CVQD_H
#define CVQD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "error.h"

struct cvqd_crlfetch;
struct cvqd_trust;
struct cvqd_journal;
struct cvqd_events;
struct cvqd_cards;
struct cvqd_http;
struct cvqd_responder;
struct cvqd_display;
struct cvqd_quota;
struct cvqd_seal;

struct cvqd {
	cvqd_config cfg;              /* read-only after start (reload swaps trust only) */
	pthread_mutex_t trust_lock;   /* guards the trust pointer, not its content */
	struct cvqd_trust *trust;     /* refcounted; see cvqd_trust_get() */
	struct cvqd_journal *journal; /* NULL when no journal is configured */
	struct cvqd_events *events;
	struct cvqd_cards *cards;     /* card backend + per-card queues */
	struct cvqd_http *http;
	struct cvqd_responder *responder; /* NULL without [responder] */
	struct cvqd_display *display; /* transaction types and the text checks */
	struct cvqd_quota *quota;     /* connections and card operations per caller */
	struct cvqd_seal *seal;       /* the city's seal, NULL without [seal] (#14) */
	atomic_bool stopping;
	int stop_fd;                  /* readable once the daemon stops (eventfd) */
	struct cvqd_crlfetch *crlfetch; /* NULL without [crl] */
	pthread_mutex_t reload_lock;  /* one trust reload at a time (SIGHUP, new CRL) */
};

/* Take a reference on the current trust set; release with cvqd_trust_put(). */
struct cvqd_trust *cvqd_trust_get(struct cvqd *d);

/* Route a request (api.c). */
struct cvqd_req;
void cvqd_api_dispatch(struct cvqd_req *r);

#endif
