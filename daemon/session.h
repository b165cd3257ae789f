/*
 * cvqd — one card operation for an API request: find the card and wait
 * for our turn on its reader, read and check the slot's certificate, ask
 * the PIN, have the card sign. The PIN lives in this struct only between
 * the dialog and the card, and is wiped right after.
 */
#ifndef CVQD_SESSION_H
#define CVQD_SESSION_H

#include <openssl/x509.h>
#include <stdint.h>

#include "card_backend.h"
#include "cards.h"
#include "http.h"
#include "pin.h"
#include "trust.h"

typedef struct cvqd_session {
	cvqd_req *r;
	cvqd_key_slot slot;
	cvqd_card_op *op;
	cvqd_card_info info;
	X509 *cert;
	cvqd_cert_status status;
	char pin[CVQD_PIN_MAX + 1];
	bool have_pin;
	bool pinpad;             /* the PIN is typed on the reader's pad */
	int tries_left;
	bool quota;              /* holds one of the caller's card operations */
	char why[200];           /* message for the error answer */
} cvqd_session;

/*
 * One of the caller's max_card_ops_per_caller (else CVQD_ERR_TOO_MANY at
 * once, before any queue), then card + turn + certificate + its status.
 */
cvqd_err cvqd_session_open(cvqd_session *s, cvqd_req *r, cvqd_key_slot slot);
/*
 * The PIN dialog; cancelled when the client goes, the card goes, or we
 * stop. On a PIN-pad reader (and [pin] pinpad = auto) a CONFIRM dialog
 * instead: the PIN is typed on the pad during cvqd_session_sign.
 */
cvqd_err cvqd_session_pin(cvqd_session *s, const char *description);
/* The text the dialog shows for description: the PIN-pad form on a pad reader. */
int cvqd_session_dialog_text(const cvqd_session *s, const char *description,
                             char *out, size_t len);
/* Sign with the PIN just typed (wiped after, whatever happens). */
cvqd_err cvqd_session_sign(cvqd_session *s, const cvqd_tbs *tbs,
                           uint8_t *sig, size_t *siglen);
/* Release the card to the next in line; wipe and free. */
void cvqd_session_close(cvqd_session *s);

/* Record the outcome; 0 on success (or when no journal is configured). */
int cvqd_session_journal(cvqd_session *s, const char *op, const uint8_t *digest, cvqd_err result);

#endif
