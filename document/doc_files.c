/* The certificate and CRL files a sealer is configured with, read the same
 * way by cvq-admin document sign and cvqd's [seal]. */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "doc_int.h"

STACK_OF(X509) *cvq_doc_read_certs(const char *path)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	STACK_OF(X509) *sk = f ? sk_X509_new_null() : NULL;
	X509 *x;

	while (sk && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x))
			X509_free(x);
	if (f)
		fclose(f);
	ERR_clear_error();
	if (sk && !sk_X509_num(sk)) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

cvq_doc_err cvq_doc_read_crl(const char *path, struct cvq_doc_blob *b)
{
	FILE *f = path && b ? fopen(path, "rb") : NULL;
	X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
	unsigned char *d = NULL;
	int n;

	if (f && !crl) {
		rewind(f);
		crl = d2i_X509_CRL_fp(f, NULL);
	}
	if (f)
		fclose(f);
	n = crl ? i2d_X509_CRL(crl, &d) : -1;
	X509_CRL_free(crl);
	ERR_clear_error();
	if (n <= 0)
		return path && b ? CVQ_DOC_ERR_PDF_PARSE : CVQ_DOC_ERR_ARG;
	b->der = d;
	b->len = (size_t)n;
	return CVQ_DOC_OK;
}
