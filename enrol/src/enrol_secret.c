/*
 * libcvqenrol — the CA side's secrets for card issuance: the master secret
 * file (mode 0600, refused otherwise), PUKs sealed with AES-256-GCM under
 * a key derived from it (the GUID as AAD, so a sealed PUK moved to another
 * card's row does not open), and random PIN/PUK digits.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cvq/util.h>

#include <cvq/enrol.h>

#define PUK_KEY_SALT "cvq-puk-seal-v1"
#define BLOB_VERSION 1

const char *
cvq_enrol_strerror(cvq_enrol_err err)
{
	static const char *const s[] = {
		[CVQ_ENROL_OK] = "ok",
		[CVQ_ENROL_ERR_ARG] = "invalid argument",
		[CVQ_ENROL_ERR_IO] = "cannot read or write the file",
		[CVQ_ENROL_ERR_PERM] = "secret file readable or writable by group or others (chmod 600)",
		[CVQ_ENROL_ERR_FORMAT] = "malformed secret (64 to 128 hex digits expected)",
		[CVQ_ENROL_ERR_CRYPTO] = "cryptographic failure (wrong master secret?)",
		[CVQ_ENROL_ERR_STORE] = "enrolment journal failure",
		[CVQ_ENROL_ERR_NOT_FOUND] = "not found",
		[CVQ_ENROL_ERR_REFUSED] = "refused by the issuing service",
		[CVQ_ENROL_ERR_ISSUER] = "the issuing service failed or cannot be reached",
		[CVQ_ENROL_ERR_CARD] = "the card failed",
		[CVQ_ENROL_ERR_INTERRUPTED] = "the card went away (put it back and run it again)",
		[CVQ_ENROL_ERR_FAILED] = "the enrolment failed",
		[CVQ_ENROL_ERR_INVALID] = "the card may not be used any more",
	};

	if ((unsigned)err >= CVQ_ENROL_ERR__COUNT)
		return "unknown error";
	return s[err];
}

cvq_enrol_err
cvq_enrol_master_parse(const char *text, size_t text_len,
                       uint8_t out[CVQ_ENROL_MASTER_MAX], size_t *len)
{
	size_t b = 0, e = text_len, i, n;
	int hi, lo;

	if (!text || !out || !len)
		return CVQ_ENROL_ERR_ARG;
	while (b < e && isspace((unsigned char)text[b]))
		b++;
	while (e > b && isspace((unsigned char)text[e - 1]))
		e--;
	n = e - b;
	if (n % 2 || n / 2 < CVQ_ENROL_MASTER_MIN || n / 2 > CVQ_ENROL_MASTER_MAX)
		return CVQ_ENROL_ERR_FORMAT;
	for (i = 0; i < n / 2; i++) {
		hi = OPENSSL_hexchar2int((unsigned char)text[b + 2 * i]);
		lo = OPENSSL_hexchar2int((unsigned char)text[b + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, CVQ_ENROL_MASTER_MAX);
			return CVQ_ENROL_ERR_FORMAT;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return CVQ_ENROL_OK;
}

cvq_enrol_err
cvq_enrol_master_load(const char *path, uint8_t out[CVQ_ENROL_MASTER_MAX], size_t *len)
{
	char buf[4 * CVQ_ENROL_MASTER_MAX];
	struct stat sb;
	cvq_enrol_err err;
	ssize_t r;
	size_t n = 0;
	int fd;

	if (!path || !out || !len)
		return CVQ_ENROL_ERR_ARG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return CVQ_ENROL_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return CVQ_ENROL_ERR_IO;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return CVQ_ENROL_ERR_PERM;
	}
	while (n < sizeof(buf)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	err = n == sizeof(buf) ? CVQ_ENROL_ERR_FORMAT : cvq_enrol_master_parse(buf, n, out, len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

cvq_enrol_err
cvq_enrol_master_create(const char *path)
{
	uint8_t key[CVQ_ENROL_MASTER_MIN];
	char hex[2 * sizeof(key) + 2];
	cvq_enrol_err err = CVQ_ENROL_OK;
	size_t i;
	int fd;

	if (!path)
		return CVQ_ENROL_ERR_ARG;
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return CVQ_ENROL_ERR_CRYPTO;
	for (i = 0; i < sizeof(key); i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[2 * sizeof(key)] = '\n';
	fd = cvq_util_file_create(path, O_WRONLY | O_EXCL, 0600);
	if (fd < 0) {
		err = CVQ_ENROL_ERR_IO;
		goto out;
	}
	if (write(fd, hex, 2 * sizeof(key) + 1) != (ssize_t)(2 * sizeof(key) + 1) ||
	    fsync(fd) != 0)
		err = CVQ_ENROL_ERR_IO;
	if (close(fd) != 0)
		err = CVQ_ENROL_ERR_IO;
	if (err)
		unlink(path);
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	return err;
}

cvq_enrol_err
cvq_enrol_random_digits(char *out, size_t n)
{
	uint8_t b;
	size_t i = 0;

	if (!out || n == 0)
		return CVQ_ENROL_ERR_ARG;
	while (i < n) {
		if (RAND_priv_bytes(&b, 1) != 1) {
			OPENSSL_cleanse(out, n);
			return CVQ_ENROL_ERR_CRYPTO;
		}
		/* Rejection sampling: 250 = 25 * 10, so every digit is equally likely. */
		if (b >= 250)
			continue;
		out[i++] = (char)('0' + b % 10);
	}
	out[n] = '\0';
	OPENSSL_cleanse(&b, sizeof(b));
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
puk_key(const uint8_t *master, size_t master_len, uint8_t key[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4], *p = params;
	cvq_enrol_err err = CVQ_ENROL_ERR_CRYPTO;

	EVP_KDF_free(kdf);
	if (!kctx)
		return CVQ_ENROL_ERR_CRYPTO;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)master,
	                                         master_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)PUK_KEY_SALT,
	                                         sizeof(PUK_KEY_SALT) - 1);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, key, 32, params) == 1)
		err = CVQ_ENROL_OK;
	else
		OPENSSL_cleanse(key, 32);
	EVP_KDF_CTX_free(kctx);
	return err;
}

