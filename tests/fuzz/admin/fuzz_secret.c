/*
 * Fuzz the parsers of the issuance secrets: the master secret file's hex
 * text, and a sealed PUK blob as read back from the store (first byte of
 * the input picks which).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "enrol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t guid[CVQ_CARD_GUID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8,
	                                                9, 10, 11, 12, 13, 14, 15, 16};
	uint8_t master[CVQ_ENROL_MASTER_MAX];
	char puk[CVQ_ENROL_PUK_LEN + 1];
	size_t len = 0;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		cvq_enrol_master_parse((const char *)data + 1, size - 1, master, &len);
	} else {
		memset(master, 0x5A, sizeof(master));
		cvq_enrol_puk_open(master, 32, guid, data + 1, size - 1, puk);
	}
	return 0;
}
