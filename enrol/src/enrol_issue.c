/*
 * libcvqenrol — what the enrolment and the after-care do through the
 * issuing link, card in hand: the journal + audit record of a step, the
 * management key authentication with the keys the issuer hands, a new key
 * certified with proof of possession, the stray certificates revoked.
 * Moved from cvq-admin's enrol_ctx.c (issue #13).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/piv.h>
#include <cvq/profile.h>

#include "enrol_int.h"

void
enrol_sess_init(struct enrol_sess *s, const struct cvq_enrol_env *env)
{
	memset(s, 0, sizeof(*s));
	s->env = env;
	s->ops = env->issuer->ops;
	s->ictx = env->issuer->ctx;
}

void
enrol_sess_clear(struct enrol_sess *s)
{
	OPENSSL_cleanse(s->mkey, sizeof(s->mkey));
}

bool
cvq_enrol_card_interrupted(cvq_card_err err)
{
	switch (err) {
	case CVQ_CARD_ERR_CARD_REMOVED: case CVQ_CARD_ERR_NO_CARD: case CVQ_CARD_ERR_COMM:
	case CVQ_CARD_ERR_NO_SERVICE: case CVQ_CARD_ERR_PCSC: case CVQ_CARD_ERR_BUSY:
	case CVQ_CARD_ERR_CARD_CHANGED: case CVQ_CARD_ERR_NO_READER: case CVQ_CARD_ERR_TIMEOUT:
		return true;
	default:
		return false;
	}
}

cvq_card_err
cvq_enrol_card_status(cvq_card *card, cvq_card_status *cs)
{
	cvq_card_err err = cvq_card_get_status(card, cs);

	/* pcscd may reset the card while it cleans up after another client
	 * (one killed mid-enrolment, or yubico-piv-tool disconnecting with a
	 * reset): reconnect once and ask again. */
	if ((cvq_enrol_card_interrupted(err) || err == CVQ_CARD_ERR_BAD_DATA) &&
	    err != CVQ_CARD_ERR_NO_CARD) {
		err = cvq_card_reconnect(card);
		if (err == CVQ_CARD_OK || err == CVQ_CARD_ERR_CARD_CHANGED)
			err = cvq_card_get_status(card, cs);
	}
	return err;
}

cvq_enrol_err
cvq_enrol_record(cvq_enrol_store *st, const struct cvq_enrol_issuer *issuer, const char *guid,
                 const char *action, const char *detail)
{
	cvq_enrol_err err;

	if (!st || !issuer || !issuer->ops)
		return CVQ_ENROL_ERR_ARG;
	err = cvq_enrol_store_log(st, guid, action, detail);
	if (err != CVQ_ENROL_OK)
		return err;
	if (!issuer->ops->audit)
		return CVQ_ENROL_ERR_ISSUER;
	return issuer->ops->audit(issuer->ctx, action, guid, detail);
}

cvq_enrol_err
enrol_log(struct enrol_sess *s, const char *guid, const char *action, const char *detail)
{
	return cvq_enrol_record(s->env->st, s->env->issuer, guid, action, detail);
}

cvq_enrol_err
enrol_citizen_get(struct enrol_sess *s, const char *ext_id, struct cvq_enrol_citizen *c,
                  char *why, size_t why_len)
{
	if (!s->ops->citizen_get) {
		snprintf(why, why_len, "the %s issuer has no citizen records", s->ops->name);
		return CVQ_ENROL_ERR_ISSUER;
	}
	return s->ops->citizen_get(s->ictx, ext_id, c, why, why_len);
}

cvq_enrol_err
enrol_card_get(struct enrol_sess *s, const char *guid, struct cvq_enrol_card_rec *k, char *why,
               size_t why_len)
{
	if (!s->ops->card_get) {
		snprintf(why, why_len, "the %s issuer has no card records", s->ops->name);
		return CVQ_ENROL_ERR_ISSUER;
	}
	return s->ops->card_get(s->ictx, guid, k, why, why_len);
}

cvq_enrol_err
enrol_puk_open(struct enrol_sess *s, const char *guid, const uint8_t *blob,
               char puk[CVQ_ENROL_PUK_LEN + 1])
{
	s->why[0] = '\0';
	s->ierr = s->ops->puk_open ? s->ops->puk_open(s->ictx, guid, blob, CVQ_ENROL_PUK_BLOB_LEN,
	                                              puk, s->why, sizeof(s->why))
	                           : CVQ_ENROL_ERR_ISSUER;
	if (s->ierr && !s->why[0])
		snprintf(s->why, sizeof(s->why), "cannot open the card's PUK: %s",
		         cvq_enrol_strerror(s->ierr));
	return s->ierr;
}

