/* Fuzz the OCSP core with raw request bytes (the body of a POST). */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ca *f = fuzz_ca_get();
	uint8_t *resp = NULL;
	size_t len = 0;

	/* Every input gets a response, well-formed or malformedRequest. */
	if (cvq_ca_ocsp_respond(f->ocsp, data, size, &resp, &len, NULL) != CVQ_CA_OK || !resp)
		abort();
	OPENSSL_free(resp);
	return 0;
}
