/*
 * Signatures over a digest: [VERIFY] + GENERAL AUTHENTICATE in one
 * transaction. RSA padding (PKCS#1 v1.5, PSS) is done here, on the host;
 * the card computes the raw RSA or the ECDSA.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"

#define RSA_MAX_BYTES 256

/* The card's algorithm for a public key, and its size in bytes. */
static cvq_card_err
key_alg(EVP_PKEY *pub, cvq_card_alg *alg, size_t *size)
{
	char group[64];
	size_t glen = 0;
	int bits = EVP_PKEY_get_bits(pub);

	if (EVP_PKEY_is_a(pub, "RSA")) {
		if (bits == 2048)
			*alg = CVQ_CARD_ALG_RSA2048;
		else if (bits == 1024)
			*alg = CVQ_CARD_ALG_RSA1024;
		else
			return CVQ_CARD_ERR_UNSUPPORTED;
		*size = (size_t)bits / 8;
		return CVQ_CARD_OK;
	}
	if (EVP_PKEY_is_a(pub, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                   sizeof(group), &glen) == 1) {
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			*alg = CVQ_CARD_ALG_ECCP256;
			*size = 32;
			return CVQ_CARD_OK;
		}
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			*alg = CVQ_CARD_ALG_ECCP384;
			*size = 48;
			return CVQ_CARD_OK;
		}
	}
	return CVQ_CARD_ERR_UNSUPPORTED;
}

static cvq_card_err
pad_pkcs1(const EVP_MD *md, const uint8_t *dg, size_t dlen, uint8_t *em, size_t k)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *algor;
	ASN1_OCTET_STRING *os;
	unsigned char *di = NULL;
	int dilen;
	cvq_card_err err = CVQ_CARD_ERR_CRYPTO;

	if (sig == NULL)
		return CVQ_CARD_ERR_NOMEM;
	X509_SIG_getm(sig, &algor, &os);
	if (X509_ALGOR_set0(algor, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) != 1 ||
	    ASN1_OCTET_STRING_set(os, dg, (int)dlen) != 1)
		goto out;
	dilen = i2d_X509_SIG(sig, &di);
	if (dilen <= 0)
		goto out;
	if ((size_t)dilen + 11 > k) {
		err = CVQ_CARD_ERR_ARG;
		goto out;
	}
	/* EM = 00 01 FF..FF 00 DigestInfo (RFC 8017, 9.2). */
	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xFF, k - (size_t)dilen - 3);
	em[k - (size_t)dilen - 1] = 0x00;
	memcpy(em + k - (size_t)dilen, di, (size_t)dilen);
	err = CVQ_CARD_OK;
out:
	OPENSSL_free(di);
	X509_SIG_free(sig);
	return err;
}

static cvq_card_err
mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t slen, uint8_t *out, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t h[EVP_MAX_MD_SIZE], ctr[4];
	unsigned int hl;
	size_t done = 0, i;
	uint32_t n;

	if (c == NULL)
		return CVQ_CARD_ERR_NOMEM;
	for (n = 0; done < len; n++) {
		ctr[0] = (uint8_t)(n >> 24);
		ctr[1] = (uint8_t)(n >> 16);
		ctr[2] = (uint8_t)(n >> 8);
		ctr[3] = (uint8_t)n;
		if (EVP_DigestInit_ex(c, md, NULL) != 1 ||
		    EVP_DigestUpdate(c, seed, slen) != 1 ||
		    EVP_DigestUpdate(c, ctr, 4) != 1 ||
		    EVP_DigestFinal_ex(c, h, &hl) != 1) {
			EVP_MD_CTX_free(c);
			return CVQ_CARD_ERR_CRYPTO;
		}
		for (i = 0; i < hl && done < len; i++)
			out[done++] ^= h[i];
	}
	EVP_MD_CTX_free(c);
	return CVQ_CARD_OK;
}

