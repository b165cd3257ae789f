/* cvq-vcard: command APDU parsing, chaining both ways, trace redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apdu.h"
#include "helpers.h"
#include "trace.h"

static void
test_parse_cases(void **state)
{
	struct vc_apdu a;
	uint8_t b[300];
	size_t n;

	(void)state;
	n = th_hex("00200080", b, sizeof(b));                 /* case 1 */
	assert_int_equal(vc_apdu_parse(b, n, &a), 0);
	assert_int_equal(a.lc, 0);
	assert_false(a.has_le);
	n = th_hex("00200080 00", b, sizeof(b));              /* case 2, Le 256 */
	assert_int_equal(vc_apdu_parse(b, n, &a), 0);
	assert_true(a.has_le);
	assert_int_equal(a.le, 256);
	n = th_hex("00A40400 05 A000000308", b, sizeof(b));   /* case 3 */
	assert_int_equal(vc_apdu_parse(b, n, &a), 0);
	assert_int_equal(a.lc, 5);
	assert_int_equal(a.data[0], 0xA0);
	assert_false(a.has_le);
	n = th_hex("00CB3FFF 03 5C017E 08", b, sizeof(b));    /* case 4 */
	assert_int_equal(vc_apdu_parse(b, n, &a), 0);
	assert_int_equal(a.lc, 3);
	assert_int_equal(a.le, 8);
	assert_int_equal(a.ins, 0xCB);
	assert_int_equal(a.p1, 0x3F);
	assert_int_equal(a.p2, 0xFF);
}

static void
test_parse_extended(void **state)
{
	struct vc_apdu a;
	uint8_t b[400];

	(void)state;
	memset(b, 0xAB, sizeof(b));
	memcpy(b, "\x00\xDB\x3F\xFF\x00\x01\x2C", 7);         /* Lc = 300 */
	assert_int_equal(vc_apdu_parse(b, 7 + 300, &a), 0);
	assert_true(a.extended);
	assert_int_equal(a.lc, 300);
	assert_false(a.has_le);
	b[307] = 0x00; b[308] = 0x00;                        /* Le = 65536 */
	assert_int_equal(vc_apdu_parse(b, 309, &a), 0);
	assert_int_equal(a.le, 65536);
	memcpy(b, "\x00\xCA\x00\x00\x00\x01\x00", 7);         /* case 2E */
	assert_int_equal(vc_apdu_parse(b, 7, &a), 0);
	assert_int_equal(a.le, 256);
}

static void
test_parse_malformed(void **state)
{
	struct vc_apdu a;
	uint8_t b[16] = {0};

	(void)state;
	assert_int_equal(vc_apdu_parse(b, 3, &a), -1);
	b[4] = 5;                                             /* Lc 5, 2 bytes */
	assert_int_equal(vc_apdu_parse(b, 7, &a), -1);
	b[4] = 0;                                             /* 6 bytes, ext */
	assert_int_equal(vc_apdu_parse(b, 6, &a), -1);
	b[5] = 0; b[6] = 0;                                   /* ext Lc 0 + data */
	assert_int_equal(vc_apdu_parse(b, 9, &a), -1);
	assert_int_equal(vc_apdu_parse(NULL, 4, &a), -1);
}

static void
test_command_chaining(void **state)
{
	struct vc_card *c = vc_card_new(1234);
	uint8_t apdu[300], data[4096];
	size_t n, dlen, i;
	const uint8_t key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
	                         1, 2, 3, 4, 5, 6, 7, 8};

	(void)state;
	assert_int_equal(th_mgmt_auth(c, 0x03, key, 24), 0x9000);
	/* PUT DATA 5FC105 with 53 82 01 F4 (500 bytes) in 2 blocks + end. */
	n = 0;
	data[n++] = 0x5C; data[n++] = 3; data[n++] = 0x5F; data[n++] = 0xC1; data[n++] = 0x05;
	data[n++] = 0x53; data[n++] = 0x82; data[n++] = 0x01; data[n++] = 0xF4;
	for (i = 0; i < 500; i++)
		data[n++] = (uint8_t)i;
	for (i = 0; i < n; i += 255) {
		size_t blk = n - i > 255 ? 255 : n - i;
		apdu[0] = (i + blk < n) ? 0x10 : 0x00;
		apdu[1] = 0xDB; apdu[2] = 0x3F; apdu[3] = 0xFF; apdu[4] = (uint8_t)blk;
		memcpy(apdu + 5, data + i, blk);
		assert_int_equal(th_send_bytes(c, apdu, 5 + blk, NULL, NULL), 0x9000);
	}
	assert_true(vc_card_take_dirty(c));
	/* Read back: response chaining, never more than 256 bytes a piece. */
	n = th_hex("00CB3FFF 05 5C035FC105", apdu, sizeof(apdu));
	assert_int_equal(th_send_all(c, apdu, n, data, sizeof(data), &dlen), 0x9000);
	assert_int_equal(dlen, 4 + 500);
	assert_memory_equal(data, "\x53\x82\x01\xF4", 4);
	for (i = 0; i < 500; i++)
		assert_int_equal(data[4 + i], (uint8_t)i);
	vc_card_free(c);
}