/* Entry idx of the cache, fetched from the issuer when it holds another
 * card's key. */
static cvq_enrol_err
mkey_get(struct enrol_sess *s, int idx, const char *guid, int alg, char *why, size_t why_len)
{
	struct enrol_mkey *k = &s->mkey[idx];
	cvq_enrol_err err;

	if (k->len && k->alg == alg && strcasecmp(k->guid, guid) == 0)
		return CVQ_ENROL_OK;
	OPENSSL_cleanse(k, sizeof(*k));
	if (!s->ops->mgmt_key) {
		snprintf(why, why_len, "the %s issuer gives no management keys", s->ops->name);
		return CVQ_ENROL_ERR_ISSUER;
	}
	err = s->ops->mgmt_key(s->ictx, guid, alg, k->key, &k->len, why, why_len);
	if (err || k->len == 0 || k->len > sizeof(k->key)) {
		OPENSSL_cleanse(k, sizeof(*k));
		return err ? err : CVQ_ENROL_ERR_ISSUER;
	}
	snprintf(k->guid, sizeof(k->guid), "%s", guid);
	k->alg = alg;
	return CVQ_ENROL_OK;
}

cvq_enrol_err
enrol_mgmt_key(struct enrol_sess *s, const char *guid, int alg, const uint8_t **key,
               size_t *len)
{
	s->ierr = mkey_get(s, 0, guid, alg, s->why, sizeof(s->why));
	*key = s->ierr ? NULL : s->mkey[0].key;
	*len = s->ierr ? 0 : s->mkey[0].len;
	return s->ierr;
}

cvq_card_err
enrol_mgmt_auth(struct enrol_sess *s, const char *guid, const char *prev_guid, int alg,
                int *which)
{
	bool prev = false;
	char why[256] = "";

	s->ierr = mkey_get(s, 0, guid, alg, why, sizeof(why));
	if (s->ierr) {
		snprintf(s->why, sizeof(s->why), "the card's management key: %s",
		         why[0] ? why : cvq_enrol_strerror(s->ierr));
		return CVQ_CARD_ERR_INTERNAL;
	}
	/* A failed enrolment's key is only a candidate: if the issuer will not
	 * give it, the factory key is next. */
	if (prev_guid && prev_guid[0])
		prev = mkey_get(s, 1, prev_guid, alg, why, sizeof(why)) == CVQ_ENROL_OK;
	return cvq_enrol_card_mgmt_auth_keys(s->env->card, alg, s->mkey[0].key, s->mkey[0].len,
	                                     prev ? s->mkey[1].key : NULL,
	                                     prev ? s->mkey[1].len : 0, which);
}

/* The proof of possession: the issuer's digest signed with the new key. */
struct pop {
	cvq_card *card;
	cvq_card_slot slot;
	EVP_PKEY *pub;
	const char *pin;
	cvq_card_err err;
};

static cvq_enrol_err
pop_sign(void *ctx, const uint8_t digest[32], uint8_t **sig, size_t *sig_len)
{
	struct pop *p = ctx;
	cvq_card_sign_req req = {
		.slot = p->slot, .pub = p->pub, .md = EVP_sha256(), .padding = CVQ_CARD_PAD_PKCS1,
		.digest = digest, .digest_len = 32, .pin = p->pin,
	};
	int tries = -1;

	if (EVP_PKEY_base_id(p->pub) == EVP_PKEY_EC)
		req.padding = CVQ_CARD_PAD_NONE;
	p->err = cvq_card_sign(p->card, &req, sig, sig_len, &tries);
	return p->err ? CVQ_ENROL_ERR_CARD : CVQ_ENROL_OK;
}

