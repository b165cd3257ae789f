/*
 * ca-load — helpers for the CA benchmarks (bench/ca-*.sh):
 *
 *   ca-load csrs DIR N
 *       N fresh P-256 keys and their CSRs (DIR/<i>.csr), fast.
 *   ca-load ocsp [-k] [-t THREADS] [-T TIMEOUT] HOST PORT ISSUER.pem SERIALS CLIENTS SECONDS
 *       CLIENTS concurrent connections in a closed loop, each with one POST
 *       OCSP request (SHA-1 CertID of a random serial from SERIALS, no
 *       nonce) in flight, for SECONDS. Driven by THREADS (default 1) epoll
 *       loops rather than a thread per client, so the client's own cost
 *       and scheduling stay small and equal for every server. Default: one
 *       TCP connection per request (HTTP/1.0), as OpenSSL's OCSP client
 *       does; -k: HTTP/1.1 keep-alive, as a cache or validation service
 *       holding connections does. A request unanswered after TIMEOUT
 *       seconds (default 5) is an error. Latency is measured per request,
 *       from connect (or, kept alive, from write) to the last byte. Prints
 *       requests/s, errors, p50/p99/max and the CPUs the client may use.
 */
#define _GNU_SOURCE /* sched_getaffinity, strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static int
make_csrs(const char *dir, long n)
{
	char path[4096];
	long i;

	for (i = 0; i < n; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509_REQ *r = X509_REQ_new();
		FILE *f;

		snprintf(path, sizeof(path), "CN=bench %ld", i);
		if (!k || !r ||
		    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
		                                (const unsigned char *)path + 3, -1, -1, 0) ||
		    !X509_REQ_set_pubkey(r, k) || !X509_REQ_sign(r, k, EVP_sha256()))
			return 1;
		snprintf(path, sizeof(path), "%s/%ld.csr", dir, i);
		f = fopen(path, "w");
		if (!f || !PEM_write_X509_REQ(f, r) || fclose(f) != 0)
			return 1;
		X509_REQ_free(r);
		EVP_PKEY_free(k);
	}
	return 0;
}

struct req {
	unsigned char *der;
	int len;
};

/* One connection of the closed loop: it always has one request in flight. */
enum cstate { C_IDLE, C_CONNECTING, C_READING };

struct conn {
	int fd;
	enum cstate st;
	double t0;            /* the request's start: connect (close mode) or write */
	size_t got;
	bool reused;          /* kept alive: the server may have closed it meanwhile */
	bool close_after;     /* the server said it closes (HTTP/1.0, Connection: close) */
	char buf[4096];
};

struct cfg {
	struct sockaddr_in sa;
	const char *host;
	struct req *reqs;
	size_t nreqs;
	double deadline;
	bool keepalive;
	double timeout;
};

struct loop {
	pthread_t th;
	const struct cfg *cfg;
	struct conn *c;
	size_t nc;
	unsigned seed;
	double *lat;
	size_t nlat, cap;
	long errors, reconnects;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = C_IDLE;
	c->got = 0;
}

