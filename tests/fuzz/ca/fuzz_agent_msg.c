/* Fuzz the issuing agent's request parser: what it accepts encodes back to
 * a request that parses to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cvq/ca.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvq_ca_agent_msg m, r;
	uint8_t *b = NULL;
	size_t len = 0;

	if (cvq_ca_agent_parse(data, size, &m) != CVQ_CA_OK)
		return 0;
	if (cvq_ca_agent_encode(&m, &b, &len) != CVQ_CA_OK)
		abort();
	if (cvq_ca_agent_parse(b, len, &r) != CVQ_CA_OK || r.op != m.op ||
	    r.req.profile != m.req.profile || r.req.days != m.req.days ||
	    !same_str(r.req.card_guid, m.req.card_guid) || !same_str(r.req.subject, m.req.subject) ||
	    !same_str(r.req.dns_name, m.req.dns_name) || r.csr_len != m.csr_len ||
	    (m.csr_len && memcmp(r.csr, m.csr, m.csr_len) != 0))
		abort();
	free(b);
	return 0;
}
