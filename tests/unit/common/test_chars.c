/* common/chars.c: the byte classes both sides of the agent's link parse
 * with — every byte value, against the classes written out here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <cvq/util.h>

static void
test_hex(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		bool want = c != 0 && strchr("0123456789abcdefABCDEF", c) != NULL;

		assert_int_equal(cvq_util_is_hex_char((uint8_t)c), want);
	}
}

static void
test_print(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++)
		assert_int_equal(cvq_util_is_print_char((uint8_t)c), c >= ' ' && c <= '~');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
