/*
 * PIV data objects: GET DATA / PUT DATA, and the Discovery, CHUID and
 * Printed Information objects (parse, build, cached reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"

#define MAX_OBJECT 16384u  /* biggest object we write (certificates ~2 KiB) */

/* 5C with the object's tag, as GET/PUT DATA want it. */
static size_t
tag_list(uint32_t tag, uint8_t out[5])
{
	size_t n = cvq_card_tlv_tag_size(tag), i, o = 0;

	out[o++] = 0x5C;
	out[o++] = (uint8_t)n;
	for (i = n; i > 0; i--)
		out[o++] = (uint8_t)(tag >> (8 * (i - 1)));
	return o;
}

cvq_card_err
card_get_data(cvq_card *card, uint32_t tag, uint8_t **data, size_t *len)
{
	uint8_t tl[5], *rsp = NULL, *v;
	size_t rlen = 0;
	cvq_card_apdu a = {0x00, 0xCB, 0x3F, 0xFF, tl, 0, true, false};
	const uint8_t *p;
	cvq_card_tlv t;
	cvq_card_err err;

	*data = NULL;
	*len = 0;
	if (tag == 0 || tag > 0xFFFFFF)
		return CVQ_CARD_ERR_ARG;
	a.lc = tag_list(tag, tl);
	err = card_piv_cmd_ok(card, &a, &rsp, &rlen);
	if (err)
		return err;
	if (rsp == NULL || rlen == 0) {
		err = CVQ_CARD_ERR_BAD_DATA;
		goto out;
	}
	p = rsp;
	/* Some cards pad after the object: take the first TLV. */
	err = cvq_card_tlv_next(&p, rsp + rlen, &t);
	if (err || (t.tag != 0x53 && t.tag != 0x7E)) {
		err = CVQ_CARD_ERR_BAD_DATA;
		goto out;
	}
	if (t.len == 0) {
		err = CVQ_CARD_ERR_NOT_FOUND;
		goto out;
	}
	v = malloc(t.len);
	if (v == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	memcpy(v, t.value, t.len);
	*data = v;
	*len = t.len;
out:
	free(rsp);
	return err;
}

cvq_card_err
cvq_card_read_object(cvq_card *card, uint32_t tag, uint8_t **data, size_t *len)
{
	cvq_card_err err;

	if (card == NULL || data == NULL || len == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_get_data(card, tag, data, len);
	cvq_card_end(card, false);
	return err;
}

cvq_card_err
cvq_card_write_object(cvq_card *card, uint32_t tag, const uint8_t *data,
                      size_t len)
{
	uint8_t *buf = NULL, *rsp = NULL;
	size_t cap, off, rlen = 0;
	cvq_card_apdu a = {0x00, 0xDB, 0x3F, 0xFF, NULL, 0, false, false};
	cvq_card_err err;

	if (card == NULL || (data == NULL && len != 0) || len > MAX_OBJECT ||
	    tag == 0 || tag > 0xFFFFFF || tag == CVQ_CARD_OBJ_DISCOVERY)
		return CVQ_CARD_ERR_ARG;
	cap = 5 + 4 + len;
	buf = malloc(cap);
	if (buf == NULL)
		return CVQ_CARD_ERR_NOMEM;
	off = tag_list(tag, buf);
	err = cvq_card_tlv_put(buf, cap, &off, 0x53, data, len);
	if (err)
		goto out;
	a.data = buf;
	a.lc = off;
	err = cvq_card_begin(card);
	if (err)
		goto out;
	err = card_piv_cmd_ok(card, &a, &rsp, &rlen);
	/* What we wrote replaces what we cached. */
	if (err == CVQ_CARD_OK) {
		if (tag == CVQ_CARD_OBJ_CHUID)
			card->chuid_c.known = false;
		else
			card_drop_cert_object(card, tag);
	}
	cvq_card_end(card, false);
out:
	free(rsp);
	free(buf);
	return err;
}

uint32_t
cvq_card_slot_object(cvq_card_slot slot)
{
	switch (slot) {
	case CVQ_CARD_SLOT_AUTH: return CVQ_CARD_OBJ_AUTH;
	case CVQ_CARD_SLOT_SIGN: return CVQ_CARD_OBJ_SIGN;
	case CVQ_CARD_SLOT_KEYMGMT: return CVQ_CARD_OBJ_KEYMGMT;
	case CVQ_CARD_SLOT_CARDAUTH: return CVQ_CARD_OBJ_CARDAUTH;
	default: return 0;
	}
}

/* ---- Discovery ---- */

cvq_card_err
cvq_card_discovery_parse(const uint8_t *buf, size_t len, cvq_card_discovery *out)
{
	const uint8_t *p = buf, *end;
	cvq_card_tlv t;
	cvq_card_err err;
	bool aid = false;

	if ((buf == NULL && len != 0) || out == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	end = buf + len;
	while (p < end) {
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			return err;
		if (t.tag == 0x4F) {
			if (t.len == 0 || t.len > sizeof(out->aid))
				return CVQ_CARD_ERR_BAD_DATA;
			memcpy(out->aid, t.value, t.len);
			out->aid_len = t.len;
			aid = true;
		} else if (t.tag == 0x5F2F) {
			if (t.len < 1 || t.len > 2)
				return CVQ_CARD_ERR_BAD_DATA;
			out->pin_policy = (uint16_t)(t.value[0] << 8 |
			                             (t.len == 2 ? t.value[1] : 0));
		}
	}
	return aid ? CVQ_CARD_OK : CVQ_CARD_ERR_BAD_DATA;
}

cvq_card_err
cvq_card_read_discovery(cvq_card *card, cvq_card_discovery *out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	/* Cached reads too begin a transaction: that is how a removal or a
	 * reset since the last call shows (no APDU is sent for it). */
	err = cvq_card_begin(card);
	if (err)
		return err;
	if (card->disc_c.known) {
		*out = card->disc;
		cvq_card_end(card, false);
		return card->disc_c.err;
	}
	err = card_get_data(card, CVQ_CARD_OBJ_DISCOVERY, &data, &len);
	if (err == CVQ_CARD_OK)
		err = cvq_card_discovery_parse(data, len, &card->disc);
	if (err == CVQ_CARD_OK || err == CVQ_CARD_ERR_NOT_FOUND) {
		card->disc_c.known = true;
		card->disc_c.err = err;
		*out = card->disc;
	}
	cvq_card_end(card, false);
	free(data);
	return err;
}

/* ---- CHUID ---- */

cvq_card_err
cvq_card_chuid_parse(const uint8_t *buf, size_t len, cvq_card_chuid *out)
{
	const uint8_t *p = buf, *end;
	cvq_card_tlv t;
	cvq_card_err err;
	bool guid = false;
	size_t i;

	if ((buf == NULL && len != 0) || out == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	end = buf + len;
	while (p < end) {
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			return err;
		switch (t.tag) {
		case 0x30:
			if (t.len != sizeof(out->fascn))
				return CVQ_CARD_ERR_BAD_DATA;
			memcpy(out->fascn, t.value, t.len);
			out->has_fascn = true;
			break;
		case 0x34:
			if (t.len != CVQ_CARD_GUID_LEN)
				return CVQ_CARD_ERR_BAD_DATA;
			memcpy(out->guid, t.value, t.len);
			guid = true;
			break;
		case 0x35:
			if (t.len != 8)
				return CVQ_CARD_ERR_BAD_DATA;
			for (i = 0; i < 8; i++)
				if (t.value[i] < '0' || t.value[i] > '9')
					return CVQ_CARD_ERR_BAD_DATA;
			memcpy(out->expiry, t.value, 8);
			out->expiry[8] = '\0';
			break;
		default:
			break; /* 32, 33, 36, 3D, 3E, FE: not needed here */
		}
	}
	return guid ? CVQ_CARD_OK : CVQ_CARD_ERR_BAD_DATA;
}

/*
 * FASC-N of agency code 9999, system 9999, credential 999999 (the
 * "non-federal issuer" pattern OpenSC and yubico-piv-tool recognise, so
 * they take the GUID as the card's identity).
 */
static const uint8_t fascn_9999[25] = {
	0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83,
	0x68, 0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3,
	0xEB,
};

cvq_card_err
cvq_card_chuid_build(const uint8_t guid[CVQ_CARD_GUID_LEN], const char *expiry,
                     uint8_t *out, size_t cap, size_t *len)
{
	size_t off = 0, i;
	cvq_card_err err;

	if (guid == NULL || expiry == NULL || out == NULL || len == NULL ||
	    strlen(expiry) != 8)
		return CVQ_CARD_ERR_ARG;
	for (i = 0; i < 8; i++)
		if (expiry[i] < '0' || expiry[i] > '9')
			return CVQ_CARD_ERR_ARG;
	if ((err = cvq_card_tlv_put(out, cap, &off, 0x30, fascn_9999, sizeof(fascn_9999))) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0x34, guid, CVQ_CARD_GUID_LEN)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0x35, (const uint8_t *)expiry, 8)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0x3E, NULL, 0)) ||
	    (err = cvq_card_tlv_put(out, cap, &off, 0xFE, NULL, 0)))
		return err;
	*len = off;
	return CVQ_CARD_OK;
}

