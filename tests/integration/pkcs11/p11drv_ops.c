/* p11drv: key generation, signatures, and OpenSSL's own signing calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "p11drv.h"

static int hexbytes(const char *hex, unsigned char *out, size_t cap, size_t *n)
{
	size_t i, len = strlen(hex);

	if (len % 2 != 0 || len / 2 > cap)
		return -1;
	for (i = 0; i < len / 2; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	*n = len / 2;
	return 0;
}

static int write_pub(EVP_PKEY *pub, const char *path)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = PEM_write_PUBKEY(f, pub);
	fclose(f);
	return ok ? 0 : -1;
}

int p11drv_keygen(cvq_p11_ctx *ctx, char **argv)
{
	static const struct { const char *name; cvq_p11_keytype t; } types[] = {
		{ "ec256", CVQ_P11_KEY_EC_P256 }, { "ec384", CVQ_P11_KEY_EC_P384 },
		{ "rsa2048", CVQ_P11_KEY_RSA_2048 }, { "rsa3072", CVQ_P11_KEY_RSA_3072 },
		{ "rsa4096", CVQ_P11_KEY_RSA_4096 },
	};
	unsigned char id[64];
	size_t id_len, i;
	cvq_p11_key *key = NULL;
	cvq_p11_err err;
	char uri[1024];
	int t = -1;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(argv[1], types[i].name) == 0)
			t = (int)types[i].t;
	if (t < 0 || hexbytes(argv[3], id, sizeof(id), &id_len) != 0) {
		fprintf(stderr, "p11drv: bad key type or id\n");
		return 2;
	}
	err = cvq_p11_keygen(ctx, argv[0], (cvq_p11_keytype)t, argv[2], id,
	                     id_len, &key);
	if (err != CVQ_P11_OK)
		return p11drv_fail("keygen", ctx, err);
	if (cvq_p11_key_uri(key, uri, sizeof(uri)) == CVQ_P11_OK)
		printf("%s\n", uri);
	if (cvq_p11_key_public(key) == NULL ||
	    write_pub(cvq_p11_key_public(key), argv[4]) != 0) {
		cvq_p11_key_free(key);
		fprintf(stderr, "p11drv: no public key\n");
		return 1;
	}
	cvq_p11_key_free(key);
	return 0;
}

int p11drv_pubkey(cvq_p11_ctx *ctx, const char *uri, const char *out)
{
	cvq_p11_key *key = NULL;
	cvq_p11_err err = cvq_p11_key_find(ctx, uri, &key);
	char buf[1024];
	int rc = 1;

	if (err != CVQ_P11_OK)
		return p11drv_fail("find", ctx, err);
	if (cvq_p11_key_uri(key, buf, sizeof(buf)) == CVQ_P11_OK)
		printf("%s always_authenticate=%d cert=%d\n", buf,
		       cvq_p11_key_always_authenticate(key),
		       cvq_p11_key_cert(key) != NULL);
	if (cvq_p11_key_public(key) != NULL &&
	    write_pub(cvq_p11_key_public(key), out) == 0)
		rc = 0;
	cvq_p11_key_free(key);
	return rc;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
	}
	fclose(f);
	return buf;
}

int p11drv_sign(cvq_p11_ctx *ctx, char **argv, int argc)
{
	cvq_p11_sig alg;
	const EVP_MD *md = EVP_get_digestbyname(argv[2]);
	cvq_p11_key *key = NULL;
	unsigned char *msg = NULL, sig[1024];
	size_t msg_len = 0, sig_len = 0;
	cvq_p11_err err;
	int count = argc == 6 ? atoi(argv[5]) : 1, i, rc = 1;
	FILE *f;

	if (strcmp(argv[1], "ecdsa") == 0)
		alg = CVQ_P11_SIG_ECDSA;
	else if (strcmp(argv[1], "pkcs1") == 0)
		alg = CVQ_P11_SIG_RSA_PKCS1;
	else if (strcmp(argv[1], "pss") == 0)
		alg = CVQ_P11_SIG_RSA_PSS;
	else
		return 2;
	if (md == NULL || (msg = slurp(argv[3], &msg_len)) == NULL)
		return 2;
	err = cvq_p11_key_find(ctx, argv[0], &key);
	if (err != CVQ_P11_OK) {
		free(msg);
		return p11drv_fail("find", ctx, err);
	}
	/* a token that lost its login meanwhile: the library must log in again */
	if (getenv("P11DRV_LOGOUT_FIRST") != NULL) {
		char uri[1024];
		if (cvq_p11_key_uri(key, uri, sizeof(uri)) != CVQ_P11_OK ||
		    (err = cvq_p11_logout(ctx, uri)) != CVQ_P11_OK) {
			p11drv_fail("logout", ctx, err);
			goto out;
		}
	}
	for (i = 0; i < count; i++) {
		sig_len = sizeof(sig);
		err = cvq_p11_sign(key, alg, md, msg, msg_len, sig, &sig_len);
		if (err != CVQ_P11_OK) {
			fprintf(stderr, "p11drv: signature %d of %d\n", i + 1, count);
			p11drv_fail("sign", ctx, err);
			goto out;
		}
		/* tells a test that signing is under way (token removal test) */
		if (i == 0 && getenv("P11DRV_READY_FILE") != NULL &&
		    (f = fopen(getenv("P11DRV_READY_FILE"), "w")) != NULL)
			fclose(f);
	}
	f = fopen(argv[4], "wb");
	if (f != NULL && fwrite(sig, 1, sig_len, f) == sig_len)
		rc = 0;
	if (f != NULL)
		fclose(f);