cvq_card_err
enrol_certify_slot(struct enrol_sess *s, const char *guid, int slot, int key_alg,
                   const char *pin, char serial[67])
{
	cvq_card *card = s->env->card;
	uint8_t *att = NULL, *f9 = NULL;
	size_t att_len = 0, f9_len = 0;
	EVP_PKEY *pub = NULL;
	X509 *cert = NULL;
	cvq_card_err err;
	cvq_enrol_err ee;
	char detail[80], why[256] = "";

	s->ierr = CVQ_ENROL_OK;
	serial[0] = '\0';
	err = cvq_card_generate(card, (cvq_card_slot)slot,
	                        key_alg ? (cvq_card_alg)key_alg : CVQ_CARD_ALG_ECCP256, &pub);
	if (!err)
		err = cvq_enrol_card_attest(card, slot, &att, &att_len, &f9, &f9_len);
	if (err)
		goto out;
	snprintf(detail, sizeof(detail), "slot %02x: %s", (unsigned)slot,
	         att_len ? "attestation sent to the CA" : "the card has no attestation");
	/* No key is certified without its provenance in the audit log. */
	if (enrol_log(s, guid, "attest", detail) != CVQ_ENROL_OK) {
		snprintf(s->why, sizeof(s->why),
		         "audit log: cannot record the attestation of slot %02x", (unsigned)slot);
		s->ierr = CVQ_ENROL_ERR_STORE;
		err = CVQ_CARD_ERR_INTERNAL;
		goto out;
	}
	{
		struct pop pop = {.card = card, .slot = (cvq_card_slot)slot, .pub = pub, .pin = pin};
		struct cvq_enrol_cert_req req = {
			.guid = guid, .slot = slot, .pub = pub, .attest = att,
			.attest_len = att_len, .f9 = f9, .f9_len = f9_len,
			.sign = pop_sign, .sign_ctx = &pop,
		};

		ee = s->ops->certify ? s->ops->certify(s->ictx, &req, &cert, why, sizeof(why))
		                     : CVQ_ENROL_ERR_ISSUER;
		if (ee == CVQ_ENROL_ERR_CARD) {
			/* the card failed to sign, or signed what does not verify */
			err = pop.err ? pop.err : CVQ_CARD_ERR_CRYPTO;
			goto out;
		}
	}
	if (ee) {
		s->ierr = ee;
		snprintf(s->why, sizeof(s->why), "%s", why[0] ? why : cvq_enrol_strerror(ee));
		err = CVQ_CARD_ERR_INTERNAL;
		goto out;
	}
	cvq_enrol_serial_hex(X509_get0_serialNumber(cert), serial);
	err = cvq_card_write_cert(card, (cvq_card_slot)slot, cert, false);
out:
	free(att);
	free(f9);
	EVP_PKEY_free(pub);
	X509_free(cert);
	return err;
}

cvq_enrol_err
enrol_revoke_strays(struct enrol_sess *s, const char *guid, unsigned *count, char *why,
                    size_t why_len)
{
	static const cvq_card_slot slots[3] = {CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN,
	                                       CVQ_CARD_SLOT_CARDAUTH};
	char on_card[3][67];
	const char *keep[3];
	struct cvq_enrol_strays st = {.keep = keep};
	unsigned unlogged = 0;
	size_t i, n_keep = 0;
	cvq_enrol_err err;
	X509 *x;

	*count = 0;
	for (i = 0; i < 3; i++) {
		x = NULL;
		if (cvq_card_read_cert(s->env->card, slots[i], &x) == CVQ_CARD_OK &&
		    cvq_enrol_serial_hex(X509_get0_serialNumber(x), on_card[i]))
			keep[n_keep++] = on_card[i];
		X509_free(x);
	}
	st.n_keep = n_keep;
	/* Which ones, for the journal; then the CA side revokes them. */
	err = s->ops->cert_list && s->ops->revoke_strays ? CVQ_ENROL_OK : CVQ_ENROL_ERR_ISSUER;
	if (err)
		snprintf(why, why_len, "the %s issuer cannot revoke certificates", s->ops->name);
	if (!err)
		err = s->ops->cert_list(s->ictx, guid, cvq_enrol_strays_cb, &st, why, why_len);
	if (!err && st.nomem) {
		snprintf(why, why_len, "out of memory");
		err = CVQ_ENROL_ERR_IO;
	}
	if (!err && st.n)
		err = s->ops->revoke_strays(s->ictx, guid, keep, n_keep, count, why, why_len);
	for (i = 0; !err && i < st.n; i++)
		if (enrol_log(s, guid, "cert.superseded", st.serial[i]) != CVQ_ENROL_OK)
			unlogged++;
	free(st.serial);
	if (err)
		return err;
	if (unlogged) {
		snprintf(why, why_len, "%u superseded certificate(s) of card %s revoked but not "
		         "recorded in the journal and audit log", unlogged, guid);
		return CVQ_ENROL_ERR_STORE;
	}
	return CVQ_ENROL_OK;
}
