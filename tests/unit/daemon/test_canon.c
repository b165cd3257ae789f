/* The canonical form: deterministic bytes, strict input, exact round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "canon.h"

static const char *nonce = "q83vEjRWeJCrze8SNFZ4kA";

static json_t *tx_from(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(j);
	return j;
}

static void test_deterministic(void **state)
{
	json_t *a = tx_from("{\"type\":\"payment\",\"payee\":\"École de musique\",\"amount\":\"45.00\","
	                    "\"currency\":\"EUR\",\"reference\":\"INSCR-2026-0042\"}");
	json_t *b = tx_from("{\"reference\":\"INSCR-2026-0042\",\"currency\":\"EUR\",\"amount\":\"45.00\","
	                    "\"payee\":\"École de musique\",\"type\":\"payment\"}");
	size_t la, lb;
	char *ca = cvqd_canon_receipt(a, 1795000000, nonce, &la);
	char *cb = cvqd_canon_receipt(b, 1795000000, nonce, &lb);
	assert_non_null(ca);
	assert_string_equal(ca, cb);
	assert_string_equal(ca,
		"{\"cvq\":\"receipt/1\",\"nonce\":\"q83vEjRWeJCrze8SNFZ4kA\",\"time\":\"2026-11-18T11:06:40Z\","
		"\"transaction\":{\"amount\":\"45.00\",\"currency\":\"EUR\",\"payee\":\"École de musique\","
		"\"reference\":\"INSCR-2026-0042\",\"type\":\"payment\"}}");
	time_t t;
	char n[80], why[160];
	json_t *back = cvqd_canon_parse_receipt(ca, la, &t, n, sizeof n, why, sizeof why);
	assert_non_null(back);
	assert_true(json_equal(back, a));
	assert_int_equal(t, 1795000000);
	assert_string_equal(n, nonce);
	json_decref(back);
	free(ca);
	free(cb);
	json_decref(a);
	json_decref(b);
}

static void test_escapes(void **state)
{
	json_t *a = tx_from("{\"type\":\"payment\",\"payee\":\"a\\\"b\\\\c/d\",\"amount\":\"0.50\","
	                    "\"currency\":\"EUR\",\"reference\":\"r\"}");
	size_t l;
	char *c = cvqd_canon_receipt(a, 0, nonce, &l);
	assert_non_null(strstr(c, "\"payee\":\"a\\\"b\\\\c/d\""));
	time_t t;
	char n[80], why[160];
	json_t *back = cvqd_canon_parse_receipt(c, l, &t, n, sizeof n, why, sizeof why);
	assert_non_null(back);
	json_decref(back);
	free(c);
	json_decref(a);
}

/* receipt/2: the dialog text and its language, a line break as "\n". */
static void test_shown(void **state)
{
	json_t *a = tx_from("{\"type\":\"payment\",\"payee\":\"École\",\"amount\":\"45.00\","
	                    "\"currency\":\"EUR\",\"reference\":\"R-1\",\"description\":\"Piano\"}");
	const char *dialog = "Paiement de 45,00\xc2\xa0€ à École — réf. R-1\nPiano";
	size_t l;
	char *c = cvqd_canon_receipt_shown(a, "fr", dialog, 1795000000, nonce, &l);
	assert_non_null(c);
	assert_string_equal(c,
		"{\"cvq\":\"receipt/2\",\"dialog\":\"Paiement de 45,00\xc2\xa0€ à École — réf. R-1\\nPiano\","
		"\"lang\":\"fr\",\"nonce\":\"q83vEjRWeJCrze8SNFZ4kA\",\"time\":\"2026-11-18T11:06:40Z\","
		"\"transaction\":{\"amount\":\"45.00\",\"currency\":\"EUR\",\"description\":\"Piano\","
		"\"payee\":\"École\",\"reference\":\"R-1\",\"type\":\"payment\"}}");
	time_t t;
	char n[80], why[160], *lang = NULL, *dl = NULL;
	json_t *back = cvqd_canon_parse_receipt_shown(c, l, &t, n, sizeof n, &lang, &dl, why, sizeof why);
	assert_non_null(back);
	assert_true(json_equal(back, a));
	assert_string_equal(lang, "fr");
	assert_string_equal(dl, dialog);
	json_decref(back);
	free(lang);
	free(dl);
	/* Another escape for the same line break is not canonical. */
	char *u = strstr(c, "\\nPiano");
	assert_non_null(u);
	char alt[1024];
	snprintf(alt, sizeof alt, "%.*s\\u000aPiano%s", (int)(u - c), c, u + 7);
	assert_null(cvqd_canon_parse_receipt(alt, strlen(alt), &t, n, sizeof n, why, sizeof why));
	free(c);
	/* No other control character, no other language. */
	assert_null(cvqd_canon_receipt_shown(a, "fr", "a\tb", 0, nonce, &l));
	assert_null(cvqd_canon_receipt_shown(a, "fr", "a\rb", 0, nonce, &l));
	assert_null(cvqd_canon_receipt_shown(a, "de", "ab", 0, nonce, &l));
	assert_null(cvqd_canon_receipt_shown(a, "fr", NULL, 0, nonce, &l));
	json_decref(a);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"[]",
		"{\"type\":\"payment\",\"payee\":\"x\",\"amount\":45,\"currency\":\"EUR\",\"reference\":\"r\"}",
		"{\"payee\":\"x\",\"amount\":\"4.00\",\"currency\":\"EUR\",\"reference\":\"r\"}",
		"{\"type\":\"payment\",\"payee\":\"x\\n\",\"amount\":\"4.00\",\"currency\":\"EUR\",\"reference\":\"r\"}",
		"{\"type\":\"payment\",\"payee\":\"\",\"amount\":\"4.00\",\"currency\":\"EUR\",\"reference\":\"r\"}",
		"{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"4.00\",\"currency\":\"EUR\",\"reference\":\"r\",\"Bad\":\"k\"}",
		"{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"4.00\",\"currency\":\"EUR\",\"reference\":\"r\",\"n\":{}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = tx_from(bad[i]);
		char why[160];
		size_t l;
		assert_int_equal(cvqd_canon_check_transaction(j, why, sizeof why), -1);
		assert_null(cvqd_canon_receipt(j, 0, nonce, &l));
		json_decref(j);
	}
}

