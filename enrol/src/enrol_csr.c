/*
 * libcvqenrol — a PKCS#10 request for a key born on the card, signed by
 * the card through the request's sign callback: the proof of possession
 * an issuing service that takes CSRs wants (the CA's agent today, an
 * EST simpleenroll tomorrow). The subject is only the GUID: the CA builds
 * citizens' subjects from its store.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cvq/enrol.h>

cvq_enrol_err
cvq_enrol_csr(const struct cvq_enrol_cert_req *r, uint8_t **der, size_t *der_len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	uint8_t *tbs = NULL, digest[32], *sig = NULL, *enc = NULL;
	unsigned dlen = 0;
	size_t sig_len = 0;
	bool ec = EVP_PKEY_base_id(r->pub) == EVP_PKEY_EC;
	cvq_enrol_err err = CVQ_ENROL_ERR_CRYPTO;
	int n;

	*der = NULL;
	*der_len = 0;
	if (!r || !r->pub || !r->guid || !r->sign) {
		X509_REQ_free(req);
		return CVQ_ENROL_ERR_ARG;
	}
	if (!req || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_pubkey(req, r->pub) != 1 || !(name = X509_NAME_new()) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)r->guid,
	                               -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || !(alg = X509_ALGOR_new()))
		goto out;
	/* A CSR's TBS does not hold the signature algorithm: set it beside. */
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(ec ? NID_ecdsa_with_SHA256 : NID_sha256WithRSAEncryption),
	                    ec ? V_ASN1_UNDEF : V_ASN1_NULL, NULL) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1)
		goto out;
	n = i2d_re_X509_REQ_tbs(req, &tbs);
	if (n <= 0 || EVP_Digest(tbs, (size_t)n, digest, &dlen, EVP_sha256(), NULL) != 1)
		goto out;
	err = r->sign(r->sign_ctx, digest, &sig, &sig_len);
	if (err)
		goto out;
	err = CVQ_ENROL_ERR_CRYPTO;
	if (!(bits = ASN1_BIT_STRING_new()) || ASN1_BIT_STRING_set(bits, sig, (int)sig_len) != 1)
		goto out;
	/* A signature is whole octets: say "0 bits left", or the encoder
	 * trims trailing zero bits and the agent's verification fails for
	 * every signature that ends in an even byte (as ASN1_item_sign does). */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	n = i2d_X509_REQ(req, &enc);
	if (n <= 0)
		goto out;
	/* Check the bytes sent as the agent will: a card that signed wrongly
	 * is the card's failure here, not a refusal there. */
	{
		const unsigned char *q = enc;
		X509_REQ *back = d2i_X509_REQ(NULL, &q, n);
		int ok = back && X509_REQ_verify(back, r->pub) == 1;

		X509_REQ_free(back);
		if (!ok) {
			ERR_clear_error();
			err = CVQ_ENROL_ERR_CARD;
			goto out;
		}
	}
	*der = malloc((size_t)n);
	if (!*der)
		goto out;
	memcpy(*der, enc, (size_t)n);
	*der_len = (size_t)n;
	err = CVQ_ENROL_OK;
out:
	OPENSSL_free(enc);
	ASN1_BIT_STRING_free(bits);
	OPENSSL_free(tbs);
	free(sig);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return err;
}
