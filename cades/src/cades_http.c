/*
 * libcvqcades — the RFC 3161 client over HTTP (section 3.4): one POST
 * through OpenSSL's own HTTP client, with an overall timeout so that a
 * TSA that accepts and never answers costs timeout_s, not forever.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>

#include <cvq/cades.h>

#define MAX_RESP (64 * 1024)

cvq_cades_err
cvq_cades_ts_fetch(const char *url, const uint8_t *req, size_t req_len, unsigned timeout_s,
                   uint8_t **resp, size_t *resp_len)
{
	char *host = NULL, *port = NULL, *path = NULL;
	BIO *body = NULL, *in = NULL;
	int ssl = 0, n;
	char buf[4096];
	size_t len = 0;
	uint8_t *r = NULL, *nr;
	cvq_cades_err rc = CVQ_CADES_ERR_ARG;

	if (!url || !req || !req_len || req_len > INT32_MAX || !resp || !resp_len)
		return CVQ_CADES_ERR_ARG;
	*resp = NULL;
	*resp_len = 0;
	if (!OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL))
		goto out;
	/* The token is signed: integrity needs no TLS, and we link no TLS. */
	if (ssl)
		goto out;
	rc = CVQ_CADES_ERR_NOMEM;
	body = BIO_new_mem_buf(req, (int)req_len);
	if (!body)
		goto out;
	/* proxy "": never one from the environment (http_proxy), so the
	 * TSA a daemon talks to is the one its configuration names. */
	in = OSSL_HTTP_transfer(NULL, host, port, path, 0, "", NULL, NULL, NULL, NULL, NULL,
	                        0, NULL, "application/timestamp-query", body,
	                        "application/timestamp-reply", 1, MAX_RESP,
	                        timeout_s ? (int)timeout_s : 10, 0);
	if (!in) {
		unsigned long e = ERR_peek_last_error();

		/* A 4xx/5xx or a wrong content type is an answer; the rest is
		 * the network. */
		rc = ERR_GET_LIB(e) == ERR_LIB_HTTP &&
		     (ERR_GET_REASON(e) == HTTP_R_RECEIVED_ERROR ||
		      ERR_GET_REASON(e) == HTTP_R_UNEXPECTED_CONTENT_TYPE) ? CVQ_CADES_ERR_HTTP
		                                                       : CVQ_CADES_ERR_NET;
		goto out;
	}
	while ((n = BIO_read(in, buf, sizeof(buf))) > 0) {
		if (len + (size_t)n > MAX_RESP) {
			rc = CVQ_CADES_ERR_HTTP;
			goto out;
		}
		nr = realloc(r, len + (size_t)n);
		if (!nr)
			goto out;
		r = nr;
		memcpy(r + len, buf, (size_t)n);
		len += (size_t)n;
	}
	if (len == 0) {
		rc = CVQ_CADES_ERR_HTTP;
		goto out;
	}
	*resp = r;
	*resp_len = len;
	r = NULL;
	rc = CVQ_CADES_OK;
out:
	free(r);
	BIO_free_all(in);
	BIO_free(body);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	ERR_clear_error();
	return rc;
}
