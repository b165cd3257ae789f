/*
 * cvq-admin — the in-process issuer: libcvqca with its key open in this
 * process (the CA officer's machine), the master secret and the PIV
 * content signer loaded here. Possession is proved by the card signing a
 * fresh single-use challenge of the CA (cvq_ca_challenge). Every op of
 * the issuing link is one or two libcvqca calls; the state machine
 * (enrol.c, card_care.c) sees only the vtable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cvq/piv.h>
#include <cvq/piv_authentic.h>
#include <cvq/profile.h>

#include "admin.h"
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

/* For the record ops: "no such card" stays NOT_FOUND (the state machine
 * asks to learn whether a card is known). */
static cvq_enrol_err
rec_err(struct cvq_admin_issuer *st, cvq_ca_err err, char *why, size_t why_len)
{
	st->last = err;
	if (err == CVQ_CA_OK)
		return CVQ_ENROL_OK;
	if (why_len)
		why_from(st, why, why_len);
	return err == CVQ_CA_ERR_NOT_FOUND ? CVQ_ENROL_ERR_NOT_FOUND : cvq_admin_issuer_err(err);
}

/* The citizen of the store as the enrolment has it: all zero when absent. */
static cvq_ca_err
citizen_rec(cvq_ca *ca, const char *ext_id, struct cvq_enrol_citizen *out)
{
	struct cvq_ca_citizen c;
	cvq_ca_err err = cvq_ca_citizen_get(ca, ext_id, &c);

	memset(out, 0, sizeof(*out));
	if (err == CVQ_CA_OK) {
		snprintf(out->ext_id, sizeof(out->ext_id), "%s", c.ext_id);
		snprintf(out->given_name, sizeof(out->given_name), "%s", c.given_name);
		snprintf(out->family_name, sizeof(out->family_name), "%s", c.family_name);
	}
	return err;
}

static cvq_enrol_err
ca_citizen_get(void *ctx, const char *ext_id, struct cvq_enrol_citizen *out, char *why,
               size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;

	return rec_err(st, citizen_rec(st->ca, ext_id, out), why, why_len);
}

static void
card_rec(const struct cvq_ca_card *k, struct cvq_enrol_card_rec *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->guid, sizeof(out->guid), "%s", k->guid);
	snprintf(out->holder, sizeof(out->holder), "%s", k->holder);
	out->status = (int)k->status;
	out->expires = k->expires;
	out->created = k->created;
}

static cvq_enrol_err
ca_card_get(void *ctx, const char *guid, struct cvq_enrol_card_rec *out, char *why,
            size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct cvq_ca_card k;
	cvq_ca_err err = cvq_ca_card_get(st->ca, guid, &k);

	if (err == CVQ_CA_OK)
		card_rec(&k, out);
	return rec_err(st, err, why, why_len);
}

static cvq_enrol_err
ca_card_add(void *ctx, const char *guid, const char *holder, int64_t expires, char *why,
            size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;

	return rec_err(st, cvq_ca_card_add(st->ca, guid, holder, expires, NULL), why, why_len);
}

static cvq_enrol_err
ca_card_set_status(void *ctx, const char *guid, int status, char *why, size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;

	if (status < 0 || status >= CVQ_ENROL_CARD__COUNT)
		return rec_err(st, CVQ_CA_ERR_ARG, why, why_len);
	return rec_err(st, cvq_ca_card_set_status(st->ca, guid, (enum cvq_ca_card_status)status),
	               why, why_len);
}

struct card_fwd {
	cvq_enrol_card_cb cb;
	void *ctx;
};

static int
card_fwd(void *ctx, const struct cvq_ca_card *k)
{
	struct card_fwd *f = ctx;
	struct cvq_enrol_card_rec r;

	card_rec(k, &r);
	return f->cb(f->ctx, &r);
}

static cvq_enrol_err
ca_card_list(void *ctx, const char *holder, cvq_enrol_card_cb cb, void *cb_ctx, char *why,
             size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct card_fwd f = {cb, cb_ctx};

	return rec_err(st, cvq_ca_card_list(st->ca, holder, card_fwd, &f), why, why_len);
}

struct cert_fwd {
	cvq_enrol_cert_cb cb;
	void *ctx;
	int64_t now;
};

static int
cert_fwd(void *ctx, const struct cvq_ca_cert_info *c)
{
	struct cert_fwd *f = ctx;
	struct cvq_enrol_cert_rec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.serial, sizeof(r.serial), "%s", c->serial);
	snprintf(r.profile, sizeof(r.profile), "%s", cvq_ca_profile_name(c->profile));
	r.revoked = c->status == CVQ_CA_CERT_REVOKED;
	r.good = !r.revoked && c->not_after > f->now;
	r.not_after = c->not_after;
	if (r.revoked)
		snprintf(r.reason, sizeof(r.reason), "%s", cvq_ca_reason_name(c->reason));
	return f->cb(f->ctx, &r);
}

