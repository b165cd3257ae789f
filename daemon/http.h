/*
 * cvqd — the HTTP/1.1 front: libmicrohttpd on a Unix socket we create (or
 * systemd hands us), one thread per connection so that a request waiting
 * for a card or a PIN never holds up /v1/status or /v1/verify.
 *
 * Handlers get a parsed request (method, path, JSON body) and answer with
 * cvqd_reply_json() or cvqd_reply_error(). Every error body is
 * {"error": {"code": "...", "message": "..."}}.
 */
#ifndef CVQD_HTTP_H
#define CVQD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct cvqd;
typedef struct cvqd_http cvqd_http;

typedef struct cvqd_req {
	struct cvqd *d;
	const char *method;
	const char *path;
	json_t *body;          /* parsed JSON object for POST, else NULL */
	uid_t uid;             /* caller, from SO_PEERCRED */
	gid_t gid;
	pid_t pid;
	int fd;                /* the client socket: hangup => client gone */
	struct MHD_Connection *conn;
	/* set by the handler */
	unsigned status;
	json_t *answer;        /* owned */
	struct MHD_Response *stream; /* set instead of answer for SSE */
} cvqd_req;

/* Answer helpers; they take ownership of `j`. */
void cvqd_reply_json(cvqd_req *r, unsigned status, json_t *j);
void cvqd_reply_error(cvqd_req *r, cvqd_err e, const char *message);
/*
 * 400 bad_request naming what was refused: {"error": {"code":
 * "bad_request", "message", "field": "transaction.payee", "reason":
 * "bidi_control"}}. field and reason are stable (docs/api.md).
 */
void cvqd_reply_refusal(cvqd_req *r, const char *field, const char *reason, const char *message);

/* Whether uid (primary group gid) is in uids, or in one of gids (also as
 * a supplementary group of its account). */
bool cvqd_ids_allow(const uid_t *uids, size_t nu, const gid_t *gids, size_t ng,
                    uid_t uid, gid_t gid);

/* True when the client hung up (its socket shows EOF or an error). */
bool cvqd_req_client_gone(const cvqd_req *r);

/*
 * Listen: on the socket systemd passed (LISTEN_FDS), else bind
 * cfg->socket_path with cfg->socket_mode. Returns NULL and logs on failure.
 * The peer's credentials are read when a connection is accepted: beyond
 * max_clients_per_caller (allowed uids) or max_refused_clients (all the
 * others together) it is closed at once, before a byte is read.
 */
cvqd_http *cvqd_http_start(struct cvqd *d);
/* Stop accepting, wake streams, wait for connection threads. */
void cvqd_http_stop(cvqd_http *h);

#endif
