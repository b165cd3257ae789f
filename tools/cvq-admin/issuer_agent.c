/*
 * cvq-admin — the agent issuer: the counter's process has neither the CA
 * key nor its passphrase; the CA's issuing agent (ca-agent start, run by
 * the CA officer) signs. Possession is proved by a CSR that the card
 * signs with its new key, sent with the key's PIV attestation in the
 * agent's ISSUE request (ca_agent_msg.c); the agent checks the caller's
 * role, the attestation, the card's status in the store and builds the
 * subject from the store (the CSR's subject is ignored for citizen
 * profiles).
 *
 * The audit entries of the enrolment's steps still go to the store this
 * process opened without the key (cvq_ca_audit_record needs no key); an
 * audit operation of the agent's own is next (docs/enrolment.md).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "issuer.h"

/* A CSR for r->pub, signed on the card through r->sign (DER, malloc'd). */
static cvq_enrol_err
card_csr(const struct cvq_enrol_cert_req *r, uint8_t **der, int *der_len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	uint8_t *tbs = NULL, digest[32], *sig = NULL;
	unsigned dlen = 0;
	size_t sig_len = 0;
	bool ec = EVP_PKEY_base_id(r->pub) == EVP_PKEY_EC;
	cvq_enrol_err err = CVQ_ENROL_ERR_CRYPTO;
	int n;

	*der = NULL;
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
	n = i2d_X509_REQ(req, der);
	if (n <= 0)
		goto out;
	/* Check the bytes sent as the agent will: a card that signed wrongly
	 * is the card's failure here, not a refusal there. */
	{
		const unsigned char *q = *der;
		X509_REQ *back = d2i_X509_REQ(NULL, &q, n);
		int ok = back && X509_REQ_verify(back, r->pub) == 1;

		X509_REQ_free(back);
		if (!ok) {
			ERR_clear_error();
			OPENSSL_free(*der);
			*der = NULL;
			err = CVQ_ENROL_ERR_CARD;
			goto out;
		}
	}
	*der_len = n;
	err = CVQ_ENROL_OK;
out:
	ASN1_BIT_STRING_free(bits);
	OPENSSL_free(tbs);
	free(sig);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return err;
}

static cvq_enrol_err
agent_certify(void *ctx, const struct cvq_enrol_cert_req *r, X509 **cert, char *why,
              size_t why_len)
{
	struct cvq_admin_issuer *st = ctx;
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE};
	uint8_t *csr = NULL, *out = NULL;
	const unsigned char *p;
	size_t out_len = 0;
	int csr_len = 0;
	cvq_enrol_err err;

	*cert = NULL;
	why[0] = '\0';
	err = card_csr(r, &csr, &csr_len);
	if (err) {
		snprintf(why, why_len, "the card's request: %s", cvq_enrol_strerror(err));
		return err;
	}
	m.req.profile = cvq_admin_issuer_profile(r->slot);
	m.req.card_guid = r->guid;
	m.csr = csr;
	m.csr_len = (size_t)csr_len;
	m.attest_buf = (struct cvq_ca_attest){.cert = r->attest, .cert_len = r->attest_len,
	                                      .f9 = r->f9, .f9_len = r->f9_len, .slot = r->slot};
	if (r->attest_len)
		m.req.attest = &m.attest_buf;
	st->last = cvq_ca_agent_call(st->socket, &m, &out, &out_len, why, why_len);
	OPENSSL_free(csr);
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
cvq_admin_issuer_agent(struct cvq_admin_issuer *st, cvq_ca *ca, const char *socket,
                       struct cvq_enrol_issuer *out)
{
	st->ca = ca;
	st->socket = socket;
	st->last = CVQ_CA_OK;
	out->ops = &agent_ops;
	out->ctx = st;
}
