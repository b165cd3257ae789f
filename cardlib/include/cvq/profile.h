/*
 * cvq cardlib — the CVQ card profile on PIV.
 *
 *   slot 9A  citizen authentication (portal login), PIN once per session
 *   slot 9C  citizen signature (transactions), PIN before every signature
 *   slot 9E  card authentication (identify a card without PIN), optional
 *
 * The card management key is never the factory default after enrolment:
 * it is derived per card from a master secret held by the CA side and the
 * card's GUID (docs/cardlib.md):
 *
 *   key = HKDF-SHA256(IKM = master secret, salt = "cvq-mgmt-key-v1",
 *                     info = GUID (16 bytes) || algorithm id (1 byte))
 *         truncated to the algorithm's key length
 *
 * AES-192 (0x0A) by default; 3DES (0x03) for cards without AES. The
 * algorithm id in info makes the 3DES and AES keys of one card unrelated.
 * The derived key is never stored on the host.
 */
#ifndef CVQ_CARD_PROFILE_H
#define CVQ_CARD_PROFILE_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvq/card.h"
#include "cvq/piv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CVQ_CARD_MGMT_ALG_DEFAULT CVQ_CARD_ALG_AES192
#define CVQ_CARD_MGMT_SALT "cvq-mgmt-key-v1"
#define CVQ_CARD_MASTER_MIN 16    /* bytes of master secret, at least */

typedef enum cvq_card_role {
	CVQ_CARD_ROLE_AUTH = CVQ_CARD_SLOT_AUTH,
	CVQ_CARD_ROLE_SIGN = CVQ_CARD_SLOT_SIGN,
	CVQ_CARD_ROLE_CARDAUTH = CVQ_CARD_SLOT_CARDAUTH,
} cvq_card_role;

/* "authentication", "signature", "card-authentication"; NULL otherwise. */
CVQ_EXPORT const char *cvq_card_role_name(cvq_card_slot slot);

/*
 * Derive the management key of the card with this GUID. key must hold
 * cvq_card_mgmt_key_len(alg) bytes; the caller wipes it after use.
 *   CVQ_CARD_ERR_ARG     master shorter than CVQ_CARD_MASTER_MIN, alg not a
 *                        management key algorithm
 *   CVQ_CARD_ERR_CRYPTO  HKDF failed
 */
CVQ_EXPORT cvq_card_err cvq_card_mgmt_key_derive(const uint8_t *master, size_t master_len,
                                      const uint8_t guid[CVQ_CARD_GUID_LEN],
                                      cvq_card_alg alg, uint8_t *key);

/*
 * Derive this card's key (GUID from its CHUID) and authenticate with it.
 *   CVQ_CARD_ERR_NOT_FOUND  the card has no CHUID (blank: use the factory key)
 *   CVQ_CARD_ERR_AUTH       the card's key is not the derived one
 */
CVQ_EXPORT cvq_card_err cvq_card_mgmt_auth_derived(cvq_card *card, const uint8_t *master,
                                        size_t master_len, cvq_card_alg alg);

typedef enum cvq_card_state {
	CVQ_CARD_STATE_BLANK = 1,     /* no CHUID and no 9A/9C certificate */
	CVQ_CARD_STATE_PARTIAL,       /* some of the profile, not all (enrolment cut short) */
	CVQ_CARD_STATE_ENROLLED,      /* CHUID + certificates in 9A and 9C */
	CVQ_CARD_STATE_PIN_BLOCKED,   /* enrolled, PIN blocked (PUK can unblock) */
	CVQ_CARD_STATE_BLOCKED,       /* PIN and PUK blocked: only a reset helps */
} cvq_card_state;

/* "blank", "partial", "enrolled", "pin-blocked", "blocked". */
CVQ_EXPORT const char *cvq_card_state_name(cvq_card_state state);

typedef struct cvq_card_status {
	cvq_card_state state;
	bool has_guid;
	uint8_t guid[CVQ_CARD_GUID_LEN];
	char expiry[9];           /* CHUID expiry YYYYMMDD or "" */
	bool has_cert_auth, has_cert_sign, has_cert_cardauth;
	int pin_tries;            /* -1: unknown */
	bool pin_verified;
	int puk_tries;            /* -1: unknown (not a Yubico-compatible card) */
} cvq_card_status;

/*
 * The card's profile state: CHUID, the three certificates (cached), PIN
 * tries (empty VERIFY) and PUK tries where the card tells them. No try
 * is spent. In one transaction: on a fresh handle SELECT + 4 GET DATA +
 * VERIFY (+ Yubico metadata), later calls only the PIN and PUK queries.
 */
CVQ_EXPORT cvq_card_err cvq_card_get_status(cvq_card *card, cvq_card_status *out);

/* Lowercase hex of a GUID, 33 bytes with the NUL. */
CVQ_EXPORT void cvq_card_guid_hex(const uint8_t guid[CVQ_CARD_GUID_LEN], char out[33]);

#ifdef __cplusplus
}
#endif
#endif
