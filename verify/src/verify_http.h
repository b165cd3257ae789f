/*
 * libcvqverify — a small HTTP/1.0 GET for CRLs. OpenSSL's HTTP client
 * (OSSL_HTTP_transfer) can send extra request headers but neither reports
 * a 304 as such nor gives the response's headers (ETag, Last-Modified),
 * so conditional GET cannot be done with it: this client does only what a
 * CRL fetch needs, with strict limits, and its parser is fuzzed
 * (tests/fuzz/verify/fuzz_crl_http.c).
 */
#ifndef CVQ_VERIFY_HTTP_H
#define CVQ_VERIFY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#define VFY_HTTP_MAX_HEAD 16384   /* status line and headers together */
#define VFY_HTTP_MAX_TAG 256      /* ETag, Last-Modified kept */

struct vfy_url {
	char host[256];  /* without brackets */
	char port[8];
	char path[1024];
	char hostport[272]; /* for Host: */
};

/* http://host[:port][/path]; false when anything else. */
bool vfy_url_parse(const char *url, struct vfy_url *u);

enum vfy_http_state {
	VFY_HTTP_MORE = 0,  /* incomplete: read more (or, at EOF, malformed) */
	VFY_HTTP_DONE,      /* status, headers and the whole body */
	VFY_HTTP_BAD,       /* not an HTTP response we accept */
};

struct vfy_http_resp {
	int status;
	size_t body_off, body_len;   /* in the buffer given */
	char etag[VFY_HTTP_MAX_TAG];
	char last_modified[VFY_HTTP_MAX_TAG];
	char why[96];                /* when VFY_HTTP_BAD */
};

/*
 * Parse what has been read so far (`eof`: the peer closed). A body without
 * Content-Length ends at EOF. Transfer-Encoding is refused (we ask in
 * HTTP/1.0, so a server must not chunk). Pure: no I/O, no allocation.
 */
enum vfy_http_state vfy_http_parse(const char *buf, size_t len, bool eof,
                                   struct vfy_http_resp *r);

/* A CRL from a body: DER (exactly one, nothing after) or PEM. NULL otherwise. */
X509_CRL *vfy_crl_decode(const unsigned char *buf, size_t len);

/* A header value fit to send back: printable ASCII, no CR/LF, not empty. */
bool vfy_http_token_ok(const char *v);

struct vfy_http_get {
	int status;           /* 0 when no HTTP answer */
	unsigned char *body;  /* malloc'd, when status is 200 */
	size_t body_len;
	char etag[VFY_HTTP_MAX_TAG];
	char last_modified[VFY_HTTP_MAX_TAG];
};

/*
 * GET url, the whole exchange (resolution excepted) within timeout_s, a
 * body of at most max_body bytes. etag / last_modified ("" = none) make it
 * conditional. 0 with *g filled (any status), -1 with why.
 */
int vfy_http_get(const char *url, unsigned timeout_s, size_t max_body, const char *etag,
                 const char *last_modified, struct vfy_http_get *g, char *why, size_t whylen);

#endif
