/*
 * cvq-admin — the agent link over TLS (agent_link.h): one request body to
 * the agent's TLS front (POST /.well-known/est/cvq/agent), one answer
 * body back, with OpenSSL's libssl:
 *   - the server must chain to link->ca_file (the city CA) and be the
 *     host of the URL (name or IP address, RFC 6125 / 5280 SAN checks);
 *   - our certificate is link->cert_file, our key link->key: a PEM file,
 *     or a pkcs11: URI (RFC 7512; the staff card's 9A key) through
 *     libcvqp11, its PIN from link->pin_source (file:, fd:, pinentry:,
 *     tty), never argv;
 *   - TLS 1.2 at least (1.3 when the server has it), a deadline on the
 *     connect and on every read and write.
 * The agent decides who we are from that certificate; nothing we send
 * says it.
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
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cvq/p11.h>
#include <cvq/util.h>

#include "agent_http.h"
#include "agent_link.h"

#define CONNECT_TIMEOUT_MS 10000
#define IO_TIMEOUT_S 60
#define ANSWER_MAX (CVQ_CA_AGENT_MAX_MSG + CVQ_ADMIN_HTTP_MAX_HEAD)

struct url {
	char host[256];
	char port[8];
	bool ip;
};

/* https://HOST:PORT, https://[V6]:PORT, an optional "/" and nothing else. */
static bool
parse_url(const char *s, struct url *u)
{
	const char *h, *e, *port;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
	size_t n;

	if (strncmp(s, "https://", 8) != 0)
		return false;
	h = s + 8;
	if (*h == '[') {
		e = strchr(h, ']');
		if (!e || e[1] != ':')
			return false;
		n = (size_t)(e - h - 1);
		h++;
		port = e + 2;
	} else {
		e = strchr(h, ':');
		if (!e)
			return false;
		n = (size_t)(e - h);
		port = e + 1;
	}
	if (n == 0 || n >= sizeof(u->host) || strcspn(h, "/?#@ ") < n)
		return false;
	memcpy(u->host, h, n);
	u->host[n] = '\0';
	n = strspn(port, "0123456789");
	if (n == 0 || n >= sizeof(u->port) || (port[n] && strcmp(port + n, "/") != 0) ||
	    atoi(port) < 1 || atoi(port) > 65535)
		return false;
	memcpy(u->port, port, n);
	u->port[n] = '\0';
	u->ip = getaddrinfo(u->host, NULL, &hints, &ai) == 0;
	if (ai)
		freeaddrinfo(ai);
	return true;
}

