/*
 * cvqd — the canonical form of a transaction receipt (docs/api.md,
 * "Canonical form"). What the card signs is these bytes, so they must be
 * the same for the same transaction, time and nonce, on every machine:
 *
 *   - a JSON object, UTF-8, no whitespace outside strings;
 *   - members sorted by key, bytewise; keys match [a-z][a-z0-9_]{0,31};
 *   - every value is a string (amounts too: "45.00"), or a nested object
 *     only for "transaction"; no numbers, booleans, nulls or arrays;
 *   - strings escape only '"', '\' and, in "dialog" only, a line break
 *     as "\n"; other control characters are refused, so no other escape
 *     ever appears;
 *   - top level: {"cvq":"receipt/2","dialog":…,"lang":…,"nonce":…,
 *     "time":…,"transaction":{…}}: "dialog" is the exact text the PIN
 *     dialog showed (SETDESC), "lang" its language, so a verifier can show
 *     what the holder saw. "receipt/1" (no dialog, no lang) is still read.
 *
 * Here the transaction gets the structural check only (object of strings,
 * field names, "type" present); what each type may hold and how it is
 * shown is display.h's job, before anything is signed.
 */
#ifndef CVQD_CANON_H
#define CVQD_CANON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define CVQD_CANON_MAX_FIELDS 32
#define CVQD_CANON_MAX_VALUE 512
#define CVQD_CANON_MAX_DIALOG 4096
#define CVQD_CANON_FORMAT "receipt/2"
#define CVQD_CANON_FORMAT_V1 "receipt/1"

/* A field name: [a-z][a-z0-9_]{0,31}. */
bool cvqd_canon_key_ok(const char *k);

/* 0 when `tx` is an acceptable transaction; else -1 and a reason. */
int cvqd_canon_check_transaction(const json_t *tx, char *why, size_t whylen);

/*
 * The canonical receipt/2 bytes for (tx, lang, dialog, time, nonce);
 * malloc'd, NUL-terminated, *len without the NUL. NULL when tx does not
 * pass the check, or dialog has control characters other than "\n".
 */
char *cvqd_canon_receipt_shown(const json_t *tx, const char *lang, const char *dialog,
                               time_t t, const char *nonce, size_t *len);

/* The old receipt/1 form (no dialog): for reading old receipts and tests only. */
char *cvqd_canon_receipt(const json_t *tx, time_t t, const char *nonce, size_t *len);

/*
 * Parse receipt content: must be exactly canonical (re-encoding gives the
 * same bytes). Returns the transaction (new reference), the time and the
 * nonce (copied into nonce[0..noncecap)); NULL with a reason otherwise.
 */
json_t *cvqd_canon_parse_receipt(const char *buf, size_t len, time_t *t,
                                 char *nonce, size_t noncecap,
                                 char *why, size_t whylen);
/* The same, and for receipt/2 the language and dialog text (malloc'd; NULL for receipt/1). */
json_t *cvqd_canon_parse_receipt_shown(const char *buf, size_t len, time_t *t,
                                       char *nonce, size_t noncecap, char **lang, char **dialog,
                                       char *why, size_t whylen);

#endif