static bool
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[n] == '\0';
}

cvq_enrol_err
cvq_enrol_puk_seal(const uint8_t *master, size_t master_len,
                   const uint8_t guid[CVQ_CARD_GUID_LEN], const char *puk,
                   uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN])
{
	uint8_t key[32];
	EVP_CIPHER_CTX *c = NULL;
	cvq_enrol_err err = CVQ_ENROL_ERR_CRYPTO;
	int n;

	if (!master || master_len < CVQ_ENROL_MASTER_MIN || !guid || !puk || !blob ||
	    !all_digits(puk, CVQ_ENROL_PUK_LEN))
		return CVQ_ENROL_ERR_ARG;
	if (puk_key(master, master_len, key) != CVQ_ENROL_OK)
		return CVQ_ENROL_ERR_CRYPTO;
	blob[0] = BLOB_VERSION;
	if (RAND_bytes(blob + 1, 12) != 1)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), key, blob + 1, NULL) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, guid, CVQ_CARD_GUID_LEN) != 1 ||
	    EVP_EncryptUpdate(c, blob + 13, &n, (const uint8_t *)puk, CVQ_ENROL_PUK_LEN) != 1 ||
	    n != CVQ_ENROL_PUK_LEN || EVP_EncryptFinal_ex(c, blob + 13 + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, blob + 13 + CVQ_ENROL_PUK_LEN) != 1)
		goto out;
	err = CVQ_ENROL_OK;
out:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	if (err)
		OPENSSL_cleanse(blob, CVQ_ENROL_PUK_BLOB_LEN);
	return err;
}

cvq_enrol_err
cvq_enrol_puk_open(const uint8_t *master, size_t master_len,
                   const uint8_t guid[CVQ_CARD_GUID_LEN],
                   const uint8_t *blob, size_t blob_len, char puk[CVQ_ENROL_PUK_LEN + 1])
{
	uint8_t key[32], tag[16];
	EVP_CIPHER_CTX *c = NULL;
	cvq_enrol_err err = CVQ_ENROL_ERR_CRYPTO;
	int n;

	if (!master || master_len < CVQ_ENROL_MASTER_MIN || !guid || !blob || !puk)
		return CVQ_ENROL_ERR_ARG;
	if (blob_len != CVQ_ENROL_PUK_BLOB_LEN || blob[0] != BLOB_VERSION)
		return CVQ_ENROL_ERR_FORMAT;
	if (puk_key(master, master_len, key) != CVQ_ENROL_OK)
		return CVQ_ENROL_ERR_CRYPTO;
	memcpy(tag, blob + 13 + CVQ_ENROL_PUK_LEN, sizeof(tag));
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), key, blob + 1, NULL) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, guid, CVQ_CARD_GUID_LEN) != 1 ||
	    EVP_DecryptUpdate(c, (uint8_t *)puk, &n, blob + 13, CVQ_ENROL_PUK_LEN) != 1 ||
	    n != CVQ_ENROL_PUK_LEN ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1 ||
	    EVP_DecryptFinal_ex(c, (uint8_t *)puk + n, &n) != 1)
		goto out;
	puk[CVQ_ENROL_PUK_LEN] = '\0';
	err = all_digits(puk, CVQ_ENROL_PUK_LEN) ? CVQ_ENROL_OK : CVQ_ENROL_ERR_FORMAT;
out:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	if (err)
		OPENSSL_cleanse(puk, CVQ_ENROL_PUK_LEN + 1);
	return err;
}

bool
cvq_enrol_guid_parse(const char *hex, uint8_t guid[CVQ_CARD_GUID_LEN])
{
	size_t i;
	int hi, lo;

	if (!hex || strlen(hex) != 2 * CVQ_CARD_GUID_LEN)
		return false;
	for (i = 0; i < CVQ_CARD_GUID_LEN; i++) {
		hi = OPENSSL_hexchar2int((unsigned char)hex[2 * i]);
		lo = OPENSSL_hexchar2int((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		guid[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}
