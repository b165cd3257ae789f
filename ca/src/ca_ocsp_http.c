/*
 * libcvqca — the CA's public service on libmicrohttpd: OCSP, GET
 * /<path>/<base64 DER> (RFC 5019, cacheable) and POST
 * application/ocsp-request, and, when the service has a TSA, RFC 3161
 * over HTTP: POST application/timestamp-query (or any POST to a path
 * ending in /tsa). A pool of threads on epoll, idle connections closed
 * after a timeout, bounded bodies: an empty or slow client costs one
 * socket, never the service.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "ca_int.h"
#include "ca_ocsp_int.h"
#include <cvq/ca_tsa.h>

#define MAX_BODY 65536
/*
 * Per-connection memory of MHD: request line, headers, read buffer, reply
 * headers. MHD clears all of it for every request on a kept-alive
 * connection, so its 32 KiB default was a tenth of a cached answer's cost;
 * OCSP requests and replies need far less (the body is streamed to us).
 */
#define POOL ((size_t)8192)

struct cvq_ca_ocsp_server {
	cvq_ca_ocsp *o;
	cvq_ca_tsa *tsa;           /* borrowed; NULL: no timestamps here */
	struct MHD_Daemon *d;
	unsigned port;
	/* Pre-signs the answers at start, then re-signs them before they
	 * pass half their validity, so requests rarely wait for a signature. */
	pthread_t refresher;
	bool refreshing;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *
refresher(void *arg)
{
	cvq_ca_ocsp_server *s = arg;
	time_t period = ocsp_refresh_period(s->o);
	struct timespec until;

	while (!atomic_load(&s->stop)) {
		ocsp_refresh(s->o, period, &s->stop, NULL);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += period;
		pthread_mutex_lock(&s->mu);
		while (!atomic_load(&s->stop) &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
			;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/*
 * One request's state: the POST body as it arrives (most are under 200
 * bytes), and the response being sent, kept referenced until MHD is done
 * with it (completed()), since replies point into it without a copy.
 */
struct req_ctx {
	uint8_t *buf;
	size_t len, cap;
	bool too_big;
	bool tsa;                  /* a timestamp query */
	struct ocsp_resp *r;
	uint8_t *tsr;              /* the TimeStampResp being sent (OPENSSL_malloc'd) */
};

static enum MHD_Result
send_plain(struct MHD_Connection *c, unsigned code)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void
reply_free(void *p)
{
	MHD_destroy_response(p);
}

/*
 * The reply to a POST or to an uncacheable answer has constant headers:
 * made once per signed response and queued again for every request that
 * gets the same answer (MHD counts its references).
 */
static struct MHD_Response *
prepared(struct ocsp_resp *r)
{
	struct MHD_Response *m = atomic_load_explicit(&r->http, memory_order_acquire);

	if (m)
		return m;
	m = MHD_create_response_from_buffer(r->len, r->der, MHD_RESPMEM_PERSISTENT);
	if (!m)
		return NULL;
	if (MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response") != MHD_YES ||
	    MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store") != MHD_YES) {
		MHD_destroy_response(m);
		return NULL;
	}
	return ocsp_resp_attach(r, m, reply_free);
}

static enum MHD_Result
answer(cvq_ca_ocsp *o, struct MHD_Connection *c, struct req_ctx *x, const uint8_t *req,
       size_t len, bool get)
{
	struct ocsp_resp *r;
	struct MHD_Response *m;
	char hdr[96];
	enum MHD_Result ret;
	time_t now = time(NULL);

	if (ocsp_respond_shared(o, req, len, true, &r) != CVQ_CA_OK)
		return send_plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR);
	x->r = r;
	if (!get || r->ans.has_nonce || r->ans.status != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    r->ans.next_update <= now) {
		m = prepared(r);
		return m ? MHD_queue_response(c, MHD_HTTP_OK, m) : MHD_NO;
	}
	/* RFC 5019 6.2: caches may keep it until nextUpdate. */
	m = MHD_create_response_from_buffer(r->len, r->der, MHD_RESPMEM_PERSISTENT);
	if (!m)
		return MHD_NO;
	snprintf(hdr, sizeof(hdr), "max-age=%lld, public, no-transform, must-revalidate",
	         (long long)(r->ans.next_update - now));
	MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response");
	MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, hdr);
	MHD_add_response_header(m, MHD_HTTP_HEADER_LAST_MODIFIED, r->last_modified);
	MHD_add_response_header(m, MHD_HTTP_HEADER_EXPIRES, r->expires);
	MHD_add_response_header(m, MHD_HTTP_HEADER_ETAG, r->etag);
	ret = MHD_queue_response(c, MHD_HTTP_OK, m);
	MHD_destroy_response(m);
	return ret;
}

static bool
b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/' || ch == '=';
}

/*
 * The base URL may have a path of its own ("/ocsp/<b64>"), and base64 has
 * '/' in its alphabet: try each suffix after a '/' until one decodes to a
 * whole DER request.
 */
cvq_ca_err
cvq_ca_ocsp_decode_get(const char *path, uint8_t *der, size_t cap, size_t *len_out)
{
	const unsigned char *p;
	OCSP_REQUEST *req;
	const char *s;
	size_t n, i;
	int len, pad;
	bool whole;

	if (!path || !der || !len_out)
		return CVQ_CA_ERR_ARG;
	for (s = path; (s = strchr(s, '/')) != NULL; s++) {
		n = strlen(s + 1);
		if (n == 0 || n % 4 || n / 4 * 3 > cap)
			continue;
		for (i = 0; i < n && b64_char(s[1 + i]); i++)
			;
		if (i != n)
			continue;
		len = EVP_DecodeBlock(der, (const unsigned char *)s + 1, (int)n);
		if (len <= 0)
			continue;
		pad = (s[n] == '=') + (n > 1 && s[n - 1] == '=');
		len -= pad;
		p = der;
		req = d2i_OCSP_REQUEST(NULL, &p, len);
		whole = req && p == der + len;
		OCSP_REQUEST_free(req);
		if (whole) {
			*len_out = (size_t)len;
			return CVQ_CA_OK;
		}
	}
	ERR_clear_error();
	return CVQ_CA_ERR_REQUEST;
}

static enum MHD_Result
handle_get(cvq_ca_ocsp *o, struct MHD_Connection *c, struct req_ctx *x, const char *url)
{
	uint8_t der[4096];
	size_t len;

	if (cvq_ca_ocsp_decode_get(url, der, sizeof(der), &len) != CVQ_CA_OK)
		return send_plain(c, MHD_HTTP_BAD_REQUEST);
	return answer(o, c, x, der, len, true);
}

/*
 * A timestamp: the token is committed to the audit chain inside
 * cvq_ca_tsa_respond() before we queue a byte of it; when that fails the
 * client gets a 500 and no token.
 */
static enum MHD_Result
answer_tsa(cvq_ca_tsa *t, struct MHD_Connection *c, struct req_ctx *x)
{
	struct MHD_Response *m;
	enum MHD_Result ret;
	size_t len;

	if (cvq_ca_tsa_respond(t, x->buf, x->len, &x->tsr, &len, NULL) != CVQ_CA_OK)
		return send_plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR);
	m = MHD_create_response_from_buffer(len, x->tsr, MHD_RESPMEM_PERSISTENT);
	if (!m)
		return MHD_NO;
	MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/timestamp-reply");
	MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, m);
	MHD_destroy_response(m);
	return ret;
}

