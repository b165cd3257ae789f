/*
 * cvq-vcard — a virtual PIV card (NIST SP 800-73-4) for pcscd's vpcd.
 *
 * The card logic is a pure function of (card, command APDU): it never
 * touches a socket or a file, so unit tests and the fuzz target drive it
 * directly. The caller (main.c) persists the card with vc_state_save()
 * whenever vc_card_take_dirty() says the persistent part changed, BEFORE
 * it sends the response, so that a decremented PIN counter survives
 * kill -9.
 */
#ifndef CVQ_VCARD_H
#define CVQ_VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vc_err {
	VC_OK = 0,
	VC_ERR_ARG,      /* invalid argument */
	VC_ERR_NOMEM,    /* allocation failed */
	VC_ERR_IO,       /* reading or writing the state file failed */
	VC_ERR_FORMAT,   /* the state file is malformed */
	VC_ERR_CRYPTO,   /* an OpenSSL operation failed */
	VC_ERR__COUNT
} vc_err;

const char *vc_strerror(vc_err err);

struct vc_card;

/* Response buffers given to vc_card_process() need at least this much. */
#define VC_RESP_MAX (256 + 2)

/* A blank card with factory defaults; serial 0 picks a random one. */
struct vc_card *vc_card_new(uint32_t serial);
void vc_card_free(struct vc_card *card);

/* Power off, power on, reset, removal: forget all security state. */
void vc_card_reset(struct vc_card *card);

/*
 * Process one command APDU (as received from vpcd) and write the response
 * APDU (data + SW1 SW2, never more than 256 data bytes) to resp[0..cap).
 * Returns the response length (at least 2); cap must be >= VC_RESP_MAX.
 */
size_t vc_card_process(struct vc_card *card, const uint8_t *cmd, size_t len,
                       uint8_t *resp, size_t cap);

/* True (once) when the persistent state changed since the last call. */
bool vc_card_take_dirty(struct vc_card *card);

uint32_t vc_card_serial(const struct vc_card *card);

/* Test hooks for the fuzz target: skip the authentications. */
void vc_card_test_authenticate(struct vc_card *card, bool mgmt, bool pin);

/* State file (docs/vcard.md): text, one record a line, mode 0600. */
vc_err vc_state_encode(const struct vc_card *card, char **out, size_t *len);
vc_err vc_state_decode(const char *buf, size_t len, struct vc_card **out);
/* Atomic: write PATH.tmp, fsync, rename over PATH, fsync the directory. */
vc_err vc_state_save(const struct vc_card *card, const char *path);
vc_err vc_state_load(const char *path, struct vc_card **out);

#endif
