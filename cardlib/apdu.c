/*
 * APDU framing on a raw transport: short and extended forms, command
 * chaining, 61xx (GET RESPONSE) and 6Cxx (wrong Le) handling.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cvq/card_apdu.h"

#define SHORT_MAX_LC 255u
#define RAW_RSP_MAX (65536u + 2u)
#define MAX_GET_RESPONSE 300  /* 61xx rounds; 256 B each covers 75 KiB */

struct growbuf {
	uint8_t *p;
	size_t len, cap;
};

static cvq_card_err
grow_append(struct growbuf *b, const uint8_t *d, size_t n)
{
	uint8_t *np;
	size_t ncap;

	if (n == 0)
		return CVQ_CARD_OK;
	if (b->len + n > CVQ_CARD_RESPONSE_MAX)
		return CVQ_CARD_ERR_BAD_DATA;
	if (b->len + n > b->cap) {
		ncap = b->cap ? b->cap * 2 : 512;
		while (ncap < b->len + n)
			ncap *= 2;
		np = malloc(ncap);
		if (np == NULL)
			return CVQ_CARD_ERR_NOMEM;
		/* Responses may hold secrets (GET RESPONSE of a mgmt witness):
		 * wipe the old copy instead of realloc'ing it away. */
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return CVQ_CARD_OK;
}

/* Build one short or extended command into out (cap >= 5 + lc + 3). */
static size_t
build(uint8_t *out, uint8_t cla, const cvq_card_apdu *a, const uint8_t *data,
      size_t lc, bool has_le, unsigned le, bool extended)
{
	size_t o = 0;

	out[o++] = cla;
	out[o++] = a->ins;
	out[o++] = a->p1;
	out[o++] = a->p2;
	if (extended) {
		if (lc > 0) {
			out[o++] = 0;
			out[o++] = (uint8_t)(lc >> 8);
			out[o++] = (uint8_t)lc;
			memcpy(out + o, data, lc);
			o += lc;
		}
		if (has_le) {
			if (lc == 0)
				out[o++] = 0;
			out[o++] = (uint8_t)(le >> 8);
			out[o++] = (uint8_t)le;
		}
		return o;
	}
	if (lc > 0) {
		out[o++] = (uint8_t)lc;
		memcpy(out + o, data, lc);
		o += lc;
	}
	if (has_le)
		out[o++] = (uint8_t)le;
	return o;
}

static cvq_card_err
raw(const cvq_card_transport *t, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t *rsp_len)
{
	cvq_card_err err;

	*rsp_len = RAW_RSP_MAX;
	err = t->transmit(t->impl, cmd, cmd_len, rsp, rsp_len);
	if (err)
		return err;
	if (*rsp_len < 2 || *rsp_len > RAW_RSP_MAX)
		return CVQ_CARD_ERR_BAD_DATA;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_apdu_transmit(const cvq_card_transport *t, const cvq_card_apdu *a,
                       uint8_t **rsp_out, size_t *rsp_len_out, uint16_t *sw_out)
{
	uint8_t *cmd = NULL, *rsp = NULL;
	size_t cmd_cap, cmd_len, rlen, off = 0, chunk;
	struct growbuf acc = {0};
	cvq_card_err err;
	uint16_t sw = 0;
	bool extended;
	int rounds;
	unsigned le;

	if (t == NULL || t->transmit == NULL || a == NULL || rsp_out == NULL ||
	    rsp_len_out == NULL || sw_out == NULL || (a->lc > 0 && a->data == NULL) ||
	    a->lc > 65535)
		return CVQ_CARD_ERR_ARG;
	*rsp_out = NULL;
	*rsp_len_out = 0;
	extended = t->extended && a->lc > SHORT_MAX_LC;
	cmd_cap = 4 + 3 + (extended ? a->lc : SHORT_MAX_LC) + 3;
	cmd = malloc(cmd_cap);
	rsp = malloc(RAW_RSP_MAX);
	if (cmd == NULL || rsp == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}

	/* Chained blocks: every one but the last has CLA bit 0x10 and no Le. */
	if (!extended) {
		while (a->lc - off > SHORT_MAX_LC) {
			cmd_len = build(cmd, (uint8_t)(a->cla | 0x10), a, a->data + off,
			                SHORT_MAX_LC, false, 0, false);
			err = raw(t, cmd, cmd_len, rsp, &rlen);
			if (err)
				goto out;
			off += SHORT_MAX_LC;
			sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
			if (sw != CVQ_CARD_SW_OK)
				goto done;
		}
	}
	chunk = a->lc - off;
	le = 0;
	cmd_len = build(cmd, a->cla, a, a->data ? a->data + off : NULL, chunk,
	                a->has_le, le, extended);
	err = raw(t, cmd, cmd_len, rsp, &rlen);
	if (err)
		goto out;
	sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
	if ((sw >> 8) == 0x6C) {
		/* Wrong Le: the card tells the right one; ask again once. */
		le = sw & 0xFF;
		cmd_len = build(cmd, a->cla, a, a->data ? a->data + off : NULL, chunk,
		                true, le, extended);
		err = raw(t, cmd, cmd_len, rsp, &rlen);
		if (err)
			goto out;
		sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
	}
	for (rounds = 0;; rounds++) {
		err = grow_append(&acc, rsp, rlen - 2);
		if (err)
			goto out;
		if ((sw >> 8) != 0x61)
			break;
		if (rounds >= MAX_GET_RESPONSE) {
			err = CVQ_CARD_ERR_BAD_DATA;
			goto out;
		}
		{
			const uint8_t gr[5] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)(sw & 0xFF)};
			err = raw(t, gr, sizeof(gr), rsp, &rlen);
		}
		if (err)
			goto out;
		sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
	}
done:
	*rsp_out = acc.p;
	*rsp_len_out = acc.len;
	acc.p = NULL;
	*sw_out = sw;
	err = CVQ_CARD_OK;
out:
	if (acc.p != NULL) {
		OPENSSL_cleanse(acc.p, acc.cap);
		free(acc.p);
	}
	if (cmd != NULL) {
		OPENSSL_cleanse(cmd, cmd_cap); /* it held PINs or keys */
		free(cmd);
	}
	if (rsp != NULL) {
		OPENSSL_cleanse(rsp, RAW_RSP_MAX);
		free(rsp);
	}
	return err;
}