/* EMSA-PSS-ENCODE (RFC 8017, 9.1.1), salt length = digest length. */
static cvq_card_err
pad_pss(const EVP_MD *md, const uint8_t *dg, size_t hlen, uint8_t *em,
        size_t k, int mod_bits)
{
	static const uint8_t zeros[8] = {0};
	size_t em_bits = (size_t)mod_bits - 1, em_len = (em_bits + 7) / 8;
	size_t slen = hlen, db_len, off;
	uint8_t salt[EVP_MAX_MD_SIZE], *e;
	EVP_MD_CTX *c;
	unsigned int hl;
	cvq_card_err err;

	if (em_len < hlen + slen + 2 || em_len > k)
		return CVQ_CARD_ERR_ARG;
	memset(em, 0, k);
	e = em + (k - em_len);
	db_len = em_len - hlen - 1;
	if (RAND_bytes(salt, (int)slen) != 1)
		return CVQ_CARD_ERR_CRYPTO;
	c = EVP_MD_CTX_new();
	if (c == NULL)
		return CVQ_CARD_ERR_NOMEM;
	/* H = Hash(00*8 || mHash || salt), stored right after the DB. */
	if (EVP_DigestInit_ex(c, md, NULL) != 1 ||
	    EVP_DigestUpdate(c, zeros, sizeof(zeros)) != 1 ||
	    EVP_DigestUpdate(c, dg, hlen) != 1 ||
	    EVP_DigestUpdate(c, salt, slen) != 1 ||
	    EVP_DigestFinal_ex(c, e + db_len, &hl) != 1 || hl != hlen) {
		EVP_MD_CTX_free(c);
		return CVQ_CARD_ERR_CRYPTO;
	}
	EVP_MD_CTX_free(c);
	off = db_len - slen - 1;
	e[off] = 0x01;
	memcpy(e + off + 1, salt, slen);
	err = mgf1_xor(md, e + db_len, hlen, e, db_len);
	if (err)
		return err;
	e[0] &= (uint8_t)(0xFF >> (8 * em_len - em_bits));
	e[em_len - 1] = 0xBC;
	return CVQ_CARD_OK;
}

