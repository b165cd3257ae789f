/* cardlib PIN-pad helpers: the reader's feature list, the PIV structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cvq/card_pinpad.h"

static void
features_ccid(void **state)
{
	/* A CCID reader with a pad: verify, modify, properties, TLV props. */
	static const uint8_t f[] = {
		0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x07, 4, 0x42, 0x33, 0x00, 0x07,
		0x0A, 4, 0x42, 0x33, 0x00, 0x0A, 0x12, 4, 0x42, 0x33, 0x00, 0x12,
	};
	cvq_card_pinpad_features out;

	assert_int_equal(cvq_card_pinpad_parse_features(f, sizeof(f), &out), CVQ_CARD_OK);
	assert_int_equal(out.verify_pin_direct, 0x42330006);
	assert_int_equal(out.modify_pin_direct, 0x42330007);
	assert_int_equal(out.ifd_pin_properties, 0x4233000A);
}

static void
features_none_and_odd(void **state)
{
	static const uint8_t odd[] = {0x06, 2, 0x01, 0x02, 0x13, 0};
	static const uint8_t cut[] = {0x06, 4, 0x42, 0x33, 0x00};
	static const uint8_t half[] = {0x06};
	cvq_card_pinpad_features out;

	assert_int_equal(cvq_card_pinpad_parse_features(NULL, 0, &out), CVQ_CARD_OK);
	assert_int_equal(out.verify_pin_direct, 0);
	/* A feature with a length other than 4 is not a control code. */
	assert_int_equal(cvq_card_pinpad_parse_features(odd, sizeof(odd), &out), CVQ_CARD_OK);
	assert_int_equal(out.verify_pin_direct, 0);
	assert_int_equal(cvq_card_pinpad_parse_features(cut, sizeof(cut), &out),
	                 CVQ_CARD_ERR_BAD_DATA);
	assert_int_equal(cvq_card_pinpad_parse_features(half, sizeof(half), &out),
	                 CVQ_CARD_ERR_BAD_DATA);
	assert_int_equal(cvq_card_pinpad_parse_features(cut, sizeof(cut), NULL), CVQ_CARD_ERR_ARG);
}

static void
verify_structure_piv(void **state)
{
	static const uint8_t want[] = {
		30, 30, 0x82, 0x08, 0x00, 8, 6, 0x02, 0x01, 0x0C, 0x04, 0, 0, 0, 0,
		13, 0, 0, 0,
		0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	};
	uint8_t out[64];
	size_t len = 0;

	assert_int_equal(cvq_card_pinpad_verify_structure(30, out, sizeof(out), &len), CVQ_CARD_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(cvq_card_pinpad_verify_structure(30, out, 31, &len), CVQ_CARD_ERR_BUFFER);
	assert_int_equal(cvq_card_pinpad_verify_structure(256, out, sizeof(out), &len), CVQ_CARD_ERR_ARG);
}

static void
no_card(void **state)
{
	bool has = true;

	assert_int_equal(cvq_card_has_pinpad(NULL, &has), CVQ_CARD_ERR_ARG);
	assert_int_equal(cvq_card_verify_pin_pinpad(NULL, 30, NULL), CVQ_CARD_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(features_ccid),
		cmocka_unit_test(features_none_and_odd),
		cmocka_unit_test(verify_structure_piv),
		cmocka_unit_test(no_card),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
