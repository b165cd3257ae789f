/*
 * libcvqca — the OCSP responder (RFC 6960, RFC 5019), one implementation
 * for `cvq-admin ocsp serve`, `cvq-admin publish` and cvqd.
 *
 * The core turns a DER request into a DER response from the store. It
 * reads through its own read-only connections (WAL), so it never waits for
 * issuance and sees a revocation as soon as it is committed. It is
 * thread-safe: the HTTP layer calls it from several threads.
 */
#ifndef CVQ_CA_OCSP_H
#define CVQ_CA_OCSP_H

#include <cvq/export.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cvq/ca.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvq_ca_ocsp cvq_ca_ocsp;

/*
 * Load the CA certificate, the signer (cfg->ocsp_key/ocsp_cert, else the
 * CA key) and open `readers` read-only connections (0: 4).
 * pass overrides the signer's passphrase source.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_ocsp_new(const struct cvq_ca_config *cfg, const char *pass,
                           unsigned readers, cvq_ca_ocsp **out);
CVQ_EXPORT void cvq_ca_ocsp_free(cvq_ca_ocsp *o);

struct cvq_ca_ocsp_answer {
	time_t this_update, next_update; /* of the (first) single response */
	int has_nonce;                   /* the request had a nonce: no caching */
	int status;                      /* OCSP_RESPONSE_STATUS_* */
};

/*
 * Answer one request. Always produces a response when it returns OK
 * (malformedRequest, unauthorized, internalError are responses too);
 * *resp is OPENSSL_malloc'd. ans may be NULL.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_ocsp_respond(cvq_ca_ocsp *o, const uint8_t *req, size_t req_len,
                               uint8_t **resp, size_t *resp_len,
                               struct cvq_ca_ocsp_answer *ans);

/* A request and a pre-signed response (no nonce) for one serial (hex). */
CVQ_EXPORT cvq_ca_err cvq_ca_ocsp_presign(cvq_ca_ocsp *o, const char *serial,
                               uint8_t **req, size_t *req_len,
                               uint8_t **resp, size_t *resp_len);

/*
 * Pre-sign now the answers to the RFC 5019 requests (one SHA-1 CertID, no
 * nonce: what `cvq-admin publish` writes and most clients send) for the
 * store's unexpired certificates, as many as the cache holds; *nsigned
 * (may be NULL) tells how many. The HTTP server does this by itself in
 * the background, at start and then before answers pass half their
 * validity.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_ocsp_refresh(cvq_ca_ocsp *o, size_t *nsigned);

/*
 * The DER request inside an RFC 5019 GET path ("/ocsp/MEIw..."; already
 * percent-decoded). CVQ_CA_ERR_REQUEST when no suffix decodes to a request.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_ocsp_decode_get(const char *path, uint8_t *der, size_t cap, size_t *len);

/* ---- HTTP (libmicrohttpd): GET /<base64 request> and POST ---- */

typedef struct cvq_ca_ocsp_server cvq_ca_ocsp_server;

/*
 * Serve on `addr` ("127.0.0.1:8080", "[::1]:8080") or, when listen_fd >= 0,
 * on that listening socket. threads: 0 = one per CPU. Connections idle
 * for more than timeout_s (0: 10) are closed, so a slow client never
 * wedges the responder.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_ocsp_server_start(cvq_ca_ocsp *o, const char *addr, int listen_fd,
                                    unsigned threads, unsigned timeout_s,
                                    cvq_ca_ocsp_server **out);
/* The TCP port actually bound (useful with port 0). */
CVQ_EXPORT unsigned cvq_ca_ocsp_server_port(const cvq_ca_ocsp_server *s);
CVQ_EXPORT void cvq_ca_ocsp_server_stop(cvq_ca_ocsp_server *s);

#ifdef __cplusplus
}
#endif
#endif
