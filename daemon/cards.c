#include "cards.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

struct rq {                      /* one reader's FIFO */
	char name[128];
	bool used;
	cvqd_card_op *head, *tail;   /* head holds the card */
	unsigned long gen;           /* bumped when its card goes or changes */
};

struct cvqd_card_op {
	cvqd_cards *c;
	struct rq *q;
	unsigned long gen;
	cvqd_card_op *next;
};

struct cvqd_cards {
	cvqd_card_backend *b;
	cvqd_events *ev;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	cvqd_card_info snap[CVQD_MAX_READERS];
	size_t n;
	bool service_down;
	struct rq queues[CVQD_MAX_READERS];
	pthread_t thr;
	atomic_bool stop;
};

static struct rq *queue_for(cvqd_cards *c, const char *reader)
{
	struct rq *freeq = NULL;
	for (size_t i = 0; i < CVQD_MAX_READERS; i++) {
		if (c->queues[i].used && !strcmp(c->queues[i].name, reader))
			return &c->queues[i];
		if (!c->queues[i].used && !freeq)
			freeq = &c->queues[i];
	}
	if (!freeq) { /* recycle an idle queue of a reader long gone */
		for (size_t i = 0; i < CVQD_MAX_READERS && !freeq; i++)
			if (!c->queues[i].head)
				freeq = &c->queues[i];
		if (!freeq)
			return NULL;
	}
	memset(freeq, 0, sizeof *freeq);
	freeq->used = true;
	snprintf(freeq->name, sizeof freeq->name, "%s", reader);
	return freeq;
}

static const cvqd_card_info *find(const cvqd_card_info *v, size_t n, const char *reader)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].reader, reader))
			return &v[i];
	return NULL;
}

static void publish_card(cvqd_cards *c, const char *type, const cvqd_card_info *ci)
{
	cvqd_dbg("event %s %s", type, ci->reader);
	json_t *j = json_pack("{s:s}", "reader", ci->reader);
	if (ci->guid[0])
		json_object_set_new(j, "card", json_string(ci->guid));
	/* Issue #17: checked before the card was listed, so a kiosk knows
	 * on insertion whether to offer it at all. */
	if (!strcmp(type, "card-inserted") && ci->authentic != 0) {
		json_object_set_new(j, "authentic", json_boolean(ci->authentic > 0));
		json_object_set_new(j, "authenticity", json_string(ci->auth_reason));
		json_object_set_new(j, "usable", json_boolean(ci->usable));
	}
	cvqd_events_publish(c->ev, type, j);
}

/* Called with the lock held: events for what changed, queues told. */
static void diff(cvqd_cards *c, const cvqd_card_info *now, size_t n)
{
	for (size_t i = 0; i < c->n; i++) {
		const cvqd_card_info *o = &c->snap[i], *m = find(now, n, o->reader);
		bool gone = o->present && (!m || !m->present || strcmp(m->guid, o->guid) != 0);
		if (gone) {
			struct rq *q = queue_for(c, o->reader);
			if (q)
				q->gen++;
			publish_card(c, "card-removed", o);
		}
		if (!m)
			publish_card(c, "reader-removed", o);
	}
	for (size_t i = 0; i < n; i++) {
		const cvqd_card_info *m = &now[i], *o = find(c->snap, c->n, m->reader);
		if (!o)
			publish_card(c, "reader-added", m);
		if (m->present && (!o || !o->present || strcmp(m->guid, o->guid) != 0))
			publish_card(c, "card-inserted", m);
	}
}

