/*
 * Fuzz the PIV data object parsers (CHUID, Discovery, Printed
 * Information): the first byte picks the parser; whatever parses must
 * rebuild (CHUID, Printed Information) and parse again to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cvq_card_chuid c, c2;
	cvq_card_discovery d;
	cvq_card_printed p, p2;
	uint8_t out[512];
	size_t len = 0;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (cvq_card_chuid_parse(data + 1, size - 1, &c) == CVQ_CARD_OK &&
		    c.expiry[0] != '\0') {
			if (cvq_card_chuid_build(c.guid, c.expiry, out, sizeof(out), &len) ||
			    cvq_card_chuid_parse(out, len, &c2) ||
			    memcmp(c.guid, c2.guid, sizeof(c.guid)) != 0 ||
			    strcmp(c.expiry, c2.expiry) != 0)
				abort();
		}
		break;
	case 1:
		(void)cvq_card_discovery_parse(data + 1, size - 1, &d);
		break;
	default:
		if (cvq_card_printed_parse(data + 1, size - 1, &p) == CVQ_CARD_OK) {
			if (cvq_card_printed_build(&p, out, sizeof(out), &len) ||
			    cvq_card_printed_parse(out, len, &p2) ||
			    strcmp(p.name, p2.name) != 0 || strcmp(p.expiry, p2.expiry) != 0 ||
			    strcmp(p.affiliation, p2.affiliation) != 0 ||
			    strcmp(p.serial, p2.serial) != 0 || strcmp(p.issuer, p2.issuer) != 0)
				abort();
		}
		break;
	}
	return 0;
}
