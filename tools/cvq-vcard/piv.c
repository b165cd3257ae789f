/*
 * The card: lifecycle, command dispatch, security state, command and
 * response chaining. Everything here is a pure function of the card and
 * the command bytes (no I/O), so tests and the fuzz target call it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "card_int.h"
#include "cvq/card_tlv.h"

#define INS_GET_RESPONSE 0xC0

static const char *const vc_errors[VC_ERR__COUNT] = {
	[VC_OK] = "success",
	[VC_ERR_ARG] = "invalid argument",
	[VC_ERR_NOMEM] = "out of memory",
	[VC_ERR_IO] = "state file input/output error",
	[VC_ERR_FORMAT] = "malformed state file",
	[VC_ERR_CRYPTO] = "cryptographic operation failed",
};

const char *
vc_strerror(vc_err err)
{
	if ((unsigned)err >= VC_ERR__COUNT)
		return "unknown error";
	return vc_errors[err];
}

void
vc_buf_add(struct vc_buf *b, const void *data, size_t len)
{
	uint8_t *n;
	size_t cap;

	if (b->failed || len == 0)
		return;
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 512;
		while (cap < b->len + len)
			cap *= 2;
		/* Grow by copying: realloc could leave an unwiped copy of a
		 * response (ECDH secrets) in freed memory. */
		if ((n = OPENSSL_malloc(cap)) == NULL) {
			b->failed = true;
			return;
		}
		if (b->p != NULL) {
			memcpy(n, b->p, b->len);
			OPENSSL_clear_free(b->p, b->cap);
		}
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void
vc_buf_header(struct vc_buf *b, uint32_t tag, size_t len)
{
	uint8_t h[8];
	size_t off = 0;

	if (cvq_card_tlv_put_header(h, sizeof(h), &off, tag, len) != CVQ_CARD_OK) {
		b->failed = true;
		return;
	}
	vc_buf_add(b, h, off);
}

void
vc_buf_tlv(struct vc_buf *b, uint32_t tag, const void *val, size_t len)
{
	vc_buf_header(b, tag, len);
	vc_buf_add(b, val, len);
}

void
vc_buf_dyn(struct vc_buf *b, uint32_t tag, const void *val, size_t len)
{
	vc_buf_header(b, 0x7C, cvq_card_tlv_tag_size(tag) +
	              cvq_card_tlv_len_size(len) + len);
	vc_buf_tlv(b, tag, val, len);
}

static void
buf_free(struct vc_buf *b)
{
	if (b->p != NULL)
		OPENSSL_clear_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

void
vc_card_factory(struct vc_card *c)
{
	static const uint8_t mgmt[24] = {
		1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
	};

	memset(c->pin, 0xFF, sizeof(c->pin));
	memcpy(c->pin, "123456", 6);
	memset(c->puk, 0xFF, sizeof(c->puk));
	memcpy(c->puk, "12345678", 8);
	c->pin_tries = c->pin_max = 3;
	c->puk_tries = c->puk_max = 3;
	c->mgmt_alg = ALG_3DES;
	OPENSSL_cleanse(c->mgmt_key, sizeof(c->mgmt_key));
	memcpy(c->mgmt_key, mgmt, sizeof(mgmt));
	c->mgmt_len = sizeof(mgmt);
}

void
vc_card_clear_keys_objects(struct vc_card *c)
{
	size_t i;

	for (i = 0; i < VC_NKEYS; i++) {
		EVP_PKEY_free(c->keys[i].pkey);
		c->keys[i].pkey = NULL;
		c->keys[i].alg = 0;
	}
	for (i = 0; i < c->nobjs; i++)
		OPENSSL_clear_free(c->objs[i].data, c->objs[i].len);
	c->nobjs = 0;
}

struct vc_card *
vc_card_new(uint32_t serial)
{
	struct vc_card *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	while (serial == 0) {
		if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1) {
			free(c);
			return NULL;
		}
		/* Positive and 8 decimal digits at most, like a YubiKey's. */
		serial %= 100000000u;
	}
	c->serial = serial;
	vc_card_factory(c);
	return c;
}

static void
chain_drop(struct vc_card *c)
{
	if (c->chain != NULL)
		OPENSSL_clear_free(c->chain, VC_MAX_CHAIN);
	c->chain = NULL;
	c->chain_len = 0;
	c->chaining = false;
}

static void
pending_drop(struct vc_card *c)
{
	if (c->pending != NULL)
		OPENSSL_clear_free(c->pending, c->pending_len);
	c->pending = NULL;
	c->pending_len = c->pending_off = 0;
}

void
vc_card_free(struct vc_card *c)
{
	if (c == NULL)
		return;
	vc_card_clear_keys_objects(c);
	chain_drop(c);
	pending_drop(c);
	OPENSSL_clear_free(c, sizeof(*c));
}

void
vc_card_clear_auth(struct vc_card *c)
{
	c->auth_step = AUTH_NONE;
	c->auth_alg = 0;
	OPENSSL_cleanse(c->auth_nonce, sizeof(c->auth_nonce));
	c->auth_nonce_len = 0;
}

void
vc_card_clear_security(struct vc_card *c)
{
	c->pin_verified = c->pin_fresh = c->mgmt_auth = false;
	vc_card_clear_auth(c);
}

