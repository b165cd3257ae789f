/* Unit tests for the bounded BER-TLV codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cvq/card_tlv.h"

static void
test_short_and_long_lengths(void **state)
{
	uint8_t buf[400], val[300];
	size_t off = 0;
	cvq_card_tlv t;

	(void)state;
	memset(val, 0xAB, sizeof(val));
	assert_int_equal(cvq_card_tlv_put(buf, sizeof(buf), &off, 0x53, val, 0x7F), CVQ_CARD_OK);
	assert_int_equal(off, 2 + 0x7F);
	assert_int_equal(buf[1], 0x7F);
	off = 0;
	assert_int_equal(cvq_card_tlv_put(buf, sizeof(buf), &off, 0x53, val, 0x80), CVQ_CARD_OK);
	assert_int_equal(buf[1], 0x81);
	assert_int_equal(buf[2], 0x80);
	off = 0;
	assert_int_equal(cvq_card_tlv_put(buf, sizeof(buf), &off, 0x5FC105, val, 300), CVQ_CARD_OK);
	assert_memory_equal(buf, "\x5F\xC1\x05\x82\x01\x2C", 6);
	assert_int_equal(cvq_card_tlv_parse_one(buf, off, &t), CVQ_CARD_OK);
	assert_int_equal(t.tag, 0x5FC105);
	assert_int_equal(t.len, 300);
	assert_int_equal(t.total, off);
	assert_ptr_equal(t.value, buf + 6);
}

static void
test_put_does_not_overflow(void **state)
{
	uint8_t buf[8] = {0}, val[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	size_t off = 2;

	(void)state;
	assert_int_equal(cvq_card_tlv_put(buf, sizeof(buf), &off, 0x53, val, 5),
	                 CVQ_CARD_ERR_BUFFER);
	assert_int_equal(off, 2);
	assert_int_equal(buf[2], 0);
	assert_int_equal(cvq_card_tlv_put(buf, sizeof(buf), &off, 0x53, val, 4),
	                 CVQ_CARD_OK);
	assert_int_equal(off, 8);
}

static void
test_rejects_malformed(void **state)
{
	cvq_card_tlv t;
	static const uint8_t truncated[] = {0x53, 0x05, 1, 2};
	static const uint8_t indefinite[] = {0x53, 0x80, 0, 0};
	static const uint8_t long_tag[] = {0x5F, 0xC1, 0x82, 0x01, 0x00};
	static const uint8_t len_trunc[] = {0x53, 0x82, 0x01};
	static const uint8_t trailing[] = {0x53, 0x00, 0x00};

	(void)state;
	assert_int_equal(cvq_card_tlv_parse_one(truncated, sizeof(truncated), &t), CVQ_CARD_ERR_TLV);
	assert_int_equal(cvq_card_tlv_parse_one(indefinite, sizeof(indefinite), &t), CVQ_CARD_ERR_TLV);
	assert_int_equal(cvq_card_tlv_parse_one(long_tag, sizeof(long_tag), &t), CVQ_CARD_ERR_TLV);
	assert_int_equal(cvq_card_tlv_parse_one(len_trunc, sizeof(len_trunc), &t), CVQ_CARD_ERR_TLV);
	assert_int_equal(cvq_card_tlv_parse_one(trailing, sizeof(trailing), &t), CVQ_CARD_ERR_TLV);
	assert_int_equal(cvq_card_tlv_parse_one(trailing, 0, &t), CVQ_CARD_ERR_TLV);
}

static void
test_find_in_chuid(void **state)
{
	/* CHUID body: FASC-N, GUID, expiry, signature, LRC. */
	static const uint8_t chuid[] = {
		0x30, 0x02, 0xD4, 0xE7,
		0x34, 0x04, 0xDE, 0xAD, 0xBE, 0xEF,
		0x35, 0x08, '2', '0', '3', '0', '0', '1', '0', '1',
		0x3E, 0x00, 0xFE, 0x00,
	};
	cvq_card_tlv t;

	(void)state;
	assert_int_equal(cvq_card_tlv_find(chuid, sizeof(chuid), 0x34, &t), CVQ_CARD_OK);
	assert_int_equal(t.len, 4);
	assert_memory_equal(t.value, "\xDE\xAD\xBE\xEF", 4);
	assert_int_equal(cvq_card_tlv_find(chuid, sizeof(chuid), 0xFE, &t), CVQ_CARD_OK);
	assert_int_equal(t.len, 0);
	assert_int_equal(cvq_card_tlv_find(chuid, sizeof(chuid), 0x36, &t), CVQ_CARD_ERR_NOT_FOUND);
	assert_int_equal(cvq_card_tlv_find(chuid, 5, 0x36, &t), CVQ_CARD_ERR_TLV);
}

static void
test_next_walks_siblings(void **state)
{
	static const uint8_t two[] = {0x80, 0x01, 0xAA, 0x7F, 0x49, 0x01, 0xBB};
	const uint8_t *p = two;
	cvq_card_tlv t;

	(void)state;
	assert_int_equal(cvq_card_tlv_next(&p, two + sizeof(two), &t), CVQ_CARD_OK);
	assert_int_equal(t.tag, 0x80);
	assert_int_equal(cvq_card_tlv_next(&p, two + sizeof(two), &t), CVQ_CARD_OK);
	assert_int_equal(t.tag, 0x7F49);
	assert_int_equal(t.value[0], 0xBB);
	assert_ptr_equal(p, two + sizeof(two));
	assert_int_equal(cvq_card_tlv_next(&p, two + sizeof(two), &t), CVQ_CARD_ERR_TLV);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_and_long_lengths),
		cmocka_unit_test(test_put_does_not_overflow),
		cmocka_unit_test(test_rejects_malformed),
		cmocka_unit_test(test_find_in_chuid),
		cmocka_unit_test(test_next_walks_siblings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
