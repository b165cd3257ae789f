/*
 * cvq-admin — no TLS front in this program (agent_tls.h): cvq-admin loads
 * neither libmicrohttpd nor GnuTLS; `ca-agent start --listen` runs
 * cvq-agentd, which has agent_tls_server.c instead of this file.
 */
#include <stdio.h>

#include "agent_tls.h"

bool
cvq_admin_agent_tls_here(void)
{
	return false;
}

cvq_ca_err
cvq_admin_agent_tls_start(cvq_ca_agent *a, const struct cvq_ca_config *cfg,
                          const struct cvq_admin_agent_tls_opts *o, cvq_admin_agent_tls **out,
                          char *why, size_t why_len)
{
	if (out)
		*out = NULL;
	if (why && why_len)
		snprintf(why, why_len, "no TLS front in this program (cvq-agentd has it)");
	return CVQ_CA_ERR_CONFIG;
}

void
cvq_admin_agent_tls_stop(cvq_admin_agent_tls *t)
{
}
