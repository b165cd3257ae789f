/*
 * cvq-admin — the in-process issuer: libcvqca with its key open in this
 * process (the CA officer's machine). Possession is proved by the card
 * signing a fresh single-use challenge of the CA (cvq_ca_challenge).
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cvq/piv.h>

#include "issuer.h"

enum cvq_ca_profile
cvq_admin_issuer_profile(int slot)
{
	return slot == CVQ_CARD_SLOT_SIGN       ? CVQ_CA_PROFILE_CITIZEN_SIGN
	       : slot == CVQ_CARD_SLOT_CARDAUTH ? CVQ_CA_PROFILE_CARD_AUTH
	                                        : CVQ_CA_PROFILE_CITIZEN_AUTH;
}

cvq_enrol_err
cvq_admin_issuer_err(cvq_ca_err err)
{
	switch (err) {
	case CVQ_CA_OK: return CVQ_ENROL_OK;
	case CVQ_CA_ERR_POLICY: case CVQ_CA_ERR_POP: case CVQ_CA_ERR_DENIED:
	case CVQ_CA_ERR_REQUEST: case CVQ_CA_ERR_NOT_FOUND: case CVQ_CA_ERR_EXISTS:
		return CVQ_ENROL_ERR_REFUSED;
	default: return CVQ_ENROL_ERR_ISSUER;
	}
}

static void
why_from(struct cvq_admin_issuer *st, char *why, size_t why_len)
{
	const char *m = st->ca ? cvq_ca_errmsg(st->ca) : "";

	snprintf(why, why_len, "%s%s%s%s", cvq_ca_strerror(st->last), m[0] ? " (" : "", m,
	         m[0] ? ")" : "");
}

static cvq_enrol_err
ca_certify(void *ctx, const struct cvq_enrol_cert_req *r, X509 **cert, char *why,
           size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct cvq_ca_attest at = {.cert = r->attest, .cert_len = r->attest_len, .f9 = r->f9,
	                           .f9_len = r->f9_len, .slot = r->slot};
	struct cvq_ca_issue_req req = {.profile = cvq_admin_issuer_profile(r->slot),
	                               .card_guid = r->guid, .attest = r->attest_len ? &at : NULL};
	uint8_t challenge[CVQ_CA_CHALLENGE_LEN], digest[32], *sig = NULL;
	unsigned dlen = 0;
	size_t sig_len = 0;
	cvq_enrol_err err;

	*cert = NULL;
	st->last = cvq_ca_challenge(st->ca, challenge);
	if (st->last) {
		why_from(st, why, why_len);
		return CVQ_ENROL_ERR_ISSUER;
	}
	if (EVP_Digest(challenge, sizeof(challenge), digest, &dlen, EVP_sha256(), NULL) != 1)
		return CVQ_ENROL_ERR_CRYPTO;
	err = r->sign(r->sign_ctx, digest, &sig, &sig_len);
	if (err) {
		snprintf(why, why_len, "%s", cvq_enrol_strerror(err));
		return err;
	}
	st->last = cvq_ca_issue_pubkey(st->ca, &req, r->pub, challenge, sizeof(challenge), sig,
	                               sig_len, cert);
	free(sig);
	if (st->last) {
		why_from(st, why, why_len);
		return cvq_admin_issuer_err(st->last);
	}
	return CVQ_ENROL_OK;
}

cvq_enrol_err
cvq_admin_issuer_audit(void *ctx, const char *action, const char *guid, const char *detail)
{
	struct cvq_admin_issuer *st = ctx;

	st->last = cvq_ca_audit_record(st->ca, action, guid, detail);
	return st->last == CVQ_CA_OK ? CVQ_ENROL_OK : CVQ_ENROL_ERR_STORE;
}

static const struct cvq_enrol_issuer_ops ca_ops = {
	.name = "in-process", .certify = ca_certify, .audit = cvq_admin_issuer_audit,
};

void
cvq_admin_issuer_ca(struct cvq_admin_issuer *st, cvq_ca *ca, struct cvq_enrol_issuer *out)
{
	st->ca = ca;
	st->agent = false;
	st->last = CVQ_CA_OK;
	out->ops = &ca_ops;
	out->ctx = st;
}
