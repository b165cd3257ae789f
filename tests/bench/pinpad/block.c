/*
 * PIN_VERIFY_STRUCTURE and PIN_MODIFY_STRUCTURE: decode them
 * (bounds-checked: they are the host's bytes) and put typed PINs into
 * their APDU the way a CCID pad does (bmFormatString, bmPINBlockString,
 * bmPINLengthFormat, bInsertionOffsetOld/New).
 */
#include <string.h>

#include "pinpad.h"

/* Headers before abData (reader.h, packed). */
#define HDR 19
#define MODIFY_HDR 24

enum { FMT_BINARY = 0, FMT_BCD = 1, FMT_ASCII = 2 };

/* ulDataLength (little-endian, last 4 bytes of the header) and abData. */
static int
check_apdu(const uint8_t *in, size_t len, size_t hdr, pp_verify *out)
{
	size_t data_len = (size_t)in[hdr - 4] | (size_t)in[hdr - 3] << 8 |
	                  (size_t)in[hdr - 2] << 16 | (size_t)in[hdr - 1] << 24;

	if (data_len != len - hdr || data_len < 5 || data_len > PP_APDU_MAX)
		return -1;
	/* Case 3 (or 4 with Le): the PIN goes into the command data. */
	if ((size_t)in[hdr + 4] + 5 > data_len || (size_t)in[hdr + 4] + 6 < data_len)
		return -1;
	if ((out->format & 3) == 3 || (out->length_format & 0xE0) != 0)
		return -1;
	if (out->min_len > out->max_len && out->max_len != 0)
		return -1;
	memcpy(out->apdu, in + hdr, data_len);
	out->apdu_len = data_len;
	return 0;
}

int
pp_verify_parse(const uint8_t *in, size_t len, pp_verify *out)
{
	if (in == NULL || out == NULL || len < HDR)
		return -1;
	memset(out, 0, sizeof(*out));
	out->timeout = in[0];
	out->format = in[2];
	out->block = in[3];
	out->length_format = in[4];
	out->max_len = in[5];
	out->min_len = in[6];
	return check_apdu(in, len, HDR, out);
}

int
pp_modify_parse(const uint8_t *in, size_t len, pp_modify *out)
{
	if (in == NULL || out == NULL || len < MODIFY_HDR)
		return -1;
	memset(out, 0, sizeof(*out));
	out->base.timeout = in[0];
	out->base.format = in[2];
	out->base.block = in[3];
	out->base.length_format = in[4];
	out->old_off = in[5];
	out->new_off = in[6];
	out->base.max_len = in[7];
	out->base.min_len = in[8];
	out->confirm = in[9];
	/* Two PINs in one APDU need fixed blocks and no length field. */
	if ((out->base.block & 0x0F) == 0 || (out->base.block >> 4) != 0)
		return -1;
	return check_apdu(in, len, MODIFY_HDR, &out->base);
}

/* Write the low `bits` bits of v at bit position pos (MSB first) of d. */
static void
put_bits(uint8_t *d, size_t pos, unsigned bits, unsigned v)
{
	for (unsigned i = 0; i < bits; i++) {
		size_t b = pos + i;
		unsigned bit = (v >> (bits - 1 - i)) & 1u;
		uint8_t m = (uint8_t)(0x80u >> (b % 8));

		d[b / 8] = (uint8_t)(bit ? d[b / 8] | m : d[b / 8] & ~m);
	}
}

/* Encode the PIN; its size in bytes, or 0 when a character is not allowed. */
static size_t
encode(unsigned fmt, const char *pin, size_t n, uint8_t *enc)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fmt != FMT_ASCII && (pin[i] < '0' || pin[i] > '9'))
			return 0;
	if (fmt == FMT_ASCII) {
		memcpy(enc, pin, n);
		return n;
	}
	if (fmt == FMT_BINARY) {
		for (i = 0; i < n; i++)
			enc[i] = (uint8_t)(pin[i] - '0');
		return n;
	}
	/* BCD, two digits a byte; an odd last digit padded with F. */
	memset(enc, 0xFF, (n + 1) / 2);
	for (i = 0; i < n; i++)
		put_bits(enc, i * 4, 4, (unsigned)(pin[i] - '0'));
	return (n + 1) / 2;
}

/*
 * Put one PIN into out (the APDU, already copied), `extra` bytes past the
 * structure's PIN position. 0 or the pad's status word.
 */
static unsigned
insert(const pp_verify *v, size_t extra, const char *pin, size_t n, uint8_t *out,
       size_t *out_len)
{
	uint8_t enc[PP_PIN_MAX];
	size_t enc_len, lc, pos, block, at, len_pos;
	unsigned len_bits;
	unsigned sw = PP_SW_BAD_PARAM;

	if (n == 0 || n > PP_PIN_MAX || (v->max_len != 0 && n > v->max_len) ||
	    n < v->min_len)
		return PP_SW_BAD_LEN;
	enc_len = encode(v->format & 3, pin, n, enc);
	if (enc_len == 0) {
		sw = PP_SW_BAD_LEN;
		goto out;
	}
	lc = out[4];
	/* bit 7: position in bytes, else in bits (then whole bytes only). */
	pos = (v->format >> 3) & 0x0F;
	if (!(v->format & 0x80)) {
		if (pos % 8)
			goto out;
		pos /= 8;
	}
	pos += extra;
	block = v->block & 0x0F;
	if (block == 0) {
		/* No block: the command data ends with the PIN. */
		if (pos + enc_len > 255 || 5 + pos + enc_len > PP_APDU_MAX)
			goto out;
		lc = pos + enc_len;
		out[4] = (uint8_t)lc;
		at = pos;
		*out_len = 5 + lc;
	} else {
		if (enc_len > block) {
			sw = PP_SW_BAD_LEN;
			goto out;
		}
		if (pos + block > lc)
			goto out;
		at = (v->format & 0x04) ? pos + block - enc_len : pos;
		*out_len = v->apdu_len;
	}
	memcpy(out + 5 + at, enc, enc_len);
	len_bits = v->block >> 4;
	if (len_bits != 0) {
		len_pos = v->length_format & 0x0F;
		if (v->length_format & 0x10)
			len_pos *= 8;
		if (len_bits > 16 || len_pos + len_bits > lc * 8 ||
		    (len_bits < 16 && n >> len_bits != 0))
			goto out;
		put_bits(out + 5, len_pos, len_bits, (unsigned)n);
	}
	sw = 0;
out:
	explicit_bzero(enc, sizeof(enc));
	return sw;
}

unsigned
pp_verify_build(const pp_verify *v, const char *pin, size_t n, uint8_t *out,
                size_t *out_len)
{
	unsigned sw;

	memcpy(out, v->apdu, v->apdu_len);
	sw = insert(v, 0, pin, n, out, out_len);
	if (sw != 0)
		explicit_bzero(out, PP_APDU_MAX);
	return sw;
}

unsigned
pp_modify_build(const pp_modify *m, const char *old, size_t old_n,
                const char *new_pin, size_t new_n, uint8_t *out, size_t *out_len)
{
	unsigned sw = 0;

	memcpy(out, m->base.apdu, m->base.apdu_len);
	*out_len = m->base.apdu_len;
	if (m->confirm & PP_MODIFY_OLD)
		sw = insert(&m->base, m->old_off, old, old_n, out, out_len);
	if (sw == 0)
		sw = insert(&m->base, m->new_off, new_pin, new_n, out, out_len);
	if (sw != 0)
		explicit_bzero(out, PP_APDU_MAX);
	return sw;
}
