/*
 * libcvqenrol — what the enrolment asks of the card itself, with no CA:
 * authenticating with the card's management key (the issuer's key for the
 * GUID, else a failed enrolment's, else the factory key) and reading a new key's PIV attestation. Moved from cvq-admin's
 * enrol_ctx.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include <cvq/enrol.h>
#include <cvq/piv.h>
#include <cvq/piv_authentic.h>
#include <cvq/profile.h>

cvq_card_err
cvq_enrol_card_mgmt_auth_keys(cvq_card *card, int alg, const uint8_t *key, size_t key_len,
                              const uint8_t *prev_key, size_t prev_len, int *which)
{
	cvq_card_err err = CVQ_CARD_ERR_AUTH;

	/* Most likely first: a wrong try costs a round trip, not a counter
	 * (PIV has no retry counter on the management key). */
	if (key) {
		err = cvq_card_mgmt_auth(card, (cvq_card_alg)alg, key, key_len);
		if (err == CVQ_CARD_OK)
			*which = 0;
	}
	if ((err == CVQ_CARD_ERR_AUTH || err == CVQ_CARD_ERR_UNSUPPORTED) && prev_key) {
		err = cvq_card_mgmt_auth(card, (cvq_card_alg)alg, prev_key, prev_len);
		if (err == CVQ_CARD_OK)
			*which = 1;
	}
	if (err == CVQ_CARD_ERR_AUTH || err == CVQ_CARD_ERR_UNSUPPORTED) {
		err = cvq_card_mgmt_auth(card, CVQ_CARD_ALG_3DES, cvq_card_default_mgmt_key,
		                         sizeof(cvq_card_default_mgmt_key));
		if (err == CVQ_CARD_OK)
			*which = 2;
	}
	return err;
}

bool
cvq_enrol_serial_hex(const ASN1_INTEGER *serial, char out[67])
{
	BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	bool ok = hex && strlen(hex) < 67;

	out[0] = '\0';
	if (ok)
		memcpy(out, hex, strlen(hex) + 1);
	OPENSSL_free(hex);
	BN_free(bn);
	return ok;
}

cvq_card_err
cvq_enrol_card_attest(cvq_card *card, int slot, uint8_t **att, size_t *att_len, uint8_t **f9,
                      size_t *f9_len)
{
	uint8_t *obj = NULL;
	size_t obj_len = 0;
	X509 *a = NULL, *f = NULL;
	unsigned char *d = NULL;
	cvq_card_err err;
	int n;

	*att_len = *f9_len = 0;
	err = cvq_piv_attest(card, (uint8_t)slot, &a);
	if (err == CVQ_CARD_ERR_UNSUPPORTED || err == CVQ_CARD_ERR_NOT_FOUND)
		return CVQ_CARD_OK;
	if (err == CVQ_CARD_OK)
		err = cvq_card_read_object(card, 0x5FFF01u, &obj, &obj_len);
	if (err == CVQ_CARD_ERR_NOT_FOUND)
		err = CVQ_CARD_OK;
	else if (err == CVQ_CARD_OK && cvq_card_cert_parse(obj, obj_len, &f) != CVQ_CARD_OK)
		f = NULL;
	if (!err && a && f) {
		if ((n = i2d_X509(a, &d)) > 0 && (*att = malloc((size_t)n))) {
			memcpy(*att, d, (size_t)n);
			*att_len = (size_t)n;
		}
		OPENSSL_free(d);
		d = NULL;
		if ((n = i2d_X509(f, &d)) > 0 && (*f9 = malloc((size_t)n))) {
			memcpy(*f9, d, (size_t)n);
			*f9_len = (size_t)n;
		}
		OPENSSL_free(d);
		if (!*att_len || !*f9_len)
			err = CVQ_CARD_ERR_NOMEM;
	}
	free(obj);
	X509_free(a);
	X509_free(f);
	return err;
}