static int
conn_open(struct loop *l, int ep, struct conn *c)
{
	/* Registered once, edge-triggered: no epoll_ctl per state change. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (const struct sockaddr *)&l->cfg->sa, sizeof(l->cfg->sa)) != 0 &&
	    errno != EINPROGRESS) {
		conn_close(c);
		return -1;
	}
	c->st = C_CONNECTING;
	c->reused = false;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Write one whole request (it fits the socket buffer) and wait for the answer. */
static int
conn_send(struct loop *l, struct conn *c)
{
	const struct req *r = &l->cfg->reqs[(size_t)rand_r(&l->seed) % l->cfg->nreqs];
	char out[4096];
	int hl;

	hl = snprintf(out, sizeof(out),
	              l->cfg->keepalive ? "POST /ocsp HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n"
	                                  "Content-Type: application/ocsp-request\r\nContent-Length: %d\r\n\r\n"
	                                : "POST /ocsp HTTP/1.0\r\nHost: %s\r\n"
	                                  "Content-Type: application/ocsp-request\r\nContent-Length: %d\r\n\r\n",
	              l->cfg->host, r->len);
	if (hl < 0 || (size_t)hl + (size_t)r->len > sizeof(out))
		return -1;
	memcpy(out + hl, r->der, (size_t)r->len);
	if (write(c->fd, out, (size_t)hl + (size_t)r->len) != hl + r->len)
		return -1;
	c->st = C_READING;
	c->got = 0;
	return 0;
}

/*
 * 1: a whole 200 response is in buf, 0: need more, -1: not a 200.
 * Keep-alive answers end at Content-Length; the others at EOF.
 */
static int
response_done(struct conn *c, bool eof, bool keepalive)
{
	char *end, *cl;
	size_t hlen;
	long len;

	c->buf[c->got] = '\0';
	if (c->got >= 12 && strncmp(c->buf + 9, "200", 3) != 0)
		return -1;
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return eof ? -1 : 0;
	if (!keepalive)
		return eof ? 1 : 0;
	*end = '\0';
	c->close_after = strncmp(c->buf, "HTTP/1.0", 8) == 0
	                         ? !strcasestr(c->buf, "\r\nConnection: keep-alive")
	                         : strcasestr(c->buf, "\r\nConnection: close") != NULL;
	*end = '\r';
	hlen = (size_t)(end + 4 - c->buf);
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (!cl || cl > end)
		return -1;
	len = strtol(cl + 17, NULL, 10);
	if (len < 0)
		return -1;
	if (c->got >= hlen + (size_t)len)
		return 1;
	return eof ? -1 : 0;
}

static void
record(struct loop *l, double ms)
{
	if (l->nlat == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		l->lat = realloc(l->lat, l->cap * sizeof(double));
		if (!l->lat)
			abort();
	}
	l->lat[l->nlat++] = ms;
}

/* Start the next request on c: a new connection unless kept alive. */
static void
next(struct loop *l, int ep, struct conn *c)
{
	double t = now_s();

	if (t >= l->cfg->deadline) {
		conn_close(c);
		return;
	}
	c->t0 = t;
	if (c->fd >= 0 && l->cfg->keepalive) {
		c->reused = true;
		if (conn_send(l, c) == 0)
			return;
		conn_close(c);
		l->reconnects++;
	}
	if (c->fd >= 0)
		conn_close(c);
	if (conn_open(l, ep, c) != 0) {
		l->errors++;
		conn_close(c);
	}
}

static void
on_event(struct loop *l, int ep, struct conn *c, uint32_t events)
{
	ssize_t n;
	int done;
	bool eof = false;

	if (c->st == C_CONNECTING) {
		if (!(events & EPOLLOUT))
			return;
		if ((events & EPOLLERR) || conn_send(l, c) != 0)
			goto fail;
		return;
	}
	if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	/* Until EAGAIN (edge-triggered), or a whole kept-alive answer. */
	for (;;) {
		n = read(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got);
		if (n > 0) {
			c->got += (size_t)n;
			if (c->got >= sizeof(c->buf) - 1)
				break;
			if (l->cfg->keepalive && response_done(c, false, true) != 0)
				break;
			continue;
		}
		if (n == 0)
			eof = true;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			goto fail;
		break;
	}
	if (eof && c->got == 0 && c->reused) {
		/* Closed by the server while idle: not an error, connect again. */
		l->reconnects++;
		conn_close(c);
		if (conn_open(l, ep, c) != 0) {
			l->errors++;
			conn_close(c);
		}
		return;
	}
	done = response_done(c, eof, l->cfg->keepalive);
	if (done == 0)
		return;
	if (done < 0)
		goto fail;
	record(l, (now_s() - c->t0) * 1000.0);
	if (eof || !l->cfg->keepalive || c->close_after)
		conn_close(c);
	next(l, ep, c);
	return;
fail:
	l->errors++;
	conn_close(c);
	next(l, ep, c);
}

static void *
loop_run(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[64];
	int ep = epoll_create1(0), n, i;
	size_t k, active;
	double t, scan = 0;

	if (ep < 0)
		abort();
	for (k = 0; k < l->nc; k++) {
		l->c[k].fd = -1;
		next(l, ep, &l->c[k]);
	}
	/*
	 * After the deadline no request starts, and those in flight finish:
	 * dropping them mid-way would measure nothing and leave the server
	 * connections closed before the request line (which wedges some).
	 */
	for (;;) {
		t = now_s();
		for (k = 0, active = 0; k < l->nc; k++)
			active += l->c[k].fd >= 0;
		if (t >= l->cfg->deadline && active == 0)
			break;
		if (t >= l->cfg->deadline + l->cfg->timeout) {
			l->errors += (long)active;
			break;
		}
		n = epoll_wait(ep, ev, 64, 50);
		for (i = 0; i < n; i++)
			on_event(l, ep, ev[i].data.ptr, ev[i].events);
		/* A request stuck past the timeout (a wedged server) is an error. */
		if (t - scan < 0.1)
			continue;
		scan = t;
		for (k = 0; k < l->nc; k++) {
			if (l->c[k].fd >= 0 && t - l->c[k].t0 > l->cfg->timeout) {
				l->errors++;
				conn_close(&l->c[k]);
				next(l, ep, &l->c[k]);
			}
		}
	}
	for (k = 0; k < l->nc; k++)
		conn_close(&l->c[k]);
	close(ep);
	return NULL;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The CPUs this process may run on ("0-1", "1"), for the report. */
static void
cpus(char *out, size_t cap)
{
	cpu_set_t set;
	size_t o = 0;
	int i, first = -1;

	out[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (i = 0; i <= CPU_SETSIZE && o + 16 < cap; i++) {
		bool in = i < CPU_SETSIZE && CPU_ISSET(i, &set);

		if (in && first < 0)
			first = i;
		if (!in && first >= 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s%d", o ? "," : "", first);
			if (i - 1 > first)
				o += (size_t)snprintf(out + o, cap - o, "-%d", i - 1);
			first = -1;
		}
	}
}

static int
load_requests(const char *issuer_path, const char *serials, struct cfg *cfg)
{
	size_t cap = 0;
	char line[256];
	X509 *issuer;
	FILE *f;

	f = fopen(issuer_path, "r");
	issuer = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	f = fopen(serials, "r");
	if (!issuer || !f) {
		if (f)
			fclose(f);
		X509_free(issuer);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *s;
		OCSP_REQUEST *q;
		OCSP_CERTID *id;

		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || !BN_hex2bn(&bn, line))
			continue;
		q = OCSP_REQUEST_new();
		s = BN_to_ASN1_INTEGER(bn, NULL);
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
		                      X509_get0_pubkey_bitstr(issuer), s);
		if (!q || !id || !OCSP_request_add0_id(q, id))
			abort();
		if (cfg->nreqs == cap) {
			cap = cap ? cap * 2 : 1024;
			cfg->reqs = realloc(cfg->reqs, cap * sizeof(*cfg->reqs));
			if (!cfg->reqs)
				abort();
		}
		cfg->reqs[cfg->nreqs].der = NULL;
		cfg->reqs[cfg->nreqs].len = i2d_OCSP_REQUEST(q, &cfg->reqs[cfg->nreqs].der);
		cfg->nreqs++;
		OCSP_REQUEST_free(q);
		ASN1_INTEGER_free(s);
		BN_free(bn);
	}
	fclose(f);
	X509_free(issuer);
	return cfg->nreqs ? 0 : -1;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)((double)n * p);

	return n ? v[i < n ? i : n - 1] : 0.0;
}

