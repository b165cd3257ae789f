/*
 * cvq-admin — the agent issuer: the counter's process has neither the CA
 * key nor its passphrase; the CA's issuing agent (ca-agent start, run by
 * the CA officer) signs. Possession is proved by a CSR that the card
 * signs with its new key, sent with the key's PIV attestation in the
 * agent's ISSUE request (ca_agent_msg.c; the CSR from cvq_enrol_csr); the agent checks the caller's
 * role, the attestation, the card's status in the store and builds the
 * subject from the store (the CSR's subject is ignored for citizen
 * profiles).
 *
 * Every other op of the issuing link (the store's records, the audit
 * entries of the steps, what the master secret and the content signer
 * give) is an enrolment op of the agent (agent_enrol_msg.h, served by
 * agent_enrol.c): this process needs no CA store, no master secret and no
 * content-signing key (docs/enrolment.md, "Counters away from the CA").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/piv.h>

#include "admin.h"
#include "agent_enrol_msg.h"
#include "issuer.h"

static cvq_enrol_err
agent_certify(void *ctx, const struct cvq_enrol_cert_req *r, X509 **cert, char *why,
              size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE};
	uint8_t *csr = NULL, *out = NULL;
	const unsigned char *p;
	size_t out_len = 0, csr_len = 0;
	cvq_enrol_err err;

	*cert = NULL;
	why[0] = '\0';
	err = cvq_enrol_csr(r, &csr, &csr_len);
	if (err) {
		snprintf(why, why_len, "the card's request: %s", cvq_enrol_strerror(err));
		return err;
	}
	m.req.profile = cvq_admin_issuer_profile(r->slot);
	m.req.card_guid = r->guid;
	m.csr = csr;
	m.csr_len = csr_len;
	m.attest_buf = (struct cvq_ca_attest){.cert = r->attest, .cert_len = r->attest_len,
	                                      .f9 = r->f9, .f9_len = r->f9_len, .slot = r->slot};
	if (r->attest_len)
		m.req.attest = &m.attest_buf;
	st->last = cvq_admin_link_call_msg(&st->link, &m, &out, &out_len, why, why_len);
	free(csr);
	if (st->last) {
		if (!why[0])
			snprintf(why, why_len, "%s", cvq_ca_strerror(st->last));
		free(out);
		return st->last == CVQ_CA_ERR_NET ? CVQ_ENROL_ERR_ISSUER
		                                  : cvq_admin_issuer_err(st->last);
	}
	p = out;
	*cert = d2i_X509(NULL, &p, (long)out_len);
	free(out);
	if (!*cert) {
		snprintf(why, why_len, "the agent's answer is not a certificate");
		return CVQ_ENROL_ERR_ISSUER;
	}
	/* The agent certifies what it was sent, but check: this key, not another. */
	if (EVP_PKEY_eq(X509_get0_pubkey(*cert), r->pub) != 1) {
		X509_free(*cert);
		*cert = NULL;
		snprintf(why, why_len, "the agent's certificate is for another key");
		return CVQ_ENROL_ERR_ISSUER;
	}
	return CVQ_ENROL_OK;
}

/* ---- the enrolment ops (agent_enrol_msg.h) ---- */

/* An answer and the bytes it points into (pem, der). */
struct reply {
	struct cvq_admin_enrol_ans a;
	uint8_t *raw;
	size_t raw_len;
};

static void
reply_free(struct reply *rp)
{
	if (!rp)
		return;
	cvq_admin_enrol_free(rp->raw, rp->raw_len); /* a key or a PUK */
	OPENSSL_cleanse(&rp->a, sizeof(rp->a));
	free(rp);
}

/* The agent's word (or its silence) as the enrolment's error. */
static cvq_enrol_err
link_err(cvq_ca_err err)
{
	switch (err) {
	case CVQ_CA_OK: return CVQ_ENROL_OK;
	case CVQ_CA_ERR_NET: return CVQ_ENROL_ERR_ISSUER;
	case CVQ_CA_ERR_NOT_FOUND: return CVQ_ENROL_ERR_NOT_FOUND;
	default: return cvq_admin_issuer_err(err);
	}
}

/*
 * One op: r encoded, sent, the answer parsed strictly for r->op into
 * *out (reply_free it). why may be NULL when why_len is 0.
 */
