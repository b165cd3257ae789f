/*
 * libcvqverify — the GET itself: one connection per fetch, non-blocking,
 * every step (connect, send, each read) bounded by the same deadline, so a
 * server that accepts and never answers costs timeout_s, never more.
 * Name resolution (getaddrinfo) is not bounded: configure addresses or a
 * local resolver where that matters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "verify_http.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for ev on fd until the deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = ev };
		if (left <= 0)
			return 0;
		int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_to(const struct vfy_url *u, long long deadline, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL;
	int fd = -1, rc = getaddrinfo(u->host, u->port, &hints, &res);

	if (rc != 0) {
		snprintf(why, whylen, "%s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	snprintf(why, whylen, "%s:%s: no address", u->host, u->port);
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		int err = 0;
		socklen_t el = sizeof err;
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
				break;
			snprintf(why, whylen, "connect %s:%s: %s", u->host, u->port,
			         rc == 0 ? "timed out" : strerror(err ? err : errno));
		} else {
			snprintf(why, whylen, "connect %s:%s: %s", u->host, u->port, strerror(errno));
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int vfy_http_get(const char *url, unsigned timeout_s, size_t max_body, const char *etag,
                 const char *last_modified, struct vfy_http_get *g, char *why, size_t whylen)
{
	struct vfy_url u;
	struct vfy_http_resp r;
	char req[2048];
	char *buf = NULL;
	size_t len = 0, cap = 0, limit = max_body + VFY_HTTP_MAX_HEAD;
	long long deadline = now_ms() + (long long)(timeout_s ? timeout_s : 10) * 1000;
	int fd = -1, ret = -1, n;
	bool eof = false;
	enum vfy_http_state st = VFY_HTTP_MORE;

	memset(g, 0, sizeof *g);
	why[0] = '\0';
	if (!vfy_url_parse(url, &u)) {
		snprintf(why, whylen, "not an http:// URL");
		return -1;
	}
	n = snprintf(req, sizeof req,
	             "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: libcvqverify\r\n"
	             "Accept: application/pkix-crl, application/x-pkcs7-crl, */*\r\n"
	             "%s%s%s%s%s%s\r\n", u.path, u.hostport,
	             vfy_http_token_ok(etag) ? "If-None-Match: " : "",
	             vfy_http_token_ok(etag) ? etag : "", vfy_http_token_ok(etag) ? "\r\n" : "",
	             vfy_http_token_ok(last_modified) ? "If-Modified-Since: " : "",
	             vfy_http_token_ok(last_modified) ? last_modified : "",
	             vfy_http_token_ok(last_modified) ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof req) {
		snprintf(why, whylen, "URL too long");
		return -1;
	}
	if ((fd = connect_to(&u, deadline, why, whylen)) < 0)
		return -1;
	why[0] = '\0';
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR) && wait_fd(fd, POLLOUT, deadline) == 1)
			continue;
		snprintf(why, whylen, "sending the request: %s",
		         w < 0 && errno != EAGAIN ? strerror(errno) : "timed out");
		goto out;
	}
	while ((st = vfy_http_parse(buf ? buf : "", len, eof, &r)) == VFY_HTTP_MORE && !eof) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;
			if (ncap > limit + 1)
				ncap = limit + 1;
			if (ncap <= len) {
				snprintf(why, whylen, "answer larger than %zu bytes", limit);
				goto out;
			}
			if (!(nb = realloc(buf, ncap))) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		int w = wait_fd(fd, POLLIN, deadline);
		if (w != 1) {
			snprintf(why, whylen, "no complete answer within %u s", timeout_s ? timeout_s : 10);
			goto out;
		}
		ssize_t rd = recv(fd, buf + len, cap - len, 0);
		if (rd > 0)
			len += (size_t)rd;
		else if (rd == 0)
			eof = true;
		else if (errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "reading the answer: %s", strerror(errno));
			goto out;
		}
	}
	if (st != VFY_HTTP_DONE) {
		snprintf(why, whylen, "%s", st == VFY_HTTP_BAD ? r.why : "answer cut short");
		goto out;
	}
	g->status = r.status;
	memcpy(g->etag, r.etag, sizeof g->etag);
	memcpy(g->last_modified, r.last_modified, sizeof g->last_modified);
	if (r.status == 200) {
		if (r.body_len > max_body) {
			snprintf(why, whylen, "CRL larger than %zu bytes", max_body);
			goto out;
		}
		if (!(g->body = malloc(r.body_len ? r.body_len : 1))) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		memcpy(g->body, buf + r.body_off, r.body_len);
		g->body_len = r.body_len;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}
