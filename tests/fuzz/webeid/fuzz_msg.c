/*
 * Fuzz target webeid-msg: what a browser (or anything that can start the
 * host) writes to cvq-webeid's stdin — the 4-byte length, then the JSON
 * command with its arguments (origin, nonce, base64 hash and certificate).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webeid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	webeid_cmd cmd;
	char why[256], *s;
	uint8_t out[64];
	uint32_t len = 0;
	size_t n;

	if (size < 4)
		return 0;
	(void)webeid_frame_len(data, &len, why, sizeof(why));
	data += 4;
	size -= 4;
	if (size > WEBEID_MSG_MAX)
		size = WEBEID_MSG_MAX;
	if (webeid_msg_parse(data, size, &cmd, why, sizeof(why)) == WEBEID_OK)
		webeid_cmd_clear(&cmd);
	/* The argument checks on their own, on the raw bytes as a string. */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char norm[WEBEID_ORIGIN_MAX + 1];
	(void)webeid_origin_normalise(s, norm, sizeof(norm));
	(void)webeid_nonce_ok(s);
	(void)webeid_b64_decode(s, out, sizeof(out), &n);
	free(s);
	return 0;
}
