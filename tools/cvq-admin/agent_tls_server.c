/*
 * cvq-agentd — the issuing agent's TLS front (agent_tls.h): counters on
 * other machines reach the agent over mutually authenticated HTTPS, in
 * the shape of EST (RFC 7030):
 *
 *   GET  /.well-known/est/cacerts                 the CA certificate (§4.1:
 *                                                 base64 PKCS#7 certs-only)
 *   POST /.well-known/est/[PROFILE/]simpleenroll  base64 PKCS#10 in, base64
 *                                                 PKCS#7 certs-only out (§4.2);
 *                                                 the profile from the label,
 *                                                 `service` without one
 *   POST /.well-known/est/cvq/agent               the agent's request body in
 *                                                 (application/octet-stream),
 *                                                 its answer body out, for
 *                                                 every other op
 *
 * Every request is one cvq_ca_agent_handle() call with the peer named by
 * its client certificate, so the roles, the refusals and the audit are
 * the socket's own code path. Who the peer is comes from the certificate
 * only (cvq_ca_roles_of_cert: ours, good in the store, clientAuth, its
 * card active), checked here with OpenSSL on every request against a
 * key-less handle of the store opened for that request: a revocation, a
 * card reported lost or a change of the approved roles holds at once.
 *
 * libmicrohttpd does the HTTP and, through Debian's build, GnuTLS the
 * TLS: a client certificate is required in the handshake (no certificate,
 * no TLS); GnuTLS does not judge it, we do. TLS 1.2 and 1.3 only. An
 * unauthenticated client cannot hold the agent: MHD's thread serves the
 * handshakes apart from the agent's lock, connections are limited (in all
 * and per address) and time out, bodies are bounded before the agent
 * sees them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <cvq/util.h>

#include "agent_est.h"
#include "agent_tls.h"

#define CONN_LIMIT 32
#define PER_IP_LIMIT 4
#define CONN_TIMEOUT_S 15
#define PEM_MAX (64 * 1024)
#define PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct cvq_admin_agent_tls {
	cvq_ca_agent *agent;
	const struct cvq_ca_config *cfg;
	struct MHD_Daemon *d;
	char *cert_pem, *key_pem, *trust_pem;
	size_t key_len;
	char *cacerts;          /* the §4.1 answer, base64 */
};

/* One HTTP request: where it goes, who asks, the body so far. */
struct tls_req {
	enum cvq_admin_est_route route;
	enum cvq_ca_profile profile;
	char actor[64];
	unsigned roles;
	uint8_t *body;
	size_t len, max;
	bool too_big;
};

bool
cvq_admin_agent_tls_here(void)
{
	return true;
}

/* A whole PEM file, NUL-terminated; a key must not be open to others. */
static char *
read_pem(const char *path, bool secret, size_t *len_out, char *why, size_t why_len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;
	int c;

	if (secret && cvq_util_check_mode(path, 0640, false, why, why_len) != CVQ_UTIL_OK)
		return NULL;
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(PEM_MAX + 1);
	while (buf && n < PEM_MAX && (c = fgetc(f)) != EOF)
		buf[n++] = (char)c;
	if (buf && (n == PEM_MAX || ferror(f))) {
		snprintf(why, why_len, "%s: unreadable or larger than %d bytes", path, PEM_MAX);
		OPENSSL_cleanse(buf, n);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len_out)
			*len_out = n;
	}
	return buf;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, void *body, size_t n,
      bool wipe)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_COPY);
	if (wipe)
		OPENSSL_cleanse(body, n); /* MHD has its copy; ours may hold a key */
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (strncmp(type, "application/pkcs7-mime", 22) == 0)
		MHD_add_response_header(r, "Content-Transfer-Encoding", "base64");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char line[300];
	int n = snprintf(line, sizeof(line), "%s\n", text);

	return reply(c, status, "text/plain", line, n > 0 ? (size_t)n : 0, false);
}