static cvq_enrol_err
call(struct cvq_admin_issuer *st, const struct cvq_admin_enrol_req *r, struct reply **out,
     char *why, size_t why_len)
{
	char buf[256];
	struct reply *rp = NULL;
	uint8_t *body = NULL;
	size_t body_len = 0;

	*out = NULL;
	if (!why || !why_len) {
		why = buf;
		why_len = sizeof(buf);
	}
	why[0] = '\0';
	st->last = cvq_admin_enrol_req_encode(r, &body, &body_len);
	if (st->last != CVQ_CA_OK) {
		snprintf(why, why_len, "%s: not a request the agent takes",
		         cvq_admin_enrol_op_name(r->op));
		return st->last == CVQ_CA_ERR_NOMEM ? CVQ_ENROL_ERR_ISSUER : CVQ_ENROL_ERR_ARG;
	}
	rp = calloc(1, sizeof(*rp));
	if (!rp) {
		cvq_admin_enrol_free(body, body_len);
		st->last = CVQ_CA_ERR_NOMEM;
		return CVQ_ENROL_ERR_ISSUER;
	}
	st->last = cvq_admin_link_call(&st->link, body, body_len, &rp->raw, &rp->raw_len, why,
	                               why_len);
	cvq_admin_enrol_free(body, body_len); /* a PUK */
	if (st->last != CVQ_CA_OK) {
		if (!why[0])
			snprintf(why, why_len, "%s", cvq_ca_strerror(st->last));
		reply_free(rp);
		return link_err(st->last);
	}
	if (cvq_admin_enrol_ans_parse(r->op, rp->raw, rp->raw_len, &rp->a) != CVQ_CA_OK) {
		snprintf(why, why_len, "the agent's answer to %s is malformed",
		         cvq_admin_enrol_op_name(r->op));
		st->last = CVQ_CA_ERR_REQUEST;
		reply_free(rp);
		return CVQ_ENROL_ERR_ISSUER;
	}
	*out = rp;
	return CVQ_ENROL_OK;
}

/* A request for one card (guid) of op. */
static bool
req_for(struct cvq_admin_enrol_req *r, int op, const char *guid)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	if (guid) {
		if (strlen(guid) >= sizeof(r->guid))
			return false;
		snprintf(r->guid, sizeof(r->guid), "%s", guid);
	}
	return true;
}

/* The simple ops: a request, an answer with nothing to copy. */
static cvq_enrol_err
call_plain(struct cvq_admin_issuer *st, const struct cvq_admin_enrol_req *r, char *why,
           size_t why_len)
{
	struct reply *rp;
	cvq_enrol_err err = call(st, r, &rp, why, why_len);

	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_audit(void *ctx, const char *action, const char *guid, const char *detail)
{
	struct cvq_admin_enrol_req r;
	char why[256];
	cvq_enrol_err err;
	int n;

	if (!action || !req_for(&r, CVQ_ADMIN_ENROL_AUDIT, guid))
		return CVQ_ENROL_ERR_ARG;
	/*
	 * A counter writes in its own part of the log: "enrol." and "card."
	 * only (the agent takes nothing else), so a step such as "attest"
	 * becomes "enrol.attest" and nothing it writes can pass for the CA's
	 * own "cert.issue" or "attest.ok".
	 */
	if (strncmp(action, "enrol.", 6) == 0 || strncmp(action, "card.", 5) == 0)
		n = snprintf(r.action, sizeof(r.action), "%s", action);
	else
		n = snprintf(r.action, sizeof(r.action), "enrol.%s", action);
	if (n < 0 || (size_t)n >= sizeof(r.action))
		return CVQ_ENROL_ERR_ARG;
	snprintf(r.detail, sizeof(r.detail), "%s", detail ? detail : "");
	/* The log is read by people: a control character is not sent. */
	for (char *p = r.detail; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	err = call_plain(ctx, &r, why, sizeof(why));
	/* The op has no why[] of its own: the agent's reason (a role, a card
	 * it does not know) would be lost, and the enrolment then says only
	 * that its journal failed. */
	if (err != CVQ_ENROL_OK)
		cvq_admin_error("audit log through the agent: %s", why);
	return err;
}

static cvq_enrol_err
agent_citizen_get(void *ctx, const char *ext_id, struct cvq_enrol_citizen *out, char *why,
                  size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!ext_id || strlen(ext_id) >= sizeof(r.ext_id) ||
	    !req_for(&r, CVQ_ADMIN_ENROL_CITIZEN_GET, NULL))
		return CVQ_ENROL_ERR_ARG;
	snprintf(r.ext_id, sizeof(r.ext_id), "%s", ext_id);
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK)
		*out = rp->a.citizen;
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_card_get(void *ctx, const char *guid, struct cvq_enrol_card_rec *out, char *why,
               size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!req_for(&r, CVQ_ADMIN_ENROL_CARD_GET, guid))
		return CVQ_ENROL_ERR_ARG;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK)
		*out = rp->a.cards[0];
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_card_add(void *ctx, const char *guid, const char *holder, int64_t expires, char *why,
               size_t why_len)
{
	struct cvq_admin_enrol_req r;

	if (!holder || strlen(holder) >= sizeof(r.ext_id) ||
	    !req_for(&r, CVQ_ADMIN_ENROL_CARD_ADD, guid))
		return CVQ_ENROL_ERR_ARG;
	snprintf(r.ext_id, sizeof(r.ext_id), "%s", holder);
	r.expires = expires;
	return call_plain(ctx, &r, why, why_len);
}

