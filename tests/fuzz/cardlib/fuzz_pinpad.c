/* Fuzz target card-pinpad: a reader's answer to CM_IOCTL_GET_FEATURE_REQUEST. */
#include <stdint.h>

#include "cvq/card_pinpad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cvq_card_pinpad_features f;

	(void)cvq_card_pinpad_parse_features(data, size, &f);
	return 0;
}
