/*
 * cvq-admin — the link from a counter (or an officer's shell) to the CA's
 * issuing agent: its Unix socket on the same host, or its TLS front from
 * another machine (mutually authenticated: the operator's certificate and
 * key, a key file or a PKCS#11 URI such as the staff card's 9A key).
 * Either way one request body in (cvq_ca_agent_encode, or an enrolment
 * op's), one answer out; the agent decides who the caller is (SO_PEERCRED
 * or the client certificate), never this side. docs/enrolment.md.
 */
#ifndef CVQ_ADMIN_AGENT_LINK_H
#define CVQ_ADMIN_AGENT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <cvq/ca.h>

struct cvq_admin_link {
	const char *socket;     /* the agent's Unix socket, or NULL */
	const char *url;        /* https://HOST:PORT of its TLS front, or NULL */
	const char *ca_file;    /* url: the city CA (PEM) the server must chain to */
	const char *cert_file;  /* url: the operator's certificate (PEM) */
	const char *key;        /* url: the operator's key, a PEM file or a pkcs11: URI */
	const char *pin_source; /* url with a pkcs11 key: where its PIN comes from */
};

/*
 * Send one request body, get the answer's payload (malloc'd, NUL after
 * it; wipe it if it may hold a key). CVQ_CA_ERR_NET: nobody answers (why[]
 * says where); any other error is the agent's, its reason in why[].
 */
cvq_ca_err cvq_admin_link_call(const struct cvq_admin_link *l, const uint8_t *req,
                               size_t req_len, uint8_t **out, size_t *out_len, char *why,
                               size_t why_len);
/* The same for a message of libcvqca's own ops (encoded here). */
cvq_ca_err cvq_admin_link_call_msg(const struct cvq_admin_link *l,
                                   const struct cvq_ca_agent_msg *m, uint8_t **out,
                                   size_t *out_len, char *why, size_t why_len);

#endif
