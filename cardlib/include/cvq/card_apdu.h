/*
 * cvq cardlib — APDU transport (ISO/IEC 7816-4).
 *
 * A transport moves one raw command APDU to the card and one raw response
 * (data + SW1 SW2) back. On it, cvq_card_apdu_transmit() builds short or
 * extended APDUs, chains commands longer than 255 bytes (CLA bit 0x10),
 * collects 61xx responses with GET RESPONSE and repeats a command with
 * the right Le after 6Cxx.
 *
 * PC/SC is one transport (the default, inside cvq_card_connect); unit
 * tests and other links plug in their own with cvq_card_new_with_transport
 * and get the whole PIV layer on it.
 */
#ifndef CVQ_CARD_APDU_H
#define CVQ_CARD_APDU_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvq/card.h"
#include "cvq/card_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CVQ_CARD_SW_OK 0x9000u

/* The biggest response the library assembles (PIV objects are < 12 KiB). */
#define CVQ_CARD_RESPONSE_MAX 65536u

typedef struct cvq_card_transport {
	/*
	 * Send cmd[0..cmd_len), write the raw response (data, SW1, SW2) into
	 * rsp[0..*rsp_len) where *rsp_len is the capacity on entry.
	 * Return CVQ_CARD_OK, or CVQ_CARD_ERR_CARD_REMOVED / _COMM /
	 * _NO_SERVICE / _PCSC (with card_reset set when the card was reset:
	 * the caller reconnects).
	 */
	cvq_card_err (*transmit)(void *impl, const uint8_t *cmd, size_t cmd_len,
	                         uint8_t *rsp, size_t *rsp_len);
	void *impl;
	/* Card and reader take extended-length APDUs (else: chaining + 61xx). */
	bool extended;
} cvq_card_transport;

typedef struct cvq_card_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;    /* command data, or NULL */
	size_t lc;              /* its length (any size: chained or extended) */
	bool has_le;            /* send Le (00 = up to 256 / 65536) */
	bool sensitive;         /* data is a secret: never traced */
} cvq_card_apdu;

/*
 * Send one logical command and assemble its whole response.
 * On CVQ_CARD_OK, *sw is the final status word (any value: 9000, 63Cx,
 * 6A82 ...; map it with cvq_card_sw_to_err) and *rsp / *rsp_len hold the
 * response data, malloc'd (NULL when empty); the caller frees it (wipe it
 * first when it may hold a secret).
 *   CVQ_CARD_ERR_BAD_DATA      response too short or over CVQ_CARD_RESPONSE_MAX
 *   transport errors as above
 * A chained command stops at the first block answered with anything but
 * 9000 and returns that status word.
 */
CVQ_EXPORT cvq_card_err cvq_card_apdu_transmit(const cvq_card_transport *t,
                                    const cvq_card_apdu *apdu,
                                    uint8_t **rsp, size_t *rsp_len,
                                    uint16_t *sw);

/*
 * Map a status word to an error. *tries_left (optional) gets x for 63Cx
 * and 0 for 6983, else -1.
 *   9000 OK; 63Cx PIN_WRONG; 6983 PIN_BLOCKED; 6982 SECURITY;
 *   6A80 ARG; 6A82 / 6A88 / 6A83 NOT_FOUND; 6D00 / 6E00 / 6A81 / 6A86 /
 *   6A87 UNSUPPORTED; 6700 ARG; 6A84 BUFFER (no room on the card);
 *   anything else SW.
 */
CVQ_EXPORT cvq_card_err cvq_card_sw_to_err(uint16_t sw, int *tries_left);

/*
 * A cvq_card on a transport of your own (no PC/SC; begin/end are no-ops,
 * reconnect returns CVQ_CARD_ERR_UNSUPPORTED). The transport struct is
 * copied; impl must outlive the card. Free with cvq_card_disconnect().
 */
CVQ_EXPORT cvq_card_err cvq_card_new_with_transport(const cvq_card_transport *t,
                                         cvq_card **out);

#ifdef __cplusplus
}
#endif
#endif