static cvq_enrol_err
ca_cert_list(void *ctx, const char *guid, cvq_enrol_cert_cb cb, void *cb_ctx, char *why,
             size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct cert_fwd f = {cb, cb_ctx, (int64_t)time(NULL)};

	if (!guid)
		return rec_err(st, CVQ_CA_ERR_ARG, why, why_len);
	return rec_err(st, cvq_ca_cert_list(st->ca, guid, cert_fwd, &f), why, why_len);
}

static cvq_enrol_err
ca_revoke_card(void *ctx, const char *guid, int reason, int64_t since, int status,
               unsigned *count, char *why, size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;

	*count = 0;
	if (status < 0 || status > CVQ_ENROL_CARD__COUNT)
		return rec_err(st, CVQ_CA_ERR_ARG, why, why_len);
	return rec_err(st, cvq_ca_revoke_card(st->ca, guid, reason, since,
	                                      (enum cvq_ca_card_status)status, count),
	               why, why_len);
}

static cvq_enrol_err
ca_revoke_strays(void *ctx, const char *guid, const char *const *keep, size_t n_keep,
                 unsigned *count, char *why, size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct cvq_enrol_strays s = {.keep = keep, .n_keep = n_keep};
	struct cert_fwd f = {cvq_enrol_strays_cb, &s, (int64_t)time(NULL)};
	cvq_ca_err err;
	size_t i;

	*count = 0;
	err = cvq_ca_cert_list(st->ca, guid, cert_fwd, &f);
	if (err == CVQ_CA_OK && s.nomem)
		err = CVQ_CA_ERR_NOMEM;
	for (i = 0; err == CVQ_CA_OK && i < s.n; i++) {
		err = cvq_ca_revoke_serial(st->ca, s.serial[i], CVQ_CA_REASON_SUPERSEDED, 0);
		if (err == CVQ_CA_OK)
			(*count)++;
	}
	free(s.serial);
	return rec_err(st, err, why, why_len);
}

