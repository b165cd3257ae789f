/*
 * Certificate objects: 53 { 70 cert, 71 CertInfo, FE LRC }, the
 * certificate gzip-compressed when CertInfo is 01 (SP 800-73-4 part 1,
 * table 10; YubiKeys and some PIV cards compress).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <zlib.h>

#include "card_internal.h"
#include "cvq/card_tlv.h"

#define CERT_MAX 32768u

static cvq_card_err
gunzip(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	z_stream z;
	uint8_t *buf;
	int rc;

	if (in_len > UINT_MAX)
		return CVQ_CARD_ERR_BAD_DATA;
	buf = malloc(CERT_MAX);
	if (buf == NULL)
		return CVQ_CARD_ERR_NOMEM;
	memset(&z, 0, sizeof(z));
	/* 16 + MAX_WBITS: gzip wrapper only. */
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(buf);
		return CVQ_CARD_ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)in_len;
	z.next_out = buf;
	z.avail_out = CERT_MAX;
	rc = inflate(&z, Z_FINISH);
	*out_len = CERT_MAX - z.avail_out;
	inflateEnd(&z);
	/* Z_BUF_ERROR here means "more than CERT_MAX": a bomb or garbage. */
	if (rc != Z_STREAM_END) {
		free(buf);
		return CVQ_CARD_ERR_BAD_DATA;
	}
	*out = buf;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_cert_parse(const uint8_t *buf, size_t len, X509 **cert)
{
	const uint8_t *p = buf, *end, *der;
	cvq_card_tlv t, c = {0};
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	bool have_cert = false, gz = false;
	cvq_card_err err;
	X509 *x;

	if ((buf == NULL && len != 0) || cert == NULL)
		return CVQ_CARD_ERR_ARG;
	*cert = NULL;
	end = buf + len;
	while (p < end) {
		err = cvq_card_tlv_next(&p, end, &t);
		if (err)
			return err;
		if (t.tag == 0x70) {
			c = t;
			have_cert = true;
		} else if (t.tag == 0x71) {
			if (t.len != 1)
				return CVQ_CARD_ERR_BAD_DATA;
			if (t.value[0] & 0xFE)
				return CVQ_CARD_ERR_BAD_DATA; /* unknown CertInfo bits */
			gz = t.value[0] == 0x01;
		}
	}
	if (!have_cert || c.len == 0 || c.len > CERT_MAX)
		return have_cert ? CVQ_CARD_ERR_BAD_DATA : CVQ_CARD_ERR_NOT_FOUND;
	if (gz) {
		err = gunzip(c.value, c.len, &plain, &plain_len);
		if (err)
			return err;
		der = plain;
	} else {
		der = c.value;
		plain_len = c.len;
	}
	{
		const unsigned char *q = der;
		x = d2i_X509(NULL, &q, (long)plain_len);
		if (x != NULL && q != der + plain_len) {
			X509_free(x); /* trailing bytes after the certificate */
			x = NULL;
		}
	}
	free(plain);
	if (x == NULL)
		return CVQ_CARD_ERR_BAD_DATA;
	*cert = x;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_read_cert(cvq_card *card, cvq_card_slot slot, X509 **cert)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int i = card_cert_index(slot);
	cvq_card_err err;
	X509 *x = NULL;

	if (card == NULL || cert == NULL || i < 0)
		return CVQ_CARD_ERR_ARG;
	*cert = NULL;
	/* Even a cached read begins a transaction: a removal or a reset since
	 * shows there, and the cache goes with the card. */
	err = cvq_card_begin(card);
	if (err)
		return err;
	if (!card->cert_c[i].known) {
		err = card_get_data(card, cvq_card_slot_object(slot), &data, &len);
		if (err == CVQ_CARD_OK)
			err = cvq_card_cert_parse(data, len, &x);
		if (err == CVQ_CARD_OK) {
			/* Kept: the authenticity check hashes these bytes. */
			free(card->cert_raw[i]);
			card->cert_raw[i] = data;
			card->cert_raw_len[i] = len;
			data = NULL;
		}
		free(data);
		if (err != CVQ_CARD_OK && err != CVQ_CARD_ERR_NOT_FOUND)
			goto out;
		card->cert[i] = x;
		card->cert_c[i].known = true;
		card->cert_c[i].err = err;
	}
	err = card->cert_c[i].err;
	if (err == CVQ_CARD_OK) {
		if (X509_up_ref(card->cert[i]))
			*cert = card->cert[i];
		else
			err = CVQ_CARD_ERR_INTERNAL;
	}
out:
	cvq_card_end(card, false);
	return err;
}

static cvq_card_err
gzip_der(const uint8_t *der, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z;
	uLong cap;
	uint8_t *buf;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9,
	                 Z_DEFAULT_STRATEGY) != Z_OK)
		return CVQ_CARD_ERR_NOMEM;
	cap = deflateBound(&z, (uLong)len) + 32;
	buf = malloc(cap);
	if (buf == NULL) {
		deflateEnd(&z);
		return CVQ_CARD_ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)der;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return CVQ_CARD_ERR_INTERNAL;
	}
	*out = buf;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_card_write_cert(cvq_card *card, cvq_card_slot slot, X509 *cert,
                    bool compress)
{
	unsigned char *der = NULL;
	uint8_t *body = NULL, *gz = NULL;
	const uint8_t *payload;
	size_t gz_len = 0, cap, off = 0, plen;
	uint8_t info;
	int der_len, i = card_cert_index(slot);
	cvq_card_err err;

	if (card == NULL || cert == NULL || i < 0)
		return CVQ_CARD_ERR_ARG;
	der_len = i2d_X509(cert, &der);
	if (der_len <= 0)
		return CVQ_CARD_ERR_CRYPTO;
	payload = der;
	plen = (size_t)der_len;
	info = 0x00;
	if (compress) {
		err = gzip_der(der, (size_t)der_len, &gz, &gz_len);
		if (err)
			goto out;
		payload = gz;
		plen = gz_len;
		info = 0x01;
	}
	cap = plen + 16;
	body = malloc(cap);
	if (body == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	if ((err = cvq_card_tlv_put(body, cap, &off, 0x70, payload, plen)) ||
	    (err = cvq_card_tlv_put(body, cap, &off, 0x71, &info, 1)) ||
	    (err = cvq_card_tlv_put(body, cap, &off, 0xFE, NULL, 0)))
		goto out;
	err = cvq_card_write_object(card, cvq_card_slot_object(slot), body, off);
	if (err == CVQ_CARD_OK && X509_up_ref(cert)) {
		/* We know what is on the card now: no need to read it back. */
		X509_free(card->cert[i]);
		card->cert[i] = cert;
		card->cert_c[i].known = true;
		card->cert_c[i].err = CVQ_CARD_OK;
	}
out:
	OPENSSL_free(der);
	free(gz);
	free(body);
	return err;
}

cvq_card_err
cvq_card_delete_cert(cvq_card *card, cvq_card_slot slot)
{
	int i = card_cert_index(slot);
	cvq_card_err err;

	if (card == NULL || i < 0)
		return CVQ_CARD_ERR_ARG;
	err = cvq_card_write_object(card, cvq_card_slot_object(slot), NULL, 0);
	if (err == CVQ_CARD_OK) {
		card->cert_c[i].known = true;
		card->cert_c[i].err = CVQ_CARD_ERR_NOT_FOUND;
	}
	return err;
}
