/*
 * cvq-admin — a strict reader of the TLS front's HTTP answer (agent_http.h).
 * The front (libmicrohttpd) sends buffers with a Content-Length; anything
 * else is refused rather than guessed at.
 */
#include <string.h>
#include <strings.h>

#include "agent_http.h"

/* The value of a "Name: value" line if it is that header (blanks trimmed). */
static bool
header_is(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return false;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*v = line;
	*vn = n;
	return true;
}

bool
cvq_admin_http_parse(const uint8_t *b, size_t n, struct cvq_admin_http_answer *out)
{
	const char *p = (const char *)b, *end, *eol, *v;
	size_t head, vn, i, len = 0;
	bool have_len = false;

	if (!b || !out)
		return false;
	memset(out, 0, sizeof(*out));
	/* The head: printable ASCII, tabs and CRLF line ends only. */
	for (head = 0; head + 3 < n && head < CVQ_ADMIN_HTTP_MAX_HEAD; head++)
		if (memcmp(p + head, "\r\n\r\n", 4) == 0)
			break;
	if (head + 3 >= n || head >= CVQ_ADMIN_HTTP_MAX_HEAD)
		return false;
	for (i = 0; i < head; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r' ? p[i + 1] != '\n' : c == '\n' ? i == 0 || p[i - 1] != '\r'
		                                 : (c < 0x20 && c != '\t') || c >= 0x7f)
			return false;
	}
	end = p + head + 2; /* the head's lines, each ending in CRLF */
	/* "HTTP/1.0 200 OK" or "HTTP/1.1 403 Forbidden" */
	eol = memchr(p, '\r', (size_t)(end - p));
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9' || (eol - p > 12 && p[12] != ' '))
		return false;
	out->status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 + (unsigned)(p[11] - '0');
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol)
			return false;
		if (header_is(p, (size_t)(eol - p), "Content-Length", &v, &vn)) {
			if (have_len || vn == 0 || vn > 6)
				return false;
			for (i = 0; i < vn; i++) {
				if (v[i] < '0' || v[i] > '9')
					return false;
				len = len * 10 + (size_t)(v[i] - '0');
			}
			have_len = true;
		} else if (header_is(p, (size_t)(eol - p), "Transfer-Encoding", &v, &vn)) {
			return false;
		} else if (header_is(p, (size_t)(eol - p), "Content-Type", &v, &vn)) {
			out->octets = vn == 24 && strncasecmp(v, "application/octet-stream", 24) == 0;
		}
	}
	if (!have_len || n - (head + 4) != len)
		return false;
	out->body = b + head + 4;
	out->body_len = len;
	return true;
}
