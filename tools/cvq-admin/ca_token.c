/*
 * cvq-admin ca init --generate: make the CA key pair on the PKCS#11 token
 * the key URI names, so the private key is born in the HSM and never
 * exists anywhere else.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cvq/p11.h>
#include <cvq/uri.h>
#include <cvq/util.h>

#include "ca_common.h"

struct token_pin_source {
	const char *source;
};

/* The PIN comes from the same kind of source as passphrases, never argv. */
static int
token_pin(void *ctx, const char *label, char *buf, size_t cap)
{
	const struct token_pin_source *p = ctx;

	(void)label;
	if (!buf || !cap)
		return 0; /* PIN pad: the user types on the reader */
	return cvq_secret_read(p->source, "CA token PIN:", buf, cap) == CVQ_UTIL_OK ? 0 : 1;
}

static int
keytype_of(const char *alg, cvq_p11_keytype *t)
{
	if (!alg || strcmp(alg, "ec-p256") == 0)
		*t = CVQ_P11_KEY_EC_P256;
	else if (strcmp(alg, "ec-p384") == 0)
		*t = CVQ_P11_KEY_EC_P384;
	else if (strcmp(alg, "rsa-3072") == 0)
		*t = CVQ_P11_KEY_RSA_3072;
	else if (strcmp(alg, "rsa-4096") == 0)
		*t = CVQ_P11_KEY_RSA_4096;
	else
		return -1;
	return 0;
}

int
cvq_admin_ca_token_keygen(const char *uri, const char *alg, const char *pin_source)
{
	struct token_pin_source src = {pin_source};
	cvq_p11_uri *u = NULL;
	cvq_p11_ctx *p11 = NULL;
	cvq_p11_key *key = NULL;
	cvq_p11_keytype type;
	const char *label, *idv;
	unsigned char id[8];
	size_t id_len = 0;
	cvq_p11_err e;
	int rc = CVQ_ADMIN_EXIT_FAIL;

	if (keytype_of(alg, &type) != 0) {
		cvq_admin_error("--alg %s cannot be made on a token", alg);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	e = cvq_p11_uri_parse(uri, &u);
	if (e != CVQ_P11_OK) {
		cvq_admin_error("--key: %s", cvq_p11_strerror(e));
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	label = cvq_p11_uri_get(u, CVQ_P11_URI_OBJECT, NULL);
	idv = cvq_p11_uri_get(u, CVQ_P11_URI_ID, &id_len);
	if (!label) {
		cvq_admin_error("--generate needs the key's name in the URI (object=...)");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	if (idv && (id_len == 0 || id_len > sizeof(id))) {
		cvq_admin_error("--generate: the URI's id must be 1 to %zu bytes", sizeof(id));
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	if (idv) {
		memcpy(id, idv, id_len);
	} else {
		/* A random CKA_ID, so a second key with the same label stays apart. */
		id_len = sizeof(id);
		if (RAND_bytes(id, (int)id_len) != 1)
			goto out;
	}
	e = cvq_p11_open_uri(uri, &p11);
	if (e != CVQ_P11_OK) {
		cvq_admin_error("PKCS#11 module: %s", cvq_p11_strerror(e));
		goto out;
	}
	cvq_p11_set_pin_callback(p11, token_pin, &src);
	/* Never shadow a key already there: the CA would sign with one of two. */
	e = cvq_p11_key_find(p11, uri, &key);
	if (e == CVQ_P11_OK || e == CVQ_P11_ERR_AMBIGUOUS) {
		cvq_admin_error("the token already holds a key named %s: drop --generate to use it", label);
		goto out;
	}
	if (e != CVQ_P11_ERR_NO_KEY) {
		cvq_admin_error("token: %s", cvq_p11_strerror(e));
		if (e == CVQ_P11_ERR_PIN_INCORRECT || e == CVQ_P11_ERR_PIN_LOCKED)
			rc = CVQ_ADMIN_EXIT_PIN;
		goto out;
	}
	e = cvq_p11_keygen(p11, uri, type, label, id, id_len, NULL);
	if (e != CVQ_P11_OK) {
		cvq_admin_error("key generation on the token: %s", cvq_p11_strerror(e));
		if (e == CVQ_P11_ERR_PIN_INCORRECT || e == CVQ_P11_ERR_PIN_LOCKED)
			rc = CVQ_ADMIN_EXIT_PIN;
		goto out;
	}
	rc = CVQ_ADMIN_EXIT_OK;
out:
	cvq_p11_key_free(key);
	/* Unloaded here: cvq_ca_init loads the same module again. */
	cvq_p11_close(p11);
	cvq_p11_uri_free(u);
	OPENSSL_cleanse(id, sizeof(id));
	return rc;
}