void
vc_card_reset(struct vc_card *c)
{
	vc_card_clear_security(c);
	chain_drop(c);
	pending_drop(c);
}

bool
vc_card_take_dirty(struct vc_card *c)
{
	bool d = c->dirty;

	c->dirty = false;
	return d;
}

uint32_t
vc_card_serial(const struct vc_card *c)
{
	return c->serial;
}

void
vc_card_test_authenticate(struct vc_card *c, bool mgmt, bool pin)
{
	c->mgmt_auth = mgmt;
	c->pin_verified = c->pin_fresh = pin;
}

static uint16_t
dispatch(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	if ((a->cla & ~0x10) != 0x00)
		return SW_CLA_NOT_SUPP;
	switch (a->ins) {
	case 0xA4: return vc_piv_select(c, a, out);
	case 0xCB: return vc_obj_get_data(c, a, out);
	case 0xDB: return vc_obj_put_data(c, a, out);
	case 0x20: return vc_pin_verify(c, a, out);
	case 0x24: return vc_pin_change(c, a, out);
	case 0x2C: return vc_pin_reset(c, a, out);
	case 0x87: return vc_general_auth(c, a, out);
	case 0x47: return vc_key_generate(c, a, out);
	case 0xF7: case 0xF8: case 0xFA: case 0xFB: case 0xFD: case 0xFE: case 0xFF:
		return vc_yubico(c, a, out);
	case 0xF9: return vc_attest(c, a, out);
	default:
		return SW_INS_NOT_SUPP;
	}
}

/* Emit the next piece of the pending response: at most 256 bytes (and no
 * more than a short Le asks for), then 61xx while bytes are left. */
static size_t
emit_pending(struct vc_card *c, const struct vc_apdu *a, uint8_t *resp)
{
	size_t left = c->pending_len - c->pending_off, n = left;

	if (n > 256)
		n = 256;
	if (a->has_le && !a->extended && a->le < n)
		n = a->le;
	memcpy(resp, c->pending + c->pending_off, n);
	c->pending_off += n;
	left -= n;
	if (left == 0) {
		pending_drop(c);
		resp[n] = 0x90;
		resp[n + 1] = 0x00;
	} else {
		resp[n] = 0x61;
		resp[n + 1] = left > 255 ? 0x00 : (uint8_t)left;
	}
	return n + 2;
}

static size_t
sw_only(uint8_t *resp, uint16_t sw)
{
	resp[0] = (uint8_t)(sw >> 8);
	resp[1] = (uint8_t)sw;
	return 2;
}

/* Returns 1 when the block was stored and the host waits for 9000, 0 when
 * the command is complete (possibly the end of a chain, then *a points at
 * the reassembled data), or a SW to answer at once. */
static uint32_t
chain_step(struct vc_card *c, struct vc_apdu *a)
{
	bool more = (a->cla & 0x10) != 0;

	if (c->chaining && (a->ins != c->chain_ins || a->p1 != c->chain_p1 ||
	                    a->p2 != c->chain_p2))
		chain_drop(c);  /* another command interrupts: forget the chain */
	if (!more && !c->chaining)
		return 0;
	if (!c->chaining) {
		if ((c->chain = OPENSSL_zalloc(VC_MAX_CHAIN)) == NULL)
			return SW_MEMORY;
		c->chaining = true;
		c->chain_ins = a->ins;
		c->chain_p1 = a->p1;
		c->chain_p2 = a->p2;
	}
	if (a->lc > VC_MAX_CHAIN - c->chain_len) {
		chain_drop(c);
		return SW_WRONG_LENGTH;
	}
	if (a->lc > 0)
		memcpy(c->chain + c->chain_len, a->data, a->lc);
	c->chain_len += a->lc;
	if (more)
		return 1;
	a->data = c->chain;
	a->lc = c->chain_len;
	a->cla &= (uint8_t)~0x10;
	return 0;
}

size_t
vc_card_process(struct vc_card *c, const uint8_t *cmd, size_t len,
                uint8_t *resp, size_t cap)
{
	struct vc_apdu a;
	struct vc_buf out = {0};
	uint32_t st;
	uint16_t sw;

	if (c == NULL || resp == NULL || cap < VC_RESP_MAX)
		return 0;
	if (vc_apdu_parse(cmd, len, &a) != 0) {
		chain_drop(c);
		return sw_only(resp, SW_WRONG_LENGTH);
	}
	if (a.ins == INS_GET_RESPONSE && (a.cla & ~0x10) == 0) {
		if (c->pending == NULL)
			return sw_only(resp, SW_CONDITIONS);
		return emit_pending(c, &a, resp);
	}
	pending_drop(c);  /* any other command abandons a pending response */

	st = chain_step(c, &a);
	if (st == 1)
		return sw_only(resp, SW_OK);
	if (st != 0)
		return sw_only(resp, (uint16_t)st);

	sw = dispatch(c, &a, &out);
	chain_drop(c);
	if (out.failed) {
		sw = SW_NO_PRECISE;
		out.len = 0;
	}
	if (out.len == 0 || (sw != SW_OK)) {
		buf_free(&out);
		return sw_only(resp, sw);
	}
	c->pending = out.p;
	c->pending_len = out.len;
	c->pending_off = 0;
	/* Ownership moved to c->pending (freed by pending_drop). */
	out.p = NULL;
	return emit_pending(c, &a, resp);
}