static void *monitor(void *arg)
{
	cvqd_cards *c = arg;
	while (!atomic_load(&c->stop)) {
		cvqd_card_info now[CVQD_MAX_READERS];
		size_t n = 0;
		cvqd_err e = c->b->list(c->b->impl, now, CVQD_MAX_READERS, &n);
		pthread_mutex_lock(&c->lock);
		if (e != CVQD_OK) {
			n = 0;
			if (!c->service_down) {
				cvqd_warn("card service: %s", cvqd_strerror(e));
				cvqd_events_publish(c->ev, "service-down", NULL);
			}
		} else if (c->service_down) {
			cvqd_info("card service back");
			cvqd_events_publish(c->ev, "service-up", NULL);
		}
		c->service_down = e != CVQD_OK;
		diff(c, now, n);
		memcpy(c->snap, now, n * sizeof now[0]);
		c->n = n;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		if (c->b->wait_change(c->b->impl, 1000) != CVQD_OK) {
			struct timespec ts = { 0, 500 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

cvqd_cards *cvqd_cards_start(cvqd_card_backend *b, cvqd_events *ev)
{
	cvqd_cards *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->b = b;
	c->ev = ev;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&c->thr, NULL, monitor, c) != 0) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

void cvqd_cards_stop(cvqd_cards *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, true);
	pthread_join(c->thr, NULL);
	cvqd_card_backend_free(c->b);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

cvqd_card_backend *cvqd_cards_backend(cvqd_cards *c)
{
	return c->b;
}

size_t cvqd_cards_snapshot(cvqd_cards *c, cvqd_card_info *out, size_t cap)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->n < cap ? c->n : cap;
	memcpy(out, c->snap, n * sizeof out[0]);
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t cvqd_cards_queue_length(cvqd_cards *c, const char *reader)
{
	size_t n = 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < CVQD_MAX_READERS; i++) {
		if (!c->queues[i].used || strcmp(c->queues[i].name, reader) != 0)
			continue;
		for (cvqd_card_op *op = c->queues[i].head; op; op = op->next)
			n++;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep on the condition for at most 200 ms (so abandon() is polled). */
static void nap(cvqd_cards *c)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 200 * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&c->cond, &c->lock, &dl);
}

static bool matches(const cvqd_card_info *ci, const char *reader, const char *guid)
{
	return ci->present && ci->usable && (!reader || !strcmp(ci->reader, reader)) &&
	       (!guid || !strcasecmp(ci->guid, guid));
}

static void unlink_op(cvqd_card_op *op)
{
	struct rq *q = op->q;
	cvqd_card_op **pp = &q->head, *prev = NULL;
	while (*pp && *pp != op) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp)
		*pp = op->next;
	if (q->tail == op)
		q->tail = prev;
}

cvqd_err cvqd_cards_acquire(cvqd_cards *c, const char *reader, const char *guid,
                            unsigned wait_card_s, unsigned queue_s,
                            cvqd_abandon_fn abandon, void *arg,
                            cvqd_card_op **opp, cvqd_card_info *info)
{
	long long card_dl = mono_ms() + (long long)wait_card_s * 1000;
	long long queue_dl = card_dl + (long long)queue_s * 1000;
	cvqd_err rc;
	const cvqd_card_info *ci = NULL;
	cvqd_card_op *op = calloc(1, sizeof *op);
	if (!op)
		return CVQD_ERR_NOMEM;
	op->c = c;
	*opp = NULL;
	pthread_mutex_lock(&c->lock);
	for (;;) { /* a card */
		size_t hits = 0;
		for (size_t i = 0; i < c->n; i++)
			if (matches(&c->snap[i], reader, guid)) {
				ci = &c->snap[i];
				hits++;
			}
		if (hits > 1) {
			rc = CVQD_ERR_BAD_REQUEST;
			goto fail;
		}
		if (hits == 1)
			break;
		if (abandon && abandon(arg)) {
			rc = CVQD_ERR_CLIENT_GONE;
			goto fail;
		}
		if (mono_ms() >= card_dl) {
			rc = c->service_down ? CVQD_ERR_NO_SERVICE : CVQD_ERR_NO_CARD;
			goto fail;
		}
		nap(c);
	}
	op->q = queue_for(c, ci->reader);
	if (!op->q) {
		rc = CVQD_ERR_INTERNAL;
		goto fail;
	}
	char name[sizeof ci->reader];
	snprintf(name, sizeof name, "%s", ci->reader);
	op->gen = op->q->gen;
	if (op->q->tail)
		op->q->tail->next = op;
	else
		op->q->head = op;
	op->q->tail = op;
	while (op->q->head != op) { /* our turn */
		if (abandon && abandon(arg)) {
			rc = CVQD_ERR_CLIENT_GONE;
			goto dequeue;
		}
		if (mono_ms() >= queue_dl) {
			rc = CVQD_ERR_BUSY;
			goto dequeue;
		}
		nap(c);
	}
	ci = find(c->snap, c->n, name);
	if (!ci || !ci->present || op->gen != op->q->gen) {
		rc = CVQD_ERR_CARD_REMOVED;
		goto dequeue;
	}
	*info = *ci;
	pthread_mutex_unlock(&c->lock);
	*opp = op;
	return CVQD_OK;
dequeue:
	unlink_op(op);
	pthread_cond_broadcast(&c->cond);
fail:
	pthread_mutex_unlock(&c->lock);
	free(op);
	return rc;
}

bool cvqd_card_op_removed(const cvqd_card_op *op)
{
	cvqd_cards *c = op->c;
	pthread_mutex_lock(&c->lock);
	bool gone = op->gen != op->q->gen;
	pthread_mutex_unlock(&c->lock);
	return gone;
}

void cvqd_card_op_set_tries(cvqd_card_op *op, int tries)
{
	cvqd_cards *c = op->c;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->snap[i].reader, op->q->name))
			c->snap[i].pin_tries = tries;
	pthread_mutex_unlock(&c->lock);
}

void cvqd_cards_release(cvqd_card_op *op)
{
	if (!op)
		return;
	cvqd_cards *c = op->c;
	pthread_mutex_lock(&c->lock);
	unlink_op(op);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(op);
}
