/*
 * cvq-admin — the agent link's command-line options (agent_link.h): what
 * `cert issue`, `ca request|approve|reject` take to name the agent. Apart
 * from the transport (agent_link.c) so that a program linking the link
 * alone needs no CA configuration code.
 */
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
		char why[256] = "";

		if (!l->ca_file || !l->cert_file || !l->key) {
			cvq_admin_error("--agent https://... needs --agent-ca, --agent-cert and --agent-key");
			return false;
		}
		/* The key (a card's: its PIN) now, before anything else is asked. */
		if (cvq_admin_link_open(l, why, sizeof(why)) != CVQ_CA_OK) {
			cvq_admin_error("agent %s: %s", l->url, why);
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

void
cvq_admin_link_done(struct cvq_admin_link *l, char *owned)
{
	cvq_admin_link_close(l);
	if (owned && l->socket == owned)
		l->socket = NULL;
	free(owned);
}
