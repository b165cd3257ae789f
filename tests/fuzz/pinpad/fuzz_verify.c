/*
 * Fuzz target pinpad-verify: the bench PIN pad's PIN_VERIFY_STRUCTURE
 * and PIN_MODIFY_STRUCTURE parsers and PIN formatters, and its keypad
 * script line parser. Input: one byte of PIN length, that many PIN
 * characters, then the structure (tried as both kinds; the PIN serves as
 * old and new PIN of a modify).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pinpad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pp_verify v;
	pp_modify m;
	uint8_t apdu[PP_APDU_MAX];
	char pin[PP_PIN_MAX + 1];
	size_t n, alen = 0;
	bool ok;

	pp_keypad_parse_line((const char *)data, size, pin, sizeof(pin), &ok);
	if (size < 1)
		return 0;
	n = data[0];
	if (n > size - 1)
		return 0;
	if (pp_verify_parse(data + 1 + n, size - 1 - n, &v) == 0 &&
	    pp_verify_build(&v, (const char *)data + 1, n, apdu, &alen) == 0 &&
	    (alen < 5 || alen > PP_APDU_MAX || (size_t)apdu[4] + 5 > alen))
		abort();
	if (pp_modify_parse(data + 1 + n, size - 1 - n, &m) == 0 &&
	    pp_modify_build(&m, (const char *)data + 1, n, (const char *)data + 1, n,
	                    apdu, &alen) == 0 &&
	    (alen < 5 || alen > PP_APDU_MAX || (size_t)apdu[4] + 5 > alen))
		abort();
	return 0;
}
