/*
 * The cvq_card handle: counting transport, PIV selection, cache, and the
 * transaction nesting shared by every operation.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card_internal.h"

/* PIV AID with version (SP 800-73-4 part 1, 2.2). */
static const uint8_t piv_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00,
                                  0x10, 0x00};

cvq_card_err
card_alloc(cvq_card **out)
{
	cvq_card *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CVQ_CARD_ERR_NOMEM;
	*out = c;
	return CVQ_CARD_OK;
}

void
card_forget(cvq_card *card)
{
	int i;

	memset(&card->chuid_c, 0, sizeof(card->chuid_c));
	free(card->chuid_raw);
	card->chuid_raw = NULL;
	card->chuid_raw_len = 0;
	memset(&card->chuid, 0, sizeof(card->chuid));
	memset(&card->disc_c, 0, sizeof(card->disc_c));
	memset(&card->yk_c, 0, sizeof(card->yk_c));
	for (i = 0; i < CARD_CERT_N; i++) {
		X509_free(card->cert[i]);
		card->cert[i] = NULL;
		memset(&card->cert_c[i], 0, sizeof(card->cert_c[i]));
		free(card->cert_raw[i]);
		card->cert_raw[i] = NULL;
		card->cert_raw_len[i] = 0;
	}
}

void
cvq_card_piv_forget(cvq_card *card)
{
	if (card != NULL)
		card_forget(card);
}

int
card_cert_index(cvq_card_slot slot)
{
	switch (slot) {
	case CVQ_CARD_SLOT_AUTH: return CARD_CERT_AUTH;
	case CVQ_CARD_SLOT_SIGN: return CARD_CERT_SIGN;
	case CVQ_CARD_SLOT_KEYMGMT: return CARD_CERT_KEYMGMT;
	case CVQ_CARD_SLOT_CARDAUTH: return CARD_CERT_CARDAUTH;
	default: return -1;
	}
}

void
card_drop_cert_object(cvq_card *card, uint32_t tag)
{
	static const cvq_card_slot slots[CARD_CERT_N] = {
		CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN, CVQ_CARD_SLOT_KEYMGMT,
		CVQ_CARD_SLOT_CARDAUTH,
	};
	int i;

	for (i = 0; i < CARD_CERT_N; i++) {
		if (cvq_card_slot_object(slots[i]) == tag) {
			X509_free(card->cert[i]);
			card->cert[i] = NULL;
			card->cert_c[i].known = false;
			free(card->cert_raw[i]);
			card->cert_raw[i] = NULL;
			card->cert_raw_len[i] = 0;
		}
	}
}

void
card_free_secret(uint8_t *buf, size_t len)
{
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}

/* Counts every raw APDU (GET RESPONSE and chained blocks included). */
static cvq_card_err
counting_transmit(void *impl, const uint8_t *cmd, size_t cmd_len,
                  uint8_t *rsp, size_t *rsp_len)
{
	cvq_card *card = impl;
	cvq_card_err err;

	card->apdus++;
	err = card->tp.transmit(card->tp.impl, cmd, cmd_len, rsp, rsp_len);
	if (err == CVQ_CARD_ERR_CARD_REMOVED) {
		card->removed = true;
		card->selected = false;
		card_forget(card);
	}
	return err;
}

cvq_card_err
card_transmit(cvq_card *card, const cvq_card_apdu *a, uint8_t **rsp,
              size_t *len, uint16_t *sw)
{
	cvq_card_transport t = {counting_transmit, card, card->tp.extended};

	if (card->removed)
		return CVQ_CARD_ERR_CARD_REMOVED;
	return cvq_card_apdu_transmit(&t, a, rsp, len, sw);
}

