/* Test helpers: a throw-away CA and card keys made in memory with OpenSSL. */
#ifndef CVQD_TEST_PKI_H
#define CVQD_TEST_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

EVP_PKEY *pki_ec_key(void);
/* Certificate for `key`, issued by (ca, cakey) or self-signed when ca NULL. */
X509 *pki_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *cakey, long serial, int is_ca);
/* A CRL of `ca` revoking the given serials (n may be 0). */
X509_CRL *pki_crl(X509 *ca, EVP_PKEY *cakey, const long *serials, int n, long next_update_s);
int pki_write_cert(const char *path, X509 *x);
int pki_write_crl(const char *path, X509_CRL *c);

#endif
