/* Unit tests for the Assuan line helpers of the pinentry client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assuan.h"

static void
test_classify(void **state)
{
	unsigned long code;

	(void)state;
	assert_int_equal(cvq_assuan_classify("OK", 2, &code), CVQ_ASSUAN_OK);
	assert_int_equal(cvq_assuan_classify("OK Pleased", 10, &code), CVQ_ASSUAN_OK);
	assert_int_equal(cvq_assuan_classify("OKAY", 4, &code), CVQ_ASSUAN_UNKNOWN);
	assert_int_equal(cvq_assuan_classify("D 1234", 6, &code), CVQ_ASSUAN_DATA);
	assert_int_equal(cvq_assuan_classify("S PROGRESS", 10, &code), CVQ_ASSUAN_STATUS);
	assert_int_equal(cvq_assuan_classify("# hi", 4, &code), CVQ_ASSUAN_COMMENT);
	assert_int_equal(cvq_assuan_classify("ERR 83886179 Operation cancelled", 32, &code),
	                 CVQ_ASSUAN_ERR);
	assert_int_equal(code, 83886179ul);
	assert_int_equal(cvq_assuan_error(code), CVQ_UTIL_ERR_CANCELLED);
	assert_int_equal(cvq_assuan_error(83886142ul), CVQ_UTIL_ERR_TIMEOUT);
	assert_int_equal(cvq_assuan_error(536871187ul), CVQ_UTIL_ERR_PROTOCOL);
	assert_int_equal(cvq_assuan_classify("ERR 99999999999999999999", 24, &code), CVQ_ASSUAN_ERR);
}

static void
test_unescape(void **state)
{
	char out[8];
	size_t off = 0;

	(void)state;
	assert_int_equal(cvq_assuan_unescape("12%2534", 7, out, sizeof(out), &off), CVQ_UTIL_OK);
	assert_string_equal(out, "12%34");
	off = 0;
	assert_int_equal(cvq_assuan_unescape("%4", 2, out, sizeof(out), &off), CVQ_UTIL_ERR_PROTOCOL);
	off = 0;
	assert_int_equal(cvq_assuan_unescape("%zz", 3, out, sizeof(out), &off), CVQ_UTIL_ERR_PROTOCOL);
	off = 0;
	assert_int_equal(cvq_assuan_unescape("12345678", 8, out, sizeof(out), &off), CVQ_UTIL_ERR_TOO_LONG);
	off = 0;
	assert_int_equal(cvq_assuan_unescape("1234567", 7, out, sizeof(out), &off), CVQ_UTIL_OK);
	assert_string_equal(out, "1234567");
}

static void
test_command_escapes(void **state)
{
	char out[CVQ_ASSUAN_LINE_MAX + 2];
	size_t n;

	(void)state;
	n = cvq_assuan_command(out, sizeof(out), "SETDESC", "Paiement\n100%\rBYE");
	assert_int_equal(n, strlen("SETDESC Paiement%0A100%25%0DBYE\n"));
	assert_memory_equal(out, "SETDESC Paiement%0A100%25%0DBYE\n", n);
	n = cvq_assuan_command(out, sizeof(out), "GETPIN", NULL);
	assert_memory_equal(out, "GETPIN\n", n);
}

static void
test_command_cuts_on_utf8_boundary(void **state)
{
	char out[CVQ_ASSUAN_LINE_MAX + 2], arg[1200];
	size_t n, i;

	(void)state;
	/* "SETDESC " is 8 bytes; fill with 2-byte "é" so a cut can split one. */
	for (i = 0; i + 1 < sizeof(arg) - 1; i += 2) {
		arg[i] = (char)0xC3;
		arg[i + 1] = (char)0xA9;
	}
	arg[i] = '\0';
	n = cvq_assuan_command(out, sizeof(out), "SETDESC", arg);
	assert_true(n <= CVQ_ASSUAN_LINE_MAX + 1);
	assert_int_equal(out[n - 1], '\n');
	/* Payload is 8 + 2k bytes: whole characters only. */
	assert_int_equal((n - 1 - 8) % 2, 0);
	assert_int_equal((unsigned char)out[n - 2], 0xA9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_command_escapes),
		cmocka_unit_test(test_command_cuts_on_utf8_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