cvq_card_err
card_select(cvq_card *card)
{
	cvq_card_apdu a = {0x00, 0xA4, 0x04, 0x00, piv_aid, sizeof(piv_aid), true, false};
	uint8_t *rsp = NULL;
	size_t len = 0;
	uint16_t sw;
	cvq_card_err err;

	card->selected = false;
	err = card_transmit(card, &a, &rsp, &len, &sw);
	free(rsp);
	if (err)
		return err;
	if (sw != CVQ_CARD_SW_OK)
		return CVQ_CARD_ERR_NOT_PIV;
	card->selected = true;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_piv_select(cvq_card *card)
{
	cvq_card_err err;

	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_select(card);
	cvq_card_end(card, false);
	return err;
}

cvq_card_err
card_piv_cmd(cvq_card *card, const cvq_card_apdu *a, uint8_t **rsp,
             size_t *len, uint16_t *sw)
{
	bool fresh = false;
	cvq_card_err err;

	if (!card->selected) {
		err = card_select(card);
		if (err)
			return err;
		fresh = true;
	}
	err = card_transmit(card, a, rsp, len, sw);
	/* Yubico instructions (F0-FF) answer 6D00 on other cards: that is an
	 * answer, not a sign that PIV was deselected. */
	if (err || fresh || a->ins >= 0xF0 || (*sw != 0x6D00 && *sw != 0x6E00))
		return err;
	/* Another application may have selected something else between our
	 * transactions (shared mode): select PIV again and retry once. */
	free(*rsp);
	*rsp = NULL;
	err = card_select(card);
	if (err)
		return err;
	return card_transmit(card, a, rsp, len, sw);
}

cvq_card_err
card_piv_cmd_ok(cvq_card *card, const cvq_card_apdu *a, uint8_t **rsp,
                size_t *len)
{
	uint16_t sw;
	cvq_card_err err;

	*rsp = NULL;
	*len = 0;
	err = card_piv_cmd(card, a, rsp, len, &sw);
	if (err)
		return err;
	err = cvq_card_sw_to_err(sw, NULL);
	if (err) {
		card_free_secret(*rsp, *len);
		*rsp = NULL;
		*len = 0;
	}
	return err;
}

cvq_card_err
cvq_card_new_with_transport(const cvq_card_transport *t, cvq_card **out)
{
	cvq_card_err err;

	if (t == NULL || t->transmit == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	err = card_alloc(out);
	if (err)
		return err;
	(*out)->tp = *t;
	strcpy((*out)->reader, "custom transport");
	return CVQ_CARD_OK;
}

void
cvq_card_disconnect(cvq_card *card, bool reset)
{
	if (card == NULL)
		return;
	if (card->ctx != NULL)
		card_pcsc_disconnect(card, reset);
	card_forget(card);
	free(card);
}

cvq_card_err
cvq_card_begin(cvq_card *card)
{
	cvq_card_err err;

	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	if (card->tx_depth == 0 && card->ctx != NULL) {
		err = card_pcsc_begin(card);
		if (err)
			return err;
	}
	card->tx_depth++;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_end(cvq_card *card, bool reset)
{
	if (card == NULL || card->tx_depth <= 0)
		return CVQ_CARD_ERR_ARG;
	if (--card->tx_depth > 0 || card->ctx == NULL)
		return CVQ_CARD_OK;
	return card_pcsc_end(card, reset);
}

cvq_card_err
cvq_card_reconnect(cvq_card *card)
{
	cvq_card_chuid now;
	bool had_guid, reinserted = false;
	uint8_t old[CVQ_CARD_GUID_LEN];
	cvq_card_err err;

	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	if (card->ctx == NULL)
		return CVQ_CARD_ERR_UNSUPPORTED;
	had_guid = card->has_last_guid;
	memcpy(old, card->last_guid, sizeof(old));
	err = card_pcsc_reconnect(card, &reinserted);
	if (err)
		return err;
	card->selected = false;
	/* A card seen again after removal is a new insertion: read it anew. */
	card_forget(card);
	if (!had_guid)
		return CVQ_CARD_OK;
	err = cvq_card_read_chuid(card, &now);
	if (err == CVQ_CARD_ERR_NOT_FOUND || err == CVQ_CARD_ERR_NOT_PIV) {
		card->has_last_guid = false;
		return CVQ_CARD_ERR_CARD_CHANGED;
	}
	if (err)
		return err;
	(void)reinserted;
	if (memcmp(now.guid, old, sizeof(old)) != 0)
		return CVQ_CARD_ERR_CARD_CHANGED;
	return CVQ_CARD_OK;
}

const char *
cvq_card_reader_name(const cvq_card *card)
{
	return card != NULL ? card->reader : "";
}

const uint8_t *
cvq_card_atr(const cvq_card *card, size_t *len)
{
	static const uint8_t none[1] = {0};

	if (card == NULL) {
		if (len != NULL)
			*len = 0;
		return none;
	}
	if (len != NULL)
		*len = card->atr_len;
	return card->atr;
}

unsigned long
cvq_card_apdu_count(const cvq_card *card)
{
	return card != NULL ? card->apdus : 0;
}