out:
	cvq_p11_key_free(key);
	free(msg);
	return rc;
}

/* OpenSSL's signing calls with the token-backed EVP_PKEY, as the CA uses them. */
static X509 *self_signed(EVP_PKEY *pkey, EVP_PKEY *pub)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"cvq p11 test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pub);
	if (X509_sign(x, pkey, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static X509_CRL *crl_signed(X509 *ca, EVP_PKEY *pkey)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	if (crl == NULL || t == NULL)
		goto fail;
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_gmtime_adj(t, 0);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 3600);
	X509_CRL_set1_nextUpdate(crl, t);
	if (X509_CRL_sign(crl, pkey, EVP_sha256()) <= 0)
		goto fail;
	ASN1_TIME_free(t);
	return crl;
fail:
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return NULL;
}

static OCSP_RESPONSE *ocsp_signed(X509 *ca, EVP_PKEY *pkey)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, ca, ca);
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);

	if (bs == NULL || id == NULL || now == NULL)
		goto out;
	if (OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL,
	                           now, NULL) == NULL)
		goto out;
	if (OCSP_basic_sign(bs, ca, pkey, EVP_sha256(), NULL, 0) <= 0)
		goto out;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
out:
	ASN1_TIME_free(now);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	return resp;
}

/* CMS SignedData over a fixed text, written to PATH.cms (DER), as cvqd's receipts. */
static int cms_signed(X509 *cert, EVP_PKEY *pkey, const char *ocsp_path)
{
	static const char text[] = "cvq p11 CMS test\n";
	char path[4096];
	BIO *in = BIO_new_mem_buf(text, (int)sizeof(text) - 1), *out = NULL;
	CMS_ContentInfo *cms = NULL;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s.cms", ocsp_path) >= (int)sizeof(path))
		goto done;
	cms = CMS_sign(cert, pkey, NULL, in, CMS_BINARY);
	if (cms == NULL || (out = BIO_new_file(path, "wb")) == NULL ||
	    !i2d_CMS_bio(out, cms))
		goto done;
	rc = 0;
done:
	BIO_free(out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return rc;
}

int p11drv_x509(cvq_p11_ctx *ctx, char **argv)
{
	cvq_p11_key *key = NULL;
	cvq_p11_err err = cvq_p11_key_find(ctx, argv[0], &key);
	X509 *x = NULL;
	X509_CRL *crl = NULL;
	OCSP_RESPONSE *resp = NULL;
	FILE *f;
	int rc = 1;

	if (err != CVQ_P11_OK)
		return p11drv_fail("find", ctx, err);
	x = self_signed(cvq_p11_key_pkey(key), cvq_p11_key_public(key));
	if (x == NULL) {
		fprintf(stderr, "p11drv: X509_sign failed\n");
		goto out;
	}
	crl = crl_signed(x, cvq_p11_key_pkey(key));
	if (crl == NULL) {
		fprintf(stderr, "p11drv: X509_CRL_sign failed\n");
		goto out;
	}
	resp = ocsp_signed(x, cvq_p11_key_pkey(key));
	if (resp == NULL) {
		fprintf(stderr, "p11drv: OCSP_basic_sign failed\n");
		goto out;
	}
	if (cms_signed(x, cvq_p11_key_pkey(key), argv[3]) != 0) {
		fprintf(stderr, "p11drv: CMS_sign failed\n");
		goto out;
	}
	if ((f = fopen(argv[1], "w")) == NULL || !PEM_write_X509(f, x))
		goto out;
	fclose(f);
	if ((f = fopen(argv[2], "w")) == NULL || !PEM_write_X509_CRL(f, crl))
		goto out;
	fclose(f);
	{
		unsigned char *der = NULL;
		int len = i2d_OCSP_RESPONSE(resp, &der);
		if (len <= 0 || (f = fopen(argv[3], "wb")) == NULL) {
			OPENSSL_free(der);
			goto out;
		}
		fwrite(der, 1, (size_t)len, f);
		fclose(f);
		OPENSSL_free(der);
	}
	rc = 0;
out:
	if (rc != 0)
		ERR_print_errors_fp(stderr);
	OCSP_RESPONSE_free(resp);
	X509_CRL_free(crl);
	X509_free(x);
	cvq_p11_key_free(key);
	return rc;
}

/* Two keys of one ctx: freeing the first must not log the second out. */
int p11drv_multi(cvq_p11_ctx *ctx, char **argv)
{
	cvq_p11_key *k1 = NULL, *k2 = NULL;
	unsigned char *msg = NULL, sig[1024];
	size_t msg_len = 0, sig_len;
	cvq_p11_err err;
	int rc = 1, i;
	FILE *f;

	if ((msg = slurp(argv[2], &msg_len)) == NULL)
		return 2;
	err = cvq_p11_key_find(ctx, argv[0], &k1);
	if (err == CVQ_P11_OK)
		err = cvq_p11_key_find(ctx, argv[1], &k2);
	if (err != CVQ_P11_OK) {
		p11drv_fail("find", ctx, err);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		cvq_p11_key *k = i == 0 ? k1 : k2;
		sig_len = sizeof(sig);
		cvq_p11_sig alg =
			EVP_PKEY_get_base_id(cvq_p11_key_public(k)) == EVP_PKEY_EC ?
			CVQ_P11_SIG_ECDSA : CVQ_P11_SIG_RSA_PKCS1;
		err = cvq_p11_sign(k, alg, NULL, msg, msg_len, sig, &sig_len);
		if (err != CVQ_P11_OK) {
			p11drv_fail("sign", ctx, err);
			goto out;
		}
		if ((f = fopen(argv[3 + i], "wb")) == NULL)
			goto out;
		fwrite(sig, 1, sig_len, f);
		fclose(f);
		if (i == 0) {
			cvq_p11_key_free(k1);
			k1 = NULL;
		}
	}
	rc = 0;
out:
	cvq_p11_key_free(k1);
	cvq_p11_key_free(k2);
	free(msg);
	return rc;
}
