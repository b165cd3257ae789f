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

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cvq/ca.h>

#include "admin.h"

/* What the TLS link loaded once (cvq_admin_link_open): opaque. */
struct cvq_admin_link_tls;

struct cvq_admin_link {
	const char *socket;     /* the agent's Unix socket, or NULL */
	const char *url;        /* https://HOST:PORT of its TLS front, or NULL */
	const char *ca_file;    /* url: the city CA (PEM) the server must chain to */
	const char *cert_file;  /* url: the operator's certificate (PEM) */
	const char *key;        /* url: the operator's key, a PEM file or a pkcs11: URI */
	const char *pin_source; /* url with a pkcs11 key: where its PIN comes from */
	struct cvq_admin_link_tls *tls; /* cvq_admin_link_open(), or NULL: loaded per call */
};

/*
 * Load what the TLS link needs — the CA file, our certificate, our key
 * (logging in to its token) — once, before anything holds a card: a
 * PKCS#11 module such as OpenSC probes every reader as it starts, and
 * blocks (in SCardConnect) on a reader whose card an enrolment holds in a
 * PC/SC transaction. Copies of l made after it share what it loaded;
 * cvq_admin_link_close() once, on the original. Nothing to do for a
 * socket (CVQ_CA_OK).
 */
cvq_ca_err cvq_admin_link_open(struct cvq_admin_link *l, char *why, size_t why_len);
void cvq_admin_link_close(struct cvq_admin_link *l);

/*
 * The link options a command takes (getopt_long; the codes are 0x100..):
 *   --agent PATH|https://HOST:PORT  the socket, or the TLS front
 *   --agent-ca FILE                 the city CA the front must chain to
 *   --agent-cert FILE               our certificate (PEM)
 *   --agent-key FILE|pkcs11:URI     our key
 *   --agent-pin-source SOURCE       the key's PIN or passphrase (file:, fd:,
 *                                   pinentry:, tty; never the PIN itself)
 */
#define CVQ_ADMIN_LINK_OPT_FIRST 0x100
#define CVQ_ADMIN_LINK_LONGOPTS                                                            \
	{"agent", required_argument, NULL, CVQ_ADMIN_LINK_OPT_FIRST},                          \
	{"agent-ca", required_argument, NULL, CVQ_ADMIN_LINK_OPT_FIRST + 1},                   \
	{"agent-cert", required_argument, NULL, CVQ_ADMIN_LINK_OPT_FIRST + 2},                 \
	{"agent-key", required_argument, NULL, CVQ_ADMIN_LINK_OPT_FIRST + 3},                  \
	{"agent-pin-source", required_argument, NULL, CVQ_ADMIN_LINK_OPT_FIRST + 4}
#define CVQ_ADMIN_LINK_USAGE                                                               \
	"                  [--agent PATH|https://HOST:PORT [--agent-ca FILE --agent-cert FILE\n" \
	"                   --agent-key FILE|pkcs11:URI [--agent-pin-source SOURCE]]]\n"
/* One of those options into l (arg kept, not copied); false: not one of them. */
bool cvq_admin_link_option(struct cvq_admin_link *l, int c, const char *arg);
/*
 * After the options: the TLS settings go with an https agent only (and
 * are loaded: cvq_admin_link_open), with no --agent the default socket
 * beside the store (*owned). false: a usage or loading error, said on
 * stderr. cvq_admin_link_done() after the last call.
 */
bool cvq_admin_link_ready(struct cvq_admin_link *l, const struct cvq_admin_opts *opts,
                          char **owned);
void cvq_admin_link_done(struct cvq_admin_link *l, char *owned);

/*
 * Send one request body, get the answer's payload (malloc'd, NUL after
 * it; wipe it if it may hold a key). CVQ_CA_ERR_NET: nobody answers (why[]
 * says where); any other error is the agent's, its reason in why[].
 */
cvq_ca_err cvq_admin_link_call(const struct cvq_admin_link *l, const uint8_t *req,
                               size_t req_len, uint8_t **out, size_t *out_len, char *why,
                               size_t why_len);
/* The TLS front's side of it (agent_link_tls.c); why[] required. */
cvq_ca_err cvq_admin_link_call_tls(const struct cvq_admin_link *l, const uint8_t *req,
                                   size_t req_len, uint8_t **out, size_t *out_len, char *why,
                                   size_t why_len);
/* The same for a message of libcvqca's own ops (encoded here). */
cvq_ca_err cvq_admin_link_call_msg(const struct cvq_admin_link *l,
                                   const struct cvq_ca_agent_msg *m, uint8_t **out,
                                   size_t *out_len, char *why, size_t why_len);

#endif
