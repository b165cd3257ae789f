/* Bounded BER-TLV parsing and building (see cvq/card_tlv.h). */
#include <string.h>

#include "cvq/card_tlv.h"

#define TLV_MAX_TAG_BYTES 3
#define TLV_MAX_LEN 0xFFFFFFu

cvq_card_err
cvq_card_tlv_next(const uint8_t **p, const uint8_t *end, cvq_card_tlv *out)
{
	const uint8_t *q;
	uint32_t tag;
	size_t len, avail, n, i;

	if (p == NULL || *p == NULL || end == NULL || out == NULL || *p > end)
		return CVQ_CARD_ERR_ARG;
	q = *p;
	if (q == end)
		return CVQ_CARD_ERR_TLV;

	tag = *q++;
	if ((tag & 0x1F) == 0x1F) {
		/* Multi-byte tag: continuation bytes carry bit 8 set. */
		for (n = 1;; n++) {
			if (q == end || n >= TLV_MAX_TAG_BYTES + 0u)
				return CVQ_CARD_ERR_TLV;
			tag = (tag << 8) | *q;
			if ((*q++ & 0x80) == 0)
				break;
		}
	}

	if (q == end)
		return CVQ_CARD_ERR_TLV;
	if (*q < 0x80) {
		len = *q++;
	} else {
		n = *q++ & 0x7F;
		/* 0x80 is the indefinite form, never valid in PIV. */
		if (n == 0 || n > 3 || (size_t)(end - q) < n)
			return CVQ_CARD_ERR_TLV;
		for (len = 0, i = 0; i < n; i++)
			len = (len << 8) | *q++;
	}

	avail = (size_t)(end - q);
	if (len > avail)
		return CVQ_CARD_ERR_TLV;

	out->tag = tag;
	out->value = q;
	out->len = len;
	out->total = (size_t)(q - *p) + len;
	*p = q + len;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_tlv_parse_one(const uint8_t *buf, size_t len, cvq_card_tlv *out)
{
	const uint8_t *p = buf;
	cvq_card_err err;

	if (buf == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_tlv_next(&p, buf + len, out);
	if (err)
		return err;
	return p == buf + len ? CVQ_CARD_OK : CVQ_CARD_ERR_TLV;
}

cvq_card_err
cvq_card_tlv_find(const uint8_t *buf, size_t len, uint32_t tag,
                  cvq_card_tlv *out)
{
	const uint8_t *p = buf, *end;
	cvq_card_tlv t;
	cvq_card_err err;

	if (buf == NULL && len != 0)
		return CVQ_CARD_ERR_ARG;
	if (buf == NULL)
		return CVQ_CARD_ERR_NOT_FOUND;
	end = buf + len;
	while (p < end) {
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			return err;
		if (t.tag == tag) {
			if (out != NULL)
				*out = t;
			return CVQ_CARD_OK;
		}
	}
	return CVQ_CARD_ERR_NOT_FOUND;
}

size_t
cvq_card_tlv_tag_size(uint32_t tag)
{
	if (tag > 0xFFFF)
		return 3;
	if (tag > 0xFF)
		return 2;
	return 1;
}

size_t
cvq_card_tlv_len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xFF)
		return 2;
	if (len <= 0xFFFF)
		return 3;
	return 4;
}

cvq_card_err
cvq_card_tlv_put_header(uint8_t *out, size_t cap, size_t *off, uint32_t tag,
                        size_t len)
{
	size_t ts, ls, o, i;

	if (out == NULL || off == NULL || *off > cap || tag > 0xFFFFFF ||
	    len > TLV_MAX_LEN)
		return CVQ_CARD_ERR_ARG;
	ts = cvq_card_tlv_tag_size(tag);
	ls = cvq_card_tlv_len_size(len);
	if (cap - *off < ts + ls)
		return CVQ_CARD_ERR_BUFFER;
	o = *off;
	for (i = ts; i > 0; i--)
		out[o++] = (uint8_t)(tag >> (8 * (i - 1)));
	if (ls == 1) {
		out[o++] = (uint8_t)len;
	} else {
		out[o++] = (uint8_t)(0x80 | (ls - 1));
		for (i = ls - 1; i > 0; i--)
			out[o++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	*off = o;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_tlv_put(uint8_t *out, size_t cap, size_t *off, uint32_t tag,
                 const uint8_t *val, size_t len)
{
	cvq_card_err err;

	if (val == NULL && len != 0)
		return CVQ_CARD_ERR_ARG;
	if (out == NULL || off == NULL || *off > cap)
		return CVQ_CARD_ERR_ARG;
	if (cap - *off < cvq_card_tlv_tag_size(tag) + cvq_card_tlv_len_size(len) + len)
		return CVQ_CARD_ERR_BUFFER;
	err = cvq_card_tlv_put_header(out, cap, off, tag, len);
	if (err)
		return err;
	if (len != 0)
		memmove(out + *off, val, len);
	*off += len;
	return CVQ_CARD_OK;
}
