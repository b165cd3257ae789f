/*
 * libcvqca-http — the CA's one public service over HTTP: OCSP always, and
 * the timestamp authority when the CA configuration has a [tsa] section.
 * One configuration (the CA's), one server, one port: `cvq-ocspd serve`
 * (cvq-admin ocsp serve) and cvqd's [responder] both run it through
 * cvq_ca_http_start().
 *
 *   GET  /<path>/<base64 OCSPRequest>            OCSP (RFC 5019)
 *   POST application/ocsp-request                OCSP (RFC 6960)
 *   POST application/timestamp-query, or /tsa    RFC 3161 (ca_tsa.h)
 */
#ifndef CVQ_CA_HTTP_H
#define CVQ_CA_HTTP_H

#include <cvq/export.h>
#include <stdbool.h>

#include <cvq/ca.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cvq_ca_http_opts {
	const char *listen;     /* "127.0.0.1:8080", "[::1]:0"; or NULL with listen_fd */
	int listen_fd;          /* >= 0: an already listening socket */
	unsigned threads;       /* 0: one per CPU */
	unsigned timeout_s;     /* idle connections closed after (0: 10) */
	const char *ocsp_pass;  /* passphrase source of the OCSP signer, overriding the configuration's */
	const char *tsa_pass;   /* the same for the TSA key */
	bool no_tsa;            /* serve OCSP only even with a [tsa] section */
};

typedef struct cvq_ca_http cvq_ca_http;

/* why (may be NULL) says what failed; never a secret. */
CVQ_EXPORT cvq_ca_err cvq_ca_http_start(const struct cvq_ca_config *cfg, const struct cvq_ca_http_opts *opts,
                             cvq_ca_http **out, char *why, size_t why_len);
CVQ_EXPORT unsigned cvq_ca_http_port(const cvq_ca_http *h);
CVQ_EXPORT bool cvq_ca_http_has_tsa(const cvq_ca_http *h);
CVQ_EXPORT void cvq_ca_http_stop(cvq_ca_http *h);

#ifdef __cplusplus
}
#endif
#endif
