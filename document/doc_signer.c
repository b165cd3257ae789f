/*
 * The seal key. On a token (the normal case: SoftHSM2 in tests, an HSM in
 * production) libcvqp11 signs and the key never leaves it; a PEM file is
 * for small cities and training. Either way the caller sees one callback
 * with the libcvqcades signature.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/p11.h>
#include <cvq/util.h>

#include "doc_int.h"

struct cvq_doc_signer {
	EVP_PKEY *file_key;      /* a file key, or NULL */
	cvq_p11_ctx *p11;
	cvq_p11_key *p11key;
	char *secret_source;
};

static int token_pin(void *ctx, const char *label, char *buf, size_t cap)
{
	const cvq_doc_signer *s = ctx;
	(void)label;
	if (!buf || !cap)
		return 0; /* a PIN pad: typed on the reader */
	if (!s->secret_source)
		return 1;
	return cvq_secret_read(s->secret_source, "PIN of the seal token:", buf, cap) == CVQ_UTIL_OK ? 0 : 1;
}

static int pem_pass(char *buf, int size, int rwflag, void *u)
{
	const char *src = u;
	(void)rwflag;
	if (!src || size <= 1 || cvq_secret_read(src, "Passphrase of the seal key:", buf, (size_t)size) != CVQ_UTIL_OK)
		return -1;
	return (int)strlen(buf);
}

cvq_doc_err cvq_doc_signer_open(const char *key, const char *secret_source, cvq_doc_signer **out)
{
	if (!key || !out)
		return CVQ_DOC_ERR_ARG;
	*out = NULL;
	cvq_doc_signer *s = calloc(1, sizeof *s);
	if (!s || (secret_source && !(s->secret_source = strdup(secret_source)))) {
		free(s);
		return CVQ_DOC_ERR_NOMEM;
	}
	if (strncmp(key, "pkcs11:", 7) == 0) {
		if (cvq_p11_open_uri(key, &s->p11) != CVQ_P11_OK)
			goto fail;
		cvq_p11_set_pin_callback(s->p11, token_pin, s);
		if (cvq_p11_key_find(s->p11, key, &s->p11key) != CVQ_P11_OK)
			goto fail;
	} else {
		FILE *f = fopen(key, "r");
		if (!f)
			goto fail;
		s->file_key = PEM_read_PrivateKey(f, NULL, pem_pass, s->secret_source);
		fclose(f);
		if (!s->file_key)
			goto fail;
	}
	*out = s;
	return CVQ_DOC_OK;
fail:
	cvq_doc_signer_free(s);
	return CVQ_DOC_ERR_KEY;
}

void cvq_doc_signer_free(cvq_doc_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->file_key);
	cvq_p11_key_free(s->p11key);
	cvq_p11_close(s->p11);
	free(s->secret_source);
	free(s);
}

static EVP_PKEY *public_key(const cvq_doc_signer *s)
{
	return s->file_key ? s->file_key : cvq_p11_key_public(s->p11key);
}

bool cvq_doc_signer_matches(const cvq_doc_signer *s, X509 *cert)
{
	EVP_PKEY *pub = s ? public_key(s) : NULL;
	return pub && cert && EVP_PKEY_eq(pub, X509_get0_pubkey(cert)) == 1;
}

int cvq_doc_signer_sign(void *arg, const uint8_t *tbs, size_t tbs_len, const uint8_t *digest,
                        size_t digest_len, uint8_t *sig, size_t *siglen)
{
	cvq_doc_signer *s = arg;
	(void)digest;
	(void)digest_len;
	if (!s || !tbs || !sig || !siglen)
		return 1;
	EVP_PKEY *pub = public_key(s);
	bool rsa = pub && EVP_PKEY_is_a(pub, "RSA");
	if (s->p11key) {
		/* The token hashes tbs itself: the digest we were given is the
		 * same SHA-256, computed once more where the key is. */
		return cvq_p11_sign(s->p11key, rsa ? CVQ_P11_SIG_RSA_PKCS1 : CVQ_P11_SIG_ECDSA,
		                    EVP_sha256(), tbs, tbs_len, sig, siglen) == CVQ_P11_OK ? 0 : 1;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->file_key) == 1 &&
	         EVP_DigestSign(md, sig, siglen, tbs, tbs_len) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : 1;
}