static unsigned
http_status(cvq_ca_err err)
{
	switch (err) {
	case CVQ_CA_ERR_DENIED:
	case CVQ_CA_ERR_PERM: return MHD_HTTP_FORBIDDEN;
	case CVQ_CA_ERR_REQUEST:
	case CVQ_CA_ERR_ARG:
	case CVQ_CA_ERR_POP:
	case CVQ_CA_ERR_POLICY: return MHD_HTTP_BAD_REQUEST;
	case CVQ_CA_ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
	case CVQ_CA_ERR_EXISTS: return MHD_HTTP_CONFLICT;
	case CVQ_CA_ERR_NET: return MHD_HTTP_SERVICE_UNAVAILABLE;
	default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* The refusal of a peer the front turns away, on record as the agent's are. */
static void
refuse_audit(cvq_ca *h, const char *actor, const char *why)
{
	char detail[300];

	cvq_ca_set_actor(h, actor);
	snprintf(detail, sizeof(detail), "refused: %s via=tls", why);
	(void)cvq_ca_audit_record(h, "agent.refuse", "tls", detail);
}

/*
 * Who the peer is: its certificate, judged against the store now. false
 * with why[] (already audited when it came to a judgement).
 */
static bool
peer_of(struct cvq_admin_agent_tls *t, struct MHD_Connection *c, struct tls_req *r, char *why,
        size_t why_len)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	const unsigned char *p;
	unsigned n = 0;
	cvq_ca *h = NULL;
	X509 *cert = NULL;
	cvq_ca_err err;
	bool ok = false;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	peers = ci && ci->tls_session ? gnutls_certificate_get_peers(ci->tls_session, &n) : NULL;
	if (!peers || n == 0) {
		snprintf(why, why_len, "a client certificate is required");
		return false;
	}
	p = peers[0].data;
	cert = d2i_X509(NULL, &p, (long)peers[0].size);
	if (!cert || p != peers[0].data + peers[0].size) {
		snprintf(why, why_len, "the client certificate does not parse");
		goto out;
	}
	/* A handle of its own, this request only: the agent's is its thread's. */
	err = cvq_ca_open2(t->cfg, NULL, CVQ_CA_OPEN_NOKEY, &h, why, why_len);
	if (err != CVQ_CA_OK)
		goto out;
	err = cvq_ca_roles_of_cert(h, cert, r->actor, sizeof(r->actor), &r->roles);
	if (err != CVQ_CA_OK) {
		snprintf(why, why_len, "%s", cvq_ca_errmsg(h)[0] ? cvq_ca_errmsg(h) : cvq_ca_strerror(err));
		refuse_audit(h, r->actor, why);
		goto out;
	}
	ok = true;
out:
	cvq_ca_close(h);
	X509_free(cert);
	return ok;
}

/* One agent request for the peer; the answer body (status || payload). */
static cvq_ca_err
agent_ask(struct cvq_admin_agent_tls *t, const struct tls_req *r, const uint8_t *body, size_t n,
          uint8_t **ans, size_t *ans_len)
{
	struct cvq_ca_agent_peer peer = {.actor = r->actor, .roles = r->roles};

	return cvq_ca_agent_handle(t->agent, &peer, body, n, ans, ans_len);
}

static void
wipe_free(uint8_t *b, size_t n)
{
	if (b) {
		OPENSSL_cleanse(b, n);
		free(b);
	}
}

static enum MHD_Result
serve_enroll(struct cvq_admin_agent_tls *t, struct MHD_Connection *c, struct tls_req *r)
{
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE, .req = {.profile = r->profile}};
	uint8_t *csr = NULL, *req = NULL, *ans = NULL, *der = NULL;
	size_t csr_len = 0, req_len = 0, ans_len = 0, der_len = 0;
	const unsigned char *p;
	char why[256] = "", *b64 = NULL;
	enum MHD_Result ret;
	X509 *cert = NULL;
	cvq_ca_err err;

	csr = cvq_admin_est_b64_decode(r->body, r->len, &csr_len);
	if (!csr || csr_len > CVQ_CA_AGENT_MAX_CSR) {
		ret = reply_text(c, MHD_HTTP_BAD_REQUEST, "the body is not a base64 PKCS#10 request");
		goto out;
	}
	m.csr = csr;
	m.csr_len = csr_len;
	err = cvq_ca_agent_encode(&m, &req, &req_len);
	if (err == CVQ_CA_OK)
		err = agent_ask(t, r, req, req_len, &ans, &ans_len);
	if (err == CVQ_CA_OK)
		err = cvq_ca_agent_answer(ans, ans_len, &der, &der_len, why, sizeof(why));
	if (err != CVQ_CA_OK) {
		ret = reply_text(c, http_status(err), why[0] ? why : cvq_ca_strerror(err));
		goto out;
	}
	p = der;
	cert = d2i_X509(NULL, &p, (long)der_len);
	b64 = cert ? cvq_admin_est_certs_only(cert) : NULL;
	if (!b64)
		ret = reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode the certificate");
	else
		ret = reply(c, MHD_HTTP_OK, "application/pkcs7-mime; smime-type=certs-only", b64,
		            strlen(b64), false);
out:
	X509_free(cert);
	free(b64);
	free(der);
	free(csr);
	free(req);
	wipe_free(ans, ans_len);
	return ret;
}

