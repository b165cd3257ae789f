/* Fuzz the BER-TLV parser: walk nested TLVs, rebuild what was parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/card_tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const uint8_t *buf, size_t len, int depth)
{
	const uint8_t *p = buf, *end = buf + len;
	cvq_card_tlv t;
	uint8_t out[512];
	size_t off;

	while (p < end && cvq_card_tlv_next(&p, end, &t) == CVQ_CARD_OK) {
		off = 0;
		if (cvq_card_tlv_put(out, sizeof(out), &off, t.tag, t.value, t.len) == CVQ_CARD_OK) {
			cvq_card_tlv back;
			if (cvq_card_tlv_parse_one(out, off, &back) != CVQ_CARD_OK ||
			    back.tag != t.tag || back.len != t.len ||
			    memcmp(back.value, t.value, t.len) != 0)
				abort();
		}
		/* Constructed tags (bit 6 of the first byte) hold more TLVs. */
		if (depth < 8 && t.len > 0) {
			uint32_t first = t.tag;
			while (first > 0xFF)
				first >>= 8;
			if (first & 0x20)
				walk(t.value, t.len, depth + 1);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cvq_card_tlv t;

	walk(data, size, 0);
	(void)cvq_card_tlv_find(data, size, 0x53, &t);
	(void)cvq_card_tlv_parse_one(data, size, &t);
	return 0;
}
