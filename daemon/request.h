/*
 * cvqd — the request body: a JSON object, duplicate keys refused (two
 * "amount"s must never mean whichever the parser kept), at most
 * CVQD_REQUEST_MAX_DEPTH levels deep. Fuzzed (tests/fuzz/daemon).
 */
#ifndef CVQD_REQUEST_H
#define CVQD_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#define CVQD_REQUEST_MAX_DEPTH 8

/* A new reference to the object, or NULL with a reason. */
json_t *cvqd_request_parse(const char *buf, size_t len, char *why, size_t whylen);

#endif
