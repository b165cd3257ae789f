/* The backend of a daemon without readers: nothing to list or sign with. */
#include <poll.h>
#include <stdlib.h>

#include "card_backend.h"

static cvqd_err none_list(void *impl, cvqd_card_info *out, size_t cap, size_t *n)
{
	*n = 0;
	return CVQD_OK;
}

static cvqd_err none_wait(void *impl, unsigned timeout_ms)
{
	poll(NULL, 0, (int)timeout_ms);
	return CVQD_OK;
}

static cvqd_err none_cert(void *impl, const char *reader, cvqd_key_slot slot, X509 **out)
{
	return CVQD_ERR_NO_CARD;
}

static cvqd_err none_sign(void *impl, const char *reader, cvqd_key_slot slot,
                          const char *pin, unsigned pad_timeout_s, const cvqd_tbs *tbs,
                          uint8_t *sig, size_t *siglen, int *tries_left)
{
	return CVQD_ERR_NO_CARD;
}

cvqd_card_backend *cvqd_card_backend_none(void)
{
	cvqd_card_backend *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->name = "none";
	b->list = none_list;
	b->wait_change = none_wait;
	b->get_cert = none_cert;
	b->sign = none_sign;
	return b;
}

void cvqd_card_backend_free(cvqd_card_backend *b)
{
	if (!b)
		return;
	if (b->destroy)
		b->destroy(b->impl);
	free(b);
}
