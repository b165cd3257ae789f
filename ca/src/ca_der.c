/* libcvqca — a minimal DER writer and TLV reader (CRL fast path). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca_der.h"

void
ca_dbuf_put(struct ca_dbuf *b, const void *data, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (b->fail || n == 0)
		return;
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->fail = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

size_t
ca_der_hdr_len(size_t n)
{
	return n < 0x80 ? 2 : n <= 0xff ? 3 : n <= 0xffff ? 4 : n <= 0xffffff ? 5 : 6;
}

void
ca_dbuf_hdr(struct ca_dbuf *b, uint8_t tag, size_t n)
{
	uint8_t h[6];
	size_t k = ca_der_hdr_len(n), i;

	h[0] = tag;
	if (k == 2) {
		h[1] = (uint8_t)n;
	} else {
		h[1] = (uint8_t)(0x80 | (k - 2));
		for (i = 0; i < k - 2; i++)
			h[k - 1 - i] = (uint8_t)(n >> (8 * i));
	}
	ca_dbuf_put(b, h, k);
}

void
ca_dbuf_tlv(struct ca_dbuf *b, uint8_t tag, const void *data, size_t n)
{
	ca_dbuf_hdr(b, tag, n);
	ca_dbuf_put(b, data, n);
}

void
ca_dbuf_free(struct ca_dbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

bool
ca_der_next(const uint8_t **pp, const uint8_t *end, uint8_t *tag, const uint8_t **content,
            size_t *len)
{
	const uint8_t *p = *pp;
	size_t n = 0, k, i;

	if (end - p < 2 || (p[0] & 0x1f) == 0x1f)
		return false;
	*tag = p[0];
	if (p[1] < 0x80) {
		n = p[1];
		p += 2;
	} else {
		k = p[1] & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - p) < 2 + k)
			return false;
		for (i = 0; i < k; i++)
			n = (n << 8) | p[2 + i];
		p += 2 + k;
	}
	if ((size_t)(end - p) < n)
		return false;
	*content = p;
	*len = n;
	*pp = p + n;
	return true;
}

static void
digits2(uint8_t *s, int v)
{
	s[0] = (uint8_t)('0' + v / 10);
	s[1] = (uint8_t)('0' + v % 10);
}

size_t
ca_der_time(int64_t t, bool gen, uint8_t out[17])
{
	struct tm tm;
	time_t tt = (time_t)t;
	uint8_t *s = out + 2;
	int y;

	gmtime_r(&tt, &tm);
	y = tm.tm_year + 1900;
	if (!gen && y >= 1950 && y < 2050) {
		out[0] = 0x17;
		out[1] = 13;
	} else {
		out[0] = 0x18;
		out[1] = 15;
		digits2(s, y / 100);
		s += 2;
	}
	digits2(s, y % 100);
	digits2(s + 2, tm.tm_mon + 1);
	digits2(s + 4, tm.tm_mday);
	digits2(s + 6, tm.tm_hour);
	digits2(s + 8, tm.tm_min);
	digits2(s + 10, tm.tm_sec);
	s[12] = 'Z';
	return 2u + out[1];
}