static int
ocsp_load(int argc, char **argv)
{
	struct cfg cfg = {.timeout = 5.0};
	int port, clients, threads = 1, opt;
	double secs, start, elapsed;
	struct loop *ls;
	size_t total = 0, k, i, per;
	long errors = 0, reconnects = 0;
	char cpu[128];
	double *all, setup_us, us;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "kt:T:")) != -1) {
		switch (opt) {
		case 'k': cfg.keepalive = true; break;
		case 't': threads = atoi(optarg); break;
		case 'T': cfg.timeout = atof(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 6)
		return 2;
	argv += optind;
	cfg.host = argv[0];
	port = atoi(argv[1]);
	clients = atoi(argv[4]);
	secs = atof(argv[5]);
	if (clients <= 0 || secs <= 0 || threads <= 0 || cfg.timeout <= 0 || port <= 0 || port > 65535)
		return 2;
	if (threads > clients)
		threads = clients;
	cfg.sa.sin_family = AF_INET;
	cfg.sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, cfg.host, &cfg.sa.sin_addr) != 1 ||
	    load_requests(argv[2], argv[3], &cfg) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* The client's own CPU per request, without building the requests. */
	getrusage(RUSAGE_SELF, &ru);
	setup_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	ls = calloc((size_t)threads, sizeof(*ls));
	if (!ls)
		return 2;
	start = now_s();
	cfg.deadline = start + secs;
	for (k = 0, i = 0; k < (size_t)threads; k++) {
		per = (size_t)clients / (size_t)threads + (k < (size_t)clients % (size_t)threads);
		ls[k].cfg = &cfg;
		ls[k].c = calloc(per, sizeof(*ls[k].c));
		ls[k].nc = per;
		ls[k].seed = (unsigned)k * 7919u + 1;
		if (!ls[k].c || pthread_create(&ls[k].th, NULL, loop_run, &ls[k]) != 0)
			abort();
		i += per;
	}
	for (k = 0; k < (size_t)threads; k++) {
		pthread_join(ls[k].th, NULL);
		total += ls[k].nlat;
		errors += ls[k].errors;
		reconnects += ls[k].reconnects;
	}
	elapsed = now_s() - start;
	all = malloc((total ? total : 1) * sizeof(double));
	if (!all)
		abort();
	for (i = 0, k = 0; k < (size_t)threads; k++) {
		memcpy(all + i, ls[k].lat, ls[k].nlat * sizeof(double));
		i += ls[k].nlat;
		free(ls[k].lat);
		free(ls[k].c);
	}
	qsort(all, total, sizeof(double), cmp_d);
	cpus(cpu, sizeof(cpu));
	getrusage(RUSAGE_SELF, &ru);
	us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) - setup_us;
	printf("requests %zu errors %ld rps %.0f p50_ms %.3f p99_ms %.3f max_ms %.3f"
	       " mode %s threads %d cpus %s reconnects %ld client_us_per_req %.1f\n",
	       total, errors, (double)total / elapsed, pct(all, total, 0.5), pct(all, total, 0.99),
	       total ? all[total - 1] : 0.0, cfg.keepalive ? "keepalive" : "close", threads,
	       cpu[0] ? cpu : "?", reconnects, total ? us / (double)total : 0.0);
	free(all);
	free(ls);
	for (i = 0; i < cfg.nreqs; i++)
		OPENSSL_free(cfg.reqs[i].der);
	free(cfg.reqs);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "csrs") == 0)
		return make_csrs(argv[2], atol(argv[3]));
	if (argc >= 8 && strcmp(argv[1], "ocsp") == 0)
		return ocsp_load(argc - 1, argv + 1);
	fprintf(stderr, "usage: ca-load csrs DIR N\n"
	                "       ca-load ocsp [-k] [-t THREADS] [-T TIMEOUT] HOST PORT ISSUER.pem SERIALS"
	                " CLIENTS SECONDS\n");
	return 2;
}
