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
 * The audit entries of the enrolment's steps still go to the store this
 * process opened without the key (cvq_ca_audit_record needs no key); an
 * audit operation of the agent's own is next (docs/enrolment.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

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

static const struct cvq_enrol_issuer_ops agent_ops = {
	.name = "agent", .certify = agent_certify, .audit = cvq_admin_issuer_audit,
};

void
cvq_admin_issuer_agent(struct cvq_admin_issuer *st, cvq_ca *ca, const struct cvq_admin_link *link,
                       struct cvq_enrol_issuer *out)
{
	st->ca = ca;
	st->link = *link;
	st->agent = true;
	st->last = CVQ_CA_OK;
	out->ops = &agent_ops;
	out->ctx = st;
}
