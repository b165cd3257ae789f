/* Unit tests of the RFC 7512 URI parser, matcher and formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <cvq/uri.h>

static cvq_p11_uri *parse_ok(const char *s)
{
	cvq_p11_uri *u = NULL;

	assert_int_equal(cvq_p11_uri_parse(s, &u), CVQ_P11_OK);
	assert_non_null(u);
	return u;
}

static void parse_bad(const char *s)
{
	cvq_p11_uri *u = (cvq_p11_uri *)1;

	assert_int_equal(cvq_p11_uri_parse(s, &u), CVQ_P11_ERR_URI);
	assert_null(u);
}

static void test_rfc_examples(void **state)
{
	cvq_p11_uri *u;
	size_t len;
	const char *v;

	(void)state;
	/* RFC 7512 section 3.3 examples */
	u = parse_ok("pkcs11:");
	assert_null(cvq_p11_uri_get(u, CVQ_P11_URI_TOKEN, NULL));
	cvq_p11_uri_free(u);

	u = parse_ok("pkcs11:object=my-pubkey;type=public");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_OBJECT, NULL), "my-pubkey");
	assert_int_equal(cvq_p11_uri_get_type(u), CVQ_P11_URI_TYPE_PUBLIC);
	cvq_p11_uri_free(u);

	u = parse_ok("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
	             "manufacturer=Snake%20Oil,%20Inc.;model=1.0;"
	             "object=my-certificate;type=cert;"
	             "id=%69%95%3E%5C%F4%BD%EC%91;serial="
	             "?pin-source=file:/etc/token_pin");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_TOKEN, NULL),
	                    "The Software PKCS#11 Softtoken");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_MANUFACTURER, NULL),
	                    "Snake Oil, Inc.");
	v = cvq_p11_uri_get(u, CVQ_P11_URI_ID, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(v, "\x69\x95\x3e\x5c\xf4\xbd\xec\x91", 8);
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_SERIAL, &len), "");
	assert_int_equal(len, 0);
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_PIN_SOURCE, NULL),
	                    "file:/etc/token_pin");
	assert_int_equal(cvq_p11_uri_get_type(u), CVQ_P11_URI_TYPE_CERT);
	cvq_p11_uri_free(u);

	u = parse_ok("pkcs11:object=my-sign-key;type=private"
	             "?module-name=mypkcs11");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_MODULE_NAME, NULL),
	                    "mypkcs11");
	cvq_p11_uri_free(u);

	u = parse_ok("pkcs11:object=my-sign-key;type=private"
	             "?module-path=/mnt/libmypkcs11.so.1");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_MODULE_PATH, NULL),
	                    "/mnt/libmypkcs11.so.1");
	cvq_p11_uri_free(u);

	u = parse_ok("pkcs11:token=Software%20PKCS%2311%20softtoken;"
	             "manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_PIN_VALUE, NULL),
	                    "the-pin");
	cvq_p11_uri_free(u);

	u = parse_ok("pkcs11:slot-description=Sun%20Metaslot");
	cvq_p11_uri_free(u);
	u = parse_ok("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;"
	             "library-description=Soft%20Token%20Library;"
	             "library-version=1.23");
	cvq_p11_uri_free(u);
	u = parse_ok("pkcs11:token=My%20token%25%20created%20by%20Joe;"
	             "library-version=3;id=%01%02%03%Ba%dd%Ef%fe%Ed;"
	             "object=my-certificate;type=cert");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_TOKEN, NULL),
	                    "My token% created by Joe");
	cvq_p11_uri_free(u);
	u = parse_ok("pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;"
	             "object=my-certificate;type=cert");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_TOKEN, NULL),
	                    "A name with a substring %;");
	cvq_p11_uri_free(u);
	u = parse_ok("pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;"
	             "object=my-certificate;type=cert");
	cvq_p11_uri_free(u);
	/* RFC 7512's vendor attributes without an "x-" prefix: refused */
	parse_bad("pkcs11:token=my-token;object=my-certificate;"
	          "type=cert;vendor-aaa=value-a");
}

static void test_vendor_and_unknown(void **state)
{
	cvq_p11_uri *u;

	(void)state;
	u = parse_ok("pkcs11:token=t;x-vendor=1?x-other=%41");
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_TOKEN, NULL), "t");
	cvq_p11_uri_free(u);
	parse_bad("pkcs11:tokn=t");
	parse_bad("pkcs11:token=t?pinvalue=1");
}

static void test_errors(void **state)
{
	cvq_p11_uri *u = NULL;

	(void)state;
	assert_int_equal(cvq_p11_uri_parse(NULL, &u), CVQ_P11_ERR_ARG);
	assert_int_equal(cvq_p11_uri_parse("pkcs11:", NULL), CVQ_P11_ERR_ARG);
	parse_bad("");
	parse_bad("pkcs11");
	parse_bad("http:token=a");
	parse_bad("pkcs11:token=a;token=b");          /* repeated */
	parse_bad("pkcs11:token=a%2");                /* short escape */
	parse_bad("pkcs11:token=a%zz");               /* bad hex */
	parse_bad("pkcs11:token=a b");                /* raw space */
	parse_bad("pkcs11:token=a\x01");              /* control byte */
	parse_bad("pkcs11:token=\xc3\xa1");           /* raw non-ASCII */
	parse_bad("pkcs11:token");                    /* no '=' */
	parse_bad("pkcs11:=x");                       /* no name */
	parse_bad("pkcs11:token=a%00b");              /* NUL in text */
	parse_bad("pkcs11:type=secret");              /* unknown type */
	parse_bad("pkcs11:slot-id=12a");
	parse_bad("pkcs11:slot-id=");
	parse_bad("pkcs11:slot-id=99999999999999999999");
	parse_bad("pkcs11:token=a?module-path=/x&");  /* empty query part */
	parse_bad("pkcs11:token=a/b");                /* '/' only in query */
	parse_bad("pkcs11:token=a?pin-value=1&pin-value=2");
}

