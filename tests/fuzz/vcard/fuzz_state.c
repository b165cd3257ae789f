/* Fuzz target vcard-state: the state file parser (outside bytes too). */
#include <stdint.h>
#include <stdlib.h>

#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_card *c = NULL;

	if (vc_state_decode((const char *)data, size, &c) == VC_OK) {
		if (c == NULL)
			abort();
		vc_card_free(c);
	} else if (c != NULL) {
		abort();
	}
	return 0;
}