static enum MHD_Result
serve_agent(struct cvq_admin_agent_tls *t, struct MHD_Connection *c, struct tls_req *r)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	uint8_t *ans = NULL;
	size_t ans_len = 0;
	enum MHD_Result ret;
	cvq_ca_err err;

	if (!type || strcmp(type, "application/octet-stream") != 0)
		return reply_text(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "application/octet-stream expected");
	if (r->len == 0)
		return reply_text(c, MHD_HTTP_BAD_REQUEST, "empty request");
	err = agent_ask(t, r, r->body, r->len, &ans, &ans_len);
	if (err != CVQ_CA_OK)
		return reply_text(c, http_status(err), err == CVQ_CA_ERR_NET ? "the agent is stopping"
		                                                            : cvq_ca_strerror(err));
	/* The agent's answer as the socket sends it: the client reads its status. */
	ret = reply(c, MHD_HTTP_OK, "application/octet-stream", ans, ans_len, true);
	free(ans);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *data, size_t *data_size, void **req_cls)
{
	struct cvq_admin_agent_tls *t = cls;
	struct tls_req *r = *req_cls;
	char why[256];

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*req_cls = r;
		/* Before anything else, even a 404: who asks. */
		if (!peer_of(t, c, r, why, sizeof(why)))
			return reply_text(c, MHD_HTTP_FORBIDDEN, why);
		r->route = cvq_admin_est_route_of(method, url, &r->profile);
		if (r->route == CVQ_ADMIN_EST_NONE)
			return reply_text(c, MHD_HTTP_NOT_FOUND, "no such EST resource here");
		r->max = r->route == CVQ_ADMIN_EST_AGENT ? CVQ_CA_AGENT_MAX_MSG : CVQ_ADMIN_EST_B64_MAX;
		return MHD_YES;
	}
	if (*data_size) {
		/* Bounded before the agent sees a byte of it. */
		if (!r->too_big && *data_size <= r->max - r->len) {
			if (!r->body)
				r->body = malloc(r->max);
			if (!r->body)
				return MHD_NO;
			memcpy(r->body + r->len, data, *data_size);
			r->len += *data_size;
		} else {
			r->too_big = true;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request too large");
	switch (r->route) {
	case CVQ_ADMIN_EST_CACERTS:
		return reply(c, MHD_HTTP_OK, "application/pkcs7-mime; smime-type=certs-only", t->cacerts,
		             strlen(t->cacerts), false);
	case CVQ_ADMIN_EST_ENROLL:
		return serve_enroll(t, c, r);
	case CVQ_ADMIN_EST_AGENT:
		return serve_agent(t, c, r);
	default:
		return MHD_NO;
	}
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct tls_req *r = *req_cls;

	if (!r)
		return;
	wipe_free(r->body, r->len); /* an enrolment op's body may carry a PIN */
	free(r);
	*req_cls = NULL;
}

/* No certificate, no TLS: GnuTLS is told to require one (MHD asks only). */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;

	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session)
		gnutls_certificate_server_set_request(ci->tls_session, GNUTLS_CERT_REQUIRE);
}