static bool
is_tsa_request(struct MHD_Connection *c, const char *url)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen(url);

	return (ct && strncasecmp(ct, "application/timestamp-query", 27) == 0) ||
	       (n >= 4 && strcmp(url + n - 4, "/tsa") == 0);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	cvq_ca_ocsp_server *s = cls;
	cvq_ca_ocsp *o = s->o;
	struct req_ctx *p = *con_cls;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;

	(void)version;
	if (!get && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return send_plain(c, MHD_HTTP_METHOD_NOT_ALLOWED);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return MHD_NO;
		*con_cls = p;
		if (!get) {
			p->tsa = is_tsa_request(c, url);
			if (p->tsa && !s->tsa)
				return send_plain(c, MHD_HTTP_NOT_FOUND);
			return MHD_YES;
		}
	}
	if (get)
		return handle_get(o, c, p, url);
	if (*upload_data_size) {
		size_t need = p->len + *upload_data_size;

		if (need > MAX_BODY) {
			p->too_big = true;
		} else if (!p->too_big) {
			if (need > p->cap) {
				size_t cap = need < 512 ? 512 : need * 2 > MAX_BODY ? MAX_BODY : need * 2;
				uint8_t *nb = realloc(p->buf, cap);

				if (!nb)
					return MHD_NO;
				p->buf = nb;
				p->cap = cap;
			}
			memcpy(p->buf + p->len, upload_data, *upload_data_size);
			p->len = need;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (p->too_big)
		return send_plain(c, MHD_HTTP_CONTENT_TOO_LARGE);
	if (p->tsa)
		return p->tsr ? MHD_YES : answer_tsa(s->tsa, c, p);
	return answer(o, c, p, p->buf, p->len, false);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	struct req_ctx *x = *con_cls;

	(void)cls;
	(void)c;
	(void)t;
	if (!x)
		return;
	free(x->buf);
	OPENSSL_free(x->tsr);
	ocsp_resp_put(x->r);
	free(x);
	*con_cls = NULL;
}

static bool
parse_addr(const char *addr, struct sockaddr_storage *ss, unsigned *port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *colon;
	char *end;
	unsigned long p;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (addr[0] == '[') {
		colon = strstr(addr, "]:");
		if (!colon)
			return false;
		hl = (size_t)(colon - addr - 1);
		colon++;
		if (hl >= sizeof(host))
			return false;
		memcpy(host, addr + 1, hl);
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return false;
		hl = (size_t)(colon - addr);
		if (hl >= sizeof(host))
			return false;
		memcpy(host, addr, hl);
	}
	host[hl] = '\0';
	p = strtoul(colon + 1, &end, 10);
	if (*end || p > 65535 || end == colon + 1)
		return false;
	*port = (unsigned)p;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		return true;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		return true;
	}
	return false;
}

