/* libcvqverify — parsing a CRL server's answer and the CRL in it (pure). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "verify_http.h"

static enum vfy_http_state bad(struct vfy_http_resp *r, const char *why)
{
	snprintf(r->why, sizeof r->why, "%s", why);
	return VFY_HTTP_BAD;
}

bool vfy_http_token_ok(const char *v)
{
	if (!v || !v[0])
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
			return false;
	return true;
}

bool vfy_url_parse(const char *url, struct vfy_url *u)
{
	const char *p, *hs, *he, *ps = NULL, *pe;
	size_t n;

	memset(u, 0, sizeof *u);
	if (!url || strncasecmp(url, "http://", 7) != 0 || !vfy_http_token_ok(url))
		return false;
	p = url + 7;
	if (*p == '[') {
		hs = p + 1;
		if (!(he = strchr(hs, ']')))
			return false;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	if (*p == ':') {
		ps = p + 1;
		pe = ps + strspn(ps, "0123456789");
		if (pe == ps || pe - ps > 5)
			return false;
		p = pe;
	}
	if (*p && *p != '/')
		return false;  /* userinfo, query without path, junk */
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof u->host || memchr(hs, '@', n) || memchr(hs, ' ', n))
		return false;
	memcpy(u->host, hs, n);
	if (ps) {
		memcpy(u->port, ps, (size_t)(pe - ps));
		if (strtol(u->port, NULL, 10) < 1 || strtol(u->port, NULL, 10) > 65535)
			return false;
	} else {
		strcpy(u->port, "80");
	}
	if (strchr(p, '#') || strchr(p, ' '))
		return false;
	if (snprintf(u->path, sizeof u->path, "%s", *p ? p : "/") >= (int)sizeof u->path)
		return false;
	snprintf(u->hostport, sizeof u->hostport, "%s%s%s%s%s", strchr(u->host, ':') ? "[" : "",
	         u->host, strchr(u->host, ':') ? "]" : "", ps ? ":" : "", ps ? u->port : "");
	return true;
}

/* The header value, trimmed, copied into out (truncation: false). */
static bool copy_value(const char *v, size_t n, char *out, size_t outlen)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= outlen)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

enum vfy_http_state vfy_http_parse(const char *buf, size_t len, bool eof, struct vfy_http_resp *r)
{
	const char *end, *line, *nl;
	long long clen = -1;
	size_t head;

	memset(r, 0, sizeof *r);
	/* The end of the head: the first empty line. */
	end = NULL;
	for (size_t i = 0; i + 3 < len && i < VFY_HTTP_MAX_HEAD; i++)
		if (buf[i] == '\r' && !memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i;
			break;
		}
	if (!end) {
		if (len >= VFY_HTTP_MAX_HEAD)
			return bad(r, "response headers too long");
		return eof ? bad(r, "response ends inside its headers") : VFY_HTTP_MORE;
	}
	head = (size_t)(end - buf) + 4;
	if (memchr(buf, '\0', head))
		return bad(r, "NUL in the response headers");

	/* Status line: HTTP/1.x SSS[ reason] */
	nl = memchr(buf, '\r', head);
	if (nl[1] != '\n' || memchr(buf, '\n', (size_t)(nl - buf)))
		return bad(r, "bare CR or LF in the status line");
	if ((size_t)(nl - buf) < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || (nl - buf > 12 && buf[12] != ' '))
		return bad(r, "not an HTTP/1.x status line");
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');

	for (line = nl + 2; line < end + 2; line = nl + 2) {
		const char *colon;
		size_t n;

		nl = memchr(line, '\r', (size_t)(end + 2 - line));
		if (!nl || nl[1] != '\n')
			return bad(r, "bare CR in the response headers");
		n = (size_t)(nl - line);
		if (memchr(line, '\n', n))
			return bad(r, "bare LF in the response headers");
		if (n == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return bad(r, "folded response header");
		if (!(colon = memchr(line, ':', n)) || colon == line)
			return bad(r, "response header without a name");
		size_t kn = (size_t)(colon - line), vn = n - kn - 1;
		const char *v = colon + 1;
		for (size_t i = 0; i < kn; i++)
			if (line[i] <= ' ' || line[i] > '~')
				return bad(r, "bad response header name");
		if (kn == 14 && !strncasecmp(line, "Content-Length", 14)) {
			char num[24];
			long long c = 0;
			if (!copy_value(v, vn, num, sizeof num) || !num[0] ||
			    strspn(num, "0123456789") != strlen(num) || strlen(num) > 15)
				return bad(r, "bad Content-Length");
			for (const char *q = num; *q; q++)
				c = c * 10 + (*q - '0');
			if (clen >= 0 && c != clen)
				return bad(r, "two different Content-Length");
			clen = c;
		} else if (kn == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
			return bad(r, "Transfer-Encoding in an answer to HTTP/1.0");
		} else if (kn == 4 && !strncasecmp(line, "ETag", 4)) {
			if (!copy_value(v, vn, r->etag, sizeof r->etag) || !vfy_http_token_ok(r->etag))
				r->etag[0] = '\0';  /* unusable: ask unconditionally */
		} else if (kn == 13 && !strncasecmp(line, "Last-Modified", 13)) {
			if (!copy_value(v, vn, r->last_modified, sizeof r->last_modified) ||
			    !vfy_http_token_ok(r->last_modified))
				r->last_modified[0] = '\0';
		}
	}

	r->body_off = head;
	/* 1xx, 204 and 304 have no body (RFC 9110 6.4.1). */
	if (r->status < 200 || r->status == 204 || r->status == 304) {
		r->body_len = 0;
		return VFY_HTTP_DONE;
	}
	if (clen >= 0) {
		if (len - head < (unsigned long long)clen)
			return eof ? bad(r, "body shorter than its Content-Length") : VFY_HTTP_MORE;
		if (len - head > (unsigned long long)clen)
			return bad(r, "bytes after the body");
		r->body_len = (size_t)clen;
		return VFY_HTTP_DONE;
	}
	if (!eof)
		return VFY_HTTP_MORE;
	r->body_len = len - head;
	return VFY_HTTP_DONE;
}

X509_CRL *vfy_crl_decode(const unsigned char *buf, size_t len)
{
	X509_CRL *crl = NULL;

	if (!buf || len == 0 || len > 0x7fffffff)
		return NULL;
	if (len >= 10 && !memcmp(buf, "-----BEGIN", 10)) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		if (b)
			crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		const unsigned char *p = buf;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl && p != buf + len) {  /* trailing bytes: not what was published */
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	ERR_clear_error();
	return crl;
}
