/* Command APDU parsing: a pure function of the received bytes. */
#include <string.h>

#include "apdu.h"

int
vc_apdu_parse(const uint8_t *buf, size_t len, struct vc_apdu *a)
{
	size_t lc;

	if (buf == NULL || a == NULL || len < 4)
		return -1;
	memset(a, 0, sizeof(*a));
	a->cla = buf[0];
	a->ins = buf[1];
	a->p1 = buf[2];
	a->p2 = buf[3];
	if (len == 4)
		return 0;                       /* case 1 */
	if (len == 5) {                         /* case 2 short */
		a->has_le = true;
		a->le = buf[4] ? buf[4] : 256;
		return 0;
	}
	if (buf[4] != 0) {                      /* case 3/4 short */
		lc = buf[4];
		if (len == 5 + lc) {
			a->data = buf + 5;
			a->lc = lc;
			return 0;
		}
		if (len == 6 + lc) {
			a->data = buf + 5;
			a->lc = lc;
			a->has_le = true;
			a->le = buf[5 + lc] ? buf[5 + lc] : 256;
			return 0;
		}
		return -1;
	}
	/* Extended length: a zero byte, then two length bytes. */
	a->extended = true;
	if (len < 7)
		return -1;
	if (len == 7) {                         /* case 2 extended */
		a->has_le = true;
		a->le = ((size_t)buf[5] << 8 | buf[6]);
		if (a->le == 0)
			a->le = 65536;
		return 0;
	}
	lc = (size_t)buf[5] << 8 | buf[6];
	if (lc == 0)
		return -1;
	if (len == 7 + lc) {
		a->data = buf + 7;
		a->lc = lc;
		return 0;
	}
	if (len == 9 + lc) {
		a->data = buf + 7;
		a->lc = lc;
		a->has_le = true;
		a->le = (size_t)buf[7 + lc] << 8 | buf[8 + lc];
		if (a->le == 0)
			a->le = 65536;
		return 0;
	}
	return -1;
}
