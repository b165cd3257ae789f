/*
 * libcvqca — the CA key behind one interface (EVP_PKEY): generated here,
 * kept in an encrypted PEM file (PKCS#8, AES-256), or in a PKCS#11 token.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cvq/p11.h>
#include <cvq/uri.h>
#include <cvq/util.h>

#include "ca_der.h"
#include "ca_int.h"

cvq_ca_err
ca_key_generate(const char *alg, EVP_PKEY **out)
{
	if (!alg || strcmp(alg, "ec-p256") == 0)
		*out = EVP_EC_gen("P-256");
	else if (strcmp(alg, "ec-p384") == 0)
		*out = EVP_EC_gen("P-384");
	else if (strcmp(alg, "rsa-3072") == 0)
		*out = EVP_RSA_gen(3072);
	else if (strcmp(alg, "rsa-4096") == 0)
		*out = EVP_RSA_gen(4096);
	else
		return CVQ_CA_ERR_UNSUPPORTED;
	return *out ? CVQ_CA_OK : CVQ_CA_ERR_CRYPTO;
}

const EVP_MD *
ca_key_md(const EVP_PKEY *key)
{
	/* P-384 keys sign with SHA-384 so the hash matches the curve. */
	if (EVP_PKEY_get_bits(key) == 384 && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC)
		return EVP_sha384();
	return EVP_sha256();
}

cvq_ca_err
ca_key_save(EVP_PKEY *key, const char *path, const char *pass)
{
	BIO *bio = NULL;
	FILE *f = NULL;
	cvq_ca_err err = CVQ_CA_ERR_IO;
	int fd;

	if (!pass || !*pass)
		return CVQ_CA_ERR_PASSPHRASE;
	fd = cvq_util_file_create(path, O_WRONLY | O_EXCL, 0600);
	if (fd < 0)
		return errno == EEXIST ? CVQ_CA_ERR_EXISTS : CVQ_CA_ERR_IO;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		goto out;
	}
	bio = BIO_new_fp(f, BIO_NOCLOSE);
	if (!bio)
		goto out;
	if (!PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), pass,
	                                   (int)strlen(pass), NULL, NULL)) {
		err = CVQ_CA_ERR_CRYPTO;
		goto out;
	}
	if (BIO_flush(bio) != 1 || fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto out;
	err = CVQ_CA_OK;
out:
	BIO_free(bio);
	if (f && fclose(f) != 0 && err == CVQ_CA_OK)
		err = CVQ_CA_ERR_IO;
	if (err != CVQ_CA_OK && err != CVQ_CA_ERR_EXISTS)
		unlink(path);
	return err;
}

static const uint8_t oid_ec_pub[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t oid_p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};

/*
 * An EC P-256/P-384 PKCS#8 key built with EVP_PKEY_fromdata() from its
 * ECPrivateKey (RFC 5915: version 1, privateKey, [0] parameters, [1]
 * publicKey). OpenSSL 3.0's decoder chain, which EVP_PKCS82PKEY() runs,
 * costs as much as the rest of a whole issuance. NULL: not such a key
 * (the caller then asks OpenSSL), or *bad when its public half is not
 * the private key's (the certificate would match a key we cannot sign
 * for: every signature would be wrong).
 */