cvq_card_err
cvq_card_sw_to_err(uint16_t sw, int *tries_left)
{
	if (tries_left != NULL)
		*tries_left = -1;
	if (sw == CVQ_CARD_SW_OK)
		return CVQ_CARD_OK;
	if ((sw & 0xFFF0) == 0x63C0) {
		if (tries_left != NULL)
			*tries_left = sw & 0x0F;
		return (sw & 0x0F) ? CVQ_CARD_ERR_PIN_WRONG : CVQ_CARD_ERR_PIN_BLOCKED;
	}
	switch (sw) {
	case 0x6983:
		if (tries_left != NULL)
			*tries_left = 0;
		return CVQ_CARD_ERR_PIN_BLOCKED;
	case 0x6982:
		return CVQ_CARD_ERR_SECURITY;
	case 0x6A80:
	case 0x6700:
		return CVQ_CARD_ERR_ARG;
	case 0x6A82:
	case 0x6A83:
	case 0x6A88:
		return CVQ_CARD_ERR_NOT_FOUND;
	case 0x6D00:
	case 0x6E00:
	case 0x6A81:
	case 0x6A86:
	case 0x6A87:
		return CVQ_CARD_ERR_UNSUPPORTED;
	case 0x6A84:
		return CVQ_CARD_ERR_BUFFER;
	default:
		return CVQ_CARD_ERR_SW;
	}
}
