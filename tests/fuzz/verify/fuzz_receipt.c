/*
 * Fuzz libcvqverify's receipt parser and the whole check behind it: CMS,
 * signed and unsigned attributes, the signature timestamp token (TSTInfo,
 * its signature and ESS attributes), the signer's profile, chains and CRL
 * entries. A fixed anchor and CRL (made once with openssl, below) let
 * mutated receipts reach every stage; the seeds in corpus/verify-receipt
 * are receipts under that anchor, with and without a timestamp, and one
 * whose signer has a revoked login certificate.
 *
 * Invariants: a known outcome with its texts; a valid verdict has a
 * signer and a content.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/pem.h>

#include <cvq/verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char anchor_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBhTCCASygAwIBAgIUEcmqpjxONsgDBvwvQZ5Z7APEa0owCgYIKoZIzj0EAwIw\n"
	"ITENMAsGA1UECgwERnV6ejEQMA4GA1UEAwwHRnV6eiBDQTAeFw0yNjEyMDEyMzU2\n"
	"MzJaFw00NjExMjYyMzU2MzJaMCExDTALBgNVBAoMBEZ1enoxEDAOBgNVBAMMB0Z1\n"
	"enogQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARr+/JLBgtcM087JkxJ24PE\n"
	"MA4mf5sBPVu95gxWfTF2OkeacyrTl3SBEk6gJ4yaFBdcpO2ZuTKyyeDdcA0vVupY\n"
	"o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQU\n"
	"M9rQ0TeuSrvN/SIurg+4CRfG6GMwCgYIKoZIzj0EAwIDRwAwRAIgVUJSEw5M8XSr\n"
	"2NvpkLuatQqTigyKDf0MdJDtnEuN5QUCIB2cr6V+qdUU0FVrqSFhul4x59C8PwrU\n"
	"qAQpSnCD2IU9\n"
	"-----END CERTIFICATE-----\n";

static const char crl_pem[] =
	"-----BEGIN X509 CRL-----\n"
	"MIHeMIGGAgEBMAoGCCqGSM49BAMCMCExDTALBgNVBAoMBEZ1enoxEDAOBgNVBAMM\n"
	"B0Z1enogQ0EXDTI2MTIwMTIzNTYzMloXDTM2MTEyODIzNTYzMlowJDAiAgMTAQYX\n"
	"DTI2MTIwMTIzNTYzMlowDDAKBgNVHRUEAwoBBKAOMAwwCgYDVR0UBAMCAQEwCgYI\n"
	"KoZIzj0EAwIDRwAwRAIgLTOAkoV8nkydrJ23fAKTEgkyh5R471HFGds01USUbQ8C\n"
	"IBHs70bFzVyHmSq1lQKci5kRZEhJZpStZzCry3aStMxV\n"
	"-----END X509 CRL-----\n";

static cvq_verify_ctx *make_ctx(void)
{
	cvq_verify_ctx *ctx = cvq_verify_ctx_new();
	BIO *a = BIO_new_mem_buf(anchor_pem, -1), *c = BIO_new_mem_buf(crl_pem, -1);
	X509 *x = a ? PEM_read_bio_X509(a, NULL, NULL, NULL) : NULL;
	X509_CRL *crl = c ? PEM_read_bio_X509_CRL(c, NULL, NULL, NULL) : NULL;

	if (!ctx || !x || !crl || cvq_verify_add_anchor(ctx, x) != CVQ_VERIFY_OK ||
	    cvq_verify_add_crl(ctx, crl) != CVQ_VERIFY_OK)
		abort();
	X509_free(x);
	X509_CRL_free(crl);
	BIO_free(a);
	BIO_free(c);
	return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One context for the run, as a partner's process keeps one. */
	static cvq_verify_ctx *ctx;
	cvq_verify_result *r = NULL;
	cvq_verify_err e;
	size_t len;

	if (!ctx)
		ctx = make_ctx();
	e = cvq_verify_receipt(ctx, data, size, 0, &r);
	if ((unsigned)e >= CVQ_VERIFY_ERR__COUNT || !cvq_verify_strerror(e) ||
	    !cvq_verify_sentence_fr(e) || !cvq_verify_code(e))
		abort();
	if (e == CVQ_VERIFY_ERR_NOMEM)
		return 0;
	if (!r || cvq_verify_result_outcome(r) != e || !cvq_verify_result_detail(r))
		abort();
	if (e == CVQ_VERIFY_OK &&
	    (!cvq_verify_result_signer(r) || !cvq_verify_result_content(r, &len)))
		abort();
	cvq_verify_result_free(r);
	return 0;
}
