/*
 * cvq cardlib — bounded BER-TLV as used by PIV (NIST SP 800-73-4 part 2).
 *
 * Tags are kept as they appear on the wire, big-endian, up to three bytes
 * (0x53, 0x7F49, 0x5FC102). Lengths are BER definite forms of at most
 * three length bytes (0x82 covers every PIV object; 0x83 is accepted for
 * hosts that build large buffers). The indefinite form is refused.
 *
 * No function here reads or writes outside the [buf, buf + len) range it
 * was given, whatever the input; the parsers are fuzzed (tests/fuzz).
 */
#ifndef CVQ_CARD_TLV_H
#define CVQ_CARD_TLV_H

#include <cvq/export.h>

#include <stddef.h>
#include <stdint.h>

#include "cvq/card_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvq_card_tlv {
	uint32_t tag;          /* tag bytes, big-endian */
	const uint8_t *value;  /* points into the parsed buffer */
	size_t len;            /* value length */
	size_t total;          /* tag + length + value bytes */
} cvq_card_tlv;

/*
 * Parse the TLV that starts at *p and ends at or before end; on success
 * *p points just past it. Returns CVQ_CARD_ERR_TLV when the bytes are not
 * one complete TLV (truncated, tag too long, bad length form).
 */
CVQ_EXPORT cvq_card_err cvq_card_tlv_next(const uint8_t **p, const uint8_t *end,
                               cvq_card_tlv *out);

/* Parse exactly one TLV that must fill buf[0..len) completely. */
CVQ_EXPORT cvq_card_err cvq_card_tlv_parse_one(const uint8_t *buf, size_t len,
                                    cvq_card_tlv *out);

/*
 * Find the first TLV with this tag among the sibling TLVs that fill
 * buf[0..len). CVQ_CARD_ERR_NOT_FOUND when absent, CVQ_CARD_ERR_TLV when
 * the siblings are malformed before it is found.
 */
CVQ_EXPORT cvq_card_err cvq_card_tlv_find(const uint8_t *buf, size_t len, uint32_t tag,
                               cvq_card_tlv *out);

/* Number of bytes the tag / length header takes. */
CVQ_EXPORT size_t cvq_card_tlv_tag_size(uint32_t tag);
CVQ_EXPORT size_t cvq_card_tlv_len_size(size_t len);

/*
 * Append tag and length (and, with _put, value) to out[*off..cap);
 * *off advances. CVQ_CARD_ERR_BUFFER if it does not fit, and then
 * nothing is written. val may alias out (it is moved, not copied).
 */
CVQ_EXPORT cvq_card_err cvq_card_tlv_put_header(uint8_t *out, size_t cap, size_t *off,
                                     uint32_t tag, size_t len);
CVQ_EXPORT cvq_card_err cvq_card_tlv_put(uint8_t *out, size_t cap, size_t *off,
                              uint32_t tag, const uint8_t *val, size_t len);

#ifdef __cplusplus
}
#endif
#endif
