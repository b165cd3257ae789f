/*
 * cvq-admin — the issuing agent's TLS front (agent_tls_server.c), for
 * counters on other machines: EST-shaped (RFC 7030) HTTPS with client
 * certificates required; every request becomes one cvq_ca_agent_handle()
 * call, so roles, refusals and the audit are the socket's (docs/enrolment.md).
 *
 * The front lives in cvq-agentd only (libmicrohttpd and GnuTLS load there,
 * not in every cvq-admin command); cvq-admin's build has agent_tls_none.c,
 * and `ca-agent start --listen` runs cvq-agentd instead (cmd_ca_agent.c).
 */
#ifndef CVQ_ADMIN_AGENT_TLS_H
#define CVQ_ADMIN_AGENT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <cvq/ca.h>

struct cvq_admin_agent_tls_opts {
	const char *listen;     /* HOST:PORT, [V6]:PORT */
	const char *cert_file;  /* the server's certificate (PEM; a service cert of the CA) */
	const char *key_file;   /* its key (PEM, unencrypted, not readable by others) */
};

typedef struct cvq_admin_agent_tls cvq_admin_agent_tls;

/* Whether this program has the front (cvq-agentd), else it runs cvq-agentd. */
bool cvq_admin_agent_tls_here(void);
/*
 * Listen and serve beside the agent's socket, from a thread of its own
 * (started after cvq_ca_agent_new: the signals stay blocked there). cfg
 * is the agent's configuration (peers are checked against a key-less
 * handle of the same store per request). why[] on failure.
 */
cvq_ca_err cvq_admin_agent_tls_start(cvq_ca_agent *a, const struct cvq_ca_config *cfg,
                                     const struct cvq_admin_agent_tls_opts *o,
                                     cvq_admin_agent_tls **out, char *why, size_t why_len);
void cvq_admin_agent_tls_stop(cvq_admin_agent_tls *t);

#endif
