/*
 * cvq-admin — the link to the issuing agent (agent_link.h): the Unix
 * socket here; the TLS front's client is agent_link_tls.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_link.h"

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
