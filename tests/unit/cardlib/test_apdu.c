/* Unit tests of the APDU framing (61xx, 6Cxx, chaining, extended). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cvq/card_apdu.h"
#include "fake_card.h"

static void
run(const struct fake_step *steps, size_t n, bool extended,
    const cvq_card_apdu *a, const char *want_hex, uint16_t want_sw)
{
	struct fake_card f = {steps, n, 0, 0};
	cvq_card_transport t = fake_transport(&f);
	uint8_t *rsp = NULL, want[512];
	size_t len = 0, wn;
	uint16_t sw = 0;

	t.extended = extended;
	assert_int_equal(cvq_card_apdu_transmit(&t, a, &rsp, &len, &sw), CVQ_CARD_OK);
	assert_int_equal(sw, want_sw);
	wn = fake_hex(want_hex, want, sizeof(want));
	assert_int_equal(len, wn);
	if (wn)
		assert_memory_equal(rsp, want, wn);
	free(rsp);
	fake_card_done(&f);
}

static void
test_get_response(void **state)
{
	static const uint8_t tl[] = {0x5C, 0x03, 0x5F, 0xC1, 0x05};
	const struct fake_step s[] = {
		{"00CB3FFF055C035FC10500", "AABB6102", NULL, NULL},
		{"00C0000002", "CCDD6100", NULL, NULL},
		{"00C0000000", "EE9000", NULL, NULL},
	};
	cvq_card_apdu a = {0x00, 0xCB, 0x3F, 0xFF, tl, sizeof(tl), true, false};

	(void)state;
	run(s, 3, false, &a, "AABBCCDDEE", 0x9000);
}

static void
test_wrong_le(void **state)
{
	const struct fake_step s[] = {
		{"00CA010200", "6C05", NULL, NULL},
		{"00CA010205", "01020304059000", NULL, NULL},
	};
	cvq_card_apdu a = {0x00, 0xCA, 0x01, 0x02, NULL, 0, true, false};

	(void)state;
	run(s, 2, false, &a, "0102030405", 0x9000);
}

static void
test_status_word_passed_through(void **state)
{
	const struct fake_step s[] = {{"0020008000", "63C2", NULL, NULL}};
	cvq_card_apdu a = {0x00, 0x20, 0x00, 0x80, NULL, 0, true, false};

	(void)state;
	run(s, 1, false, &a, "", 0x63C2);
}

static char *
hex_repeat(const char *prefix, const char *byte, size_t n)
{
	char *s = malloc(strlen(prefix) + 2 * n + 1);
	size_t i;

	assert_non_null(s);
	strcpy(s, prefix);
	for (i = 0; i < n; i++)
		strcat(s, byte);
	return s;
}

static void
test_chaining(void **state)
{
	uint8_t data[300];
	char *b1 = hex_repeat("10DB3FFFFF", "11", 255);
	char *b2 = hex_repeat("00DB3FFF2D", "11", 45);
	const struct fake_step s[] = {{b1, "9000", NULL, NULL}, {b2, "9000", NULL, NULL}};
	cvq_card_apdu a = {0x00, 0xDB, 0x3F, 0xFF, data, sizeof(data), false, false};

	(void)state;
	memset(data, 0x11, sizeof(data));
	run(s, 2, false, &a, "", 0x9000);
	free(b1);
	free(b2);
}

static void
test_chaining_stops_on_error(void **state)
{
	uint8_t data[300];
	char *b1 = hex_repeat("10DB3FFFFF", "11", 255);
	const struct fake_step s[] = {{b1, "6982", NULL, NULL}};
	cvq_card_apdu a = {0x00, 0xDB, 0x3F, 0xFF, data, sizeof(data), false, false};

	(void)state;
	memset(data, 0x11, sizeof(data));
	run(s, 1, false, &a, "", 0x6982);
	free(b1);
}

static void
test_extended(void **state)
{
	uint8_t data[300];
	char *c = hex_repeat("00DB3FFF00012C", "11", 300);
	struct fake_step s2[] = {{c, "9000", NULL, NULL}};
	cvq_card_apdu a = {0x00, 0xDB, 0x3F, 0xFF, data, sizeof(data), false, false};

	(void)state;
	memset(data, 0x11, sizeof(data));
	run(s2, 1, true, &a, "", 0x9000);
	free(c);
}

static void
test_short_response_rejected(void **state)
{
	const struct fake_step s[] = {{NULL, "90", NULL, NULL}};
	struct fake_card f = {s, 1, 0, 0};
	cvq_card_transport t = fake_transport(&f);
	cvq_card_apdu a = {0x00, 0xCA, 0x01, 0x02, NULL, 0, true, false};
	uint8_t *rsp = NULL;
	size_t len;
	uint16_t sw;

	(void)state;
	assert_int_equal(cvq_card_apdu_transmit(&t, &a, &rsp, &len, &sw),
	                 CVQ_CARD_ERR_BAD_DATA);
	assert_null(rsp);
}

static void
test_sw_mapping(void **state)
{
	int tries;

	(void)state;
	assert_int_equal(cvq_card_sw_to_err(0x9000, &tries), CVQ_CARD_OK);
	assert_int_equal(tries, -1);
	assert_int_equal(cvq_card_sw_to_err(0x63C2, &tries), CVQ_CARD_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	assert_int_equal(cvq_card_sw_to_err(0x63C0, &tries), CVQ_CARD_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	assert_int_equal(cvq_card_sw_to_err(0x6983, &tries), CVQ_CARD_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	assert_int_equal(cvq_card_sw_to_err(0x6982, NULL), CVQ_CARD_ERR_SECURITY);
	assert_int_equal(cvq_card_sw_to_err(0x6A82, NULL), CVQ_CARD_ERR_NOT_FOUND);
	assert_int_equal(cvq_card_sw_to_err(0x6D00, NULL), CVQ_CARD_ERR_UNSUPPORTED);
	assert_int_equal(cvq_card_sw_to_err(0x6F00, NULL), CVQ_CARD_ERR_SW);
	assert_string_equal(cvq_card_strerror(CVQ_CARD_ERR_PIN_WRONG), "wrong PIN");
	assert_string_equal(cvq_card_strerror((cvq_card_err)999), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_response),
		cmocka_unit_test(test_wrong_le),
		cmocka_unit_test(test_status_word_passed_through),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_chaining_stops_on_error),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_short_response_rejected),
		cmocka_unit_test(test_sw_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
