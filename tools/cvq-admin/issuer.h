/*
 * cvq-admin — the two issuers of libcvqenrol's issuing link (issue #13):
 * in-process libcvqca (issuer_ca.c) and the CA's issuing agent over its
 * Unix socket (issuer_agent.c). Both keep the last cvq_ca_err for the
 * command's exit code; the enrolment sees only struct cvq_enrol_issuer.
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
};

/* Fill *out with the in-process (ca) or agent (socket) issuer over *st. */
void cvq_admin_issuer_ca(struct cvq_admin_issuer *st, cvq_ca *ca, struct cvq_enrol_issuer *out);
/* The agent issuer: ca may be NULL (a counter with no CA store at all). */
void cvq_admin_issuer_agent(struct cvq_admin_issuer *st, cvq_ca *ca,
                            const struct cvq_admin_link *link, struct cvq_enrol_issuer *out);
/* The profile a card slot's key gets (9A auth, 9C sign, 9E card-auth). */
enum cvq_ca_profile cvq_admin_issuer_profile(int slot);
/* The audit entry of a step, in the store st->ca (opened with or without
 * the key: cvq_ca_audit_record needs none). */
cvq_enrol_err cvq_admin_issuer_audit(void *ctx, const char *action, const char *guid,
                                     const char *detail);
/* cvq_enrol_err for a cvq_ca_err: what the CA refused, or its failure. */
cvq_enrol_err cvq_admin_issuer_err(cvq_ca_err err);

#endif
