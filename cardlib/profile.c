/*
 * The CVQ card profile: slot roles, the per-card management key
 * (HKDF-SHA256 of the master secret and the GUID) and the card's state.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "card_internal.h"
#include "cvq/profile.h"

const char *
cvq_card_role_name(cvq_card_slot slot)
{
	switch (slot) {
	case CVQ_CARD_SLOT_AUTH: return "authentication";
	case CVQ_CARD_SLOT_SIGN: return "signature";
	case CVQ_CARD_SLOT_CARDAUTH: return "card-authentication";
	default: return NULL;
	}
}

const char *
cvq_card_state_name(cvq_card_state state)
{
	switch (state) {
	case CVQ_CARD_STATE_BLANK: return "blank";
	case CVQ_CARD_STATE_PARTIAL: return "partial";
	case CVQ_CARD_STATE_ENROLLED: return "enrolled";
	case CVQ_CARD_STATE_PIN_BLOCKED: return "pin-blocked";
	case CVQ_CARD_STATE_BLOCKED: return "blocked";
	}
	return "unknown";
}

void
cvq_card_guid_hex(const uint8_t guid[CVQ_CARD_GUID_LEN], char out[33])
{
	size_t i;

	for (i = 0; i < CVQ_CARD_GUID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", guid[i]);
}

cvq_card_err
cvq_card_mgmt_key_derive(const uint8_t *master, size_t master_len,
                         const uint8_t guid[CVQ_CARD_GUID_LEN],
                         cvq_card_alg alg, uint8_t *key)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	uint8_t info[CVQ_CARD_GUID_LEN + 1];
	size_t klen = cvq_card_mgmt_key_len(alg);
	cvq_card_err err = CVQ_CARD_ERR_CRYPTO;

	if (master == NULL || master_len < CVQ_CARD_MASTER_MIN || guid == NULL ||
	    key == NULL || klen == 0)
		return CVQ_CARD_ERR_ARG;
	memcpy(info, guid, CVQ_CARD_GUID_LEN);
	info[CVQ_CARD_GUID_LEN] = (uint8_t)alg;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf != NULL)
		kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return CVQ_CARD_ERR_CRYPTO;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)master,
	                                         master_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	                                         (void *)(uintptr_t)CVQ_CARD_MGMT_SALT,
	                                         sizeof(CVQ_CARD_MGMT_SALT) - 1);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	*p = OSSL_PARAM_construct_end();
	/* HKDF's output of klen bytes is its first klen bytes of a longer one:
	 * "truncated to the algorithm's key length". */
	if (EVP_KDF_derive(kctx, key, klen, params) == 1)
		err = CVQ_CARD_OK;
	else
		OPENSSL_cleanse(key, klen);
	EVP_KDF_CTX_free(kctx);
	return err;
}

cvq_card_err
cvq_card_mgmt_auth_derived(cvq_card *card, const uint8_t *master,
                           size_t master_len, cvq_card_alg alg)
{
	uint8_t guid[CVQ_CARD_GUID_LEN], key[32];
	cvq_card_err err;

	if (card == NULL)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = cvq_card_guid(card, guid);
	if (err == CVQ_CARD_OK)
		err = cvq_card_mgmt_key_derive(master, master_len, guid, alg, key);
	if (err == CVQ_CARD_OK)
		err = cvq_card_mgmt_auth(card, alg, key, cvq_card_mgmt_key_len(alg));
	OPENSSL_cleanse(key, sizeof(key));
	cvq_card_end(card, false);
	return err;
}

static cvq_card_err
has_cert(cvq_card *card, cvq_card_slot slot, bool *has)
{
	X509 *x = NULL;
	cvq_card_err err = cvq_card_read_cert(card, slot, &x);

	*has = err == CVQ_CARD_OK;
	X509_free(x);
	/* A slot with unreadable data counts as empty, not as a failure. */
	return err == CVQ_CARD_ERR_NOT_FOUND || err == CVQ_CARD_ERR_BAD_DATA ||
	       err == CVQ_CARD_ERR_TLV ? CVQ_CARD_OK : err;
}

cvq_card_err
cvq_card_get_status(cvq_card *card, cvq_card_status *st)
{
	cvq_card_chuid chuid;
	cvq_card_err err;
	int puk = -1;

	if (card == NULL || st == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(st, 0, sizeof(*st));
	st->pin_tries = st->puk_tries = -1;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = cvq_card_read_chuid(card, &chuid);
	if (err == CVQ_CARD_OK) {
		st->has_guid = true;
		memcpy(st->guid, chuid.guid, sizeof(st->guid));
		memcpy(st->expiry, chuid.expiry, sizeof(st->expiry));
	} else if (err == CVQ_CARD_ERR_NOT_FOUND || err == CVQ_CARD_ERR_BAD_DATA ||
	           err == CVQ_CARD_ERR_TLV) {
		err = CVQ_CARD_OK;
	}
	if (err == CVQ_CARD_OK)
		err = has_cert(card, CVQ_CARD_SLOT_AUTH, &st->has_cert_auth);
	if (err == CVQ_CARD_OK)
		err = has_cert(card, CVQ_CARD_SLOT_SIGN, &st->has_cert_sign);
	if (err == CVQ_CARD_OK)
		err = has_cert(card, CVQ_CARD_SLOT_CARDAUTH, &st->has_cert_cardauth);
	if (err == CVQ_CARD_OK) {
		err = cvq_card_pin_status(card, &st->pin_tries, &st->pin_verified);
		if (err == CVQ_CARD_ERR_PIN_BLOCKED)
			err = CVQ_CARD_OK;
	}
	if (err == CVQ_CARD_OK) {
		/* Ask Yubico metadata only of cards that claim to be Yubico-like. */
		uint8_t v[3];
		if (cvq_card_yk_version(card, v) == CVQ_CARD_OK &&
		    cvq_card_puk_status(card, &puk) == CVQ_CARD_OK)
			st->puk_tries = puk;
	}
	cvq_card_end(card, false);
	if (err)
		return err;
	if (st->pin_tries == 0 && st->puk_tries == 0)
		st->state = CVQ_CARD_STATE_BLOCKED;
	else if (st->has_guid && st->has_cert_auth && st->has_cert_sign)
		st->state = st->pin_tries == 0 ? CVQ_CARD_STATE_PIN_BLOCKED
		                               : CVQ_CARD_STATE_ENROLLED;
	else if (!st->has_guid && !st->has_cert_auth && !st->has_cert_sign)
		st->state = CVQ_CARD_STATE_BLANK;
	else
		st->state = CVQ_CARD_STATE_PARTIAL;
	return CVQ_CARD_OK;
}