static EVP_PKEY *
ec_from_p8(const PKCS8_PRIV_KEY_INFO *p8, bool *bad)
{
	const ASN1_OBJECT *obj;
	const X509_ALGOR *alg;
	const unsigned char *pk, *p, *end, *c, *priv = NULL, *pub = NULL;
	const void *pval;
	unsigned char oid[16];
	const char *group;
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *d = NULL;
	size_t n, priv_len = 0, pub_len = 0;
	int pklen, ptype;
	uint8_t tag;

	if (!PKCS8_pkey_get0(&obj, &pk, &pklen, &alg, p8))
		return NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (OBJ_length(obj) != sizeof(oid_ec_pub) ||
	    memcmp(OBJ_get0_data(obj), oid_ec_pub, sizeof(oid_ec_pub)) != 0 || ptype != V_ASN1_OBJECT)
		return NULL;
	obj = pval;
	n = OBJ_length(obj);
	if (n > sizeof(oid))
		return NULL;
	memcpy(oid, OBJ_get0_data(obj), n);
	if (n == sizeof(oid_p256) && memcmp(oid, oid_p256, n) == 0)
		group = "P-256";
	else if (n == sizeof(oid_p384) && memcmp(oid, oid_p384, n) == 0)
		group = "P-384";
	else
		return NULL;
	p = pk;
	end = pk + pklen;
	if (!ca_der_next(&p, end, &tag, &c, &n) || tag != 0x30 || p != end)
		return NULL;
	p = c;
	end = c + n;
	if (!ca_der_next(&p, end, &tag, &c, &n) || tag != 0x02 || n != 1 || c[0] != 1 ||
	    !ca_der_next(&p, end, &tag, &priv, &priv_len) || tag != 0x04)
		return NULL;
	while (p < end) {
		if (!ca_der_next(&p, end, &tag, &c, &n))
			return NULL;
		/* [1] { BIT STRING, no unused bits } */
		if (tag == 0xa1 && n > 3 && c[0] == 0x03) {
			const unsigned char *q = c, *bits;

			if (!ca_der_next(&q, c + n, &tag, &bits, &pub_len) || pub_len < 2 || bits[0] != 0)
				return NULL;
			pub = bits + 1;
			pub_len--;
		}
	}
	if (!pub)
		return NULL;
	d = BN_secure_new();
	if (!d || !BN_bin2bn(priv, (int)priv_len, d))
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, pub_len);
	params[3] = OSSL_PARAM_construct_end();
	/* The BIGNUM as native-endian bytes of its own size, as OSSL_PARAM wants it. */
	{
		unsigned char le[66];
		int bl = BN_num_bytes(d);

		if (bl <= 0 || bl > (int)sizeof(le) || BN_bn2nativepad(d, le, bl) != bl)
			goto out;
		params[2] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, le, (size_t)bl);
		pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
		    EVP_PKEY_fromdata(pc, &key, EVP_PKEY_KEYPAIR, params) != 1)
			key = NULL;
		OPENSSL_cleanse(le, sizeof(le));
		if (key) {
			/* One scalar multiplication: pub == d·G. */
			EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

			if (!chk || EVP_PKEY_pairwise_check(chk) != 1) {
				EVP_PKEY_free(key);
				key = NULL;
				*bad = true;
			}
			EVP_PKEY_CTX_free(chk);
		}
	}
out:
	BN_clear_free(d);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return key;
}

/* An encrypted PKCS#8 PEM decrypted by hand, an EC key built directly. */
static EVP_PKEY *
read_key(BIO *bio, const char *pass, bool *bad)
{
	char *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long len = 0;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;

	if (!PEM_read_bio(bio, &name, &hdr, &data, &len))
		goto out;
	if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
		p = data;
		sig = d2i_X509_SIG(NULL, &p, len);
		if (sig && p == data + len)
			p8 = PKCS8_decrypt(sig, pass, (int)strlen(pass));
		if (p8) {
			key = ec_from_p8(p8, bad);
			if (!key && !*bad)
				key = EVP_PKCS82PKEY(p8);
		}
	} else {
		/* Anything else (a legacy PEM): OpenSSL's own reader. */
		BIO *mem = BIO_new(BIO_s_mem());

		if (mem && PEM_write_bio(mem, name, hdr, data, len) > 0)
			key = PEM_read_bio_PrivateKey(mem, NULL, NULL, (void *)pass);
		BIO_free(mem);
	}
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	if (data)
		OPENSSL_clear_free(data, (size_t)len);
	return key;
}

static cvq_ca_err
key_load_file(const char *path, const char *pass_source, const char *given, EVP_PKEY **out,
              char *msg, size_t msg_len)
{
	char pass[1024];
	struct stat st;
	BIO *bio = NULL;
	FILE *f = NULL;
	cvq_ca_err err;
	bool bad = false;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, msg_len, "cannot open key %s: %s", path, strerror(errno));
		return CVQ_CA_ERR_IO;
	}
	/* A CA key anyone else can read is a compromised key: refuse it. */
	if (fstat(fd, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(msg, msg_len, "key %s is accessible by group or others (chmod 600)", path);
		close(fd);
		return CVQ_CA_ERR_PERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return CVQ_CA_ERR_IO;
	}
	/* A passphrase read already (a source such as fd: or tty reads once). */
	if (given)
		err = (size_t)snprintf(pass, sizeof(pass), "%s", given) < sizeof(pass) ? CVQ_CA_OK
		                                                                     : CVQ_CA_ERR_PASSPHRASE;
	else
		err = ca_secret_read(pass_source, "CA key passphrase:", pass, sizeof(pass));
	if (err != CVQ_CA_OK) {
		snprintf(msg, msg_len, "cannot read the passphrase of %s", path);
		goto out;
	}
	bio = BIO_new_fp(f, BIO_NOCLOSE);
	if (!bio) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	*out = read_key(bio, pass, &bad);
	if (!*out) {
		ERR_clear_error();
		if (bad) {
			snprintf(msg, msg_len, "key %s: its public key is not its private key's", path);
			err = CVQ_CA_ERR_KEY;
		} else {
			snprintf(msg, msg_len, "cannot decrypt key %s (wrong passphrase?)", path);
			err = CVQ_CA_ERR_PASSPHRASE;
		}
	}
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	BIO_free(bio);
	fclose(f);
	return err;
}

