/* Fuzz the certificate object parser (70/71/FE, gzip-compressed or not). */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "cvq/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *x = NULL;

	if (cvq_card_cert_parse(data, size, &x) == CVQ_CARD_OK && x == NULL)
		abort();
	X509_free(x);
	return 0;
}
