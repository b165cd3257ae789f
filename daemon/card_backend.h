/*
 * cvqd — what the daemon needs from a card, whatever speaks to it: the
 * PIV card application through libcvqcard (card_piv.c), a PKCS#11 token
 * through libcvqp11, or nothing at all (card_none.c, the portal server).
 *
 * Calls come from one thread at a time per reader (cards.c queues them);
 * list() and wait_change() may run beside a sign() on another reader.
 * The PIN passed to sign() goes to the card and nowhere else: backends
 * never copy it beyond the APDU buffer and wipe that.
 */
#ifndef CVQD_CARD_BACKEND_H
#define CVQD_CARD_BACKEND_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tbs.h"

typedef enum cvqd_key_slot {
	CVQD_SLOT_AUTH = 0x9A,   /* citizen authentication: /v1/authenticate */
	CVQD_SLOT_SIGN = 0x9C,   /* citizen signature: /v1/sign */
} cvqd_key_slot;

typedef struct cvqd_card_info {
	char reader[128];
	bool present;          /* a card is in the reader */
	bool usable;           /* ... and the backend can talk to it */
	char guid[33];         /* CHUID GUID, hex; "" when unknown */
	char holder[128];      /* CN of the authentication certificate, or "" */
	int pin_tries;         /* -1 when unknown */
	char kind[8];          /* "piv", "pkcs11" */
	bool pinpad;           /* the reader has a PIN pad (known once a card was in) */
	/* Issue #17, checked at insertion before any PIN dialog: 1 genuine
	 * city card, -1 not (usable false unless a foreign card is allowed),
	 * 0 not checked (no anchors, not a PIV backend). */
	int authentic;
	char auth_reason[40];  /* cvq_piv_auth_reason_name(), "" when not checked */
} cvqd_card_info;

typedef struct cvqd_card_backend {
	const char *name;
	void *impl;
	void (*destroy)(void *impl);
	/* Readers and their cards, at most cap. */
	cvqd_err (*list)(void *impl, cvqd_card_info *out, size_t cap, size_t *n);
	/*
	 * Return when readers or cards may have changed, or after timeout_ms
	 * (CVQD_OK either way: the caller lists again); an error when the
	 * PC/SC service is gone (the caller retries later).
	 */
	cvqd_err (*wait_change)(void *impl, unsigned timeout_ms);
	/* The certificate of a slot of the card in `reader`. */
	cvqd_err (*get_cert)(void *impl, const char *reader, cvqd_key_slot slot, X509 **out);
	/*
	 * In one card transaction: verify the PIN, then sign tbs with the
	 * slot's key (ECDSA: DER signature; RSA: PKCS#1 v1.5 with tbs->md's
	 * DigestInfo). On CVQD_ERR_PIN_WRONG, *tries_left says how many
	 * remain (-1: unknown). Never retries. pin NULL: the holder types it
	 * on the reader's PIN pad (info.pinpad), at most pad_timeout_s;
	 * CVQD_ERR_PIN_CANCELLED / _PIN_TIMEOUT when the pad says so.
	 */
	cvqd_err (*sign)(void *impl, const char *reader, cvqd_key_slot slot,
	                 const char *pin, unsigned pad_timeout_s, const cvqd_tbs *tbs,
	                 uint8_t *sig, size_t *siglen, int *tries_left);
} cvqd_card_backend;

/* No readers: the portal server's verification-only daemon. */
cvqd_card_backend *cvqd_card_backend_none(void);

/* PC/SC + PIV through libcvqcard; NULL when it cannot start. */
cvqd_card_backend *cvqd_card_backend_piv(const char *reader_filter);
/*
 * Check every inserted card against `trust` (the city CA: cvq_piv_authenticate,
 * quick mode) before it is listed usable; takes a reference. foreign_ok:
 * a card whose CHUID is unsigned or signed by an issuer not in `trust`
 * (another issuer's PIV card) stays usable; a card that claims the city as
 * its issuer and fails (a copy) never does.
 */
void cvqd_card_backend_piv_trust(cvqd_card_backend *b, X509_STORE *trust, bool foreign_ok);

/*
 * Tokens behind a PKCS#11 module through libcvqp11; keys by CKA_ID as
 * URI values ("%01" authentication, "%02" signature: OpenSC's PIV ids).
 */
cvqd_card_backend *cvqd_card_backend_p11(const char *module, const char *auth_id,
                                         const char *sign_id);

void cvqd_card_backend_free(cvqd_card_backend *b);

#endif
