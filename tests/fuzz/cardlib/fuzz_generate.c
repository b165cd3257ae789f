/*
 * Fuzz the GENERATE ASYMMETRIC KEY PAIR answer parser; the first byte
 * picks the algorithm (P-256, P-384, RSA-2048).
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "cvq/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const cvq_card_alg algs[] = {CVQ_CARD_ALG_ECCP256, CVQ_CARD_ALG_ECCP384,
	                                    CVQ_CARD_ALG_RSA2048};
	EVP_PKEY *k = NULL;

	if (size < 1)
		return 0;
	if (cvq_card_generate_parse(data + 1, size - 1, algs[data[0] % 3], &k) ==
	    CVQ_CARD_OK && k == NULL)
		abort();
	EVP_PKEY_free(k);
	return 0;
}
