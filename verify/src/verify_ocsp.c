/*
 * libcvqverify — OCSP (RFC 6960) for the signer's certificate, through
 * OSSL_HTTP_transfer: one bound (the context's timeout) on connecting,
 * sending and reading, so that a responder that accepts and never answers
 * costs at most that. The connection is ours: OpenSSL's connect retries a
 * refused one until the timeout (made for servers still starting), and a
 * responder that is down should cost nothing. Answers are cached by CertID until the earlier of
 * their nextUpdate and the context's cache time; failures for 30 s at most,
 * so that a dead responder is not asked by every request.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "verify_int.h"

#define NEGATIVE_S 30
#define MAX_ANSWER (100 * 1024)

static bool cache_get(cvq_verify_ctx *ctx, const unsigned char id[32], struct vfy_rev *out,
                      bool *failed)
{
	time_t now = time(NULL);
	bool hit = false;

	pthread_mutex_lock(&ctx->lock);
	for (unsigned i = 0; i < VFY_OCSP_CACHE_N; i++) {
		struct vfy_ocsp_entry *e = &ctx->cache[i];
		if (e->used && e->expires > now && memcmp(e->id, id, 32) == 0) {
			*out = e->rev;
			*failed = e->failed;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return hit;
}

static void cache_put(cvq_verify_ctx *ctx, const unsigned char id[32], const struct vfy_rev *rev,
                      bool failed, time_t expires)
{
	struct vfy_ocsp_entry *slot = NULL;
	time_t now = time(NULL);

	if (expires <= now)
		return;
	pthread_mutex_lock(&ctx->lock);
	for (unsigned i = 0; i < VFY_OCSP_CACHE_N && !slot; i++)
		if (ctx->cache[i].used && memcmp(ctx->cache[i].id, id, 32) == 0)
			slot = &ctx->cache[i];
	for (unsigned i = 0; i < VFY_OCSP_CACHE_N && !slot; i++)
		if (!ctx->cache[i].used || ctx->cache[i].expires <= now)
			slot = &ctx->cache[i];
	if (!slot) /* full of live entries: replace in turn */
		slot = &ctx->cache[ctx->cache_next++ % VFY_OCSP_CACHE_N];
	memcpy(slot->id, id, 32);
	slot->used = true;
	slot->failed = failed;
	slot->rev = *rev;
	slot->expires = expires;
	pthread_mutex_unlock(&ctx->lock);
}

/* The configured URL, else the first OCSP URL of the certificate. */
static char *responder(const cvq_verify_ctx *ctx, X509 *cert)
{
	if (ctx->ocsp_url && ctx->ocsp_url[0])
		return OPENSSL_strdup(ctx->ocsp_url);
	STACK_OF(OPENSSL_STRING) *aia = X509_get1_ocsp(cert);
	char *u = sk_OPENSSL_STRING_num(aia) > 0 ? OPENSSL_strdup(sk_OPENSSL_STRING_value(aia, 0)) : NULL;
	X509_email_free(aia);
	return u;
}

/* A TCP connection within timeout_s, or -1 at once when refused. */
static int connect_to(const char *host, const char *port, unsigned timeout_s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (errno != EINPROGRESS || poll(&p, 1, (int)timeout_s * 1000) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* One exchange. Returns the verified basic response or NULL. */
static OCSP_BASICRESP *ask(cvq_verify_ctx *ctx, const char *url, OCSP_CERTID *id, X509 *issuer,
                           char *why, size_t whylen)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int ssl = 0;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	BIO *rbody = NULL, *ans = NULL, *conn = NULL;
	STACK_OF(X509) *certs = sk_X509_new_null();

	if (!OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) || ssl) {
		snprintf(why, whylen, "OCSP responder URL not usable (plain http only)");
		goto out;
	}
	if (!req || !certs || !OCSP_request_add0_id(req, OCSP_CERTID_dup(id)) ||
	    !OCSP_request_add1_nonce(req, NULL, -1) ||
	    !(rbody = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req)))
		goto out;
	time_t t0 = time(NULL);
	int fd = connect_to(host, port, ctx->ocsp_timeout);
	if (fd < 0 || !(conn = BIO_new_socket(fd, BIO_CLOSE))) {
		if (fd >= 0)
			close(fd);
		snprintf(why, whylen, "OCSP responder unreachable");
		goto out;
	}
	/* What the connection left of the bound, for sending and the answer. */
	time_t left = (time_t)ctx->ocsp_timeout - (time(NULL) - t0);
	ans = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, conn, conn, NULL, NULL, 0,
	                         NULL, "application/ocsp-request", rbody,
	                         "application/ocsp-response", 1, MAX_ANSWER,
	                         left > 0 ? (int)left : 1, 0);
	if (!ans) {
		snprintf(why, whylen, "no OCSP answer within %u s", ctx->ocsp_timeout);
		goto out;
	}
	resp = ASN1_item_d2i_bio(ASN1_ITEM_rptr(OCSP_RESPONSE), ans, NULL);
	if (!resp || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    !(bs = OCSP_response_get1_basic(resp))) {
		snprintf(why, whylen, "the OCSP answer is not a successful basic response");
		goto out;
	}
	if (!sk_X509_push(certs, issuer) || OCSP_check_nonce(req, bs) <= 0 ||
	    OCSP_basic_verify(bs, certs, ctx->store, 0) != 1) {
		snprintf(why, whylen, "OCSP answer not signed by the issuer or its responder, or without our nonce");
		OCSP_BASICRESP_free(bs);
		bs = NULL;
	}
