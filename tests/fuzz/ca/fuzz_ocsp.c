/*
 * Fuzz the OCSP core with raw request bytes (the body of a POST).
 *
 * The fixture's CA key is new at every run, so a stored request could never
 * name it and every input would stop at "unauthorized". Seeds therefore
 * carry placeholders where a CertID holds the issuer's hashes — 20 bytes of
 * 0xAA / 0xCC (SHA-1 key / name hash), 32 of 0xBB / 0xDD (SHA-256) — which
 * are replaced by this run's before the request is answered, so mutations
 * reach the lookup, the status and the signing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct issuer_hashes {
	uint8_t key1[20], name1[20], key256[32], name256[32];
	int ready;
};

static void
issuer_hashes(const struct fuzz_ca *f, struct issuer_hashes *h)
{
	X509 *x = cvq_ca_cert(f->ca);
	unsigned int n;

	if (!x || !X509_pubkey_digest(x, EVP_sha1(), h->key1, &n) ||
	    !X509_NAME_digest(X509_get_subject_name(x), EVP_sha1(), h->name1, &n) ||
	    !X509_pubkey_digest(x, EVP_sha256(), h->key256, &n) ||
	    !X509_NAME_digest(X509_get_subject_name(x), EVP_sha256(), h->name256, &n))
		abort();
	h->ready = 1;
}

static void
replace_all(uint8_t *b, size_t len, uint8_t marker, const uint8_t *with, size_t wlen)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		run = b[i] == marker ? run + 1 : 0;
		if (run == wlen) {
			memcpy(b + i + 1 - wlen, with, wlen);
			run = 0;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct issuer_hashes h;
	struct fuzz_ca *f = fuzz_ca_get();
	uint8_t *req, *resp = NULL;
	size_t len = 0;

	if (!h.ready)
		issuer_hashes(f, &h);
	req = malloc(size ? size : 1);
	if (!req)
		abort();
	memcpy(req, data, size);
	replace_all(req, size, 0xAA, h.key1, sizeof(h.key1));
	replace_all(req, size, 0xCC, h.name1, sizeof(h.name1));
	replace_all(req, size, 0xBB, h.key256, sizeof(h.key256));
	replace_all(req, size, 0xDD, h.name256, sizeof(h.name256));
	/* Every input gets a response, well-formed or malformedRequest. */
	if (cvq_ca_ocsp_respond(f->ocsp, req, size, &resp, &len, NULL) != CVQ_CA_OK || !resp)
		abort();
	OPENSSL_free(resp);
	free(req);
	return 0;
}
