/*
 * cvq-admin — the two issuers of libcvqenrol's issuing link (issue #13):
 * in-process libcvqca (issuer_ca.c: the CA store, the master secret and
 * the PIV content signer in this process) and the CA's issuing agent over
 * its link (issuer_agent.c). Both keep the last cvq_ca_err for the
 * command's exit code; the enrolment sees only struct cvq_enrol_issuer.
 *
 * Never mixed: with --agent every op is the agent's, and the counter's
 * process opens nothing of the CA's (docs/enrolment.md, "Counters away
 * from the CA").
 */
#ifndef CVQ_ADMIN_ISSUER_H
#define CVQ_ADMIN_ISSUER_H

#include <cvq/ca.h>
#include <cvq/enrol.h>

#include "agent_link.h"

struct cvq_admin_issuer {
	cvq_ca *ca;                   /* in-process: the CA with its key */
	struct cvq_admin_link link;   /* agent: how to reach it (socket or TLS) */
	bool agent;                   /* the agent issuer (link set) */
	cvq_ca_err last;              /* of the last call, for the exit code */
	/* ---- in-process only (issuer_ca.c, enrol_content.c) ---- */
	const struct cvq_ca_config *cfg; /* where the content signer's files are */
	uint8_t master[CVQ_ENROL_MASTER_MAX]; /* cvq_admin_issuer_master */
	size_t master_len;
	X509 *cs_cert;                /* PIV content signer, loaded */
	EVP_PKEY *cs_key;             /* when first needed */
};

/* Fill *out with the in-process issuer over *st: ca (opened with the key
 * for certify and crl_issue, without for the rest) and its configuration. */
void cvq_admin_issuer_ca(struct cvq_admin_issuer *st, cvq_ca *ca,
                         const struct cvq_ca_config *cfg, struct cvq_enrol_issuer *out);
/*
 * Load the master secret into st: file, else $CVQ_MASTER_KEY_FILE, else
 * [enrol] master_key of the configuration, else master.key beside it.
 * Returns a cvq_admin_exit code (3 for a file open to others); prints why.
 */
int cvq_admin_issuer_master(struct cvq_admin_issuer *st, const char *file);
/* Wipe the master secret, free the content signer. */
void cvq_admin_issuer_clear(struct cvq_admin_issuer *st);
/* The PIV content signer into st->cs_cert / cs_key (content-signer.key /
 * .pem beside the configuration, made by two officers with `card
 * content-signer init`, never here: enrol_content.c). CVQ_ENROL_OK, else
 * CVQ_ENROL_ERR_ISSUER and why[] says why (the enrolment pauses). */
cvq_enrol_err cvq_admin_issuer_content_signer(struct cvq_admin_issuer *st, char *why,
                                              size_t why_len);
/* The agent issuer over link (copied into st: a TLS context loaded by
 * cvq_admin_link_open is shared, not owned). No CA store, no master. */
void cvq_admin_issuer_agent(struct cvq_admin_issuer *st, const struct cvq_admin_link *link,
                            struct cvq_enrol_issuer *out);
/* The profile a card slot's key gets (9A auth, 9C sign, 9E card-auth). */
enum cvq_ca_profile cvq_admin_issuer_profile(int slot);
/* The audit entry of a step, in the store st->ca (opened with or without
 * the key: cvq_ca_audit_record needs none). */
cvq_enrol_err cvq_admin_issuer_audit(void *ctx, const char *action, const char *guid,
                                     const char *detail);
/* cvq_enrol_err for a cvq_ca_err: what the CA refused, or its failure. */
cvq_enrol_err cvq_admin_issuer_err(cvq_ca_err err);

#endif
