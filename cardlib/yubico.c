/*
 * Yubico PIV extensions: version (FD), serial (F8), metadata (F7),
 * retries (FA), reset (FB). Other cards answer 6D00: UNSUPPORTED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"

static cvq_card_err
yk_cmd(cvq_card *card, uint8_t ins, uint8_t p1, uint8_t p2, uint8_t **rsp,
       size_t *len)
{
	cvq_card_apdu a = {0x00, ins, p1, p2, NULL, 0, true, false};
	cvq_card_err err;

	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_piv_cmd_ok(card, &a, rsp, len);
	cvq_card_end(card, false);
	if (err == CVQ_CARD_ERR_ARG || err == CVQ_CARD_ERR_NOT_FOUND)
		err = CVQ_CARD_ERR_UNSUPPORTED;
	return err;
}

cvq_card_err
cvq_card_yk_version(cvq_card *card, uint8_t version[3])
{
	uint8_t *rsp = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card == NULL || version == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	if (!card->yk_c.known) {
		err = yk_cmd(card, 0xFD, 0, 0, &rsp, &len);
		if (err == CVQ_CARD_OK && len != 3)
			err = CVQ_CARD_ERR_UNSUPPORTED;
		if (err == CVQ_CARD_OK)
			memcpy(card->yk_version, rsp, 3);
		free(rsp);
		if (err != CVQ_CARD_OK && err != CVQ_CARD_ERR_UNSUPPORTED)
			goto out;
		card->yk_c.known = true;
		card->yk_c.err = err;
	}
	err = card->yk_c.err;
	if (err == CVQ_CARD_OK)
		memcpy(version, card->yk_version, 3);
out:
	cvq_card_end(card, false);
	return err;
}

cvq_card_err
cvq_card_yk_serial(cvq_card *card, uint32_t *serial)
{
	uint8_t *rsp = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card == NULL || serial == NULL)
		return CVQ_CARD_ERR_ARG;
	err = yk_cmd(card, 0xF8, 0, 0, &rsp, &len);
	if (err == CVQ_CARD_OK && len != 4)
		err = CVQ_CARD_ERR_BAD_DATA;
	if (err == CVQ_CARD_OK)
		*serial = (uint32_t)rsp[0] << 24 | (uint32_t)rsp[1] << 16 |
		          (uint32_t)rsp[2] << 8 | rsp[3];
	free(rsp);
	return err;
}

cvq_card_err
cvq_card_puk_status(cvq_card *card, int *tries_left)
{
	uint8_t *rsp = NULL;
	size_t len = 0;
	cvq_card_tlv t;
	cvq_card_err err;

	if (card == NULL || tries_left == NULL)
		return CVQ_CARD_ERR_ARG;
	*tries_left = -1;
	/* Metadata exists from firmware 5.3; older cards say 6D00 anyway. */
	err = yk_cmd(card, 0xF7, 0x00, CVQ_CARD_PUK, &rsp, &len);
	if (err == CVQ_CARD_OK) {
		/* 06: retries {total, remaining}. */
		if (cvq_card_tlv_find(rsp, len, 0x06, &t) || t.len != 2)
			err = CVQ_CARD_ERR_BAD_DATA;
		else
			*tries_left = t.value[1];
	}
	free(rsp);
	return err;
}

cvq_card_err
cvq_card_yk_set_retries(cvq_card *card, uint8_t pin_tries, uint8_t puk_tries)
{
	uint8_t *rsp = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card == NULL || pin_tries == 0 || puk_tries == 0)
		return CVQ_CARD_ERR_ARG;
	err = yk_cmd(card, 0xFA, pin_tries, puk_tries, &rsp, &len);
	free(rsp);
	return err;
}

/* 8 random digits: a value that is almost surely not the PIN or PUK. */
static cvq_card_err
random_digits(char out[9])
{
	uint8_t r[8];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return CVQ_CARD_ERR_CRYPTO;
	for (i = 0; i < 8; i++)
		out[i] = (char)('0' + r[i] % 10);
	out[8] = '\0';
	return CVQ_CARD_OK;
}

/* Spend every try left of the PIN (puk=false) or the PUK. */
static cvq_card_err
block_ref(cvq_card *card, bool puk)
{
	char wrong[9], pin2[9];
	cvq_card_err err;
	int i, tries;

	for (i = 0; i < 32; i++) {
		if ((err = random_digits(wrong)) || (err = random_digits(pin2)))
			return err;
		err = puk ? cvq_card_pin_unblock(card, wrong, pin2, &tries)
		          : cvq_card_pin_verify(card, wrong, &tries);
		if (err == CVQ_CARD_ERR_PIN_BLOCKED)
			return CVQ_CARD_OK;
		if (err != CVQ_CARD_ERR_PIN_WRONG && err != CVQ_CARD_OK)
			return err;
	}
	return CVQ_CARD_ERR_SW;
}

cvq_card_err
cvq_card_yk_reset(cvq_card *card)
{
	uint8_t v[3], *rsp = NULL;
	size_t len = 0;
	cvq_card_err err;

	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	/* Only cards that answer the version know FB; never block the PIN of
	 * a card that could not be reset afterwards. */
	err = cvq_card_yk_version(card, v);
	if (err == CVQ_CARD_OK)
		err = block_ref(card, false);
	if (err == CVQ_CARD_OK)
		err = block_ref(card, true);
	if (err == CVQ_CARD_OK)
		err = yk_cmd(card, 0xFB, 0, 0, &rsp, &len);
	free(rsp);
	card_forget(card);
	card->selected = false;
	cvq_card_end(card, false);
	return err;
}
