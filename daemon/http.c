#define _GNU_SOURCE /* struct ucred */
#include "http.h"

#include <errno.h>
#include <grp.h>
#include <microhttpd.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cvqd.h"
#include "log.h"
#include "quota.h"
#include "request.h"
#include "seal.h"

struct cvqd_http {
	struct cvqd *d;
	struct MHD_Daemon *mhd;
	char *unlink_path;   /* the socket we bound, removed at stop */
};

/* Per-request state (MHD's con_cls). */
struct req_state {
	char *buf;
	size_t len, cap;
	bool too_large;
	size_t dropped;        /* body bytes read and dropped past max_body */
	size_t max_body;       /* [daemon] max_body, or the route's own (/v1/seal) */
	bool started;
};

void cvqd_reply_json(cvqd_req *r, unsigned status, json_t *j)
{
	json_decref(r->answer);
	r->status = status;
	r->answer = j;
}

void cvqd_reply_error(cvqd_req *r, cvqd_err e, const char *message)
{
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", cvqd_err_code(e),
	                      "message", message ? message : cvqd_strerror(e));
	cvqd_reply_json(r, cvqd_err_http_status(e), j);
}

void cvqd_reply_refusal(cvqd_req *r, const char *field, const char *reason, const char *message)
{
	json_t *j = json_pack("{s:{s:s,s:s,s:s,s:s}}", "error", "code", cvqd_err_code(CVQD_ERR_BAD_REQUEST),
	                      "message", message ? message : reason, "field", field, "reason", reason);
	cvqd_reply_json(r, cvqd_err_http_status(CVQD_ERR_BAD_REQUEST), j);
}

bool cvqd_req_client_gone(const cvqd_req *r)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN | POLLRDHUP };
	if (r->fd < 0 || poll(&p, 1, 0) <= 0)
		return false;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!text)
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
	if (!text)
		return MHD_NO;
	size_t n = strlen(text);
	/* A trailing newline is kind to `curl` on a terminal. */
	char *t2 = realloc(text, n + 2);
	if (t2) {
		text = t2;
		text[n++] = '\n';
		text[n] = '\0';
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, cvqd_err e, const char *msg)
{
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", cvqd_err_code(e),
	                      "message", msg ? msg : cvqd_strerror(e));
	enum MHD_Result rc = send_json(c, cvqd_err_http_status(e), j);
	json_decref(j);
	return rc;
}

/* Is gid among the supplementary groups of uid's account? */
static bool in_groups_of(uid_t uid, gid_t primary, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[64];
	int n = 64;
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return false;
	if (getgrouplist(res->pw_name, primary, groups, &n) < 0)
		n = 64; /* more than 64: look at the first 64 */
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

bool cvqd_ids_allow(const uid_t *uids, size_t nu, const gid_t *gids, size_t ng,
                    uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < nu; i++)
		if (uids[i] == uid)
			return true;
	for (size_t i = 0; i < ng; i++)
		if (gids[i] == gid || in_groups_of(uid, gid, gids[i]))
			return true;
	return false;
}

static bool caller_allowed(const cvqd_config *cfg, const struct ucred *uc)
{
	return cvqd_ids_allow(cfg->allow_uids, cfg->n_allow_uids, cfg->allow_gids,
	                      cfg->n_allow_gids, uc->uid, uc->gid);
}

static int conn_fd(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

/* Per connection (MHD's socket_context): whose it is, counted against whom. */
struct conn_state {
	uid_t key;      /* the uid, or CVQD_QUOTA_REFUSED */
	bool counted;
};

/*
 * At accept, in the listening thread: the caller check used to wait for
 * complete headers, so 64 trickling connections of a refused uid kept
 * everyone else out. Over its share, a connection is shut down before
 * MHD reads from it; its thread ends at once.
 */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct cvqd_http *h = cls;
	const cvqd_config *cfg = &h->d->cfg;
	struct conn_state *cs = *socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (cs && cs->counted)
			cvqd_quota_give(h->d->quota, cs->key, CVQD_QUOTA_CONN);
		free(cs);
		*socket_context = NULL;
		return;
	}
	int fd = conn_fd(c);
	struct ucred uc = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t ul = sizeof uc;
	cs = calloc(1, sizeof *cs);
	if (!cs || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0) {
		free(cs);
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		return;
	}
	bool allowed = caller_allowed(cfg, &uc);
	cs->key = allowed ? uc.uid : CVQD_QUOTA_REFUSED;
	unsigned max = allowed ? cfg->max_clients_per_caller : cfg->max_refused_clients;
	cs->counted = cvqd_quota_take(h->d->quota, cs->key, CVQD_QUOTA_CONN, max);
	*socket_context = cs;
	if (!cs->counted) {
		cvqd_warn("closed a connection of uid %u pid %d: %s holds %u connections already",
		          (unsigned)uc.uid, (int)uc.pid, allowed ? "it" : "the not allowed callers", max);
		shutdown(fd, SHUT_RDWR);
	}
}

static enum MHD_Result dispatch(struct cvqd_http *h, struct MHD_Connection *c,
                                const char *url, const char *method,
                                struct req_state *st, const struct ucred *uc, int fd)
{
	cvqd_req r = { .d = h->d, .method = method, .path = url, .uid = uc->uid,
	               .gid = uc->gid, .pid = uc->pid, .fd = fd, .conn = c };
	enum MHD_Result rc;

