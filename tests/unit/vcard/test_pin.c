/* cvq-vcard: PIN and PUK logic, counters, security state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"

#define PIN_OK    "00200080 08 313233343536FFFF"
#define PIN_BAD   "00200080 08 393939393939FFFF"

static const uint8_t mgmt_default[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

static void
test_verify_and_counter(void **state)
{
	struct vc_card *c = vc_card_new(1);

	(void)state;
	assert_false(vc_card_take_dirty(c));
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	assert_int_equal(th_send(c, PIN_BAD, NULL, NULL), 0x63C2);
	assert_true(vc_card_take_dirty(c));   /* the decrement must be saved */
	assert_int_equal(th_send(c, "00200080 00", NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_true(vc_card_take_dirty(c));   /* counter back to 3 */
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_false(vc_card_take_dirty(c));  /* nothing changed */
	/* SELECT and reset forget the verification. */
	assert_int_equal(th_send(c, "00A40400 05 A000000308", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	vc_card_reset(c);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	/* P1=FF resets the PIN state. */
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00 20 FF 80", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	/* Wrong lengths and references. */
	assert_int_equal(th_send(c, "00200080 06 313233343536", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "00200081 08 313233343536FFFF", NULL, NULL), 0x6A88);
	vc_card_free(c);
}

static void
test_block_and_unblock(void **state)
{
	struct vc_card *c = vc_card_new(1);

	(void)state;
	assert_int_equal(th_send(c, PIN_BAD, NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, PIN_BAD, NULL, NULL), 0x63C1);
	assert_int_equal(th_send(c, PIN_BAD, NULL, NULL), 0x63C0);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x6983);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x6983);
	/* Change with the blocked PIN: blocked. */
	assert_int_equal(th_send(c, "00240080 10 313233343536FFFF 363534333231FFFF", NULL, NULL), 0x6983);
	/* Wrong PUK counts; new PIN format checked first. */
	assert_int_equal(th_send(c, "002C0080 10 3837363534333231 363534333231FFFF", NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, "002C0080 10 3132333435363738 3635FFFFFFFFFFFF", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "002C0080 10 3132333435363738 363534333231FFFF", NULL, NULL), 0x9000);
	assert_true(vc_card_take_dirty(c));
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, "00200080 08 363534333231FFFF", NULL, NULL), 0x9000);
	/* The PUK counter went back to 3 on success: block it now. */
	assert_int_equal(th_send(c, "002C0080 10 3030303030303030 313131313131FFFF", NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, "002C0080 10 3030303030303030 313131313131FFFF", NULL, NULL), 0x63C1);
	assert_int_equal(th_send(c, "002C0080 10 3030303030303030 313131313131FFFF", NULL, NULL), 0x63C0);
	assert_int_equal(th_send(c, "002C0080 10 3132333435363738 313131313131FFFF", NULL, NULL), 0x6983);
	vc_card_free(c);
}

static void
test_change(void **state)
{
	struct vc_card *c = vc_card_new(1);

	(void)state;
	assert_int_equal(th_send(c, "00240080 10 313233343536FFFF 3837363534333231", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, "00200080 08 3837363534333231", NULL, NULL), 0x9000);
	/* PUK change. */
	assert_int_equal(th_send(c, "00240081 10 3132333435363738 3131313131313131", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "002C0080 10 3132333435363738 313233343536FFFF", NULL, NULL), 0x63C2);
	assert_int_equal(th_send(c, "002C0080 10 3131313131313131 313233343536FFFF", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00240082 10 3131313131313131 3131313131313131", NULL, NULL), 0x6A88);
	assert_int_equal(th_send(c, "00240080 08 3131313131313131", NULL, NULL), 0x6A80);
	vc_card_free(c);
}

/* A new PIN is 6-8 digits (SP 800-73-4 part 2, 2.4.3); refused without
 * spending a try. A PUK may hold any byte. */
static void
test_new_pin_digits(void **state)
{
	struct vc_card *c = vc_card_new(1);

	(void)state;
	/* "12345a", "1234 6": CHANGE and RESET RETRY COUNTER refuse them. */
	assert_int_equal(th_send(c, "00240080 10 313233343536FFFF 313233343561FFFF", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "002C0080 10 3132333435363738 313233342036FFFF", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	/* A PUK of letters is fine. */
	assert_int_equal(th_send(c, "00240081 10 3132333435363738 4142434445464748", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "002C0080 10 4142434445464748 3635343332317F7F", NULL, NULL), 0x6A80);
	assert_int_equal(th_send(c, "002C0080 10 4142434445464748 36353433323130FF", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00200080 08 36353433323130FF", NULL, NULL), 0x9000);
	vc_card_free(c);
}

static void
test_yubico_reset_and_retries(void **state)
{
	struct vc_card *c = vc_card_new(77);
	uint8_t d[16];
	size_t n;

	(void)state;
	assert_int_equal(th_send(c, "00F80000", d, &n), 0x9000);
	assert_int_equal(n, 4);
	assert_memory_equal(d, "\x00\x00\x00\x4D", 4);
	assert_int_equal(th_send(c, "00FD0000", d, &n), 0x9000);
	assert_int_equal(d[0], 5);
	/* Reset refused while PIN and PUK are not both blocked. */
	assert_int_equal(th_send(c, "00FB0000", NULL, NULL), 0x6985);
	/* Set retries: needs management key and PIN. */
	assert_int_equal(th_send(c, "00FA0505", NULL, NULL), 0x6982);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00FA0502", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C5);
	/* Block both, then reset works and restores the defaults. */
	assert_int_equal(th_send(c, "00240081 10 3030303030303030 3131313131313131", NULL, NULL), 0x63C1);
	assert_int_equal(th_send(c, "00240081 10 3030303030303030 3131313131313131", NULL, NULL), 0x63C0);
	assert_int_equal(th_send(c, "00FB0000", NULL, NULL), 0x6985);
	for (n = 5; n > 0; n--)
		th_send(c, PIN_BAD, NULL, NULL);
	assert_int_equal(th_send(c, "00FB0000", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	assert_int_equal(th_send(c, PIN_OK, NULL, NULL), 0x9000);
	vc_card_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_and_counter),
		cmocka_unit_test(test_block_and_unblock),
		cmocka_unit_test(test_change),
		cmocka_unit_test(test_new_pin_digits),
		cmocka_unit_test(test_yubico_reset_and_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
