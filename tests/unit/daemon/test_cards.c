/*
 * The per-reader queue: operations get the card one at a time, in arrival
 * order; a deadline gives card_busy, a client gone gives client_gone, and
 * several cards without a choice is refused. A fake backend with one or
 * two cards stands in for PC/SC (the queue never talks to a card).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cards.h"

struct fake {
	int ncards;
};

static cvqd_err fake_list(void *impl, cvqd_card_info *out, size_t cap, size_t *n)
{
	struct fake *f = impl;
	*n = 0;
	for (int i = 0; i < f->ncards && *n < cap; i++) {
		cvqd_card_info *ci = &out[(*n)++];
		memset(ci, 0, sizeof *ci);
		snprintf(ci->reader, sizeof ci->reader, "Reader %d", i);
		snprintf(ci->guid, sizeof ci->guid, "%032d", i);
		ci->present = ci->usable = true;
		ci->pin_tries = 3;
	}
	return CVQD_OK;
}

static cvqd_err fake_wait(void *impl, unsigned timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
	return CVQD_OK;
}

static cvqd_card_backend *fake_backend(int ncards)
{
	cvqd_card_backend *b = calloc(1, sizeof *b);
	struct fake *f = calloc(1, sizeof *f);
	f->ncards = ncards;
	b->name = "fake";
	b->impl = f;
	b->destroy = free;
	b->list = fake_list;
	b->wait_change = fake_wait;
	return b;
}

static void wait_queue(cvqd_cards *c, const char *reader, size_t n)
{
	struct timespec ts = { 0, 5 * 1000000L };
	while (cvqd_cards_queue_length(c, reader) != n)
		nanosleep(&ts, NULL);
}

struct worker {
	cvqd_cards *c;
	int id;
	int *order;
	atomic_int *pos;
	cvqd_err rc;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	cvqd_card_op *op;
	cvqd_card_info ci;
	w->rc = cvqd_cards_acquire(w->c, NULL, NULL, 5, 60, NULL, NULL, &op, &ci);
	if (w->rc == CVQD_OK) {
		w->order[atomic_fetch_add(w->pos, 1)] = w->id;
		cvqd_cards_release(op);
	}
	return NULL;
}

static void test_fifo(void **state)
{
	enum { N = 8 };
	cvqd_events *ev = cvqd_events_new();
	cvqd_cards *c = cvqd_cards_start(fake_backend(1), ev);
	cvqd_card_op *holder;
	cvqd_card_info ci;
	assert_int_equal(cvqd_cards_acquire(c, NULL, NULL, 5, 5, NULL, NULL, &holder, &ci), CVQD_OK);
	assert_string_equal(ci.reader, "Reader 0");
	pthread_t th[N];
	struct worker w[N];
	int order[N];
	atomic_int pos;
	atomic_init(&pos, 0);
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){ .c = c, .id = i, .order = order, .pos = &pos };
		pthread_create(&th[i], NULL, work, &w[i]);
		wait_queue(c, "Reader 0", (size_t)i + 2); /* i is in line before i+1 starts */
	}
	cvqd_cards_release(holder);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, CVQD_OK);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(order[i], i);
	assert_int_equal(cvqd_cards_queue_length(c, "Reader 0"), 0);
	cvqd_cards_stop(c);
	cvqd_events_free(ev);
}

static bool gone(void *arg)
{
	return atomic_load((atomic_bool *)arg);
}

static void test_busy_gone_ambiguous(void **state)
{
	cvqd_events *ev = cvqd_events_new();
	cvqd_cards *c = cvqd_cards_start(fake_backend(2), ev);
	cvqd_card_op *holder, *op;
	cvqd_card_info ci;
	/* Two cards and no choice: refused; a choice works. */
	wait_queue(c, "Reader 1", 0);
	assert_int_equal(cvqd_cards_acquire(c, NULL, NULL, 1, 1, NULL, NULL, &op, &ci), CVQD_ERR_BAD_REQUEST);
	assert_int_equal(cvqd_cards_acquire(c, "Reader 1", NULL, 5, 5, NULL, NULL, &holder, &ci), CVQD_OK);
	/* The other reader is not held up by this one. */
	assert_int_equal(cvqd_cards_acquire(c, NULL, "00000000000000000000000000000000", 5, 5,
	                                    NULL, NULL, &op, &ci), CVQD_OK);
	assert_string_equal(ci.reader, "Reader 0");
	cvqd_cards_release(op);
	/* Our turn on Reader 1 never comes: card_busy, and we left the line. */
	assert_int_equal(cvqd_cards_acquire(c, "Reader 1", NULL, 0, 0, NULL, NULL, &op, &ci), CVQD_ERR_BUSY);
	assert_int_equal(cvqd_cards_queue_length(c, "Reader 1"), 1);
	/* The client went away while waiting. */
	atomic_bool flag;
	atomic_init(&flag, true);
	assert_int_equal(cvqd_cards_acquire(c, "Reader 1", NULL, 5, 5, gone, &flag, &op, &ci),
	                 CVQD_ERR_CLIENT_GONE);
	assert_int_equal(cvqd_cards_queue_length(c, "Reader 1"), 1);
	/* No such reader: no_card after the wait. */
	assert_int_equal(cvqd_cards_acquire(c, "Reader 9", NULL, 0, 0, NULL, NULL, &op, &ci), CVQD_ERR_NO_CARD);
	cvqd_cards_release(holder);
	assert_int_equal(cvqd_cards_queue_length(c, "Reader 1"), 0);
	cvqd_cards_stop(c);
	cvqd_events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_busy_gone_ambiguous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
