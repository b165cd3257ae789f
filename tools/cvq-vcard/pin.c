/* VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER: PIN and PUK logic. */
#include <string.h>

#include <openssl/crypto.h>

#include "card_int.h"

#define REF_PIN 0x80
#define REF_PUK 0x81

bool
vc_ref_format_ok(const uint8_t ref[VC_REF_LEN])
{
	size_t n = 0, i;

	while (n < VC_REF_LEN && ref[n] != 0xFF)
		n++;
	for (i = n; i < VC_REF_LEN; i++)
		if (ref[i] != 0xFF)
			return false;
	return n >= 6;
}

/* SP 800-73-4 part 2, 2.4.3: a PIV PIN is 6 to 8 digits ('0'-'9'). */
static bool
pin_digits_ok(const uint8_t ref[VC_REF_LEN])
{
	size_t i;

	if (!vc_ref_format_ok(ref))
		return false;
	for (i = 0; i < VC_REF_LEN && ref[i] != 0xFF; i++)
		if (ref[i] < '0' || ref[i] > '9')
			return false;
	return true;
}

/*
 * Check a presented reference against the stored one, keeping the try
 * counter: the decrement is marked dirty so main.c saves it before the
 * response leaves the card.
 */
static uint16_t
check_ref(struct vc_card *c, const uint8_t *stored, uint8_t *tries,
          uint8_t max, const uint8_t *given)
{
	if (*tries == 0)
		return SW_BLOCKED;
	if (CRYPTO_memcmp(stored, given, VC_REF_LEN) != 0) {
		(*tries)--;
		c->dirty = true;
		return SW_TRIES(*tries);
	}
	if (*tries != max) {
		*tries = max;
		c->dirty = true;
	}
	return SW_OK;
}

uint16_t
vc_pin_verify(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	uint16_t sw;

	if (a->p1 == 0xFF && a->lc == 0) {
		/* SP 800-73-4: P1=FF resets the PIN's security status. */
		c->pin_verified = c->pin_fresh = false;
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 != REF_PIN)
		return SW_REF_NOT_FOUND;
	if (a->lc == 0) {
		if (c->pin_tries == 0)
			return SW_BLOCKED;
		return c->pin_verified ? SW_OK : SW_TRIES(c->pin_tries);
	}
	if (a->lc != VC_REF_LEN)
		return SW_WRONG_DATA;
	sw = check_ref(c, c->pin, &c->pin_tries, c->pin_max, a->data);
	c->pin_verified = c->pin_fresh = (sw == SW_OK);
	return sw;
}

uint16_t
vc_pin_change(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	uint8_t *ref, *tries, max;
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 == REF_PIN) {
		ref = c->pin;
		tries = &c->pin_tries;
		max = c->pin_max;
	} else if (a->p2 == REF_PUK) {
		ref = c->puk;
		tries = &c->puk_tries;
		max = c->puk_max;
	} else {
		return SW_REF_NOT_FOUND;
	}
	if (a->lc != 2 * VC_REF_LEN)
		return SW_WRONG_DATA;
	if (*tries == 0)
		return SW_BLOCKED;
	if (a->p2 == REF_PIN ? !pin_digits_ok(a->data + VC_REF_LEN)
	                     : !vc_ref_format_ok(a->data + VC_REF_LEN))
		return SW_WRONG_DATA;
	sw = check_ref(c, ref, tries, max, a->data);
	if (sw != SW_OK) {
		if (a->p2 == REF_PIN)
			c->pin_verified = c->pin_fresh = false;
		return sw;
	}
	memcpy(ref, a->data + VC_REF_LEN, VC_REF_LEN);
	c->dirty = true;
	return SW_OK;
}

uint16_t
vc_pin_reset(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 != REF_PIN)
		return SW_REF_NOT_FOUND;
	if (a->lc != 2 * VC_REF_LEN)
		return SW_WRONG_DATA;
	if (c->puk_tries == 0)
		return SW_BLOCKED;
	if (!pin_digits_ok(a->data + VC_REF_LEN))
		return SW_WRONG_DATA;
	sw = check_ref(c, c->puk, &c->puk_tries, c->puk_max, a->data);
	if (sw != SW_OK)
		return sw;
	memcpy(c->pin, a->data + VC_REF_LEN, VC_REF_LEN);
	c->pin_tries = c->pin_max;
	c->pin_verified = c->pin_fresh = false;
	c->dirty = true;
	return SW_OK;
}
