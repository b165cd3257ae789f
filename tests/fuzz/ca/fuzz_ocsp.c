/*
 * Fuzz the OCSP core with raw request bytes (the body of a POST). Seeds
 * name the issuer through placeholders (fuzz_ca_fill_issuer()), so
 * mutations reach the lookup, the status and the signing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ca *f = fuzz_ca_get();
	uint8_t *req, *resp = NULL;
	size_t len = 0;

	req = malloc(size ? size : 1);
	if (!req)
		abort();
	memcpy(req, data, size);
	fuzz_ca_fill_issuer(f, req, size);
	/* Every input gets a response, well-formed or malformedRequest. */
	if (cvq_ca_ocsp_respond(f->ocsp, req, size, &resp, &len, NULL) != CVQ_CA_OK || !resp)
		abort();
	OPENSSL_free(resp);
	free(req);
	return 0;
}
