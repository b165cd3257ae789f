/*
 * libcvqverify's CRL fetch, the pure parts (issue #16): what an HTTP
 * answer from a distribution point may be, and which URLs are ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verify_http.h"

static enum vfy_http_state parse(const char *s, bool eof, struct vfy_http_resp *r)
{
	return vfy_http_parse(s, strlen(s), eof, r);
}

static void test_answers(void **state)
{
	struct vfy_http_resp r;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nETag: \"e1\"\r\n"
	                 "Last-Modified: Wed, 02 Dec 2026 00:35:42 GMT\r\n\r\nabcd";

	assert_int_equal(parse(ok, false, &r), VFY_HTTP_DONE);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 4);
	assert_memory_equal(ok + r.body_off, "abcd", 4);
	assert_string_equal(r.etag, "\"e1\"");
	assert_string_equal(r.last_modified, "Wed, 02 Dec 2026 00:35:42 GMT");
	/* Every shorter prefix: read more; at EOF: cut short. */
	for (size_t n = 0; n < strlen(ok); n++) {
		assert_int_equal(vfy_http_parse(ok, n, false, &r), VFY_HTTP_MORE);
		assert_int_equal(vfy_http_parse(ok, n, true, &r), VFY_HTTP_BAD);
	}
	assert_int_equal(parse("HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\n\r\n", false, &r),
	                 VFY_HTTP_DONE);
	assert_int_equal(r.status, 304);
	/* No Content-Length: the body ends at EOF. */
	assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nxyz", false, &r), VFY_HTTP_MORE);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nxyz", true, &r), VFY_HTTP_DONE);
	assert_int_equal(r.body_len, 3);
	/* An ETag with a control character is not kept (never sent back). */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nETag: \"a\tb\"\r\nContent-Length: 0\r\n\r\n", false, &r),
	                 VFY_HTTP_DONE);
	assert_string_equal(r.etag, "");
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd",   /* bytes after the body */
		"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
		"HTTP/2 200\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n\r\n",
		"HTTP/1.1 200 OK\rX\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
	};
	struct vfy_http_resp r;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(parse(bad[i], true, &r), VFY_HTTP_BAD);
	/* Headers without an end, past the limit. */
	char big[VFY_HTTP_MAX_HEAD + 64];
	memset(big, 'a', sizeof big);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	assert_int_equal(vfy_http_parse(big, sizeof big, false, &r), VFY_HTTP_BAD);
}

static void test_urls(void **state)
{
	struct vfy_url u;
	assert_true(vfy_url_parse("http://127.0.0.1:18096/ca.crl", &u));
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "18096");
	assert_string_equal(u.path, "/ca.crl");
	assert_string_equal(u.hostport, "127.0.0.1:18096");
	assert_true(vfy_url_parse("http://[::1]/x.crl", &u));
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "80");
	assert_string_equal(u.hostport, "[::1]");
	assert_true(vfy_url_parse("HTTP://pki.ville.example", &u));
	assert_string_equal(u.path, "/");
	static const char *bad[] = {
		"https://pki.ville.example/ca.crl", "ldap://x/cn=ca", "http://", "http://:80/",
		"http://user@host/", "http://host:0/", "http://host:99999/", "http://host:/x",
		"http://host/a b", "http://host/a\r\nX: y", "http://host/#frag", "http://host?q",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(vfy_url_parse(bad[i], &u));
}

static void test_crl_bodies(void **state)
{
	static const unsigned char junk[] = "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n";
	assert_null(vfy_crl_decode(junk, sizeof junk - 1));
	assert_null(vfy_crl_decode((const unsigned char *)"\x30\x03\x02\x01\x01", 5));
	assert_null(vfy_crl_decode(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_crl_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
