/* libcvqca — CSR parsing for batches (ca_csr.c). */
#ifndef CVQ_CA_CSR_H
#define CVQ_CA_CSR_H

#include <openssl/x509.h>

#include "ca_int.h"

struct ca_csr {
	X509_REQ *req;          /* set when OpenSSL parsed it (owns the rest) */
	EVP_PKEY *pub;
	X509_PUBKEY *spki;
	X509_NAME *subject;
	/* Our parser built pub from a finite point's encoding: the decoder
	 * checked its coordinates (below p) and that it is on the curve,
	 * what EVP_PKEY_public_check_quick() would check again. */
	bool point_ok;
	/* pub is a batch thread's key, overwritten by its next CSR (own[] of
	 * ca_csr_parse2()): not freed with the rest. */
	bool pub_borrowed;
};

/* PEM or DER; the signature is verified: CVQ_CA_ERR_POP when it fails,
 * CVQ_CA_ERR_REQUEST when the bytes are not a CSR. */
cvq_ca_err ca_csr_parse(const uint8_t *b, size_t len, struct ca_csr *out);
/* The same; keys[0] / keys[1] (may be NULL) are P-256 / P-384 keys whose
 * group is copied instead of built again from the curve's name for every
 * CSR (read only: shared by batch threads). With keys, own (may be NULL)
 * is one thread's pair of keys, copied from keys at first use and given
 * each CSR's point after: out->pub is then own's (pub_borrowed), valid
 * until the next call with the same own; free them with EVP_PKEY_free(). */
cvq_ca_err ca_csr_parse2(const uint8_t *b, size_t len, EVP_PKEY *const keys[2],
                         EVP_PKEY *own[2], struct ca_csr *out);
/* A P-256 (i = 0) or P-384 (i = 1) key with only its group. */
EVP_PKEY *ca_csr_group_key(int i);
void ca_csr_free(struct ca_csr *c);

#endif
