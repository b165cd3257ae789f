/* Command APDU parsing (ISO 7816-4 cases 1-4, short and extended). */
#ifndef CVQ_VCARD_APDU_H
#define CVQ_VCARD_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vc_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;  /* points into the parsed buffer (or NULL) */
	size_t lc;
	size_t le;            /* 256 / 65536 for a zero Le */
	bool has_le;
	bool extended;
};

/* 0 on success, -1 when the bytes are not a well-formed command APDU. */
int vc_apdu_parse(const uint8_t *buf, size_t len, struct vc_apdu *out);

#endif
