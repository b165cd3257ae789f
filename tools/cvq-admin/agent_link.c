/*
 * cvq-admin — the link to the issuing agent (agent_link.h): the Unix
 * socket here; the TLS front's client is agent_link_tls.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_link.h"
#include "ca_agent.h"

bool
cvq_admin_link_option(struct cvq_admin_link *l, int c, const char *arg)
{
	switch (c - CVQ_ADMIN_LINK_OPT_FIRST) {
	case 0:
		if (strncmp(arg, "https://", 8) == 0)
			l->url = arg, l->socket = NULL;
		else
			l->socket = arg, l->url = NULL;
		return true;
	case 1: l->ca_file = arg; return true;
	case 2: l->cert_file = arg; return true;
	case 3: l->key = arg; return true;
	case 4: l->pin_source = arg; return true;
	default: return false;
	}
}

bool
cvq_admin_link_ready(struct cvq_admin_link *l, const struct cvq_admin_opts *opts, char **owned)
{
	*owned = NULL;
	if (l->url) {
		if (!l->ca_file || !l->cert_file || !l->key) {
			cvq_admin_error("--agent https://... needs --agent-ca, --agent-cert and --agent-key");
			return false;
		}
		return true;
	}
	if (l->ca_file || l->cert_file || l->key || l->pin_source) {
		cvq_admin_error("--agent-ca, --agent-cert, --agent-key and --agent-pin-source go with --agent https://...");
		return false;
	}
	if (!l->socket) {
		*owned = cvq_admin_agent_socket(opts, NULL);
		if (!*owned)
			return false;
		l->socket = *owned;
	}
	return true;
}

cvq_ca_err
cvq_admin_link_call(const struct cvq_admin_link *l, const uint8_t *req, size_t req_len,
                    uint8_t **out, size_t *out_len, char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	if (!l || !out || !out_len)
		return CVQ_CA_ERR_ARG;
	if (l->socket)
		return cvq_ca_agent_call_raw(l->socket, req, req_len, out, out_len, why, why_len);
	if (l->url && why && why_len)
		return cvq_admin_link_call_tls(l, req, req_len, out, out_len, why, why_len);
	if (l->url) {
		char dummy[256];

		return cvq_admin_link_call_tls(l, req, req_len, out, out_len, dummy, sizeof(dummy));
	}
	if (why && why_len)
		snprintf(why, why_len, "no agent given");
	return CVQ_CA_ERR_NET;
}

cvq_ca_err
cvq_admin_link_call_msg(const struct cvq_admin_link *l, const struct cvq_ca_agent_msg *m,
                        uint8_t **out, size_t *out_len, char *why, size_t why_len)
{
	uint8_t *req = NULL;
	size_t req_len = 0;
	cvq_ca_err err;

	if (why && why_len)
		why[0] = '\0';
	if (!m || !out || !out_len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	err = cvq_ca_agent_encode(m, &req, &req_len);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_admin_link_call(l, req, req_len, out, out_len, why, why_len);
	free(req);
	return err;
}
