/* Fuzz issuance from a CSR (DER): both parsers, proof of possession, profile. */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
batch_cb(void *ctx, size_t i, cvq_ca_err err, X509 *cert)
{
	struct fuzz_ca *f = ctx;
	char why[128];

	(void)i;
	if (err == CVQ_CA_OK &&
	    cvq_ca_check_profile(cert, cvq_ca_cert(f->ca), CVQ_CA_PROFILE_SERVICE, why, sizeof(why)) != CVQ_CA_OK)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	const unsigned char *p = data;
	X509_REQ *csr = d2i_X509_REQ(NULL, &p, (long)size);
	struct fuzz_ca *f;
	X509 *x = NULL;
	char why[128];

	f = fuzz_ca_get();
	/* The batch path has a DER walker of its own for EC CSRs; from two
	 * items on it also reuses one key per curve (the second item gets
	 * the key the first one left). */
	{
		const uint8_t *two[2] = {data, data};
		size_t lens[2] = {size, size};

		if (cvq_ca_issue_batch_encoded(f->ca, &req, &data, &size, 1, batch_cb, f) != CVQ_CA_OK ||
		    cvq_ca_issue_batch_encoded(f->ca, &req, two, lens, 2, batch_cb, f) != CVQ_CA_OK)
			abort();
	}
	if (!csr) {
		ERR_clear_error();
		return 0;
	}
	if (cvq_ca_issue_csr(f->ca, &req, csr, &x) == CVQ_CA_OK) {
		/* What we issue must pass our own profile checker. */
		if (cvq_ca_check_profile(x, cvq_ca_cert(f->ca), req.profile, why, sizeof(why)) != CVQ_CA_OK)
			abort();
		X509_free(x);
	}
	X509_REQ_free(csr);
	ERR_clear_error();
	return 0;
}
