/*
 * Fuzz target vcard-apdu: arbitrary bytes as a sequence of command APDUs
 * to the card logic, in memory (no socket, no disk). Input:
 *   byte 0      flags: bit 0 pre-authenticate the management key,
 *               bit 1 pre-verify the PIN (both before every command),
 *               bit 2 power-cycle between APDUs
 *               bit 3 start from a card with keys (RSA-2048 in 9A, P-256 in
 *               9C, P-384 in 9D), made once per process
 *   then        records: L (1 byte; 0xFF: 2-byte big-endian length
 *               follows) and L bytes of APDU
 * RSA key generation is skipped (it is slow and would starve the fuzzer;
 * the unit tests cover it).
 * After the run the card's state is encoded, decoded and encoded again,
 * which must give the same bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const struct vc_card *c)
{
	struct vc_card *back = NULL;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	if (vc_state_encode(c, &a, &alen) != VC_OK)
		return;
	if (vc_state_decode(a, alen, &back) != VC_OK)
		abort();
	if (vc_state_encode(back, &b, &blen) != VC_OK || alen != blen ||
	    memcmp(a, b, alen) != 0)
		abort();
	OPENSSL_clear_free(a, alen);
	OPENSSL_clear_free(b, blen);
	vc_card_free(back);
}

/* The state of a card with keys, encoded once (generation is slow). */
static char *keyed_state;
static size_t keyed_len;

static struct vc_card *
keyed_card(void)
{
	static const char *const gens[3] = {
		"\x00\x47\x00\x9A\x05\xAC\x03\x80\x01\x07",
		"\x00\x47\x00\x9C\x05\xAC\x03\x80\x01\x11",
		"\x00\x47\x00\x9D\x05\xAC\x03\x80\x01\x14",
	};
	uint8_t resp[VC_RESP_MAX];
	struct vc_card *c;
	int i;

	if (keyed_state == NULL) {
		if ((c = vc_card_new(12345678)) == NULL)
			abort();
		vc_card_test_authenticate(c, true, false);
		for (i = 0; i < 3; i++)
			vc_card_process(c, (const uint8_t *)gens[i], 10, resp, sizeof(resp));
		if (vc_state_encode(c, &keyed_state, &keyed_len) != VC_OK)
			abort();
		vc_card_free(c);
	}
	if (vc_state_decode(keyed_state, keyed_len, &c) != VC_OK)
		abort();
	return c;
}

static bool
is_rsa_generate(const uint8_t *a, size_t len)
{
	size_t i;

	if (len < 5 || a[1] != 0x47)
		return false;
	for (i = 4; i + 2 < len; i++)
		if (a[i] == 0x80 && a[i + 1] == 0x01 && (a[i + 2] == 0x06 || a[i + 2] == 0x07))
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_card *c;
	uint8_t resp[VC_RESP_MAX], flags;
	size_t off = 1, len, n;

	if (size < 1)
		return 0;
	flags = data[0];
	c = (flags & 8) ? keyed_card() : vc_card_new(12345678);
	if (c == NULL)
		return 0;
	while (off < size) {
		len = data[off++];
		if (len == 0xFF) {
			if (size - off < 2)
				break;
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
		}
		if (len > size - off)
			len = size - off;
		/* Replayed sessions SELECT (which clears the security state)
		 * and fail the random-witness authentication: with the flags
		 * set, every command runs authenticated. */
		if (flags & 3)
			vc_card_test_authenticate(c, flags & 1, flags & 2);
		if (!is_rsa_generate(data + off, len)) {
			n = vc_card_process(c, data + off, len, resp, sizeof(resp));
			if (n < 2 || n > sizeof(resp))
				abort();
		}
		off += len;
		if (flags & 4)
			vc_card_reset(c);
		(void)vc_card_take_dirty(c);
	}
	roundtrip(c);
	vc_card_free(c);
	return 0;
}
