#include "quota.h"

#include <pthread.h>
#include <stdlib.h>

struct entry {
	uid_t uid;
	unsigned n[2];
};

struct cvqd_quota {
	pthread_mutex_t lock;
	struct entry *e;   /* only uids holding something: at most one per connection */
	size_t n, cap;
};

cvqd_quota *cvqd_quota_new(void)
{
	cvqd_quota *q = calloc(1, sizeof *q);
	if (q)
		pthread_mutex_init(&q->lock, NULL);
	return q;
}

void cvqd_quota_free(cvqd_quota *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	free(q->e);
	free(q);
}

static struct entry *find(cvqd_quota *q, uid_t uid)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->e[i].uid == uid)
			return &q->e[i];
	return NULL;
}

bool cvqd_quota_take(cvqd_quota *q, uid_t uid, cvqd_quota_kind kind, unsigned max)
{
	bool ok = false;
	pthread_mutex_lock(&q->lock);
	struct entry *e = find(q, uid);
	if (!e) {
		if (q->n == q->cap) {
			size_t cap = q->cap ? 2 * q->cap : 16;
			struct entry *ne = realloc(q->e, cap * sizeof *ne);
			if (!ne)
				goto out;
			q->e = ne;
			q->cap = cap;
		}
		e = &q->e[q->n++];
		*e = (struct entry){ .uid = uid };
	}
	if (e->n[kind] < max) {
		e->n[kind]++;
		ok = true;
	} else if (!e->n[0] && !e->n[1]) {
		*e = q->e[--q->n];
	}
out:
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void cvqd_quota_give(cvqd_quota *q, uid_t uid, cvqd_quota_kind kind)
{
	pthread_mutex_lock(&q->lock);
	struct entry *e = find(q, uid);
	if (e && e->n[kind]) {
		e->n[kind]--;
		if (!e->n[0] && !e->n[1])
			*e = q->e[--q->n];
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned cvqd_quota_held(cvqd_quota *q, uid_t uid, cvqd_quota_kind kind)
{
	pthread_mutex_lock(&q->lock);
	struct entry *e = find(q, uid);
	unsigned n = e ? e->n[kind] : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}
