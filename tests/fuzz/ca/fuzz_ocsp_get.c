/* Fuzz the RFC 5019 GET path decoder, then answer what it decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ca *f;
	uint8_t der[4096], *resp = NULL;
	size_t len = 0, rlen = 0;
	char *path;

	if (size > 8192)
		return 0;
	path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	if (cvq_ca_ocsp_decode_get(path, der, sizeof(der), &len) == CVQ_CA_OK) {
		if (len > sizeof(der))
			abort();
		f = fuzz_ca_get();
		fuzz_ca_fill_issuer(f, der, len);
		if (cvq_ca_ocsp_respond(f->ocsp, der, len, &resp, &rlen, NULL) != CVQ_CA_OK)
			abort();
		OPENSSL_free(resp);
	}
	free(path);
	return 0;
}