static cvq_enrol_err
agent_card_set_status(void *ctx, const char *guid, int status, char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;

	if (!req_for(&r, CVQ_ADMIN_ENROL_CARD_SET_STATUS, guid))
		return CVQ_ENROL_ERR_ARG;
	r.status = status;
	return call_plain(ctx, &r, why, why_len);
}

static cvq_enrol_err
agent_card_list(void *ctx, const char *holder, cvq_enrol_card_cb cb, void *cb_ctx, char *why,
                size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	/* Every card of the city is not the counter's to list. */
	if (!holder) {
		if (why_len)
			snprintf(why, why_len, "the agent lists the cards of one citizen only");
		return CVQ_ENROL_ERR_REFUSED;
	}
	if (strlen(holder) >= sizeof(r.ext_id) || !req_for(&r, CVQ_ADMIN_ENROL_CARD_LIST, NULL))
		return CVQ_ENROL_ERR_ARG;
	snprintf(r.ext_id, sizeof(r.ext_id), "%s", holder);
	err = call(ctx, &r, &rp, why, why_len);
	for (size_t i = 0; err == CVQ_ENROL_OK && i < rp->a.n_cards; i++)
		if (cb(cb_ctx, &rp->a.cards[i]))
			break;
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_cert_list(void *ctx, const char *guid, cvq_enrol_cert_cb cb, void *cb_ctx, char *why,
                size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!req_for(&r, CVQ_ADMIN_ENROL_CERT_LIST, guid))
		return CVQ_ENROL_ERR_ARG;
	err = call(ctx, &r, &rp, why, why_len);
	for (size_t i = 0; err == CVQ_ENROL_OK && i < rp->a.n_certs; i++)
		if (cb(cb_ctx, &rp->a.certs[i]))
			break;
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_revoke_card(void *ctx, const char *guid, int reason, int64_t since, int status,
                  unsigned *count, char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!req_for(&r, CVQ_ADMIN_ENROL_REVOKE_CARD, guid))
		return CVQ_ENROL_ERR_ARG;
	r.reason = reason;
	r.since = since;
	r.status = status;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK && count)
		*count = rp->a.count;
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_revoke_strays(void *ctx, const char *guid, const char *const *keep, size_t n_keep,
                    unsigned *count, char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!req_for(&r, CVQ_ADMIN_ENROL_REVOKE_STRAYS, guid) || n_keep > CVQ_ADMIN_ENROL_MAX_KEEP)
		return CVQ_ENROL_ERR_ARG;
	for (size_t i = 0; i < n_keep; i++) {
		if (!keep[i] || strlen(keep[i]) >= sizeof(r.keep[0]))
			return CVQ_ENROL_ERR_ARG;
		snprintf(r.keep[i], sizeof(r.keep[i]), "%s", keep[i]);
	}
	r.n_keep = n_keep;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK && count)
		*count = rp->a.count;
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_crl_issue(void *ctx, char **pem, size_t *pem_len, int64_t *number, char *why,
                size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	req_for(&r, CVQ_ADMIN_ENROL_CRL_ISSUE, NULL);
	*pem = NULL;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK) {
		*pem = malloc(rp->a.pem_len + 1);
		if (*pem) {
			memcpy(*pem, rp->a.pem, rp->a.pem_len);
			(*pem)[rp->a.pem_len] = '\0';
			if (pem_len)
				*pem_len = rp->a.pem_len;
			if (number)
				*number = rp->a.number;
		} else {
			err = CVQ_ENROL_ERR_ISSUER;
		}
	}
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_mgmt_key(void *ctx, const char *guid, int alg, uint8_t key[32], size_t *key_len,
               char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!req_for(&r, CVQ_ADMIN_ENROL_MGMT_KEY, guid))
		return CVQ_ENROL_ERR_ARG;
	r.alg = alg;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK) {
		/* The key for another algorithm would fail on the card: refuse here. */
		if (rp->a.key_len != cvq_card_mgmt_key_len((cvq_card_alg)alg)) {
			if (why_len)
				snprintf(why, why_len, "the agent's key is not one for this algorithm");
			err = CVQ_ENROL_ERR_ISSUER;
		} else {
			memcpy(key, rp->a.key, rp->a.key_len);
			*key_len = rp->a.key_len;
		}
	}
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_puk_seal(void *ctx, const char *guid, const char *puk, uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN],
               char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!puk || strlen(puk) >= sizeof(r.puk) || !req_for(&r, CVQ_ADMIN_ENROL_PUK_SEAL, guid))
		return CVQ_ENROL_ERR_ARG;
	snprintf(r.puk, sizeof(r.puk), "%s", puk);
	err = call(ctx, &r, &rp, why, why_len);
	OPENSSL_cleanse(&r, sizeof(r));
	if (err == CVQ_ENROL_OK)
		memcpy(blob, rp->a.blob, CVQ_ENROL_PUK_BLOB_LEN);
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_puk_open(void *ctx, const char *guid, const uint8_t *blob, size_t blob_len,
               char puk[CVQ_ENROL_PUK_LEN + 1], char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	if (!req_for(&r, CVQ_ADMIN_ENROL_PUK_OPEN, guid))
		return CVQ_ENROL_ERR_ARG;
	r.blob = blob;
	r.blob_len = blob_len;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK)
		memcpy(puk, rp->a.puk, sizeof(rp->a.puk));
	reply_free(rp);
	return err;
}

