#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trust.h"

struct cvqd_events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t next;                   /* seq of the next event */
	char *ring[CVQD_EVENTS_RING];    /* SSE text of event seq at seq % RING */
	bool closed;
};

cvqd_events *cvqd_events_new(void)
{
	cvqd_events *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	e->next = 1;
	return e;
}

void cvqd_events_free(cvqd_events *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < CVQD_EVENTS_RING; i++)
		free(e->ring[i]);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void cvqd_events_publish(cvqd_events *e, const char *type, json_t *data)
{
	char ts[32];
	cvqd_time_rfc3339(time(NULL), ts, sizeof ts);
	if (!data)
		data = json_object();
	json_object_set_new(data, "time", json_string(ts));
	char *js = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(data);
	if (!js)
		return;
	pthread_mutex_lock(&e->lock);
	uint64_t seq = e->next;
	size_t n = strlen(js) + strlen(type) + 64;
	char *text = malloc(n);
	if (text) {
		snprintf(text, n, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)seq, type, js);
		free(e->ring[seq % CVQD_EVENTS_RING]);
		e->ring[seq % CVQD_EVENTS_RING] = text;
		e->next++;
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
	free(js);
}

uint64_t cvqd_events_next_seq(cvqd_events *e)
{
	pthread_mutex_lock(&e->lock);
	uint64_t s = e->next;
	pthread_mutex_unlock(&e->lock);
	return s;
}

int cvqd_events_wait(cvqd_events *e, uint64_t *seq, unsigned timeout_ms, char **sse)
{
	struct timespec dl;
	int rc = 0;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	*sse = NULL;
	pthread_mutex_lock(&e->lock);
	while (!e->closed && *seq >= e->next)
		if (pthread_cond_timedwait(&e->cond, &e->lock, &dl) != 0)
			break;
	if (e->closed) {
		rc = -1;
	} else if (*seq < e->next) {
		if (e->next - *seq > CVQD_EVENTS_RING)
			*seq = e->next - CVQD_EVENTS_RING; /* lost the older ones */
		*sse = strdup(e->ring[*seq % CVQD_EVENTS_RING]);
		(*seq)++;
		rc = *sse ? 1 : -1;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void cvqd_events_close(cvqd_events *e)
{
	pthread_mutex_lock(&e->lock);
	e->closed = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}
