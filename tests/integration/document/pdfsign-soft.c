/*
 * Test driver for libcvqdoc alone: sign a PDF with a software key and
 * OpenSSL's CMS (detached, over the /ByteRange) — the PDF structure is
 * what is under test here; the city's real seal goes through cvq-admin
 * document sign and libcvqcades. Usage: pdfsign-soft IN OUT KEY CERT
 */
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/doc.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *b = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			b = realloc(b, cap);
		}
		size_t n = fread(b + *len, 1, cap - *len, f);
		if (!n)
			break;
		*len += n;
	}
	fclose(f);
	return b;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: pdfsign-soft IN OUT KEY CERT\n");
		return 2;
	}
	size_t len;
	uint8_t *pdf = slurp(argv[1], &len);
	FILE *kf = fopen(argv[3], "r"), *cf = fopen(argv[4], "r");
	if (!pdf || !kf || !cf)
		return 2;
	EVP_PKEY *key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	X509 *cert = PEM_read_X509(cf, NULL, NULL, NULL);
	cvq_doc_pdf_sign *s;
	struct cvq_doc_pdf_sign_opts o = { .reason = "Copie conforme", .signer_name = "Ville" };
	cvq_doc_err e = cvq_doc_pdf_sign_begin(pdf, len, &o, &s);
	if (e) {
		fprintf(stderr, "pdfsign-soft: %s\n", cvq_doc_strerror(e));
		return 1;
	}
	const uint8_t *r1, *r2;
	size_t l1, l2;
	cvq_doc_pdf_sign_ranges(s, &r1, &l1, &r2, &l2);
	BIO *in = BIO_new(BIO_s_mem());
	BIO_write(in, r1, (int)l1);
	BIO_write(in, r2, (int)l2);
	CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP);
	if (!cms)
		return 1;
	uint8_t *der = NULL;
	int dl = i2d_CMS_ContentInfo(cms, &der);
	uint8_t *out;
	size_t ol;
	if ((e = cvq_doc_pdf_sign_finish(s, der, (size_t)dl, &out, &ol))) {
		fprintf(stderr, "pdfsign-soft: %s\n", cvq_doc_strerror(e));
		return 1;
	}
	FILE *of = fopen(argv[2], "wb");
	fwrite(out, 1, ol, of);
	fclose(of);
	free(out);
	cvq_doc_pdf_sign_free(s);
	return 0;
}