static cvq_enrol_err
ca_crl_issue(void *ctx, char **pem, size_t *pem_len, int64_t *number, char *why,
             size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	X509_CRL *crl = NULL;
	uint64_t n = 0;
	BUF_MEM *bm = NULL;
	BIO *b = NULL;
	cvq_ca_err err;

	*pem = NULL;
	*pem_len = 0;
	err = cvq_ca_crl_issue(st->ca, &crl, &n);
	if (err)
		return rec_err(st, err, why, why_len);
	*number = (int64_t)n;
	b = BIO_new(BIO_s_mem());
	if (b && PEM_write_bio_X509_CRL(b, crl) == 1 && BIO_get_mem_ptr(b, &bm) == 1 &&
	    (*pem = malloc(bm->length + 1)) != NULL) {
		memcpy(*pem, bm->data, bm->length);
		(*pem)[bm->length] = '\0';
		*pem_len = bm->length;
	}
	BIO_free(b);
	X509_CRL_free(crl);
	if (!*pem) {
		snprintf(why, why_len, "CRL number %lld issued, but cannot be written as PEM",
		         (long long)n);
		return CVQ_ENROL_ERR_ISSUER;
	}
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
need_master(struct cvq_admin_issuer *st, const char *guid, uint8_t g[CVQ_CARD_GUID_LEN],
            char *why, size_t why_len)
{
	if (!st->master_len) {
		snprintf(why, why_len, "no master secret loaded");
		return CVQ_ENROL_ERR_ISSUER;
	}
	if (!guid || !cvq_enrol_guid_parse(guid, g)) {
		snprintf(why, why_len, "not a card GUID");
		return CVQ_ENROL_ERR_ARG;
	}
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
ca_mgmt_key(void *ctx, const char *guid, int alg, uint8_t key[32], size_t *key_len, char *why,
            size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	uint8_t g[CVQ_CARD_GUID_LEN];
	size_t len = cvq_card_mgmt_key_len((cvq_card_alg)alg);
	cvq_enrol_err err = need_master(st, guid, g, why, why_len);

	*key_len = 0;
	if (err)
		return err;
	if (len == 0 || len > 32 ||
	    cvq_card_mgmt_key_derive(st->master, st->master_len, g, (cvq_card_alg)alg, key) !=
	            CVQ_CARD_OK) {
		OPENSSL_cleanse(key, 32);
		snprintf(why, why_len, "cannot derive a management key of algorithm %d", alg);
		return CVQ_ENROL_ERR_CRYPTO;
	}
	*key_len = len;
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
ca_puk_seal(void *ctx, const char *guid, const char *puk, uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN],
            char *why, size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	uint8_t g[CVQ_CARD_GUID_LEN];
	cvq_enrol_err err = need_master(st, guid, g, why, why_len);

	if (!err)
		err = cvq_enrol_puk_seal(st->master, st->master_len, g, puk, blob);
	if (err && why_len && !why[0])
		snprintf(why, why_len, "sealing the PUK: %s", cvq_enrol_strerror(err));
	return err;
}

static cvq_enrol_err
ca_puk_open(void *ctx, const char *guid, const uint8_t *blob, size_t blob_len,
            char puk[CVQ_ENROL_PUK_LEN + 1], char *why, size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	uint8_t g[CVQ_CARD_GUID_LEN];
	cvq_enrol_err err = need_master(st, guid, g, why, why_len);

	if (!err)
		err = cvq_enrol_puk_open(st->master, st->master_len, g, blob, blob_len, puk);
	if (err && why_len && !why[0])
		snprintf(why, why_len, "cannot open the card's PUK (%s: wrong master secret?)",
		         cvq_enrol_strerror(err));
	return err;
}

/* The content signer's two signatures: the CHUID (items NULL) or the
 * Security Object over items. */
static cvq_enrol_err
content_sign(struct cvq_admin_issuer *st, const uint8_t *chuid, size_t len,
             const cvq_piv_secobj_item *items, size_t n, uint8_t **out, size_t *out_len,
             char *why, size_t why_len)
{
	cvq_enrol_err err = cvq_admin_issuer_content_signer(st, why, why_len);
	cvq_card_err cerr;

	if (err)
		return err;
	cerr = items ? cvq_piv_secobj_build(items, n, st->cs_cert, st->cs_key, out, out_len)
	             : cvq_piv_chuid_sign(chuid, len, st->cs_cert, st->cs_key, out, out_len);
	if (cerr) {
		snprintf(why, why_len, "signing the %s: %s", items ? "Security Object" : "CHUID",
		         cvq_card_strerror(cerr));
		return CVQ_ENROL_ERR_CRYPTO;
	}
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
ca_chuid_sign(void *ctx, const char *guid, const uint8_t *chuid, size_t len, uint8_t **out,
              size_t *out_len, char *why, size_t why_len)
{
	(void)guid;
	return content_sign(ctx, chuid, len, NULL, 0, out, out_len, why, why_len);
}

static cvq_enrol_err
ca_secobj_build(void *ctx, const char *guid, const cvq_piv_secobj_item *items, size_t n,
                uint8_t **out, size_t *out_len, char *why, size_t why_len)
{
	(void)guid;
	return content_sign(ctx, NULL, 0, items, n, out, out_len, why, why_len);
}

static const struct cvq_enrol_issuer_ops ca_ops = {
	.name = "in-process", .certify = ca_certify, .audit = cvq_admin_issuer_audit,
	.citizen_get = ca_citizen_get, .card_get = ca_card_get, .card_add = ca_card_add,
	.card_set_status = ca_card_set_status, .card_list = ca_card_list,
	.cert_list = ca_cert_list, .revoke_card = ca_revoke_card,
	.revoke_strays = ca_revoke_strays, .crl_issue = ca_crl_issue, .mgmt_key = ca_mgmt_key,
	.puk_seal = ca_puk_seal, .puk_open = ca_puk_open, .chuid_sign = ca_chuid_sign,
	.secobj_build = ca_secobj_build,
};

void
cvq_admin_issuer_ca(struct cvq_admin_issuer *st, cvq_ca *ca, const struct cvq_ca_config *cfg,
                    struct cvq_enrol_issuer *out)
{
	st->ca = ca;
	st->cfg = cfg;
	st->agent = false;
	st->last = CVQ_CA_OK;
	out->ops = &ca_ops;
	out->ctx = st;
}

int
cvq_admin_issuer_master(struct cvq_admin_issuer *st, const char *file)
{
	const char *mfile = file ? file : getenv("CVQ_MASTER_KEY_FILE");
	char *mpath;
	cvq_enrol_err err;

	/* The master secret lives with the CA: --master-key-file, else
	 * $CVQ_MASTER_KEY_FILE, else [enrol] master_key in the CA
	 * configuration, else master.key beside it. */
	if (mfile == NULL)
		mfile = st->cfg->master_key;
	mpath = cvq_ca_config_path(st->cfg, mfile ? mfile : "master.key");
	if (!mpath)
		return CVQ_ADMIN_EXIT_FAIL;
	err = cvq_enrol_master_load(mpath, st->master, &st->master_len);
	if (err)
		cvq_admin_error("master secret %s: %s", mpath, cvq_enrol_strerror(err));
	free(mpath);
	if (err)
		return err == CVQ_ENROL_ERR_PERM ? CVQ_ADMIN_EXIT_PIN : CVQ_ADMIN_EXIT_FAIL;
	return CVQ_ADMIN_EXIT_OK;
}

void
cvq_admin_issuer_clear(struct cvq_admin_issuer *st)
{
	OPENSSL_cleanse(st->master, sizeof(st->master));
	st->master_len = 0;
	X509_free(st->cs_cert);
	EVP_PKEY_free(st->cs_key);
	st->cs_cert = NULL;
	st->cs_key = NULL;
}
