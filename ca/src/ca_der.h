/* libcvqca — a minimal DER writer and TLV reader for the CRL fast path. */
#ifndef CVQ_CA_DER_H
#define CVQ_CA_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ca_dbuf {
	uint8_t *p;
	size_t len, cap;
	bool fail;          /* sticky: an allocation failed */
};

void ca_dbuf_put(struct ca_dbuf *b, const void *data, size_t n);
/* tag and length header */
void ca_dbuf_hdr(struct ca_dbuf *b, uint8_t tag, size_t len);
/* tag, length, content */
void ca_dbuf_tlv(struct ca_dbuf *b, uint8_t tag, const void *data, size_t n);
void ca_dbuf_free(struct ca_dbuf *b);
/* Size of a header for a content of n bytes. */
size_t ca_der_hdr_len(size_t n);

/* A time as DER (RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime
 * after, or always GeneralizedTime when gen); returns its length. */
size_t ca_der_time(int64_t t, bool gen, uint8_t out[17]);

/* One TLV at p (single-byte tags, lengths up to 2^32): false if malformed. */
bool ca_der_next(const uint8_t **p, const uint8_t *end, uint8_t *tag,
                 const uint8_t **content, size_t *len);

#endif