cvq_card_err
card_read_chuid_raw(cvq_card *card, cvq_card_chuid *out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card->chuid_c.known) {
		*out = card->chuid;
		return card->chuid_c.err;
	}
	err = card_get_data(card, CVQ_CARD_OBJ_CHUID, &data, &len);
	if (err == CVQ_CARD_OK)
		err = cvq_card_chuid_parse(data, len, &card->chuid);
	free(card->chuid_raw);
	card->chuid_raw = NULL;
	card->chuid_raw_len = 0;
	if (err == CVQ_CARD_OK) {
		card->chuid_raw = data;
		card->chuid_raw_len = len;
		data = NULL;
	}
	free(data);
	if (err == CVQ_CARD_OK) {
		card->has_last_guid = true;
		memcpy(card->last_guid, card->chuid.guid, CVQ_CARD_GUID_LEN);
	}
	if (err == CVQ_CARD_OK || err == CVQ_CARD_ERR_NOT_FOUND) {
		if (err)
			memset(&card->chuid, 0, sizeof(card->chuid));
		card->chuid_c.known = true;
		card->chuid_c.err = err;
		*out = card->chuid;
	}
	return err;
}

cvq_card_err
cvq_card_read_chuid(cvq_card *card, cvq_card_chuid *out)
{
	cvq_card_err err;

	if (card == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_read_chuid_raw(card, out);
	cvq_card_end(card, false);
	return err;
}

cvq_card_err
cvq_card_guid(cvq_card *card, uint8_t guid[CVQ_CARD_GUID_LEN])
{
	cvq_card_chuid c;
	cvq_card_err err;

	if (guid == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_read_chuid(card, &c);
	if (err == CVQ_CARD_OK)
		memcpy(guid, c.guid, CVQ_CARD_GUID_LEN);
	return err;
}

/* ---- Printed Information ---- */

static cvq_card_err
copy_str(char *dst, size_t cap, const cvq_card_tlv *t)
{
	size_t i;

	if (t->len >= cap)
		return CVQ_CARD_ERR_BAD_DATA;
	for (i = 0; i < t->len; i++)
		if (t->value[i] < 0x20 || t->value[i] == 0x7F)
			return CVQ_CARD_ERR_BAD_DATA; /* control bytes never get printed */
	/* A repeated tag is malformed, not an update: refuse it. */
	if (dst[0] != '\0')
		return CVQ_CARD_ERR_BAD_DATA;
	memcpy(dst, t->value, t->len);
	dst[t->len] = '\0';
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_printed_parse(const uint8_t *buf, size_t len, cvq_card_printed *out)
{
	const uint8_t *p = buf, *end;
	cvq_card_tlv t;
	cvq_card_err err = CVQ_CARD_OK;

	if ((buf == NULL && len != 0) || out == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	end = buf + len;
	while (p < end && err == CVQ_CARD_OK) {
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			break;
		switch (t.tag) {
		case 0x01: err = copy_str(out->name, sizeof(out->name), &t); break;
		case 0x02: err = copy_str(out->affiliation, sizeof(out->affiliation), &t); break;
		case 0x04: err = copy_str(out->expiry, sizeof(out->expiry), &t); break;
		case 0x05: err = copy_str(out->serial, sizeof(out->serial), &t); break;
		case 0x06: err = copy_str(out->issuer, sizeof(out->issuer), &t); break;
		default: break;
		}
	}
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

cvq_card_err
cvq_card_printed_build(const cvq_card_printed *in, uint8_t *out, size_t cap,
                       size_t *len)
{
	size_t off = 0;
	cvq_card_err err = CVQ_CARD_OK;

	if (in == NULL || out == NULL || len == NULL)
		return CVQ_CARD_ERR_ARG;
#define PUT_STR(tag, s) \
	if (err == CVQ_CARD_OK && (s)[0] != '\0') \
		err = cvq_card_tlv_put(out, cap, &off, (tag), (const uint8_t *)(s), \
		                       strnlen((s), sizeof(s)))
	PUT_STR(0x01, in->name);
	PUT_STR(0x02, in->affiliation);
	PUT_STR(0x04, in->expiry);
	PUT_STR(0x05, in->serial);
	PUT_STR(0x06, in->issuer);
#undef PUT_STR
	if (err == CVQ_CARD_OK)
		err = cvq_card_tlv_put(out, cap, &off, 0xFE, NULL, 0);
	if (err == CVQ_CARD_OK)
		*len = off;
	return err;
}

cvq_card_err
cvq_card_read_printed(cvq_card *card, cvq_card_printed *out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_read_object(card, CVQ_CARD_OBJ_PRINTED, &data, &len);
	if (err == CVQ_CARD_OK)
		err = cvq_card_printed_parse(data, len, out);
	free(data);
	return err;
}
