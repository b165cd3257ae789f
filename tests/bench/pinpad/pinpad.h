/*
 * libifdcvqpinpad — a PIN-pad reader for the test bench: an IFD handler
 * (pcsc-lite's ifdhandler.h, API v3) that speaks vpcd's socket protocol
 * to cvq-vcard and adds PC/SC part 10 secure PIN entry
 * (FEATURE_VERIFY_PIN_DIRECT, FEATURE_MODIFY_PIN_DIRECT,
 * FEATURE_IFD_PIN_PROPERTIES). The "keys" come from a keypad script file (see keypad.c): the bench's citizen.
 */
#ifndef CVQ_PINPAD_H
#define CVQ_PINPAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a pad answers by itself (PC/SC part 10, 2.5.x). */
#define PP_SW_TIMEOUT   0x6400u  /* nobody typed in time */
#define PP_SW_CANCELLED 0x6401u  /* Cancel key */
#define PP_SW_MISMATCH  0x6402u  /* new PIN and its confirmation differ */
#define PP_SW_BAD_LEN   0x6403u  /* PIN shorter or longer than allowed */
#define PP_SW_BAD_PARAM 0x6B80u  /* the structure makes no sense */

#define PP_PIN_MAX 32            /* digits a holder can type */
#define PP_APDU_MAX 261          /* short APDU: 4 + 1 + 255 + 1 */

/* PIN_VERIFY_STRUCTURE (pcsc-lite reader.h), decoded and checked. */
typedef struct pp_verify {
	uint8_t timeout;         /* bTimerOut, seconds; 0 = the pad's default */
	uint8_t format;          /* bmFormatString */
	uint8_t block;           /* bmPINBlockString */
	uint8_t length_format;   /* bmPINLengthFormat */
	uint8_t min_len, max_len;/* wPINMaxExtraDigit: 0xXXYY = min, max */
	uint8_t apdu[PP_APDU_MAX];
	size_t apdu_len;         /* ulDataLength */
} pp_verify;

/* PIN_MODIFY_STRUCTURE, decoded and checked. */
#define PP_MODIFY_CONFIRM 0x01   /* bConfirmPIN: the new PIN typed twice */
#define PP_MODIFY_OLD     0x02   /* bConfirmPIN: the current PIN typed first */
typedef struct pp_modify {
	pp_verify base;          /* format, block, lengths, APDU */
	uint8_t old_off;         /* bInsertionOffsetOld, bytes past the PIN position */
	uint8_t new_off;         /* bInsertionOffsetNew */
	uint8_t confirm;         /* bConfirmPIN */
} pp_modify;

/*
 * Decode and check a PIN_VERIFY_STRUCTURE from the host (outside bytes):
 * 0 when it is usable, else -1 (the pad answers PP_SW_BAD_PARAM).
 * Multi-byte fields are little-endian (CCID; pcsc-lite on every host).
 */
int pp_verify_parse(const uint8_t *in, size_t len, pp_verify *out);

/*
 * The command APDU with `pin` (n characters, as typed) put in as the
 * structure says. Returns 0, or the status word the pad answers instead
 * (PP_SW_BAD_LEN, PP_SW_BAD_PARAM). out[PP_APDU_MAX].
 */
unsigned pp_verify_build(const pp_verify *v, const char *pin, size_t n,
                         uint8_t *out, size_t *out_len);

/*
 * The same for PIN_MODIFY_STRUCTURE (fixed PIN blocks only, no length
 * field), and its APDU with the current PIN (when PP_MODIFY_OLD) and the
 * new one put in.
 */
int pp_modify_parse(const uint8_t *in, size_t len, pp_modify *out);
unsigned pp_modify_build(const pp_modify *m, const char *old, size_t old_n,
                         const char *new_pin, size_t new_n, uint8_t *out,
                         size_t *out_len);

/* The keypad: what the holder does when the pad asks for the PIN. */
typedef enum pp_key_action {
	PP_KEY_PIN,              /* typed a PIN, then OK */
	PP_KEY_CANCEL,           /* pressed Cancel */
	PP_KEY_TIMEOUT,          /* walked away */
} pp_key_action;

/*
 * Wait (at most timeout_s) for the next line of the keypad script at
 * `path` and consume it. PP_KEY_PIN fills pin[cap] (NUL-terminated).
 * A missing or empty script past the timeout is PP_KEY_TIMEOUT.
 */
pp_key_action pp_keypad_next(const char *path, unsigned timeout_s,
                             char *pin, size_t cap);

/* Parse one script line (no newline): the fuzzable half of the above. */
pp_key_action pp_keypad_parse_line(const char *line, size_t len,
                                   char *pin, size_t cap, bool *ok);

#endif