static void test_scheme_case_and_empty(void **state)
{
	cvq_p11_uri *u;
	unsigned long slot;

	(void)state;
	u = parse_ok("PKCS11:token=a;;slot-id=7");     /* empty path part */
	assert_true(cvq_p11_uri_slot_id(u, &slot));
	assert_int_equal(slot, 7);
	cvq_p11_uri_free(u);
	u = parse_ok("pkcs11:id=%00%01");
	{
		size_t len;
		const char *id = cvq_p11_uri_get(u, CVQ_P11_URI_ID, &len);
		assert_int_equal(len, 2);
		assert_memory_equal(id, "\x00\x01", 2);
	}
	assert_false(cvq_p11_uri_slot_id(u, &slot));
	cvq_p11_uri_free(u);
}

static void test_long(void **state)
{
	static char big[9000];
	cvq_p11_uri *u = NULL;

	(void)state;
	memcpy(big, "pkcs11:object=", 14);
	memset(big + 14, 'a', sizeof(big) - 15);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cvq_p11_uri_parse(big, &u), CVQ_P11_ERR_URI);
	big[8000] = '\0';
	u = parse_ok(big);
	cvq_p11_uri_free(u);
}

static void test_match(void **state)
{
	cvq_p11_uri *u;

	(void)state;
	u = parse_ok("pkcs11:token=cvq-test;serial=abc;object=key;id=%01%02");
	/* PKCS#11 pads with blanks; callers may pass padded or trimmed */
	assert_true(cvq_p11_uri_match_token(u, "cvq-test                        ",
	                                    "SoftHSM", "model", "abc   "));
	assert_true(cvq_p11_uri_match_token(u, "cvq-test", NULL, NULL, "abc"));
	assert_false(cvq_p11_uri_match_token(u, "cvq-tes", NULL, NULL, "abc"));
	assert_false(cvq_p11_uri_match_token(u, "cvq-test", NULL, NULL, "abcd"));
	assert_false(cvq_p11_uri_match_token(u, NULL, NULL, NULL, NULL));
	assert_true(cvq_p11_uri_match_object(u, "key",
	                                     (const unsigned char *)"\x01\x02", 2));
	assert_false(cvq_p11_uri_match_object(u, "key",
	                                      (const unsigned char *)"\x01", 1));
	assert_false(cvq_p11_uri_match_object(u, "other",
	                                      (const unsigned char *)"\x01\x02", 2));
	assert_false(cvq_p11_uri_match_object(u, NULL, NULL, 0));
	cvq_p11_uri_free(u);
	u = parse_ok("pkcs11:");
	assert_true(cvq_p11_uri_match_token(u, NULL, NULL, NULL, NULL));
	assert_true(cvq_p11_uri_match_object(u, NULL, NULL, 0));
	cvq_p11_uri_free(u);
}

static void test_format_hides_pin(void **state)
{
	cvq_p11_uri *u;
	char buf[256], small[20];

	(void)state;
	u = parse_ok("pkcs11:id=%01%ff;token=My%20token;type=private"
	             "?pin-value=123456&module-path=/usr/lib/softhsm/libsofthsm2.so");
	assert_int_equal(cvq_p11_uri_format(u, buf, sizeof(buf)), CVQ_P11_OK);
	assert_string_equal(buf, "pkcs11:token=My%20token;id=%01%ff;type=private"
	                         "?module-path=/usr/lib/softhsm/libsofthsm2.so");
	assert_null(strstr(buf, "123456"));
	assert_int_equal(cvq_p11_uri_format(u, small, sizeof(small)),
	                 CVQ_P11_ERR_TOO_SMALL);
	assert_string_equal(small, "");
	assert_int_equal(cvq_p11_uri_format(u, NULL, 1), CVQ_P11_ERR_ARG);
	cvq_p11_uri_free(u);
	/* round trip */
	u = parse_ok(buf);
	assert_string_equal(cvq_p11_uri_get(u, CVQ_P11_URI_TOKEN, NULL), "My token");
	cvq_p11_uri_free(u);
}

static void test_strerror(void **state)
{
	int e;

	(void)state;
	for (e = 0; e < CVQ_P11_ERR__COUNT; e++)
		assert_string_not_equal(cvq_p11_strerror((cvq_p11_err)e), "unknown error");
	assert_string_equal(cvq_p11_strerror(CVQ_P11_ERR__COUNT), "unknown error");
	assert_string_equal(cvq_p11_strerror((cvq_p11_err)-1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_vendor_and_unknown),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_scheme_case_and_empty),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_format_hides_pin),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