/* HOST:PORT or [V6]:PORT to a listening socket. */
static int
listen_socket(const char *spec, char *why, size_t why_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char host[256];
	const char *port;
	int fd = -1, one = 1, rc;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port))
		goto bad;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(why, why_len, "--listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
bad:
	snprintf(why, why_len, "--listen %s: HOST:PORT expected", spec);
	return -1;
}

/* The CA certificate as PEM: the anchor GnuTLS asks client certificates under. */
static char *
ca_pem(X509 *ca)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL, *p;
	long n;

	if (b && PEM_write_bio_X509(b, ca) == 1) {
		n = BIO_get_mem_data(b, &p);
		out = n > 0 ? strndup(p, (size_t)n) : NULL;
	}
	BIO_free(b);
	return out;
}

cvq_ca_err
cvq_admin_agent_tls_start(cvq_ca_agent *a, const struct cvq_ca_config *cfg,
                          const struct cvq_admin_agent_tls_opts *o, cvq_admin_agent_tls **out,
                          char *why, size_t why_len)
{
	struct cvq_admin_agent_tls *t;
	X509 *ca_cert;
	int fd = -1;

	*out = NULL;
	if (!a || !cfg || !o || !o->listen || !o->cert_file || !o->key_file) {
		snprintf(why, why_len, "--listen needs --tls-cert and --tls-key");
		return CVQ_CA_ERR_ARG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return CVQ_CA_ERR_NOMEM;
	t->agent = a;
	t->cfg = cfg;
	ca_cert = cvq_ca_cert(cvq_ca_agent_ca(a));
	t->cert_pem = read_pem(o->cert_file, false, NULL, why, why_len);
	t->key_pem = t->cert_pem ? read_pem(o->key_file, true, &t->key_len, why, why_len) : NULL;
	if (!t->key_pem)
		goto fail;
	t->trust_pem = ca_pem(ca_cert);
	t->cacerts = cvq_admin_est_certs_only(ca_cert);
	if (!t->trust_pem || !t->cacerts) {
		snprintf(why, why_len, "cannot encode the CA certificate");
		goto fail;
	}
	fd = listen_socket(o->listen, why, why_len);
	if (fd < 0)
		goto fail;
	t->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_TLS, 0, NULL, NULL,
	                        on_request, t,
	                        MHD_OPTION_LISTEN_SOCKET, fd,
	                        MHD_OPTION_HTTPS_MEM_CERT, t->cert_pem,
	                        MHD_OPTION_HTTPS_MEM_KEY, t->key_pem,
	                        MHD_OPTION_HTTPS_MEM_TRUST, t->trust_pem,
	                        MHD_OPTION_HTTPS_PRIORITIES, PRIORITIES,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	                        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, t,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, t,
	                        MHD_OPTION_END);
	if (!t->d) {
		snprintf(why, why_len, "cannot start the TLS front on %s (certificate, key?)", o->listen);
		close(fd);
		goto fail;
	}
	*out = t;
	return CVQ_CA_OK;
fail:
	cvq_admin_agent_tls_stop(t);
	return CVQ_CA_ERR_CONFIG;
}

void
cvq_admin_agent_tls_stop(cvq_admin_agent_tls *t)
{
	if (!t)
		return;
	if (t->d)
		MHD_stop_daemon(t->d); /* closes the listening socket */
	if (t->key_pem) {
		OPENSSL_cleanse(t->key_pem, t->key_len);
		free(t->key_pem);
	}
	free(t->cert_pem);
	free(t->trust_pem);
	free(t->cacerts);
	free(t);
}
