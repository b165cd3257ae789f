/* cvqd — base64 (RFC 4648 section 4) and base64url without padding (section 5). */
#ifndef CVQD_B64_H
#define CVQD_B64_H

#include <stddef.h>
#include <stdint.h>

/* malloc'd, NUL-terminated; NULL on allocation failure. */
char *cvqd_b64_encode(const uint8_t *in, size_t len);
char *cvqd_b64url_encode(const uint8_t *in, size_t len);
/* Strict: standard alphabet, padding required, no whitespace. malloc'd. */
uint8_t *cvqd_b64_decode(const char *in, size_t inlen, size_t *outlen);

#endif
