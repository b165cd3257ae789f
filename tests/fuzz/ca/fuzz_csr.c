/* Fuzz issuance from a CSR (DER): parsing, proof of possession, profile. */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_SERVICE};
	const unsigned char *p = data;
	X509_REQ *csr = d2i_X509_REQ(NULL, &p, (long)size);
	struct fuzz_ca *f;
	X509 *x = NULL;
	char why[128];

	if (!csr) {
		ERR_clear_error();
		return 0;
	}
	f = fuzz_ca_get();
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
