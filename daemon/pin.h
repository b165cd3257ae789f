/*
 * cvqd — what the PIN dialog says, in the holder's language (gettext,
 * domain "cvqd": French catalogue in po/, English msgids as fallback),
 * and asking for the PIN through the configured pinentry program.
 */
#ifndef CVQD_PIN_H
#define CVQD_PIN_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

#define CVQD_PIN_MAX 16  /* PIV PINs are at most 8; room for other tokens */

/* Set the message language from the configuration (once, at start). */
void cvqd_i18n_setup(const cvqd_config *cfg);

/* Transactions are described by their type's sentence: display.h. */
/* "Connexion à https://portail.example — carte de …" */
int cvqd_pin_describe_login(const char *origin, const char *holder, char *out, size_t len);

/*
 * Show the dialog; the PIN lands in pin[CVQD_PIN_MAX + 1]. cancel_fd:
 * readable => abandon (client gone, card pulled, daemon stopping).
 */
cvqd_err cvqd_pin_ask(const cvqd_config *cfg, const char *description,
                      int cancel_fd, char *pin, size_t cap);

/*
 * The PIN-pad form of the dialog text: description + "\n" + "Confirm,
 * then type your PIN on the reader's keypad". 0, or -1 when it does not
 * fit out[len].
 */
int cvqd_pin_pad_text(const char *description, char *out, size_t len);

/*
 * A PIN-pad reader: show what the holder approves (CONFIRM, no GETPIN:
 * the PIN is typed on the reader). CVQD_OK when confirmed;
 * CVQD_ERR_PIN_CANCELLED when not, or when cancel_fd fires.
 */
cvqd_err cvqd_pin_confirm_pad(const cvqd_config *cfg, const char *description,
                              int cancel_fd);

#endif
