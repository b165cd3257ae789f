/*
 * cvq-admin — the one HTTP/1.1 answer the agent link reads from the TLS
 * front (agent_link_tls.c): a strict parser of outside bytes
 * (tests/fuzz/admin/fuzz_agent_http.c).
 */
#ifndef CVQ_ADMIN_AGENT_HTTP_H
#define CVQ_ADMIN_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVQ_ADMIN_HTTP_MAX_HEAD 8192

struct cvq_admin_http_answer {
	unsigned status;         /* 100..599 */
	bool octets;             /* Content-Type: application/octet-stream */
	const uint8_t *body;     /* into the parsed bytes */
	size_t body_len;
};

/*
 * b[0..n) is the whole answer (the server closed after it). Accepted:
 * "HTTP/1.x NNN reason" CRLF, header lines CRLF, CRLF, then exactly
 * Content-Length bytes (one, decimal, required); no Transfer-Encoding,
 * no control characters in the head, at most CVQ_ADMIN_HTTP_MAX_HEAD of
 * it. false: not such an answer.
 */
bool cvq_admin_http_parse(const uint8_t *b, size_t n, struct cvq_admin_http_answer *out);

#endif
