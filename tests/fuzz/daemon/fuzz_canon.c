/*
 * Fuzz the canonical receipt form from the verifier's side: whatever
 * bytes a receipt carries, parsing either refuses them or accepts exactly
 * the bytes that re-encoding gives (checked inside), with a valid
 * transaction.
 */
#include <stdint.h>
#include <stdlib.h>

#include "canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[200], nonce[80];
	time_t t;
	json_t *tx = cvqd_canon_parse_receipt((const char *)data, size, &t, nonce, sizeof nonce,
	                                      why, sizeof why);
	if (!tx)
		return 0;
	if (cvqd_canon_check_transaction(tx, why, sizeof why) != 0)
		abort();
	json_decref(tx);
	return 0;
}