	if (st->len) {
		char why[200];
		r.body = cvqd_request_parse(st->buf, st->len, why, sizeof why);
		if (!r.body)
			return send_error(c, CVQD_ERR_BAD_REQUEST, why);
	}
	cvqd_api_dispatch(&r);
	if (r.stream) {
		rc = MHD_queue_response(c, r.status ? r.status : 200, r.stream);
		MHD_destroy_response(r.stream);
	} else if (r.answer) {
		rc = send_json(c, r.status, r.answer);
	} else {
		rc = send_error(c, CVQD_ERR_INTERNAL, "handler gave no answer");
	}
	json_decref(r.answer);
	json_decref(r.body);
	return rc;
}

/* How much of a too large body is read (and dropped) to answer 413 cleanly. */
static size_t drain_max(size_t max_body)
{
	return max_body < (1u << 20) / 4 ? 1u << 20 : 4 * max_body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct cvqd_http *h = cls;
	const cvqd_config *cfg = &h->d->cfg;
	struct req_state *st = *con_cls;
	int fd = conn_fd(c);
	struct ucred uc = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t ul = sizeof uc;

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0)
		return send_error(c, CVQD_ERR_FORBIDDEN, "caller credentials unavailable");

	if (!st) {
		/* Headers are in: refuse what we can before reading any body. */
		if (!caller_allowed(cfg, &uc)) {
			cvqd_warn("refused caller uid %u gid %u pid %d",
			          (unsigned)uc.uid, (unsigned)uc.gid, (int)uc.pid);
			return send_error(c, CVQD_ERR_FORBIDDEN, NULL);
		}
		/* /v1/seal: its own callers and body limit, before the body. */
		size_t max_body = cfg->max_body;
		cvqd_err se = cvqd_seal_admit(h->d, url, uc.uid, uc.gid, &max_body);
		if (se != CVQD_OK)
			return send_error(c, se, se == CVQD_ERR_FORBIDDEN ?
			                  "this caller may not seal documents ([seal] allow_users)" : NULL);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		unsigned long long cl_n = cl ? strtoull(cl, NULL, 10) : 0;
		bool too_large = cl && cl_n > max_body;
		/*
		 * Answered at once and closed, a client still sending its body
		 * gets EPIPE instead of our 413 (curl: "Send failure", 7 % of
		 * tries): a body up to drain_max() is read and dropped first.
		 */
		if (too_large && cl_n > drain_max(max_body))
			return send_error(c, CVQD_ERR_BODY_TOO_LARGE, NULL);
		if (!strcmp(method, "POST")) {
			const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
			if (ct && strncasecmp(ct, "application/json", 16) != 0)
				return send_error(c, CVQD_ERR_UNSUPPORTED_MEDIA, NULL);
		}
		st = calloc(1, sizeof *st);
		if (!st)
			return MHD_NO;
		st->too_large = too_large;
		st->max_body = max_body;
		*con_cls = st;
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (st->too_large || n > st->max_body - st->len) {
			/* Dropped, answered at the end (chunked bodies have no
			 * Content-Length); past drain_max(), no more reading. */
			st->too_large = true;
			st->dropped += n;
			if (st->dropped > drain_max(st->max_body))
				return send_error(c, CVQD_ERR_BODY_TOO_LARGE, NULL);
			return MHD_YES;
		}
		if (st->len + n > st->cap) {
			size_t cap = st->cap ? st->cap : 1024;
			while (cap < st->len + n)
				cap *= 2;
			char *b = realloc(st->buf, cap);
			if (!b)
				return MHD_NO;
			st->buf = b;
			st->cap = cap;
		}
		memcpy(st->buf + st->len, upload_data, n);
		st->len += n;
		return MHD_YES;
	}

	if (st->too_large)
		return send_error(c, CVQD_ERR_BODY_TOO_LARGE, NULL);
	return dispatch(h, c, url, method, st, &uc, fd);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *con_cls;
	if (!st)
		return;
	free(st->buf);
	free(st);
	*con_cls = NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	cvqd_dbg("http: %s", msg);
}

/* systemd socket activation: LISTEN_PID is us and LISTEN_FDS >= 1 => fd 3. */
static int systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid() || strtol(fds, NULL, 10) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 3;
}

static int bind_socket(const cvqd_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(cfg->socket_path) >= sizeof sa.sun_path) {
		cvqd_error("socket path too long: %s", cfg->socket_path);
		return -1;
	}
	strcpy(sa.sun_path, cfg->socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct stat sb;
	if (lstat(cfg->socket_path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(cfg->socket_path);
	/* Created with the final mode: no window where others could connect. */
	mode_t old = umask(0777 & ~(mode_t)cfg->socket_mode);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0 || chmod(cfg->socket_path, cfg->socket_mode) != 0 || listen(fd, 64) != 0) {
		cvqd_error("cannot listen on %s: %s", cfg->socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

cvqd_http *cvqd_http_start(struct cvqd *d)
{
	const cvqd_config *cfg = &d->cfg;
	struct cvqd_http *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->d = d;
	int fd = systemd_socket();
	if (fd < 0) {
		fd = bind_socket(cfg);
		if (fd < 0)
			goto fail;
		h->unlink_path = strdup(cfg->socket_path);
	}
	/* poll(), not select(): with the OCSP responder the process may hold
	 * more than FD_SETSIZE descriptors, and select() would refuse API
	 * connections numbered above it. */
	h->mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
		MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_clients,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->request_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_END);
	if (!h->mhd) {
		cvqd_error("libmicrohttpd did not start");
		close(fd);
		goto fail;
	}
	cvqd_info("listening on %s", h->unlink_path ? h->unlink_path : "the systemd socket");
	return h;
fail:
	if (h->unlink_path)
		unlink(h->unlink_path);
	free(h->unlink_path);
	free(h);
	return NULL;
}

void cvqd_http_stop(cvqd_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	if (h->unlink_path)
		unlink(h->unlink_path);
	free(h->unlink_path);
	free(h);
}
