/*
 * PIN and PUK: VERIFY, empty VERIFY (tries left without spending one),
 * CHANGE REFERENCE DATA, RESET RETRY COUNTER. Every buffer that held a
 * PIN is wiped; no PIN is ever traced or logged.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card_internal.h"

cvq_card_err
card_pin_block(const char *pin, uint8_t out[8])
{
	size_t n, i;

	if (pin == NULL)
		return CVQ_CARD_ERR_ARG;
	n = strnlen(pin, 9);
	if (n < 6 || n > 8)
		return CVQ_CARD_ERR_PIN_FORMAT;
	memset(out, 0xFF, 8);
	for (i = 0; i < n; i++) {
		if ((uint8_t)pin[i] == 0xFF) {
			OPENSSL_cleanse(out, 8);
			return CVQ_CARD_ERR_PIN_FORMAT;
		}
		out[i] = (uint8_t)pin[i];
	}
	return CVQ_CARD_OK;
}

/*
 * A PIN about to be set: SP 800-73-4 part 2, 2.4.3 and the CVQ profile
 * want 6-8 digits. Checked here so a card never holds a PIN the kiosk
 * (and cvqd's PIN_FORMAT check) would refuse; presented PINs stay
 * lenient (card_pin_block) for tokens personalised elsewhere.
 */
static cvq_card_err
new_pin_block(const char *pin, uint8_t out[8])
{
	cvq_card_err err = card_pin_block(pin, out);
	size_t i;

	for (i = 0; err == CVQ_CARD_OK && i < 8 && out[i] != 0xFF; i++)
		if (out[i] < '0' || out[i] > '9')
			err = CVQ_CARD_ERR_PIN_FORMAT;
	if (err)
		OPENSSL_cleanse(out, 8);
	return err;
}

/* Send a command carrying secrets; map the SW, tries left included. */
static cvq_card_err
secret_cmd(cvq_card *card, uint8_t ins, uint8_t p2, const uint8_t *data,
           size_t len, int *tries_left)
{
	cvq_card_apdu a = {0x00, ins, 0x00, p2, data, len, false, true};
	uint8_t *rsp = NULL;
	size_t rlen = 0;
	uint16_t sw;
	cvq_card_err err;
	int tries;

	err = card_piv_cmd(card, &a, &rsp, &rlen, &sw);
	card_free_secret(rsp, rlen);
	if (err)
		return err;
	err = cvq_card_sw_to_err(sw, &tries);
	if (tries_left != NULL)
		*tries_left = tries;
	return err;
}

cvq_card_err
cvq_card_pin_verify(cvq_card *card, const char *pin, int *tries_left)
{
	uint8_t block[8];
	cvq_card_err err;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	err = card_pin_block(pin, block);
	if (err)
		return err;
	err = cvq_card_begin(card);
	if (err == CVQ_CARD_OK) {
		err = secret_cmd(card, 0x20, CVQ_CARD_PIN, block, 8, tries_left);
		cvq_card_end(card, false);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return err;
}

cvq_card_err
cvq_card_pin_status(cvq_card *card, int *tries_left, bool *verified)
{
	cvq_card_err err;
	int tries = -1;

	if (card == NULL || tries_left == NULL || verified == NULL)
		return CVQ_CARD_ERR_ARG;
	*verified = false;
	*tries_left = -1;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = secret_cmd(card, 0x20, CVQ_CARD_PIN, NULL, 0, &tries);
	cvq_card_end(card, false);
	if (err == CVQ_CARD_OK) {
		*verified = true;
		return CVQ_CARD_OK;
	}
	if (err == CVQ_CARD_ERR_PIN_WRONG) {
		/* 63Cx to an empty VERIFY is an answer, not a failure. */
		*tries_left = tries;
		return CVQ_CARD_OK;
	}
	if (err == CVQ_CARD_ERR_PIN_BLOCKED)
		*tries_left = 0;
	return err;
}

cvq_card_err
cvq_card_pin_change(cvq_card *card, cvq_card_pin_ref ref, const char *old_pin,
                    const char *new_pin, int *tries_left)
{
	uint8_t block[16];
	cvq_card_err err;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL || (ref != CVQ_CARD_PIN && ref != CVQ_CARD_PUK))
		return CVQ_CARD_ERR_ARG;
	err = card_pin_block(old_pin, block);
	if (err == CVQ_CARD_OK)
		err = ref == CVQ_CARD_PIN ? new_pin_block(new_pin, block + 8)
		                          : card_pin_block(new_pin, block + 8);
	if (err == CVQ_CARD_OK && ref == CVQ_CARD_PUK && strlen(new_pin) != 8)
		err = CVQ_CARD_ERR_PIN_FORMAT; /* a PUK is 8 bytes, never padded */
	if (err == CVQ_CARD_OK)
		err = cvq_card_begin(card);
	if (err == CVQ_CARD_OK) {
		err = secret_cmd(card, 0x24, (uint8_t)ref, block, 16, tries_left);
		cvq_card_end(card, false);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return err;
}

cvq_card_err
cvq_card_pin_unblock(cvq_card *card, const char *puk, const char *new_pin,
                     int *tries_left)
{
	uint8_t block[16];
	cvq_card_err err;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	err = card_pin_block(puk, block);
	if (err == CVQ_CARD_OK)
		err = new_pin_block(new_pin, block + 8);
	if (err == CVQ_CARD_OK)
		err = cvq_card_begin(card);
	if (err == CVQ_CARD_OK) {
		err = secret_cmd(card, 0x2C, CVQ_CARD_PIN, block, 16, tries_left);
		cvq_card_end(card, false);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return err;
}
