/* Helpers for the cvq-vcard unit tests: talk to the card logic in hex. */
#ifndef CVQ_VCARD_TEST_HELPERS_H
#define CVQ_VCARD_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "vcard.h"

/* Parse hex (spaces allowed) into out; returns the byte count. */
size_t th_hex(const char *hex, uint8_t *out, size_t cap);

/* Send one APDU (hex); returns SW, response data (without SW) in
 * data[0..*dlen) when data is not NULL. */
uint16_t th_send(struct vc_card *c, const char *hex, uint8_t *data, size_t *dlen);
uint16_t th_send_bytes(struct vc_card *c, const uint8_t *apdu, size_t len,
                       uint8_t *data, size_t *dlen);

/* Send, then follow 61xx with GET RESPONSE; the whole response data. */
uint16_t th_send_all(struct vc_card *c, const uint8_t *apdu, size_t len,
                     uint8_t *data, size_t cap, size_t *dlen);

/* Management key mutual authentication with the given algorithm/key. */
uint16_t th_mgmt_auth(struct vc_card *c, uint8_t alg, const uint8_t *key,
                      size_t keylen);

#endif
