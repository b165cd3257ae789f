/*
 * Fuzz the enrolment ops' codec of the issuing agent (issue #13 part 4):
 * the requests the agent parses from any member of its group, and the
 * answers a counter parses from the link. The first byte picks which: odd,
 * a request; even, an answer to op 16 + (byte >> 1) % 15. Whatever parses
 * must encode again (the encoders parse what they produce): a difference
 * between the two sides aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent_enrol_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cvq_admin_enrol_req r;
	static struct cvq_admin_enrol_ans a;
	uint8_t *b = NULL;
	size_t len = 0;
	int op;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (cvq_admin_enrol_req_parse(data + 1, size - 1, &r) == CVQ_CA_OK &&
		    cvq_admin_enrol_req_encode(&r, &b, &len) != CVQ_CA_OK)
			abort();
	} else {
		op = CVQ_ADMIN_ENROL_AUDIT + (data[0] >> 1) % (CVQ_ADMIN_ENROL_OP_END -
		                                                CVQ_ADMIN_ENROL_AUDIT);
		if (cvq_admin_enrol_ans_parse(op, data + 1, size - 1, &a) == CVQ_CA_OK &&
		    cvq_admin_enrol_ans_encode(&a, &b, &len) != CVQ_CA_OK)
			abort();
	}
	cvq_admin_enrol_free(b, len);
	return 0;
}
