/*
 * Fuzz the EST side of the agent's TLS front (tools/cvq-admin/agent_est.c):
 * first byte even, the rest is a URL for GET (bit 1 clear) or POST; odd,
 * a base64 body. A route to simpleenroll names a profile that exists; a
 * body that decodes to a certificate goes out as certs-only PKCS#7 and
 * comes back, decoded, as that very certificate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "agent_est.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(X509 *cert)
{
	char *b64 = cvq_admin_est_certs_only(cert);
	const unsigned char *p;
	uint8_t *der;
	size_t n = 0;
	PKCS7 *p7;

	if (!b64)
		return; /* a certificate OpenSSL will not re-encode */
	der = cvq_admin_est_b64_decode((const uint8_t *)b64, strlen(b64), &n);
	if (!der)
		abort();
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)n);
	if (!p7 || !PKCS7_type_is_signed(p7) || sk_X509_num(p7->d.sign->cert) != 1 ||
	    X509_cmp(sk_X509_value(p7->d.sign->cert, 0), cert) != 0)
		abort();
	PKCS7_free(p7);
	free(der);
	free(b64);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cvq_ca_profile prof;
	const unsigned char *p;
	char url[512];
	uint8_t *der;
	size_t n = 0;
	X509 *cert;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		n = size - 1 < sizeof(url) - 1 ? size - 1 : sizeof(url) - 1;
		memcpy(url, data + 1, n);
		url[n] = '\0';
		if (cvq_admin_est_route_of(data[0] & 2 ? "POST" : "GET", url, &prof) == CVQ_ADMIN_EST_ENROLL &&
		    (unsigned)prof >= CVQ_CA_PROFILE__COUNT)
			abort();
		return 0;
	}
	der = cvq_admin_est_b64_decode(data + 1, size - 1, &n);
	if (!der)
		return 0;
	/* Nothing but base64 taken: no '-' (where OpenSSL's decoder stops). */
	if (n > (size - 1) / 4 * 3 + 3 || memchr(data + 1, '-', size - 1))
		abort();
	p = der;
	cert = d2i_X509(NULL, &p, (long)n);
	if (cert)
		round_trip(cert);
	X509_free(cert);
	free(der);
	return 0;
}
