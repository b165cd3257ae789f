/* Certificates made on the spot for the issue #17 unit tests. */
#ifndef CVQ_TEST_PKI_H
#define CVQ_TEST_PKI_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * A certificate for pub, CN cn, issued by issuer/ikey (NULL issuer: self-
 * signed), valid from a minute ago for a day, CA or not, with the EKU
 * given (OpenSSL's short name or an OID) or none. Asserts on failure.
 */
X509 *test_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey,
                const char *eku, bool ca);

#endif
