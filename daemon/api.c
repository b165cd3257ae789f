/* cvqd — routing, GET /v1/status and GET /v1/events. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cards.h"
#include "seal.h"
#include "cvqd.h"
#include "events.h"
#include "http.h"
#include "crlfetch.h"
#include "trust.h"

static const struct route {
	const char *method;
	const char *path;
	void (*fn)(cvqd_req *r);
} routes[] = {
	{ "GET", "/v1/status", cvqd_api_status },
	{ "GET", "/v1/events", cvqd_api_events },
	{ "POST", "/v1/verify", cvqd_api_verify },
	{ "POST", "/v1/sign", cvqd_api_sign },
	{ "POST", "/v1/authenticate", cvqd_api_authenticate },
	{ "POST", "/v1/seal", cvqd_api_seal },
};

void cvqd_api_dispatch(cvqd_req *r)
{
	bool path_known = false;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].path, r->path) != 0)
			continue;
		path_known = true;
		if (strcmp(routes[i].method, r->method) != 0)
			continue;
		if (!strcmp(r->method, "POST") && !r->body) {
			cvqd_reply_error(r, CVQD_ERR_BAD_REQUEST, "a JSON object body is required");
			return;
		}
		routes[i].fn(r);
		return;
	}
	cvqd_reply_error(r, path_known ? CVQD_ERR_METHOD : CVQD_ERR_NOT_FOUND, NULL);
}

json_t *cvqd_api_card_json(const cvqd_card_info *ci)
{
	json_t *j = json_pack("{s:s,s:b}", "reader", ci->reader, "card_present", ci->present);
	if (ci->present) {
		json_object_set_new(j, "usable", json_boolean(ci->usable));
		if (ci->kind[0])
			json_object_set_new(j, "kind", json_string(ci->kind));
		if (ci->guid[0])
			json_object_set_new(j, "guid", json_string(ci->guid));
		if (ci->holder[0])
			json_object_set_new(j, "holder", json_string(ci->holder));
		json_object_set_new(j, "pin_tries_left",
		                    ci->pin_tries >= 0 ? json_integer(ci->pin_tries) : json_null());
		if (ci->authentic != 0) { /* issue #17 */
			json_object_set_new(j, "authentic", json_boolean(ci->authentic > 0));
			json_object_set_new(j, "authenticity", json_string(ci->auth_reason));
		}
	}
	json_object_set_new(j, "pinpad", json_boolean(ci->pinpad));
	return j;
}

void cvqd_api_status(cvqd_req *r)
{
	cvqd_card_info cards[CVQD_MAX_READERS];
	size_t n = cvqd_cards_snapshot(r->d->cards, cards, CVQD_MAX_READERS);
	json_t *readers = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = cvqd_api_card_json(&cards[i]);
		json_object_set_new(j, "queue", json_integer((json_int_t)cvqd_cards_queue_length(
		                                     r->d->cards, cards[i].reader)));
		json_array_append_new(readers, j);
	}
	struct cvqd_trust *t = cvqd_trust_get(r->d);
	json_t *trust = cvqd_trust_describe(t);
	cvqd_trust_put(t);
	json_object_set_new(trust, "crl_fetch", cvqd_crlfetch_describe(r->d->crlfetch)); /* #16 */
	char now[32];
	cvqd_time_rfc3339(time(NULL), now, sizeof now);
	cvqd_reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:o,s:o,s:b}",
		"version", CVQ_VERSION, "api", "v1", "time", now,
		"readers", readers, "trust", trust,
		"journal", r->d->journal != NULL));
}

/* SSE: one "ready" event, then bus events; a comment every 15 s. */
struct stream {
	struct cvqd *d;
	uint64_t seq;
	char *pending;
	size_t off;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	while (!s->pending) {
		if (atomic_load(&s->d->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		int rc = cvqd_events_wait(s->d->events, &s->seq, 15000, &s->pending);
		if (rc < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc == 0)
			s->pending = strdup(": keep-alive\n\n");
		if (!s->pending)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		s->off = 0;
	}
	size_t left = strlen(s->pending + s->off);
	size_t n = left < max ? left : max;
	memcpy(buf, s->pending + s->off, n);
	s->off += n;
	if (s->off == strlen(s->pending)) {
		free(s->pending);
		s->pending = NULL;
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	free(s->pending);
	free(s);
}

void cvqd_api_events(cvqd_req *r)
{
	struct stream *s = calloc(1, sizeof *s);
	if (!s) {
		cvqd_reply_error(r, CVQD_ERR_NOMEM, NULL);
		return;
	}
	s->d = r->d;
	s->seq = cvqd_events_next_seq(r->d->events);
	/* The current state first, so a client needs no separate /v1/status. */
	cvqd_card_info cards[CVQD_MAX_READERS];
	size_t n = cvqd_cards_snapshot(r->d->cards, cards, CVQD_MAX_READERS);
	json_t *readers = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(readers, cvqd_api_card_json(&cards[i]));
	json_t *ready = json_pack("{s:o}", "readers", readers);
	char *js = ready ? json_dumps(ready, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(ready);
	size_t len = js ? strlen(js) + 32 : 0;
	s->pending = js ? malloc(len) : NULL;
	if (s->pending)
		snprintf(s->pending, len, "event: ready\ndata: %s\n\n", js);
	free(js);
	r->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
	if (!r->stream) {
		stream_free(s);
		cvqd_reply_error(r, CVQD_ERR_NOMEM, NULL);
		return;
	}
	/* A stream is quiet between events: the idle timeout is not for it. */
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	MHD_add_response_header(r->stream, "Content-Type", "text/event-stream");
	MHD_add_response_header(r->stream, "Cache-Control", "no-store");
	r->status = 200;
}
