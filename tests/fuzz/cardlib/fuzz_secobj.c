/*
 * Fuzz the parsers of the issuer's signed objects (issue #17): the first
 * byte picks CHUID split (0), Security Object (1) or LDSSecurityObject (2,
 * the second byte gives how many data groups, 1..16, numbered 1..n).
 * Whatever parses must point inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/piv_authentic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t hashes[CVQ_PIV_SECOBJ_MAX][32];
	const uint8_t *in = data + 1, *sig = NULL;
	size_t n = size - 1, clen = 0, slen = 0, i;
	cvq_piv_secobj so;

	if (size < 2)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (cvq_piv_chuid_split(in, n, &clen, &sig, &slen) == CVQ_CARD_OK &&
		    (clen > n || (slen && (sig < in + clen || sig + slen > in + n))))
			abort();
		break;
	case 1:
		if (cvq_piv_secobj_parse(in, n, &so) == CVQ_CARD_OK) {
			if (so.n == 0 || so.n > CVQ_PIV_SECOBJ_MAX || so.cms < in ||
			    so.cms + so.cms_len > in + n)
				abort();
			for (i = 0; i < so.n; i++)
				if (so.map[i].tag && cvq_piv_container_id(so.map[i].tag) !=
				                     so.map[i].container)
					abort();
		}
		break;
	default:
		memset(&so, 0, sizeof(so));
		so.n = (size_t)(in[0] % CVQ_PIV_SECOBJ_MAX) + 1;
		for (i = 0; i < so.n; i++)
			so.map[i].dg = (uint8_t)(i + 1);
		(void)cvq_piv_lds_parse(in + 1, n - 1, &so, hashes);
		break;
	}
	return 0;
}