struct pin_src {
	const char *source;
};

/* PINs come from the same kind of source as passphrases, never argv. */
static int
token_pin(void *ctx, const char *label, char *buf, size_t cap)
{
	const struct pin_src *p = ctx;

	(void)label;
	if (!buf || !cap)
		return 0; /* PIN pad: the user types on the reader */
	return ca_secret_read(p->source, "CA token PIN:", buf, cap) == CVQ_CA_OK ? 0 : 1;
}

static cvq_ca_err
key_load_token(const char *uri, const char *pass_source, struct ca_keyref *ref,
               char *msg, size_t msg_len)
{
	struct pin_src src = {pass_source};
	cvq_p11_err e;

	e = cvq_p11_open_uri(uri, &ref->p11);
	if (e != CVQ_P11_OK) {
		snprintf(msg, msg_len, "PKCS#11 module of %s: %s", uri, cvq_p11_strerror(e));
		return CVQ_CA_ERR_KEY;
	}
	if (pass_source)
		cvq_p11_set_pin_callback(ref->p11, token_pin, &src);
	e = cvq_p11_key_find(ref->p11, uri, &ref->p11key);
	if (e == CVQ_P11_OK && !(ref->pkey = cvq_p11_key_pkey(ref->p11key)))
		e = CVQ_P11_ERR_PKCS11;
	/* The callback's context lives on this stack: no later PIN prompts. */
	cvq_p11_set_pin_callback(ref->p11, NULL, NULL);
	if (e != CVQ_P11_OK) {
		snprintf(msg, msg_len, "token key: %s", cvq_p11_strerror(e));
		ca_keyref_free(ref);
		return e == CVQ_P11_ERR_PIN_INCORRECT ? CVQ_CA_ERR_PASSPHRASE : CVQ_CA_ERR_KEY;
	}
	EVP_PKEY_up_ref(ref->pkey);
	return CVQ_CA_OK;
}

static int
p11_keytype(const char *alg, cvq_p11_keytype *t)
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

/*
 * A new key pair made on the token `uri` names (object= required, id=
 * optional, else a random 8-byte CKA_ID): sensitive, never extractable.
 * Never beside a key of the same name: the CA would sign with one of two.
 */
static cvq_ca_err
key_generate_token(const char *uri, const char *alg, const char *pass_source,
                   struct ca_keyref *ref, char *msg, size_t msg_len)
{
	struct pin_src src = {pass_source};
	cvq_p11_uri *u = NULL;
	cvq_p11_key *old = NULL;
	cvq_p11_keytype type;
	const char *label, *idv;
	unsigned char id[8];
	size_t id_len = 0;
	cvq_ca_err err = CVQ_CA_ERR_KEY;
	cvq_p11_err e;

