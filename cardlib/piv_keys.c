/*
 * GENERATE ASYMMETRIC KEY PAIR and its answer (7F49 public key template)
 * turned into an OpenSSL EVP_PKEY.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"

static cvq_card_err
pkey_fromdata(OSSL_PARAM_BLD *b, const char *type, EVP_PKEY **pub)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *pc = NULL;
	cvq_card_err err = CVQ_CARD_ERR_BAD_DATA;

	if (params == NULL)
		return CVQ_CARD_ERR_NOMEM;
	pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 &&
	    EVP_PKEY_fromdata(pc, pub, EVP_PKEY_PUBLIC_KEY, params) == 1)
		err = CVQ_CARD_OK;
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	return err;
}

static cvq_card_err
rsa_pub(const cvq_card_tlv *n, const cvq_card_tlv *e, size_t bits, EVP_PKEY **pub)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = NULL, *be = NULL;
	cvq_card_err err = CVQ_CARD_ERR_BAD_DATA;

	if (b == NULL)
		return CVQ_CARD_ERR_NOMEM;
	bn = BN_bin2bn(n->value, (int)n->len, NULL);
	be = BN_bin2bn(e->value, (int)e->len, NULL);
	if (bn == NULL || be == NULL)
		goto out;
	/* The modulus must have exactly the size the algorithm says, and the
	 * exponent must be odd and > 1. */
	if ((size_t)BN_num_bits(bn) != bits || !BN_is_odd(be) || BN_is_one(be) ||
	    BN_num_bits(be) > 64)
		goto out;
	if (OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto out;
	err = pkey_fromdata(b, "RSA", pub);
out:
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(b);
	return err;
}

static cvq_card_err
ec_pub(const cvq_card_tlv *pt, const char *group, size_t coord, EVP_PKEY **pub)
{
	OSSL_PARAM_BLD *b;
	cvq_card_err err = CVQ_CARD_ERR_BAD_DATA;

	if (pt->len != 1 + 2 * coord || pt->value[0] != 0x04)
		return CVQ_CARD_ERR_BAD_DATA;
	b = OSSL_PARAM_BLD_new();
	if (b == NULL)
		return CVQ_CARD_ERR_NOMEM;
	if (OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt->value,
	                                     pt->len) == 1)
		err = pkey_fromdata(b, "EC", pub);
	OSSL_PARAM_BLD_free(b);
	return err;
}

cvq_card_err
cvq_card_generate_parse(const uint8_t *buf, size_t len, cvq_card_alg alg,
                        EVP_PKEY **pub)
{
	cvq_card_tlv outer, n, e, pt;
	const uint8_t *p = buf;
	cvq_card_err err;

	if ((buf == NULL && len != 0) || pub == NULL)
		return CVQ_CARD_ERR_ARG;
	*pub = NULL;
	/* Take the first TLV: some cards append padding. */
	err = cvq_card_tlv_next(&p, buf + len, &outer);
	if (err)
		return err;
	if (outer.tag != 0x7F49)
		return CVQ_CARD_ERR_BAD_DATA;
	switch (alg) {
	case CVQ_CARD_ALG_RSA1024:
	case CVQ_CARD_ALG_RSA2048:
		if (cvq_card_tlv_find(outer.value, outer.len, 0x81, &n) ||
		    cvq_card_tlv_find(outer.value, outer.len, 0x82, &e) ||
		    n.len == 0 || e.len == 0)
			return CVQ_CARD_ERR_BAD_DATA;
		return rsa_pub(&n, &e, alg == CVQ_CARD_ALG_RSA2048 ? 2048 : 1024, pub);
	case CVQ_CARD_ALG_ECCP256:
	case CVQ_CARD_ALG_ECCP384:
		if (cvq_card_tlv_find(outer.value, outer.len, 0x86, &pt))
			return CVQ_CARD_ERR_BAD_DATA;
		return alg == CVQ_CARD_ALG_ECCP256 ? ec_pub(&pt, "P-256", 32, pub)
		                                   : ec_pub(&pt, "P-384", 48, pub);
	default:
		return CVQ_CARD_ERR_ARG;
	}
}

cvq_card_err
cvq_card_generate(cvq_card *card, cvq_card_slot slot, cvq_card_alg alg,
                  EVP_PKEY **pub)
{
	uint8_t data[5] = {0xAC, 0x03, 0x80, 0x01, 0x00}, *rsp = NULL;
	size_t rlen = 0;
	cvq_card_apdu a = {0x00, 0x47, 0x00, 0x00, data, sizeof(data), true, false};
	cvq_card_err err;

	if (card == NULL || pub == NULL || card_cert_index(slot) < 0 ||
	    (alg != CVQ_CARD_ALG_RSA2048 && alg != CVQ_CARD_ALG_ECCP256 &&
	     alg != CVQ_CARD_ALG_ECCP384 && alg != CVQ_CARD_ALG_RSA1024))
		return CVQ_CARD_ERR_ARG;
	*pub = NULL;
	a.p2 = (uint8_t)slot;
	data[4] = (uint8_t)alg;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_piv_cmd_ok(card, &a, &rsp, &rlen);
	cvq_card_end(card, false);
	if (err == CVQ_CARD_ERR_ARG)
		err = CVQ_CARD_ERR_UNSUPPORTED; /* 6A80: algorithm not supported */
	if (err == CVQ_CARD_OK)
		err = cvq_card_generate_parse(rsp, rlen, alg, pub);
	free(rsp);
	return err;
}