static void
test_response_chaining_le(void **state)
{
	struct vc_card *c = vc_card_new(1234);
	uint8_t data[300];
	size_t n;

	(void)state;
	/* OpenSC asks Le=08 first: 8 bytes, then 61 xx with what is left. */
	assert_int_equal(th_send(c, "00CB3FFF 03 5C017E 08", data, &n), 0x610C);
	assert_int_equal(n, 8);
	assert_memory_equal(data, "\x7E\x12\x4F\x0B", 4);
	assert_int_equal(th_send(c, "00C00000 0C", data, &n), 0x9000);
	assert_int_equal(n, 12);
	/* GET RESPONSE with nothing pending. */
	assert_int_equal(th_send(c, "00C00000 00", data, &n), 0x6985);
	/* Another command abandons a pending response. */
	assert_int_equal(th_send(c, "00CB3FFF 03 5C017E 04", data, &n), 0x6110);
	assert_int_equal(th_send(c, "00FD0000", data, &n), 0x9000);
	assert_int_equal(th_send(c, "00C00000 00", data, &n), 0x6985);
	vc_card_free(c);
}

static void
test_select(void **state)
{
	struct vc_card *c = vc_card_new(1234);
	uint8_t data[300];
	size_t n;

	(void)state;
	assert_int_equal(th_send(c, "00A40400 09 A00000030800001000", data, &n), 0x9000);
	assert_memory_equal(data, "\x61\x11\x4F\x06", 4);
	assert_int_equal(th_send(c, "00A40400 05 A000000308", data, &n), 0x9000);
	assert_int_equal(th_send(c, "00A40400 0B A0000003080000100001 00", data, &n), 0x9000);
	assert_int_equal(th_send(c, "00A40400 07 A0000001510000", data, &n), 0x6A82);
	assert_int_equal(th_send(c, "00A40400 04 A0000003", data, &n), 0x6A82);
	assert_int_equal(th_send(c, "00CA DF30 05", data, &n), 0x6D00);
	assert_int_equal(th_send(c, "80CB3FFF 03 5C017E", data, &n), 0x6E00);
	assert_int_equal(th_send(c, "00CB3FFF 03 5C017E", data, &n), 0x9000);
	assert_int_equal(th_send(c, "0001", data, &n), 0x6700);
	vc_card_free(c);
}

static void
test_trace_redaction(void **state)
{
	char out[200];
	uint8_t b[64];
	size_t n;

	(void)state;
	n = th_hex("00200080 08 313233343536FFFF", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "00200080 08 <redacted 8 bytes>");
	n = th_hex("0024 0081 10 3132333435363738 3837363534333231", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "00240081 10 <redacted 16 bytes>");
	n = th_hex("002C0080 10 3132333435363738 313233343536FFFF", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_null(strstr(out, "3132"));
	n = th_hex("00FFFFFF 1B 039B18 010203040506070801020304050607080102030405060708", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "00FFFFFF 1B <redacted 27 bytes>");
	n = th_hex("00FE119A 22 0620 0102030405060708010203040506070801020304050607080102030405060708", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "00FE119A 22 <redacted 34 bytes>");
	/* Extended Lc and a chained (CLA 10) VERIFY are redacted too. */
	n = th_hex("10200080 00 0008 313233343536FFFF", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "10200080 000008 <redacted 8 bytes>");
	/* Empty VERIFY and other commands are shown whole. */
	n = th_hex("00200080", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "00200080");
	n = th_hex("00CB3FFF 03 5C017E", b, sizeof(b));
	assert_true(vc_trace_format(true, b, n, out, sizeof(out)));
	assert_string_equal(out, "00CB3FFF035C017E");
	n = th_hex("63C2", b, sizeof(b));
	assert_true(vc_trace_format(false, b, n, out, sizeof(out)));
	assert_string_equal(out, "63C2");
	assert_false(vc_trace_format(true, b, n, out, 3));
}

/* The answer to an ECDH GENERAL AUTHENTICATE is the shared secret. */
static void
test_trace_secret_response(void **state)
{
	uint8_t b[128];
	size_t n;

	(void)state;
	/* ECDH with 9D: 7C { 82 00, 85 41 04 X Y } */
	n = th_hex("00 87 11 9D 47 7C 45 8200 8541 04"
	           "0101010101010101010101010101010101010101010101010101010101010101"
	           "0202020202020202020202020202020202020202020202020202020202020202", b, sizeof(b));
	assert_true(vc_trace_secret_response(b, n));
	/* A signature and the management key steps are no secret. */
	n = th_hex("00 87 11 9A 26 7C 24 8200 8120"
	           "0101010101010101010101010101010101010101010101010101010101010101", b, sizeof(b));
	assert_false(vc_trace_secret_response(b, n));
	n = th_hex("00 87 03 9B 04 7C 02 8000", b, sizeof(b));
	assert_false(vc_trace_secret_response(b, n));
	/* Unreadable template with a key slot: hidden, to be safe. */
	n = th_hex("00 87 11 9D 03 7C 05 85", b, sizeof(b));
	assert_true(vc_trace_secret_response(b, n));
	n = th_hex("00CB3FFF 03 5C017E", b, sizeof(b));
	assert_false(vc_trace_secret_response(b, n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cases),
		cmocka_unit_test(test_parse_extended),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_command_chaining),
		cmocka_unit_test(test_response_chaining_le),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_trace_redaction),
		cmocka_unit_test(test_trace_secret_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