	if (p11_keytype(alg, &type) != 0 || cvq_p11_uri_parse(uri, &u) != CVQ_P11_OK ||
	    !(label = cvq_p11_uri_get(u, CVQ_P11_URI_OBJECT, NULL))) {
		snprintf(msg, msg_len, "a key made on a token needs ec-p256/p384 or rsa-3072/4096 "
		         "and the key's name in the URI (object=...)");
		cvq_p11_uri_free(u);
		return CVQ_CA_ERR_ARG;
	}
	idv = cvq_p11_uri_get(u, CVQ_P11_URI_ID, &id_len);
	if (idv && (id_len == 0 || id_len > sizeof(id))) {
		snprintf(msg, msg_len, "the URI's id must be 1 to %zu bytes", sizeof(id));
		err = CVQ_CA_ERR_ARG;
		goto out;
	}
	if (idv) {
		memcpy(id, idv, id_len);
	} else {
		id_len = sizeof(id);
		if (RAND_bytes(id, (int)id_len) != 1)
			goto out;
	}
	e = cvq_p11_open_uri(uri, &ref->p11);
	if (e != CVQ_P11_OK) {
		snprintf(msg, msg_len, "PKCS#11 module of %s: %s", uri, cvq_p11_strerror(e));
		goto out;
	}
	if (pass_source)
		cvq_p11_set_pin_callback(ref->p11, token_pin, &src);
	e = cvq_p11_key_find(ref->p11, uri, &old);
	if (e == CVQ_P11_OK || e == CVQ_P11_ERR_AMBIGUOUS) {
		snprintf(msg, msg_len, "the token already holds a key named %s", label);
		err = CVQ_CA_ERR_EXISTS;
	} else if (e == CVQ_P11_ERR_NO_KEY) {
		/* Logged in by the search: no second PIN for the generation. */
		e = cvq_p11_keygen(ref->p11, uri, type, label, id, id_len, &ref->p11key);
		if (e == CVQ_P11_OK && !(ref->pkey = cvq_p11_key_pkey(ref->p11key)))
			e = CVQ_P11_ERR_PKCS11;
		if (e == CVQ_P11_OK) {
			EVP_PKEY_up_ref(ref->pkey);
			err = CVQ_CA_OK;
		} else {
			snprintf(msg, msg_len, "key generation on the token: %s", cvq_p11_strerror(e));
		}
	} else {
		snprintf(msg, msg_len, "token: %s", cvq_p11_strerror(e));
		if (e == CVQ_P11_ERR_PIN_INCORRECT || e == CVQ_P11_ERR_PIN_LOCKED)
			err = CVQ_CA_ERR_PASSPHRASE;
	}
	/* The callback's context lives on this stack: no later PIN prompts. */
	cvq_p11_set_pin_callback(ref->p11, NULL, NULL);
	cvq_p11_key_free(old);
out:
	if (err != CVQ_CA_OK)
		ca_keyref_free(ref);
	OPENSSL_cleanse(id, sizeof(id));
	cvq_p11_uri_free(u);
	return err;
}

cvq_ca_err
ca_key_generate_token(const char *uri, const char *alg, const char *pass_source,
                      struct ca_keyref *ref, char *msg, size_t msg_len)
{
	memset(ref, 0, sizeof(*ref));
	if (!uri || strncmp(uri, "pkcs11:", 7) != 0)
		return CVQ_CA_ERR_ARG;
	return key_generate_token(uri, alg, pass_source, ref, msg, msg_len);
}

void
ca_keyref_free(struct ca_keyref *ref)
{
	EVP_PKEY_free(ref->pkey);
	cvq_p11_key_free(ref->p11key);
	cvq_p11_close(ref->p11);
	memset(ref, 0, sizeof(*ref));
}

cvq_ca_err
ca_key_load(const char *uri, const char *pass_source, struct ca_keyref *ref,
            char *msg, size_t msg_len)
{
	memset(ref, 0, sizeof(*ref));
	if (!uri)
		return CVQ_CA_ERR_CONFIG;
	if (strncmp(uri, "pkcs11:", 7) == 0)
		return key_load_token(uri, pass_source, ref, msg, msg_len);
	return key_load_file(uri, pass_source, NULL, &ref->pkey, msg, msg_len);
}

cvq_ca_err
ca_key_load_file_pass(const char *path, const char *passphrase, EVP_PKEY **out, char *msg,
                      size_t msg_len)
{
	*out = NULL;
	return passphrase ? key_load_file(path, NULL, passphrase, out, msg, msg_len) : CVQ_CA_ERR_ARG;
}

cvq_ca_err
ca_cert_load(const char *path, X509 **out)
{
	BIO *bio = BIO_new_file(path, "r");

	*out = NULL;
	if (!bio)
		return CVQ_CA_ERR_IO;
	*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!*out) {
		ERR_clear_error();
		return CVQ_CA_ERR_IO;
	}
	return CVQ_CA_OK;
}

cvq_ca_err
ca_cert_save(X509 *cert, const char *path)
{
	BIO *bio;
	int fd, ok;

	fd = cvq_util_file_create(path, O_WRONLY | O_EXCL, 0644);
	if (fd < 0)
		return errno == EEXIST ? CVQ_CA_ERR_EXISTS : CVQ_CA_ERR_IO;
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (!bio) {
		close(fd);
		return CVQ_CA_ERR_NOMEM;
	}
	ok = PEM_write_bio_X509(bio, cert) && BIO_flush(bio) == 1;
	BIO_free(bio);
	return ok ? CVQ_CA_OK : CVQ_CA_ERR_IO;
}
