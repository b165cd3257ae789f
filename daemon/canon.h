/*
 * cvqd — the canonical form of a transaction receipt (docs/api.md,
 * "Canonical form"). What the card signs is these bytes, so they must be
 * the same for the same transaction, time and nonce, on every machine:
 *
 *   - a JSON object, UTF-8, no whitespace outside strings;
 *   - members sorted by key, bytewise; keys match [a-z][a-z0-9_]{0,31};
 *   - every value is a string (amounts too: "45.00"), or a nested object
 *     only for "transaction"; no numbers, booleans, nulls or arrays;
 *   - strings escape only '"' and '\'; control characters (U+0000-U+001F,
 *     U+007F) are refused, so no other escape ever appears;
 *   - top level: {"cvq":"receipt/1","nonce":…,"time":…,"transaction":{…}}.
 *
 * Transactions are validated first (cvqd_canon_check_transaction): the
 * fields type, payee, amount, currency, reference are required.
 */
#ifndef CVQD_CANON_H
#define CVQD_CANON_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define CVQD_CANON_MAX_FIELDS 32
#define CVQD_CANON_MAX_VALUE 512
#define CVQD_CANON_FORMAT "receipt/1"

/* 0 when `tx` is an acceptable transaction; else -1 and a reason. */
int cvqd_canon_check_transaction(const json_t *tx, char *why, size_t whylen);

/*
 * The canonical bytes for (tx, time, nonce); malloc'd, NUL-terminated,
 * *len without the NUL. NULL when tx does not pass the check.
 */
char *cvqd_canon_receipt(const json_t *tx, time_t t, const char *nonce, size_t *len);

/*
 * Parse receipt content: must be exactly canonical (re-encoding gives the
 * same bytes). Returns the transaction (new reference), the time and the
 * nonce (copied into nonce[0..noncecap)); NULL with a reason otherwise.
 */
json_t *cvqd_canon_parse_receipt(const char *buf, size_t len, time_t *t,
                                 char *nonce, size_t noncecap,
                                 char *why, size_t whylen);

#endif