out:
	ERR_clear_error();
	sk_X509_free(certs);
	if (ans != conn)
		BIO_free(ans);
	BIO_free(conn);
	BIO_free(rbody);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return bs;
}

/* The status of id in bs; false when stale or absent. */
static bool read_status(OCSP_BASICRESP *bs, OCSP_CERTID *id, struct vfy_rev *out,
                        time_t *next, char *why, size_t whylen)
{
	int idx = OCSP_resp_find(bs, id, -1), reason = -1, status;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	OCSP_SINGLERESP *single = idx >= 0 ? OCSP_resp_get0(bs, idx) : NULL;

	if (!single) {
		snprintf(why, whylen, "the OCSP answer is not about this certificate");
		return false;
	}
	status = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
	if (!OCSP_check_validity(thisupd, nextupd, 300, -1)) {
		ERR_clear_error();
		snprintf(why, whylen, "the OCSP answer is stale");
		return false;
	}
	memset(out, 0, sizeof *out);
	out->source = "ocsp";
	out->reason = -1;
	*next = nextupd ? vfy_time(nextupd) : 0;
	if (status == V_OCSP_CERTSTATUS_GOOD) {
		out->status = CVQ_VERIFY_CERT_GOOD;
	} else if (status == V_OCSP_CERTSTATUS_REVOKED) {
		out->status = CVQ_VERIFY_CERT_REVOKED;
		out->revoked_at = vfy_time(rev);
		out->reason = reason >= 0 ? reason : -1;
		ASN1_GENERALIZEDTIME *inv = OCSP_SINGLERESP_get1_ext_d2i(single, NID_invalidity_date, NULL, NULL);
		if (inv) {
			out->invalidity = vfy_time(inv);
			ASN1_GENERALIZEDTIME_free(inv);
		}
	} else {
		out->status = CVQ_VERIFY_CERT_UNKNOWN;
		snprintf(why, whylen, "the OCSP responder does not know the certificate");
	}
	return true;
}

bool vfy_ocsp(cvq_verify_ctx *ctx, X509 *cert, X509 *issuer, unsigned flags,
              struct vfy_rev *out, bool *pending, char *why, size_t whylen)
{
	unsigned char key[32], *der = NULL;
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	OCSP_BASICRESP *bs = NULL;
	char *url = NULL;
	bool ok = false, failed = false;
	time_t now = time(NULL), next = 0, expires;
	int n;

	*pending = false;
	if (!id || (n = i2d_OCSP_CERTID(id, &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)n, key, NULL, EVP_sha256(), NULL))
		goto out;
	if (cache_get(ctx, key, out, &failed)) {
		ok = !failed;
		if (failed)
			snprintf(why, whylen, "the OCSP responder failed a moment ago");
		goto out;
	}
	if (flags & CVQ_VERIFY_FLAG_OFFLINE) {
		*pending = true;
		snprintf(why, whylen, "OCSP not asked (offline)");
		goto out;
	}
	if (!(url = responder(ctx, cert))) {
		snprintf(why, whylen, "no OCSP responder");
		goto out;
	}
	bs = ask(ctx, url, id, issuer, why, whylen);
	ok = bs && read_status(bs, id, out, &next, why, whylen);
	if (ctx->ocsp_cache) {
		struct vfy_rev none = {.status = CVQ_VERIFY_CERT_UNKNOWN, .reason = -1, .source = "none"};
		if (ok) {
			expires = now + (time_t)ctx->ocsp_cache;
			if (next && next < expires)
				expires = next;
			cache_put(ctx, key, out, false, expires);
		} else {
			cache_put(ctx, key, &none, true,
			          now + (ctx->ocsp_cache < NEGATIVE_S ? (time_t)ctx->ocsp_cache : NEGATIVE_S));
		}
	}
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OPENSSL_free(der);
	OPENSSL_free(url);
	OCSP_CERTID_free(id);
	return ok;
}
