/*
 * Fuzz the agent link's reader of the TLS front's HTTP answer
 * (tools/cvq-admin/agent_http.c): bytes from the network. What it accepts
 * must be a status of three digits and a body that is exactly the input's
 * tail, inside it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvq_admin_http_answer a;

	if (!cvq_admin_http_parse(data, size, &a))
		return 0;
	if (a.status < 100 || a.status > 599 || a.body < data || a.body + a.body_len != data + size)
		abort();
	return 0;
}
