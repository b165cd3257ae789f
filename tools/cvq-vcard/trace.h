/* APDU trace: one line per command, response and card event. */
#ifndef CVQ_VCARD_TRACE_H
#define CVQ_VCARD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vc_trace;

/* Appends to path (created 0600); NULL on failure. */
struct vc_trace *vc_trace_open(const char *path);
void vc_trace_close(struct vc_trace *t);

/* "<t> > HEX" (command, redacted) or "<t> < HEX" (response). NULL t: no-op. */
void vc_trace_apdu(struct vc_trace *t, bool command, const uint8_t *b, size_t n);
/* "<t> * EVENT". */
void vc_trace_event(struct vc_trace *t, const char *event);

/*
 * The text of one APDU for the trace, NUL-terminated in out[0..cap).
 * Command data of VERIFY (20), CHANGE REFERENCE DATA (24), RESET RETRY
 * COUNTER (2C), Yubico set management key (FF) and import key (FE) is
 * replaced by "<redacted N bytes>". Returns false if out is too small.
 */
bool vc_trace_format(bool command, const uint8_t *b, size_t n,
                     char *out, size_t cap);

/*
 * Whether the answer to command cmd[0..n) is a secret and its data must
 * not be traced: GENERAL AUTHENTICATE with a key slot whose template
 * carries 85 (ECDH: the answer is the shared secret), or whose template
 * cannot be read (a chained end block, garbage): better hidden.
 */
bool vc_trace_secret_response(const uint8_t *cmd, size_t n);

/* Like vc_trace_apdu for a response; its data redacted when secret. */
void vc_trace_response(struct vc_trace *t, bool secret, const uint8_t *b,
                       size_t n);

#endif
