/*
 * cvq-agentd — the EST (RFC 7030) side of the agent's TLS front
 * (agent_tls_server.c): the routes and the bodies' encodings.
 */
#ifndef CVQ_ADMIN_AGENT_EST_H
#define CVQ_ADMIN_AGENT_EST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <cvq/ca.h>

/* A base64 CSR body: 4/3 of the DER and a line break every 64 characters. */
#define CVQ_ADMIN_EST_B64_MAX (CVQ_CA_AGENT_MAX_CSR / 3 * 4 + CVQ_CA_AGENT_MAX_CSR / 32 + 64)

enum cvq_admin_est_route {
	CVQ_ADMIN_EST_NONE,
	CVQ_ADMIN_EST_CACERTS,  /* GET /.well-known/est/cacerts */
	CVQ_ADMIN_EST_ENROLL,   /* POST /.well-known/est/[PROFILE/]simpleenroll */
	CVQ_ADMIN_EST_AGENT,    /* POST /.well-known/est/cvq/agent */
};

/* Where method + url go; *profile: the label's (service without one). */
enum cvq_admin_est_route cvq_admin_est_route_of(const char *method, const char *url,
                                                enum cvq_ca_profile *profile);
/* Strict base64 (line breaks and blanks between) to bytes (malloc'd), or NULL. */
uint8_t *cvq_admin_est_b64_decode(const uint8_t *in, size_t n, size_t *out_len);
/* A certificate as a degenerate PKCS#7 SignedData, base64 in lines (malloc'd). */
char *cvq_admin_est_certs_only(X509 *cert);

#endif