cvq_ca_err
cvq_ca_ocsp_server_start(cvq_ca_ocsp *o, const char *addr, int listen_fd, unsigned threads,
                         unsigned timeout_s, cvq_ca_ocsp_server **out)
{
	return ca_http_server_start(o, NULL, addr, listen_fd, threads, timeout_s, out);
}

cvq_ca_err
ca_http_server_start(cvq_ca_ocsp *o, cvq_ca_tsa *tsa, const char *addr, int listen_fd,
                     unsigned threads, unsigned timeout_s, cvq_ca_ocsp_server **out)
{
	struct sockaddr_storage ss;
	cvq_ca_ocsp_server *s;
	const union MHD_DaemonInfo *info;
	unsigned port = 0;
	/* TURBO: accept4, read and write first, poll only when they would
	 * block; no shutdown() before close. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
	long ncpu;

	if (!o || !out || (!addr && listen_fd < 0))
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	if (listen_fd < 0 && !parse_addr(addr, &ss, &port))
		return CVQ_CA_ERR_ARG;
	if (listen_fd < 0 && ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!threads) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 && ncpu < 64 ? (unsigned)ncpu : 2;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return CVQ_CA_ERR_NOMEM;
	s->o = o;
	s->tsa = tsa;
	atomic_init(&s->stop, false);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (listen_fd >= 0)
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s,
		        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
		        MHD_OPTION_THREAD_POOL_SIZE, threads,
		        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s ? timeout_s : 10u,
		        MHD_OPTION_CONNECTION_LIMIT, 4096u,
		        MHD_OPTION_CONNECTION_MEMORY_LIMIT, POOL,
		        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		        MHD_OPTION_END);
	else
		s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, s,
		        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		        MHD_OPTION_THREAD_POOL_SIZE, threads,
		        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s ? timeout_s : 10u,
		        MHD_OPTION_CONNECTION_LIMIT, 4096u,
		        MHD_OPTION_CONNECTION_MEMORY_LIMIT, POOL,
		        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		        MHD_OPTION_END);
	if (!s->d) {
		cvq_ca_ocsp_server_stop(s);
		return CVQ_CA_ERR_NET;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	/* Without it, answers are signed on demand: slower, still right. */
	s->refreshing = pthread_create(&s->refresher, NULL, refresher, s) == 0;
	*out = s;
	return CVQ_CA_OK;
}

unsigned
cvq_ca_ocsp_server_port(const cvq_ca_ocsp_server *s)
{
	return s ? s->port : 0;
}

void
cvq_ca_ocsp_server_stop(cvq_ca_ocsp_server *s)
{
	if (!s)
		return;
	if (s->refreshing) {
		pthread_mutex_lock(&s->mu);
		atomic_store(&s->stop, true);
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->refresher, NULL);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