/* A TCP connection within CONNECT_TIMEOUT_MS, then blocking with timeouts. */
static int
tcp_connect(const struct url *u, char *why, size_t why_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL, *a;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int fd = -1, rc, soerr;
	socklen_t sl;

	rc = getaddrinfo(u->host, u->port, &hints, &ai);
	if (rc != 0) {
		snprintf(why, why_len, "%s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	snprintf(why, why_len, "cannot connect to %s:%s", u->host, u->port);
	for (a = ai; a; a = a->ai_next) {
		struct pollfd pf;

		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc != 0 && errno == EINPROGRESS) {
			pf = (struct pollfd){.fd = fd, .events = POLLOUT};
			sl = sizeof(soerr);
			rc = poll(&pf, 1, CONNECT_TIMEOUT_MS) == 1 &&
			     getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0 ? 0 : -1;
			if (rc != 0)
				errno = soerr ? soerr : ETIMEDOUT;
		}
		if (rc == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
			break;
		snprintf(why, why_len, "cannot connect to %s:%s: %s", u->host, u->port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct pin_src {
	const char *source;
};

/* The token's PIN from the link's source (never argv). */
static int
token_pin(void *ctx, const char *label, char *buf, size_t cap)
{
	const struct pin_src *p = ctx;

	if (!buf || !cap)
		return 0; /* PIN pad */
	if (!p->source)
		return 1;
	return cvq_secret_read(p->source, "PIN of your card:", buf, cap) == CVQ_UTIL_OK ? 0 : 1;
}

/* What holds our key for the connection's (or the link's) life. */
struct client_key {
	cvq_p11_ctx *p11;
	cvq_p11_key *key;
	EVP_PKEY *pkey;
};

/* cvq_admin_link_open(): the context (CA, certificate, key) of every call. */
struct cvq_admin_link_tls {
	SSL_CTX *ctx;
	struct client_key key;
};

static void
client_key_free(struct client_key *k)
{
	EVP_PKEY_free(k->pkey);
	cvq_p11_key_free(k->key);
	cvq_p11_close(k->p11);
}

/* The passphrase of an encrypted PEM key, from the same source. */
static int
pem_pass(char *buf, int size, int rw, void *u)
{
	const struct pin_src *p = u;

	if (!p->source || size <= 0 ||
	    cvq_secret_read(p->source, "Passphrase of your key:", buf, (size_t)size) != CVQ_UTIL_OK)
		return 0;
	return (int)strlen(buf);
}

static bool
load_key(const struct cvq_admin_link *l, struct client_key *k, char *why, size_t why_len)
{
	struct pin_src src = {l->pin_source};
	cvq_p11_err e;
	FILE *f;

	if (strncmp(l->key, "pkcs11:", 7) == 0) {
		e = cvq_p11_open_uri(l->key, &k->p11);
		if (e == CVQ_P11_OK) {
			cvq_p11_set_pin_callback(k->p11, token_pin, &src);
			e = cvq_p11_key_find(k->p11, l->key, &k->key);
			if (e == CVQ_P11_OK && !(k->pkey = cvq_p11_key_pkey(k->key)))
				e = CVQ_P11_ERR_PKCS11;
			/* src lives on this stack: no later prompts (the key is logged in). */
			cvq_p11_set_pin_callback(k->p11, NULL, NULL);
		}
		if (e != CVQ_P11_OK) {
			snprintf(why, why_len, "key %s: %s", l->key, cvq_p11_strerror(e));
			k->pkey = NULL;
			return false;
		}
		EVP_PKEY_up_ref(k->pkey);
		return true;
	}
	if (cvq_util_check_mode(l->key, 0640, false, why, why_len) != CVQ_UTIL_OK)
		return false;
	f = fopen(l->key, "re");
	if (f) {
		k->pkey = PEM_read_PrivateKey(f, NULL, pem_pass, &src);
		fclose(f);
	}
	if (!k->pkey)
		snprintf(why, why_len, "cannot read the key %s", l->key);
	return k->pkey != NULL;
}

/* The context: our certificate and key, the CA the server must chain to. */
static SSL_CTX *
client_ctx(const struct cvq_admin_link *l, struct client_key *k, char *why, size_t why_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		snprintf(why, why_len, "no TLS context");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, l->ca_file, NULL) != 1) {
		snprintf(why, why_len, "cannot read the CA certificate %s", l->ca_file);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, l->cert_file) != 1) {
		snprintf(why, why_len, "cannot read the certificate %s", l->cert_file);
		goto fail;
	}
	if (!load_key(l, k, why, why_len))
		goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, k->pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(why, why_len, "the key %s is not that of %s", l->key, l->cert_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Why the handshake failed, in words: the verification or OpenSSL's reason. */
static void
handshake_why(SSL *ssl, const struct url *u, char *why, size_t why_len)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();

	if (v != X509_V_OK)
		snprintf(why, why_len, "TLS with %s:%s: the server's certificate: %s", u->host, u->port,
		         X509_verify_cert_error_string(v));
	else
		snprintf(why, why_len, "TLS with %s:%s failed: %s", u->host, u->port,
		         e ? ERR_reason_error_string(e) : "the connection closed");
}

static bool
ssl_write_all(SSL *ssl, const void *b, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t w = 0;

		if (SSL_write_ex(ssl, (const uint8_t *)b + done, n - done, &w) != 1)
			return false;
		done += w;
	}
	return true;
}

/* The whole answer, up to the server's close (we asked for it), bounded. */
static uint8_t *
ssl_read_answer(SSL *ssl, size_t *len)
{
	struct cvq_admin_http_answer a;
	uint8_t *b = malloc(ANSWER_MAX + 1);
	size_t n = 0, r;

	if (!b)
		return NULL;
	while (n <= ANSWER_MAX) {
		r = 0;
		if (SSL_read_ex(ssl, b + n, ANSWER_MAX + 1 - n, &r) != 1) {
			int e = SSL_get_error(ssl, 0);

			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && n))
				break;
			OPENSSL_cleanse(b, n);
			free(b);
			return NULL;
		}
		n += r;
		/* Complete (its Content-Length is there): no need to wait for the close. */
		if (cvq_admin_http_parse(b, n, &a))
			break;
	}
	if (n > ANSWER_MAX) {
		OPENSSL_cleanse(b, n);
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

/* A refusal of the front itself (not the agent's answer): its text, printable. */
static cvq_ca_err
front_refusal(const struct cvq_admin_http_answer *a, char *why, size_t why_len)
{
	size_t i, k = 0;
	int n = snprintf(why, why_len, "the agent's TLS front: %u ", a->status);

	for (i = 0; n > 0 && (size_t)n + k + 1 < why_len && i < a->body_len; i++) {
		uint8_t c = a->body[i];

		if (c == '\n' || c == '\r')
			break;
		why[n + k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n > 0 && (size_t)n + k < why_len)
		why[n + k] = '\0';
	return a->status == 403 ? CVQ_CA_ERR_DENIED : a->status == 400 ? CVQ_CA_ERR_REQUEST
	                                                              : CVQ_CA_ERR_NET;
}

cvq_ca_err
cvq_admin_link_open(struct cvq_admin_link *l, char *why, size_t why_len)
{
	struct cvq_admin_link_tls *t;

	if (!l)
		return CVQ_CA_ERR_ARG;
	if (!l->url || l->tls)
		return CVQ_CA_OK;
	if (!l->ca_file || !l->cert_file || !l->key) {
		snprintf(why, why_len, "an https agent needs --agent-ca, --agent-cert and --agent-key");
		return CVQ_CA_ERR_ARG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return CVQ_CA_ERR_NOMEM;
	t->ctx = client_ctx(l, &t->key, why, why_len);
	if (!t->ctx) {
		client_key_free(&t->key);
		free(t);
		return CVQ_CA_ERR_CONFIG;
	}
	l->tls = t;
	return CVQ_CA_OK;
}

void
cvq_admin_link_close(struct cvq_admin_link *l)
{
	if (!l || !l->tls)
		return;
	SSL_CTX_free(l->tls->ctx);
	client_key_free(&l->tls->key);
	free(l->tls);
	l->tls = NULL;
}

cvq_ca_err
cvq_admin_link_call_tls(const struct cvq_admin_link *l, const uint8_t *req, size_t req_len,
                        uint8_t **out, size_t *out_len, char *why, size_t why_len)
{
	struct client_key key = {0};
	struct cvq_admin_http_answer a;
	struct url u;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	uint8_t *ans = NULL;
	size_t ans_len = 0;
	char head[512];
	cvq_ca_err err = CVQ_CA_ERR_NET;
	int fd = -1, n;

	if (!parse_url(l->url, &u)) {
		snprintf(why, why_len, "%s: https://HOST:PORT expected", l->url);
		return CVQ_CA_ERR_ARG;
	}
	if (!l->ca_file || !l->cert_file || !l->key) {
		snprintf(why, why_len, "an https agent needs --agent-ca, --agent-cert and --agent-key");
		return CVQ_CA_ERR_ARG;
	}
	if (req_len == 0 || req_len > CVQ_CA_AGENT_MAX_MSG)
		return CVQ_CA_ERR_REQUEST;
	/* Loaded once by cvq_admin_link_open, else for this call. */
	ctx = l->tls ? l->tls->ctx : client_ctx(l, &key, why, why_len);
	if (!ctx) {
		err = CVQ_CA_ERR_CONFIG;
		goto out;
	}
	fd = tcp_connect(&u, why, why_len);
	if (fd < 0)
		goto out;
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		goto out;
	/* The server must be the host we asked for: its name, or its IP address. */
	if (u.ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u.host) != 1
	         : SSL_set1_host(ssl, u.host) != 1 || SSL_set_tlsext_host_name(ssl, u.host) != 1)
		goto out;
	if (SSL_connect(ssl) != 1) {
		handshake_why(ssl, &u, why, why_len);
		goto out;
	}
	n = snprintf(head, sizeof(head),
	             "POST /.well-known/est/cvq/agent HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	             "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
	             "Connection: close\r\n\r\n",
	             u.ip && strchr(u.host, ':') ? "[" : "", u.host,
	             u.ip && strchr(u.host, ':') ? "]" : "", u.port, req_len);
	if (n <= 0 || (size_t)n >= sizeof(head) || !ssl_write_all(ssl, head, (size_t)n) ||
	    !ssl_write_all(ssl, req, req_len)) {
		snprintf(why, why_len, "cannot send to %s:%s", u.host, u.port);
		goto out;
	}
	ans = ssl_read_answer(ssl, &ans_len);
	if (!ans || !cvq_admin_http_parse(ans, ans_len, &a)) {
		snprintf(why, why_len, "no answer from the agent at %s:%s%s", u.host, u.port,
		         ans ? " (not HTTP)" : "");
		goto out;
	}
	if (a.status != 200 || !a.octets) {
		err = front_refusal(&a, why, why_len);
		goto out;
	}
	err = cvq_ca_agent_answer(a.body, a.body_len, out, out_len, why, why_len);
	if (err == CVQ_CA_ERR_NET)
		snprintf(why, why_len, "the agent at %s:%s did not answer", u.host, u.port);
out:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	if (!l->tls) {
		SSL_CTX_free(ctx);
		client_key_free(&key);
	}
	if (ans) {
		OPENSSL_cleanse(ans, ans_len);
		free(ans);
	}
	return err;
}
