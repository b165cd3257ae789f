/*
 * libcvqenrol — a card's stray certificates: good in the CA but not on the
 * card any more (an interrupted step issued them, or a renewal replaced
 * them). The counter lists them for its journal, the CA side revokes them
 * (cvq_enrol_issuer_ops.revoke_strays): one rule for both.
 */
#include <stdlib.h>
#include <string.h>

#include <cvq/enrol.h>

int
cvq_enrol_strays_cb(void *ctx, const struct cvq_enrol_cert_rec *c)
{
	struct cvq_enrol_strays *s = ctx;
	void *p;
	size_t i;

	if (!c->good)
		return 0;
	for (i = 0; i < s->n_keep; i++)
		if (s->keep[i] && strcmp(c->serial, s->keep[i]) == 0)
			return 0;
	p = realloc(s->serial, (s->n + 1) * sizeof(*s->serial));
	if (!p) {
		s->nomem = true;
		return 1;
	}
	s->serial = p;
	memcpy(s->serial[s->n], c->serial, sizeof(s->serial[0]));
	s->serial[s->n++][sizeof(s->serial[0]) - 1] = '\0';
	return 0;
}