static void test_not_canonical(void **state)
{
	static const char *bad[] = {
		/* whitespace */
		"{\"cvq\": \"receipt/1\",\"nonce\":\"q83vEjRWeJCrze8SNFZ4kA\",\"time\":\"2026-11-18T07:33:20Z\","
		"\"transaction\":{\"amount\":\"45.00\",\"currency\":\"EUR\",\"payee\":\"x\",\"reference\":\"r\",\"type\":\"payment\"}}",
		/* key order */
		"{\"nonce\":\"q83vEjRWeJCrze8SNFZ4kA\",\"cvq\":\"receipt/1\",\"time\":\"2026-11-18T07:33:20Z\","
		"\"transaction\":{\"amount\":\"45.00\",\"currency\":\"EUR\",\"payee\":\"x\",\"reference\":\"r\",\"type\":\"payment\"}}",
		/* needless escape */
		"{\"cvq\":\"receipt/1\",\"nonce\":\"q83vEjRWeJCrze8SNFZ4kA\",\"time\":\"2026-11-18T07:33:20Z\","
		"\"transaction\":{\"amount\":\"45.00\",\"currency\":\"EUR\",\"payee\":\"\\u0078\",\"reference\":\"r\",\"type\":\"payment\"}}",
		/* other format */
		"{\"cvq\":\"receipt/2\",\"nonce\":\"q83vEjRWeJCrze8SNFZ4kA\",\"time\":\"2026-11-18T07:33:20Z\","
		"\"transaction\":{\"amount\":\"45.00\",\"currency\":\"EUR\",\"payee\":\"x\",\"reference\":\"r\",\"type\":\"payment\"}}",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		time_t t;
		char n[80], why[160];
		assert_null(cvqd_canon_parse_receipt(bad[i], strlen(bad[i]), &t, n, sizeof n, why, sizeof why));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_not_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
