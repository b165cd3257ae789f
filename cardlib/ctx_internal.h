/* cvq cardlib — the PC/SC context (shared by pcsc.c and events.c). */
#ifndef CVQ_CARD_CTX_INTERNAL_H
#define CVQ_CARD_CTX_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <PCSC/winscard.h>

#include "cvq/card.h"

#define CTX_MAX_READERS 32
#define CTX_MAX_QUEUE 128

struct ctx_reader {
	char name[CVQ_CARD_READER_MAX];
	DWORD state;              /* last dwEventState seen */
	bool present;
};

struct cvq_card_ctx {
	/* Connections: their own context, re-established after pcscd left. */
	pthread_mutex_t mu;
	SCARDCONTEXT h;
	bool h_valid;

	/* Waiting: a second context, so a blocked wait never stalls connect. */
	pthread_mutex_t wmu;      /* guards the fields up to `waiting` */
	SCARDCONTEXT wh;
	bool wh_valid;
	bool cancel_pending;
	bool waiting;

	/* Only the waiting thread touches these. */
	bool started;             /* the initial state was reported */
	bool service_lost;
	struct ctx_reader readers[CTX_MAX_READERS];
	size_t n_readers;
	DWORD pnp_state;          /* last state of the PnP pseudo-reader */
	cvq_card_event queue[CTX_MAX_QUEUE];
	size_t q_head, q_len;
};

#endif
