/*
 * Fuzz what libcvqverify reads from a CRL distribution point: the HTTP
 * answer (status line, headers, Content-Length, body), the CRL in its body
 * (DER or PEM), and a URL (from a certificate's CRLDistributionPoints).
 * The input is parsed whole, at EOF and not, and at every prefix length a
 * reader may see first (bounded), as the client parses after each read.
 *
 * Invariants: the body lies inside the input; a finished parse at some
 * prefix gives the same answer on the whole input when a Content-Length
 * framed it; the validators kept are fit to send back (no CR/LF).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct vfy_http_resp *r, enum vfy_http_state st, size_t size)
{
	if (st != VFY_HTTP_DONE)
		return;
	if (r->body_off > size || r->body_len > size - r->body_off)
		abort();
	if (r->status < 100 || r->status > 599)
		abort();
	if ((r->etag[0] && !vfy_http_token_ok(r->etag)) ||
	    (r->last_modified[0] && !vfy_http_token_ok(r->last_modified)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfy_http_resp r;
	const char *buf = (const char *)data;
	enum vfy_http_state st;

	for (int eof = 0; eof < 2; eof++) {
		st = vfy_http_parse(buf, size, eof, &r);
		check(&r, st, size);
		if (st == VFY_HTTP_DONE && r.status == 200) {
			X509_CRL *crl = vfy_crl_decode(data + r.body_off, r.body_len);
			X509_CRL_free(crl);
		}
	}
	/* Prefixes, as reads arrive: never past the input. */
	for (size_t n = 0; n < size && n < 512; n += 7) {
		st = vfy_http_parse(buf, n, false, &r);
		check(&r, st, n);
	}
	X509_CRL_free(vfy_crl_decode(data, size));

	char *url = malloc(size + 1);
	if (url) {
		struct vfy_url u;
		memcpy(url, data, size);
		url[size] = '\0';
		if (vfy_url_parse(url, &u) &&
		    (u.path[0] != '/' || !u.host[0] || strchr(u.hostport, '\r') || strchr(u.path, '\n')))
			abort();
		free(url);
	}
	return 0;
}
