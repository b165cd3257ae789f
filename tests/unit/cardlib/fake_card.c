/* The scripted fake transport (see fake_card.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_card.h"

size_t
fake_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		assert_true(n < cap);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static cvq_card_err
fake_transmit(void *impl, const uint8_t *cmd, size_t len, uint8_t *rsp,
              size_t *rsp_len)
{
	struct fake_card *f = impl;
	const struct fake_step *st;
	uint8_t want[4096];
	size_t n;

	if (f->pos >= f->n) {
		if (f->fail_with)
			return f->fail_with;
		fail_msg("unexpected command %02X %02X (step %zu of %zu)", cmd[0], cmd[1],
		         f->pos, f->n);
	}
	st = &f->steps[f->pos++];
	if (st->cmd != NULL) {
		n = fake_hex(st->cmd, want, sizeof(want));
		if (n != len || memcmp(want, cmd, n) != 0) {
			char got[1024] = "";
			size_t i;
			for (i = 0; i < len && i < 300; i++)
				snprintf(got + 2 * i, 3, "%02X", cmd[i]);
			fail_msg("step %zu: expected %s, got %s", f->pos - 1, st->cmd, got);
		}
	}
	if (st->handler != NULL) {
		*rsp_len = st->handler(st, cmd, len, rsp, st->arg);
		return CVQ_CARD_OK;
	}
	*rsp_len = fake_hex(st->rsp, rsp, *rsp_len);
	return CVQ_CARD_OK;
}

cvq_card_transport
fake_transport(struct fake_card *f)
{
	cvq_card_transport t = {fake_transmit, f, false};
	return t;
}

cvq_card *
fake_card_new(struct fake_card *f, const struct fake_step *steps, size_t n)
{
	cvq_card_transport t;
	cvq_card *c = NULL;

	memset(f, 0, sizeof(*f));
	f->steps = steps;
	f->n = n;
	t = fake_transport(f);
	assert_int_equal(cvq_card_new_with_transport(&t, &c), CVQ_CARD_OK);
	return c;
}

void
fake_card_done(const struct fake_card *f)
{
	assert_int_equal(f->pos, f->n);
}
