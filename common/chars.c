/*
 * cvq common — the byte classes of the strict parsers of outside bytes
 * (the agent's frames in libcvqca, the enrolment ops' in cvq-admin): one
 * definition, so that the two sides of a link never disagree on what a
 * hex or a printable field may hold.
 */
#include <cvq/util.h>

bool
cvq_util_is_hex_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool
cvq_util_is_print_char(uint8_t c)
{
	return c >= 0x20 && c < 0x7f;
}