/* A signed object of the answer, copied out (malloc'd). */
static cvq_enrol_err
signed_out(struct reply *rp, uint8_t **out, size_t *out_len)
{
	*out = malloc(rp->a.der_len);
	if (!*out)
		return CVQ_ENROL_ERR_ISSUER;
	memcpy(*out, rp->a.der, rp->a.der_len);
	*out_len = rp->a.der_len;
	return CVQ_ENROL_OK;
}

static cvq_enrol_err
agent_chuid_sign(void *ctx, const char *guid, const uint8_t *chuid, size_t len, uint8_t **out,
                 size_t *out_len, char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	*out = NULL;
	if (!req_for(&r, CVQ_ADMIN_ENROL_CHUID_SIGN, guid))
		return CVQ_ENROL_ERR_ARG;
	r.chuid = chuid;
	r.chuid_len = len;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK)
		err = signed_out(rp, out, out_len);
	reply_free(rp);
	return err;
}

static cvq_enrol_err
agent_secobj_build(void *ctx, const char *guid, const cvq_piv_secobj_item *items, size_t n,
                   uint8_t **out, size_t *out_len, char *why, size_t why_len)
{
	struct cvq_admin_enrol_req r;
	struct reply *rp;
	cvq_enrol_err err;

	*out = NULL;
	if (!req_for(&r, CVQ_ADMIN_ENROL_SECOBJ_BUILD, guid) || n > CVQ_PIV_SECOBJ_MAX)
		return CVQ_ENROL_ERR_ARG;
	memcpy(r.items, items, n * sizeof(*items));
	r.n_items = n;
	err = call(ctx, &r, &rp, why, why_len);
	if (err == CVQ_ENROL_OK)
		err = signed_out(rp, out, out_len);
	reply_free(rp);
	return err;
}

static const struct cvq_enrol_issuer_ops agent_ops = {
	.name = "agent",
	.certify = agent_certify,
	.audit = agent_audit,
	.citizen_get = agent_citizen_get,
	.card_get = agent_card_get,
	.card_add = agent_card_add,
	.card_set_status = agent_card_set_status,
	.card_list = agent_card_list,
	.cert_list = agent_cert_list,
	.revoke_card = agent_revoke_card,
	.revoke_strays = agent_revoke_strays,
	.crl_issue = agent_crl_issue,
	.mgmt_key = agent_mgmt_key,
	.puk_seal = agent_puk_seal,
	.puk_open = agent_puk_open,
	.chuid_sign = agent_chuid_sign,
	.secobj_build = agent_secobj_build,
};

void
cvq_admin_issuer_agent(struct cvq_admin_issuer *st, const struct cvq_admin_link *link,
                       struct cvq_enrol_issuer *out)
{
	st->ca = NULL;
	st->link = *link;
	st->agent = true;
	st->last = CVQ_CA_OK;
	out->ops = &agent_ops;
	out->ctx = st;
}