/* The card's ECDSA answer, as canonical DER (raw r||s accepted too). */
static cvq_card_err
ecdsa_der(const uint8_t *v, size_t len, size_t field, uint8_t **sig, size_t *sig_len)
{
	const unsigned char *q = v;
	ECDSA_SIG *s;
	unsigned char *der = NULL;
	int n;

	s = d2i_ECDSA_SIG(NULL, &q, (long)len);
	if (s == NULL || q != v + len) {
		ECDSA_SIG_free(s);
		s = NULL;
		if (len == 2 * field) {
			BIGNUM *r = BN_bin2bn(v, (int)field, NULL);
			BIGNUM *t = BN_bin2bn(v + field, (int)field, NULL);
			s = ECDSA_SIG_new();
			if (s == NULL || r == NULL || t == NULL || ECDSA_SIG_set0(s, r, t) != 1) {
				BN_free(r);
				BN_free(t);
				ECDSA_SIG_free(s);
				return CVQ_CARD_ERR_NOMEM;
			}
		}
	}
	if (s == NULL)
		return CVQ_CARD_ERR_BAD_DATA;
	n = i2d_ECDSA_SIG(s, &der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return CVQ_CARD_ERR_CRYPTO;
	*sig = malloc((size_t)n);
	if (*sig == NULL) {
		OPENSSL_free(der);
		return CVQ_CARD_ERR_NOMEM;
	}
	memcpy(*sig, der, (size_t)n);
	*sig_len = (size_t)n;
	OPENSSL_free(der);
	return CVQ_CARD_OK;
}

/* Build the block the card signs. */
static cvq_card_err
sign_input(const cvq_card_sign_req *req, EVP_PKEY *pub, cvq_card_alg alg,
           size_t size, uint8_t *in)
{
	if (alg == CVQ_CARD_ALG_ECCP256 || alg == CVQ_CARD_ALG_ECCP384) {
		/* ECDSA uses the leftmost field-size bytes of the digest; a
		 * shorter digest is the same number left-padded with zeros. */
		memset(in, 0, size);
		if (req->digest_len >= size)
			memcpy(in, req->digest, size);
		else
			memcpy(in + size - req->digest_len, req->digest, req->digest_len);
		return CVQ_CARD_OK;
	}
	if (req->md == NULL || (size_t)EVP_MD_get_size(req->md) != req->digest_len)
		return CVQ_CARD_ERR_ARG;
	if (req->padding == CVQ_CARD_PAD_PSS)
		return pad_pss(req->md, req->digest, req->digest_len, in, size,
		               EVP_PKEY_get_bits(pub));
	return pad_pkcs1(req->md, req->digest, req->digest_len, in, size);
}

cvq_card_err
cvq_card_sign(cvq_card *card, const cvq_card_sign_req *req, uint8_t **sig,
              size_t *sig_len, int *tries_left)
{
	uint8_t in[RSA_MAX_BYTES], cmd[RSA_MAX_BYTES + 16], *rsp = NULL;
	size_t size = 0, rlen = 0, off = 0;
	cvq_card_apdu a = {0x00, 0x87, 0, 0, cmd, 0, true, false};
	cvq_card_alg alg = 0;
	cvq_card_tlv outer, res;
	EVP_PKEY *pub = NULL;
	X509 *cert = NULL;
	uint16_t sw;
	bool began = false;
	cvq_card_err err;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL || req == NULL || sig == NULL || sig_len == NULL ||
	    req->digest == NULL || req->digest_len == 0 || req->digest_len > 64 ||
	    card_cert_index(req->slot) < 0)
		return CVQ_CARD_ERR_ARG;
	*sig = NULL;
	*sig_len = 0;
	err = cvq_card_begin(card);
	if (err)
		return err;
	began = true;
	pub = req->pub;
	if (pub == NULL) {
		err = cvq_card_read_cert(card, req->slot, &cert);
		if (err)
			goto out;
		pub = X509_get0_pubkey(cert);
		if (pub == NULL) {
			err = CVQ_CARD_ERR_BAD_DATA;
			goto out;
		}
	}
	if ((err = key_alg(pub, &alg, &size)) ||
	    (err = sign_input(req, pub, alg, size, in)))
		goto out;
	if (req->pin != NULL) {
		err = cvq_card_pin_verify(card, req->pin, tries_left);
		if (err)
			goto out;
	}
	if ((err = cvq_card_tlv_put_header(cmd, sizeof(cmd), &off, 0x7C,
	                                   2 + cvq_card_tlv_len_size(size) + 1 + size)) ||
	    (err = cvq_card_tlv_put(cmd, sizeof(cmd), &off, 0x82, NULL, 0)) ||
	    (err = cvq_card_tlv_put(cmd, sizeof(cmd), &off, 0x81, in, size)))
		goto out;
	a.p1 = (uint8_t)alg;
	a.p2 = (uint8_t)req->slot;
	a.lc = off;
	err = card_piv_cmd(card, &a, &rsp, &rlen, &sw);
	if (err)
		goto out;
	if (sw != CVQ_CARD_SW_OK) {
		err = cvq_card_sw_to_err(sw, NULL);
		if (err == CVQ_CARD_ERR_SECURITY)
			err = CVQ_CARD_ERR_NOT_VERIFIED;
		goto out;
	}
	if (cvq_card_tlv_parse_one(rsp, rlen, &outer) || outer.tag != 0x7C ||
	    cvq_card_tlv_find(outer.value, outer.len, 0x82, &res) || res.len == 0) {
		err = CVQ_CARD_ERR_BAD_DATA;
		goto out;
	}
	if (alg == CVQ_CARD_ALG_ECCP256 || alg == CVQ_CARD_ALG_ECCP384) {
		err = ecdsa_der(res.value, res.len, size, sig, sig_len);
	} else {
		if (res.len > size) {
			err = CVQ_CARD_ERR_BAD_DATA;
			goto out;
		}
		*sig = calloc(1, size);
		if (*sig == NULL) {
			err = CVQ_CARD_ERR_NOMEM;
			goto out;
		}
		memcpy(*sig + size - res.len, res.value, res.len);
		*sig_len = size;
	}
out:
	if (began)
		cvq_card_end(card, false);
	X509_free(cert);
	OPENSSL_cleanse(in, sizeof(in));
	free(rsp);
	return err;
}
