/*
 * PIN-pad readers: the reader's feature list (PC/SC part 10, 2.2) and
 * VERIFY through FEATURE_VERIFY_PIN_DIRECT. No PIN ever passes here.
 */
#include <string.h>

#include <PCSC/reader.h>

#include "card_internal.h"
#include "cvq/card_pinpad.h"

/* PIN_VERIFY_STRUCTURE header, before abData (pcsc-lite reader.h). */
#define VERIFY_HDR 19
#define PIV_VERIFY_LEN 13   /* 00 20 00 80 08 + 8 bytes */

cvq_card_err
cvq_card_pinpad_parse_features(const uint8_t *buf, size_t len,
                               cvq_card_pinpad_features *out)
{
	size_t off = 0, l;
	uint32_t code;

	if ((buf == NULL && len != 0) || out == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	while (off < len) {
		if (len - off < 2)
			return CVQ_CARD_ERR_BAD_DATA;
		l = buf[off + 1];
		if (l > len - off - 2)
			return CVQ_CARD_ERR_BAD_DATA;
		if (l == 4) {
			code = (uint32_t)buf[off + 2] << 24 | (uint32_t)buf[off + 3] << 16 |
			       (uint32_t)buf[off + 4] << 8 | buf[off + 5];
			switch (buf[off]) {
			case FEATURE_VERIFY_PIN_DIRECT: out->verify_pin_direct = code; break;
			case FEATURE_MODIFY_PIN_DIRECT: out->modify_pin_direct = code; break;
			case FEATURE_IFD_PIN_PROPERTIES: out->ifd_pin_properties = code; break;
			default: break;
			}
		}
		off += 2 + l;
	}
	return CVQ_CARD_OK;
}

static cvq_card_err
features(cvq_card *card, cvq_card_pinpad_features *f)
{
	uint8_t buf[256];
	DWORD n = 0;
	LONG rv;

	memset(f, 0, sizeof(*f));
	if (card->ctx == NULL || !card->connected)
		return CVQ_CARD_OK;   /* a caller's transport: no reader to ask */
	rv = SCardControl(card->h, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf,
	                  sizeof(buf), &n);
	if (rv == SCARD_W_REMOVED_CARD || card_pcsc_service_gone(rv))
		return card_pcsc_err(rv);
	/* Readers without part 10 support refuse the request: no pad. */
	if (rv != SCARD_S_SUCCESS)
		return CVQ_CARD_OK;
	return cvq_card_pinpad_parse_features(buf, n > sizeof(buf) ? 0 : n, f);
}

cvq_card_err
cvq_card_has_pinpad(cvq_card *card, bool *has)
{
	cvq_card_pinpad_features f;
	cvq_card_err err;

	if (card == NULL || has == NULL)
		return CVQ_CARD_ERR_ARG;
	*has = false;
	err = features(card, &f);
	if (err == CVQ_CARD_OK)
		*has = f.verify_pin_direct != 0;
	return err;
}

cvq_card_err
cvq_card_pinpad_verify_structure(unsigned timeout_s, uint8_t *out, size_t cap,
                                 size_t *len)
{
	static const uint8_t apdu[PIV_VERIFY_LEN] = {
		0x00, 0x20, 0x00, 0x80, 0x08,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	};

	if (out == NULL || len == NULL || timeout_s > 255)
		return CVQ_CARD_ERR_ARG;
	if (cap < VERIFY_HDR + sizeof(apdu))
		return CVQ_CARD_ERR_BUFFER;
	memset(out, 0, VERIFY_HDR);
	out[0] = (uint8_t)timeout_s;  /* bTimerOut */
	out[1] = (uint8_t)timeout_s;  /* bTimerOut2, after the first key */
	out[2] = 0x82;  /* bmFormatString: byte units, offset 0, left, ASCII */
	out[3] = 0x08;  /* bmPINBlockString: no length field, 8-byte block */
	out[4] = 0x00;  /* bmPINLengthFormat: none */
	out[5] = 8;     /* wPINMaxExtraDigit, little-endian: max 8 */
	out[6] = 6;     /*                                   min 6 */
	out[7] = 0x02;  /* bEntryValidationCondition: the OK key */
	out[8] = 0x01;  /* bNumberMessage: the pad's "enter PIN" */
	out[9] = 0x0C;  /* wLangId 0x040C, French, little-endian */
	out[10] = 0x04;
	out[15] = sizeof(apdu);  /* ulDataLength, little-endian */
	memcpy(out + VERIFY_HDR, apdu, sizeof(apdu));
	*len = VERIFY_HDR + sizeof(apdu);
	return CVQ_CARD_OK;
}

/* What the pad's answer means; the card's own status words otherwise. */
static cvq_card_err
pad_sw(uint16_t sw, int *tries_left)
{
	switch (sw) {
	case 0x6400: return CVQ_CARD_ERR_TIMEOUT;
	case 0x6401: return CVQ_CARD_ERR_CANCELLED;
	case 0x6403: return CVQ_CARD_ERR_PIN_FORMAT;
	case 0x6B80: return CVQ_CARD_ERR_UNSUPPORTED;
	default: break;
	}
	cvq_card_err err = cvq_card_sw_to_err(sw, tries_left);
	if (err == CVQ_CARD_ERR_ARG)
		err = CVQ_CARD_ERR_SW;  /* the card's complaint, not the caller's */
	return err;
}

static cvq_card_err
verify(cvq_card *card, uint32_t ioctl, unsigned timeout_s, int *tries_left)
{
	uint8_t in[64], rsp[258];
	size_t len = 0;
	DWORD n = 0;
	LONG rv;
	cvq_card_err err;

	/* Another application may have selected something else. */
	err = card_select(card);
	if (err == CVQ_CARD_OK)
		err = cvq_card_pinpad_verify_structure(timeout_s, in, sizeof(in), &len);
	if (err)
		return err;
	rv = SCardControl(card->h, ioctl, in, (DWORD)len, rsp, sizeof(rsp), &n);
	if (rv != SCARD_S_SUCCESS)
		return card_pcsc_err(rv) == CVQ_CARD_ERR_CANCELLED ? CVQ_CARD_ERR_PCSC
		                                                    : card_pcsc_err(rv);
	card->apdus++;
	if (n < 2 || n > sizeof(rsp))
		return CVQ_CARD_ERR_BAD_DATA;
	return pad_sw((uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]), tries_left);
}

cvq_card_err
cvq_card_verify_pin_pinpad(cvq_card *card, unsigned timeout_s, int *tries_left)
{
	cvq_card_pinpad_features f;
	cvq_card_err err;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL || timeout_s > 255)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = features(card, &f);
	if (err == CVQ_CARD_OK && f.verify_pin_direct == 0)
		err = CVQ_CARD_ERR_UNSUPPORTED;
	if (err == CVQ_CARD_OK)
		err = verify(card, f.verify_pin_direct, timeout_s, tries_left);
	cvq_card_end(card, false);
	return err;
}
