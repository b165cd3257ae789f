/*
 * cvq cardlib — PIN-pad readers (PC/SC part 10, secure PIN entry).
 *
 * With a PIN pad the holder types the PIN on the reader's own keys: the
 * reader puts it into the VERIFY and the PIN never reaches the host. The
 * library asks the reader for its features (SCardControl with
 * CM_IOCTL_GET_FEATURE_REQUEST) and uses FEATURE_VERIFY_PIN_DIRECT with a
 * PIN_VERIFY_STRUCTURE for the PIV Card Application PIN: VERIFY 00 20 00
 * 80, 8 bytes, the PIN in ASCII padded with FF, 6 to 8 digits.
 *
 * Return values as in cvq/card.h: CVQ_CARD_OK (0) on success; the errors
 * listed are the ones a caller should expect; CVQ_CARD_ERR_ARG,
 * CVQ_CARD_ERR_NOMEM and CVQ_CARD_ERR_INTERNAL can come from any function.
 */
#ifndef CVQ_CARD_PINPAD_H
#define CVQ_CARD_PINPAD_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvq/card.h"
#include "cvq/card_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Control codes of the reader's secure PIN entry features; 0 = absent. */
typedef struct cvq_card_pinpad_features {
	uint32_t verify_pin_direct;   /* FEATURE_VERIFY_PIN_DIRECT (06) */
	uint32_t modify_pin_direct;   /* FEATURE_MODIFY_PIN_DIRECT (07) */
	uint32_t ifd_pin_properties;  /* FEATURE_IFD_PIN_PROPERTIES (0A) */
} cvq_card_pinpad_features;

/*
 * Parse the answer to CM_IOCTL_GET_FEATURE_REQUEST: a list of
 * PCSC_TLV_STRUCTURE (tag, length 4, big-endian control code). Unknown
 * tags are skipped; a feature given with another length than 4 is
 * ignored. Never reads outside buf[0..len) (fuzzed: card-pinpad).
 *   CVQ_CARD_OK            *out filled (every field 0: no PIN pad)
 *   CVQ_CARD_ERR_BAD_DATA  a TLV runs past the end of the buffer
 */
CVQ_EXPORT cvq_card_err cvq_card_pinpad_parse_features(const uint8_t *buf, size_t len,
                                            cvq_card_pinpad_features *out);

/*
 * Whether the card's reader can verify a PIN itself
 * (FEATURE_VERIFY_PIN_DIRECT). *has is false for readers that answer the
 * feature request with an error (most readers without a pad) and for a
 * card on a caller's transport (cvq/card_apdu.h).
 *   CVQ_CARD_OK            *has set
 *   CVQ_CARD_ERR_BAD_DATA  the reader's feature list is malformed
 *   CVQ_CARD_ERR_CARD_REMOVED, CVQ_CARD_ERR_NO_SERVICE
 */
CVQ_EXPORT cvq_card_err cvq_card_has_pinpad(cvq_card *card, bool *has);

/*
 * VERIFY the PIV PIN typed on the reader's PIN pad: SELECT the PIV
 * application, then FEATURE_VERIFY_PIN_DIRECT, in one transaction. The
 * call blocks while the holder types (timeout_s: 1..255 s, 0 = the
 * reader's default). *tries_left (optional): as cvq_card_pin_verify.
 * To sign with the PIN-always key (9C) call it inside the same
 * cvq_card_begin/cvq_card_end as cvq_card_sign (with pin = NULL).
 *   CVQ_CARD_ERR_PIN_WRONG    wrong PIN (63Cx), *tries_left > 0
 *   CVQ_CARD_ERR_PIN_BLOCKED  blocked (63C0 or 6983)
 *   CVQ_CARD_ERR_CANCELLED    the holder pressed Cancel on the pad (6401)
 *   CVQ_CARD_ERR_TIMEOUT      nobody typed in time (6400)
 *   CVQ_CARD_ERR_PIN_FORMAT   the pad refused the PIN's length (6403)
 *   CVQ_CARD_ERR_UNSUPPORTED  the reader has no PIN pad, or refused the
 *                             PIN_VERIFY_STRUCTURE (6B80)
 *   CVQ_CARD_ERR_NOT_PIV      the card has no PIV application
 *   CVQ_CARD_ERR_SW           any other status word
 *   CVQ_CARD_ERR_CARD_REMOVED, CVQ_CARD_ERR_CARD_CHANGED,
 *   CVQ_CARD_ERR_BUSY, CVQ_CARD_ERR_NO_SERVICE, CVQ_CARD_ERR_PCSC,
 *   CVQ_CARD_ERR_COMM
 */
CVQ_EXPORT cvq_card_err cvq_card_verify_pin_pinpad(cvq_card *card, unsigned timeout_s,
                                        int *tries_left);

/*
 * The PIN_VERIFY_STRUCTURE the call above sends (19 + 13 bytes, into
 * out[cap]); *len its size. Exposed for tests.
 *   CVQ_CARD_ERR_BUFFER  cap too small
 */
CVQ_EXPORT cvq_card_err cvq_card_pinpad_verify_structure(unsigned timeout_s, uint8_t *out,
                                              size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
