/*
 * Fuzz response assembly (61xx, 6Cxx, GET RESPONSE loops) and the PIV
 * answers above it: the input is a sequence of card responses, each a
 * 2-byte big-endian length then bytes, played by a fake transport while
 * cardlib reads the CHUID, a certificate, the PIN state and signs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cvq/card_apdu.h"
#include "cvq/piv.h"
#include "cvq/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *p, *end;
};

static cvq_card_err
feed_transmit(void *impl, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
              size_t *rsp_len)
{
	struct feed *f = impl;
	size_t n;

	(void)cmd;
	(void)cmd_len;
	if (f->end - f->p < 2)
		return CVQ_CARD_ERR_CARD_REMOVED;
	n = (size_t)f->p[0] << 8 | f->p[1];
	f->p += 2;
	if (n > (size_t)(f->end - f->p))
		n = (size_t)(f->end - f->p);
	if (n > *rsp_len)
		n = *rsp_len;
	memcpy(rsp, f->p, n);
	f->p += n;
	*rsp_len = n;
	return CVQ_CARD_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f = {data, data + size};
	cvq_card_transport t = {feed_transmit, &f, false};
	cvq_card *card = NULL;
	cvq_card_status st;
	X509 *x = NULL;
	uint8_t dg[32] = {1}, *sig = NULL;
	size_t sl = 0;
	cvq_card_sign_req req = {CVQ_CARD_SLOT_AUTH, NULL, NULL, CVQ_CARD_PAD_NONE,
	                         dg, sizeof(dg), NULL};

	if (cvq_card_new_with_transport(&t, &card))
		return 0;
	(void)cvq_card_get_status(card, &st);
	if (cvq_card_read_cert(card, CVQ_CARD_SLOT_AUTH, &x) == CVQ_CARD_OK)
		X509_free(x);
	req.md = EVP_sha256();
	if (cvq_card_sign(card, &req, &sig, &sl, NULL) == CVQ_CARD_OK)
		free(sig);
	cvq_card_disconnect(card, false);
	return 0;
}
