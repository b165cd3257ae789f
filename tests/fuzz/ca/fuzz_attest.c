/*
 * Fuzz PIV attestation verification (ca_attest.c): input = length(2,
 * big-endian) attestation DER, then the F9 certificate DER. The key
 * checked is the attestation's own when it parses (so the slot, chain and
 * extension paths are reached), else a fixed one; the roots are fixed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/ca_attest.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The root of tests/fuzz/corpus/ca-attest/valid. */
static const char root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBpzCCAU2gAwIBAgIUNStjG4E3d2xYKKXufOafEzQ8XA8wCgYIKoZIzj0EAwIw\n"
	"IDEeMBwGA1UEAwwVRnV6eiBBdHRlc3RhdGlvbiBSb290MCAXDTI2MTIwMjAwMTAz\n"
	"M1oYDzIxMjYxMTA4MDAxMDMzWjAgMR4wHAYDVQQDDBVGdXp6IEF0dGVzdGF0aW9u\n"
	"IFJvb3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQxY5+dFMf5a0h9rbqUFp9x\n"
	"mPCBkgt3GdVu59I2U6LyOr5FnkjR20XTboirPKbknlkM+l4qcKwDDD1bzT7TIAEQ\n"
	"o2MwYTAdBgNVHQ4EFgQU3sEAq3bE9Tl4tf1YdDUMaWTGFcgwHwYDVR0jBBgwFoAU\n"
	"3sEAq3bE9Tl4tf1YdDUMaWTGFcgwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E\n"
	"BAMCAgQwCgYIKoZIzj0EAwIDSAAwRQIhAO0wMBmoYKrKXB3GKM5IBLtmXTOkTrjp\n"
	"svuyzxVb7DyzAiAOh8Oxmk/4bPwvnhaz5xV8NNeJanDb6xChCAPWexWWZA==\n"
	"-----END CERTIFICATE-----\n";

static X509_STORE *
roots(void)
{
	static X509_STORE *st;
	BIO *b;
	X509 *x;

	if (st)
		return st;
	st = X509_STORE_new();
	b = BIO_new_mem_buf(root_pem, -1);
	x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!st || !x || X509_STORE_add_cert(st, x) != 1)
		abort();
	X509_free(x);
	BIO_free(b);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *fixed;
	struct cvq_ca_attest_info info;
	const unsigned char *p;
	EVP_PKEY *key = NULL;
	X509 *att;
	size_t n;
	char why[200];

	if (size < 2)
		return 0;
	n = (size_t)data[0] << 8 | data[1];
	if (n > size - 2)
		return 0;
	if (!fixed && !(fixed = EVP_EC_gen("P-256")))
		abort();
	p = data + 2;
	att = d2i_X509(NULL, &p, (long)n);
	if (att)
		key = X509_get0_pubkey(att);
	ERR_clear_error();
	if (cvq_ca_attest_verify_store(roots(), data + 2, n, data + 2 + n, size - 2 - n,
	                               key ? key : fixed, 0x9c, &info, why, sizeof(why)) == CVQ_CA_OK &&
	    (info.slot != 0x9c || why[0]))
		abort();
	X509_free(att);
	ERR_clear_error();
	return 0;
}
