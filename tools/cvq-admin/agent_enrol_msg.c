/*
 * cvq-admin — the enrolment ops' requests and answers (agent_enrol_msg.h),
 * in the framing of libcvqca's agent requests (ca/src/ca_agent_msg.c):
 *
 * body := "CVQ1" field*
 * field := tag(1) length(2, big-endian) value
 *   1 op        1 byte, 16..30                          (always; the first field)
 *   2 guid      32 hex digits
 *   3 ext_id    1..63 bytes, printable ASCII (citizen, holder)
 *   4 action    1..31 bytes of [a-z0-9._-], "enrol." or "card." first
 *   5 detail    0..255 bytes of text (no control character)
 *   6 expires   8 bytes, 1..INT64_MAX (Unix time)
 *   7 status    1 byte, enum cvq_enrol_card_status (revoke_card: __COUNT too)
 *   8 reason    1 byte, RFC 5280 CRLReason 0..10 but 7
 *   9 since     8 bytes, 0..INT64_MAX
 *  10 keep      serials (1..66 hex each) joined by ',', at most 16
 *  11 alg       1 byte: 3DES, AES-128, AES-192 or AES-256 (cvq_card_alg)
 *  12 puk       8 digits
 *  13 blob      CVQ_ENROL_PUK_BLOB_LEN bytes
 *  14 chuid     1..CVQ_ADMIN_ENROL_MAX_CHUID bytes
 *  15 items     1..16 of: tag(3) length(2) value(1..), tags with a PIV container
 *  16 given     0..127 bytes of text
 *  17 family    0..127 bytes of text
 *  18 list      records: 28 record(field*), a card's or a certificate's
 *  19 serial    1..66 hex digits
 *  20 profile   1..31 bytes of [a-z-]
 *  21 good      1 byte, 0 or 1
 *  22 not_after 8 bytes, 0..INT64_MAX
 *  23 count     4 bytes
 *  24 pem       a PEM CRL
 *  25 number    8 bytes, 0..INT64_MAX
 *  26 key       16, 24 or 32 bytes
 *  27 der       1.. bytes: the signed CHUID or Security Object
 *  28 record    (inside list only)
 *  29 created   8 bytes, 0..INT64_MAX (a card's record; 0: not known)
 *  30 revoked   1 byte, 0 or 1 (a certificate's record)
 *  31 why       1..23 bytes of [A-Za-z]: the RFC 5280 reason of a revoked one
 * Which fields an op carries, and which it must, is in req_spec and
 * ans_spec below; an answer carries the op it answers.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <cvq/piv.h>
#include <cvq/util.h>

#include "agent_enrol_msg.h"

static const char magic[4] = {'C', 'V', 'Q', '1'};

enum { T_OP = 1, T_GUID, T_EXT_ID, T_ACTION, T_DETAIL, T_EXPIRES, T_STATUS, T_REASON, T_SINCE,
       T_KEEP, T_ALG, T_PUK, T_BLOB, T_CHUID, T_ITEMS, T_GIVEN, T_FAMILY, T_LIST, T_SERIAL,
       T_PROFILE, T_GOOD, T_NOT_AFTER, T_COUNT, T_PEM, T_NUMBER, T_KEY, T_DER, T_REC,
       T_CREATED, T_REVOKED, T_WHY, T__COUNT };

#define B(t) (1u << (t))
#define N_OPS (CVQ_ADMIN_ENROL_OP_END - CVQ_ADMIN_ENROL_AUDIT)
/* An answer rides in an answer frame after its status byte. */
#define MAX_BODY (CVQ_CA_AGENT_MAX_MSG - 1)

struct spec {
	uint32_t need, may;
};

static const struct spec req_spec[N_OPS] = {
	[CVQ_ADMIN_ENROL_AUDIT - 16] = {B(T_GUID) | B(T_ACTION), B(T_DETAIL)},
	[CVQ_ADMIN_ENROL_CITIZEN_GET - 16] = {B(T_EXT_ID), 0},
	[CVQ_ADMIN_ENROL_CARD_GET - 16] = {B(T_GUID), 0},
	[CVQ_ADMIN_ENROL_CARD_ADD - 16] = {B(T_GUID) | B(T_EXT_ID) | B(T_EXPIRES), 0},
	[CVQ_ADMIN_ENROL_CARD_SET_STATUS - 16] = {B(T_GUID) | B(T_STATUS), 0},
	[CVQ_ADMIN_ENROL_CARD_LIST - 16] = {B(T_EXT_ID), 0},
	[CVQ_ADMIN_ENROL_CERT_LIST - 16] = {B(T_GUID), 0},
	[CVQ_ADMIN_ENROL_REVOKE_CARD - 16] = {B(T_GUID) | B(T_REASON) | B(T_STATUS), B(T_SINCE)},
	[CVQ_ADMIN_ENROL_REVOKE_STRAYS - 16] = {B(T_GUID), B(T_KEEP)},
	[CVQ_ADMIN_ENROL_CRL_ISSUE - 16] = {0, 0},
	[CVQ_ADMIN_ENROL_MGMT_KEY - 16] = {B(T_GUID) | B(T_ALG), 0},
	[CVQ_ADMIN_ENROL_PUK_SEAL - 16] = {B(T_GUID) | B(T_PUK), 0},
	[CVQ_ADMIN_ENROL_PUK_OPEN - 16] = {B(T_GUID) | B(T_BLOB), 0},
	[CVQ_ADMIN_ENROL_CHUID_SIGN - 16] = {B(T_GUID) | B(T_CHUID), 0},
	[CVQ_ADMIN_ENROL_SECOBJ_BUILD - 16] = {B(T_GUID) | B(T_ITEMS), 0},
};

#define CARD_REC (B(T_GUID) | B(T_EXT_ID) | B(T_STATUS) | B(T_EXPIRES) | B(T_CREATED))
#define CERT_REC (B(T_SERIAL) | B(T_PROFILE) | B(T_GOOD) | B(T_NOT_AFTER) | B(T_REVOKED))

static const struct spec ans_spec[N_OPS] = {
	[CVQ_ADMIN_ENROL_AUDIT - 16] = {0, 0},
	[CVQ_ADMIN_ENROL_CITIZEN_GET - 16] = {B(T_EXT_ID) | B(T_GIVEN) | B(T_FAMILY), 0},
	[CVQ_ADMIN_ENROL_CARD_GET - 16] = {CARD_REC, 0},
	[CVQ_ADMIN_ENROL_CARD_ADD - 16] = {0, 0},
	[CVQ_ADMIN_ENROL_CARD_SET_STATUS - 16] = {0, 0},
	[CVQ_ADMIN_ENROL_CARD_LIST - 16] = {0, B(T_LIST)},
	[CVQ_ADMIN_ENROL_CERT_LIST - 16] = {0, B(T_LIST)},
	[CVQ_ADMIN_ENROL_REVOKE_CARD - 16] = {B(T_COUNT), 0},
	[CVQ_ADMIN_ENROL_REVOKE_STRAYS - 16] = {B(T_COUNT), 0},
	[CVQ_ADMIN_ENROL_CRL_ISSUE - 16] = {B(T_PEM) | B(T_NUMBER), 0},
	[CVQ_ADMIN_ENROL_MGMT_KEY - 16] = {B(T_KEY), 0},
	[CVQ_ADMIN_ENROL_PUK_SEAL - 16] = {B(T_BLOB), 0},
	[CVQ_ADMIN_ENROL_PUK_OPEN - 16] = {B(T_PUK), 0},
	[CVQ_ADMIN_ENROL_CHUID_SIGN - 16] = {B(T_DER), 0},
	[CVQ_ADMIN_ENROL_SECOBJ_BUILD - 16] = {B(T_DER), 0},
};

const char *
cvq_admin_enrol_op_name(int op)
{
	static const char *const n[N_OPS] = {
		"audit", "citizen-get", "card-get", "card-add", "card-set-status", "card-list",
		"cert-list", "revoke-card", "revoke-strays", "crl-issue", "mgmt-key", "puk-seal",
		"puk-open", "chuid-sign", "secobj-build",
	};

	return op >= CVQ_ADMIN_ENROL_AUDIT && op < CVQ_ADMIN_ENROL_OP_END ? n[op - 16] : "unknown";
}

/* ---- reading ---- */

/* The fields of one level: where each value is, which were seen. */
struct fields {
	const uint8_t *v[T__COUNT];
	size_t n[T__COUNT];
	uint32_t seen;
};

/* Split b[0..len) into fields: known tags, each once, lengths inside. */
static bool
split(const uint8_t *b, size_t len, struct fields *f)
{
	const uint8_t *p = b, *end = b + len;
	size_t n;
	uint8_t tag;

	memset(f, 0, sizeof(*f));
	while (p < end) {
		if (end - p < 3)
			return false;
		tag = p[0];
		n = (size_t)p[1] << 8 | p[2];
		if (tag == 0 || tag >= T__COUNT || (f->seen & B(tag)) || (size_t)(end - p - 3) < n)
			return false;
		f->seen |= B(tag);
		f->v[tag] = p + 3;
		f->n[tag] = n;
		p += 3 + n;
	}
	return true;
}

static bool
fits(const struct fields *f, uint32_t need, uint32_t may)
{
	return (f->seen & need) == need && (f->seen & ~(need | may)) == 0;
}

/* Text as the store may hold it (UTF-8 names): no control character. */
static bool
is_text(uint8_t c)
{
	return c >= 0x20 && c != 0x7f;
}

static bool
is_action(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool
is_profile(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || c == '-';
}

static bool
is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* A string field of min..cap-1 bytes, each ok, into dst (NUL-terminated). */
static bool
str(const struct fields *f, int t, size_t min, size_t cap, bool (*ok)(uint8_t), char *dst)
{
	size_t i, n = f->n[t];

	if (n < min || n >= cap)
		return false;
	for (i = 0; i < n; i++)
		if (!ok(f->v[t][i]))
			return false;
	memcpy(dst, f->v[t], n);
	dst[n] = '\0';
	return true;
}

static bool
u64(const struct fields *f, int t, uint64_t *out)
{
	uint64_t v = 0;

	if (f->n[t] != 8)
		return false;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | f->v[t][i];
	*out = v;
	return true;
}

/* A time or a number: 8 bytes, min..INT64_MAX. */
static bool
i64(const struct fields *f, int t, int64_t min, int64_t *out)
{
	uint64_t v;

	if (!u64(f, t, &v) || v > INT64_MAX || (int64_t)v < min)
		return false;
	*out = (int64_t)v;
	return true;
}

static bool
byte(const struct fields *f, int t, int *out)
{
	if (f->n[t] != 1)
		return false;
	*out = f->v[t][0];
	return true;
}

static bool
mgmt_alg_ok(int a)
{
	return a == CVQ_CARD_ALG_3DES || a == CVQ_CARD_ALG_AES128 || a == CVQ_CARD_ALG_AES192 ||
	       a == CVQ_CARD_ALG_AES256;
}

static bool
reason_ok(int r)
{
	return r >= 0 && r <= 10 && r != 7;
}

/* "S1,S2,...": 1..16 serials of 1..66 hex digits, no empty one. */
static bool
keep_parse(const uint8_t *v, size_t n, struct cvq_admin_enrol_req *r)
{
	size_t i = 0, start, k;

	if (n == 0)
		return false;
	while (i <= n) {
		start = i;
		while (i < n && v[i] != ',')
			if (!cvq_util_is_hex_char(v[i++]))
				return false;
		k = i - start;
		if (k == 0 || k > 66 || r->n_keep == CVQ_ADMIN_ENROL_MAX_KEEP)
			return false;
		memcpy(r->keep[r->n_keep], v + start, k);
		r->keep[r->n_keep++][k] = '\0';
		i++; /* past the ',' (or the end) */
	}
	return true;
}

/* tag(3) length(2) value(1..): 1..16 items, each a PIV object with a
 * container ID (cvq_piv_secobj_build refuses others). */
static bool
items_parse(const uint8_t *v, size_t n, struct cvq_admin_enrol_req *r)
{
	const uint8_t *p = v, *end = v + n;
	uint32_t tag;
	size_t k;

	if (n == 0)
		return false;
	while (p < end) {
		if (end - p < 5 || r->n_items == CVQ_PIV_SECOBJ_MAX)
			return false;
		tag = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		k = (size_t)p[3] << 8 | p[4];
		if (k == 0 || (size_t)(end - p - 5) < k || cvq_piv_container_id(tag) == 0)
			return false;
		r->items[r->n_items++] = (cvq_piv_secobj_item){.tag = tag, .data = p + 5, .len = k};
		p += 5 + k;
	}
	return true;
}

/* The magic and the op field first: a message names its op before all else. */
static bool
head(const uint8_t *b, size_t len, int *op, const uint8_t **rest, size_t *rest_len)
{
	if (!b || len < sizeof(magic) + 4 || len > MAX_BODY + 1 ||
	    memcmp(b, magic, sizeof(magic)) != 0)
		return false;
	b += sizeof(magic);
	if (b[0] != T_OP || b[1] != 0 || b[2] != 1 || b[3] < CVQ_ADMIN_ENROL_AUDIT ||
	    b[3] >= CVQ_ADMIN_ENROL_OP_END)
		return false;
	*op = b[3];
	*rest = b + 4;
	*rest_len = len - sizeof(magic) - 4;
	return true;
}

cvq_ca_err
cvq_admin_enrol_req_parse(const uint8_t *b, size_t len, struct cvq_admin_enrol_req *r)
{
	const struct spec *s;
	struct fields f;
	const uint8_t *rest;
	size_t rest_len;
	int v;

	if (!r)
		return CVQ_CA_ERR_ARG;
	memset(r, 0, sizeof(*r));
	if (!head(b, len, &r->op, &rest, &rest_len) || !split(rest, rest_len, &f))
		goto bad;
	s = &req_spec[r->op - 16];
	if ((f.seen & B(T_OP)) || !fits(&f, s->need, s->may))
		goto bad;
	if ((f.seen & B(T_GUID)) && !(f.n[T_GUID] == 32 && str(&f, T_GUID, 32, 33, cvq_util_is_hex_char, r->guid)))
		goto bad;
	if ((f.seen & B(T_EXT_ID)) && !str(&f, T_EXT_ID, 1, sizeof(r->ext_id), cvq_util_is_print_char, r->ext_id))
		goto bad;
	if (f.seen & B(T_ACTION)) {
		if (!str(&f, T_ACTION, 1, sizeof(r->action), is_action, r->action) ||
		    (strncmp(r->action, "enrol.", 6) != 0 && strncmp(r->action, "card.", 5) != 0))
			goto bad;
	}
	if ((f.seen & B(T_DETAIL)) && !str(&f, T_DETAIL, 0, sizeof(r->detail), is_text, r->detail))
		goto bad;
	if ((f.seen & B(T_EXPIRES)) && !i64(&f, T_EXPIRES, 1, &r->expires))
		goto bad;
	if (f.seen & B(T_STATUS)) {
		int max = r->op == CVQ_ADMIN_ENROL_REVOKE_CARD ? CVQ_ENROL_CARD__COUNT
		                                               : CVQ_ENROL_CARD__COUNT - 1;

		if (!byte(&f, T_STATUS, &r->status) || r->status > max)
			goto bad;
	}
	if ((f.seen & B(T_REASON)) && !(byte(&f, T_REASON, &r->reason) && reason_ok(r->reason)))
		goto bad;
	if ((f.seen & B(T_SINCE)) && !i64(&f, T_SINCE, 0, &r->since))
		goto bad;
	if ((f.seen & B(T_KEEP)) && !keep_parse(f.v[T_KEEP], f.n[T_KEEP], r))
		goto bad;
	if ((f.seen & B(T_ALG)) && !(byte(&f, T_ALG, &v) && mgmt_alg_ok(v)))
		goto bad;
	r->alg = (f.seen & B(T_ALG)) ? v : 0;
	if ((f.seen & B(T_PUK)) &&
	    !(f.n[T_PUK] == CVQ_ENROL_PUK_LEN &&
	      str(&f, T_PUK, CVQ_ENROL_PUK_LEN, sizeof(r->puk), is_digit, r->puk)))
		goto bad;
	if (f.seen & B(T_BLOB)) {
		if (f.n[T_BLOB] != CVQ_ENROL_PUK_BLOB_LEN)
			goto bad;
		r->blob = f.v[T_BLOB];
		r->blob_len = f.n[T_BLOB];
	}
	if (f.seen & B(T_CHUID)) {
		if (f.n[T_CHUID] == 0 || f.n[T_CHUID] > CVQ_ADMIN_ENROL_MAX_CHUID)
			goto bad;
		r->chuid = f.v[T_CHUID];
		r->chuid_len = f.n[T_CHUID];
	}
	if ((f.seen & B(T_ITEMS)) && !items_parse(f.v[T_ITEMS], f.n[T_ITEMS], r))
		goto bad;
	return CVQ_CA_OK;
bad:
	OPENSSL_cleanse(r, sizeof(*r)); /* a PUK may have been copied */
	return CVQ_CA_ERR_REQUEST;
}

static bool
card_rec(const struct fields *f, struct cvq_enrol_card_rec *c)
{
	return f->n[T_GUID] == 32 && str(f, T_GUID, 32, sizeof(c->guid), cvq_util_is_hex_char, c->guid) &&
	       str(f, T_EXT_ID, 1, sizeof(c->holder), cvq_util_is_print_char, c->holder) &&
	       byte(f, T_STATUS, &c->status) && c->status < CVQ_ENROL_CARD__COUNT &&
	       i64(f, T_EXPIRES, 0, &c->expires) && i64(f, T_CREATED, 0, &c->created);
}

static bool
cert_rec(const struct fields *f, struct cvq_enrol_cert_rec *c)
{
	int good, revoked;

	if (!str(f, T_SERIAL, 1, sizeof(c->serial), cvq_util_is_hex_char, c->serial) ||
	    !str(f, T_PROFILE, 1, sizeof(c->profile), is_profile, c->profile) ||
	    !byte(f, T_GOOD, &good) || good > 1 || !i64(f, T_NOT_AFTER, 0, &c->not_after) ||
	    !byte(f, T_REVOKED, &revoked) || revoked > 1 || (good && revoked))
		return false;
	/* A reason only for a revoked certificate. */
	if ((f->seen & B(T_WHY)) &&
	    (!revoked || !str(f, T_WHY, 1, sizeof(c->reason), is_alpha, c->reason)))
		return false;
	c->good = good == 1;
	c->revoked = revoked == 1;
	return true;
}

/* The list of a card_list (cards) or cert_list (certs) answer. */
static bool
list_parse(const uint8_t *v, size_t n, bool cards, struct cvq_admin_enrol_ans *a)
{
	const uint8_t *p = v, *end = v + n;
	struct fields f;
	size_t k;

	if (n == 0)
		return false;
	while (p < end) {
		if (end - p < 3 || p[0] != T_REC)
			return false;
		k = (size_t)p[1] << 8 | p[2];
		if ((size_t)(end - p - 3) < k || !split(p + 3, k, &f))
			return false;
		if (cards) {
			if (a->n_cards == CVQ_ADMIN_ENROL_MAX_CARDS || !fits(&f, CARD_REC, 0) ||
			    !card_rec(&f, &a->cards[a->n_cards++]))
				return false;
		} else {
			if (a->n_certs == CVQ_ADMIN_ENROL_MAX_CERTS || !fits(&f, CERT_REC, B(T_WHY)) ||
			    !cert_rec(&f, &a->certs[a->n_certs++]))
				return false;
		}
		p += 3 + k;
	}
	return true;
}

static bool
pem_ok(const uint8_t *v, size_t n)
{
	static const char begin[] = "-----BEGIN X509 CRL-----";

	if (n < sizeof(begin) - 1 || memcmp(v, begin, sizeof(begin) - 1) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!cvq_util_is_print_char(v[i]) && v[i] != '\n' && v[i] != '\r')
			return false;
	return true;
}

cvq_ca_err
cvq_admin_enrol_ans_parse(int op, const uint8_t *b, size_t len, struct cvq_admin_enrol_ans *a)
{
	const struct spec *s;
	struct fields f;
	const uint8_t *rest;
	size_t rest_len;
	uint64_t count;

	if (!a)
		return CVQ_CA_ERR_ARG;
	memset(a, 0, sizeof(*a));
	if (!head(b, len, &a->op, &rest, &rest_len) || a->op != op || !split(rest, rest_len, &f))
		goto bad;
	s = &ans_spec[op - 16];
	if ((f.seen & B(T_OP)) || !fits(&f, s->need, s->may))
		goto bad;
	switch (op) {
	case CVQ_ADMIN_ENROL_CITIZEN_GET:
		if (!str(&f, T_EXT_ID, 1, sizeof(a->citizen.ext_id), cvq_util_is_print_char, a->citizen.ext_id) ||
		    !str(&f, T_GIVEN, 0, sizeof(a->citizen.given_name), is_text,
		         a->citizen.given_name) ||
		    !str(&f, T_FAMILY, 0, sizeof(a->citizen.family_name), is_text,
		         a->citizen.family_name))
			goto bad;
		break;
	case CVQ_ADMIN_ENROL_CARD_GET:
		if (!card_rec(&f, &a->cards[0]))
			goto bad;
		a->n_cards = 1;
		break;
	case CVQ_ADMIN_ENROL_CARD_LIST:
	case CVQ_ADMIN_ENROL_CERT_LIST:
		if ((f.seen & B(T_LIST)) &&
		    !list_parse(f.v[T_LIST], f.n[T_LIST], op == CVQ_ADMIN_ENROL_CARD_LIST, a))
			goto bad;
		break;
	case CVQ_ADMIN_ENROL_REVOKE_CARD:
	case CVQ_ADMIN_ENROL_REVOKE_STRAYS:
		if (f.n[T_COUNT] != 4)
			goto bad;
		count = (uint64_t)f.v[T_COUNT][0] << 24 | (uint64_t)f.v[T_COUNT][1] << 16 |
		        (uint64_t)f.v[T_COUNT][2] << 8 | f.v[T_COUNT][3];
		a->count = (unsigned)count;
		break;
	case CVQ_ADMIN_ENROL_CRL_ISSUE:
		if (!pem_ok(f.v[T_PEM], f.n[T_PEM]) || !i64(&f, T_NUMBER, 0, &a->number))
			goto bad;
		a->pem = f.v[T_PEM];
		a->pem_len = f.n[T_PEM];
		break;
	case CVQ_ADMIN_ENROL_MGMT_KEY:
		if (f.n[T_KEY] != 16 && f.n[T_KEY] != 24 && f.n[T_KEY] != 32)
			goto bad;
		memcpy(a->key, f.v[T_KEY], f.n[T_KEY]);
		a->key_len = f.n[T_KEY];
		break;
	case CVQ_ADMIN_ENROL_PUK_SEAL:
		if (f.n[T_BLOB] != CVQ_ENROL_PUK_BLOB_LEN)
			goto bad;
		memcpy(a->blob, f.v[T_BLOB], CVQ_ENROL_PUK_BLOB_LEN);
		break;
	case CVQ_ADMIN_ENROL_PUK_OPEN:
		if (f.n[T_PUK] != CVQ_ENROL_PUK_LEN ||
		    !str(&f, T_PUK, CVQ_ENROL_PUK_LEN, sizeof(a->puk), is_digit, a->puk))
			goto bad;
		break;
	case CVQ_ADMIN_ENROL_CHUID_SIGN:
	case CVQ_ADMIN_ENROL_SECOBJ_BUILD:
		if (f.n[T_DER] == 0)
			goto bad;
		a->der = f.v[T_DER];
		a->der_len = f.n[T_DER];
		break;
	default:
		break; /* nothing but the op */
	}
	return CVQ_CA_OK;
bad:
	OPENSSL_cleanse(a, sizeof(*a)); /* a key or a PUK may have been copied */
	return CVQ_CA_ERR_REQUEST;
}

/* ---- writing ---- */

struct wr {
	uint8_t *b;
	size_t len, cap;
	bool over;
};

static void
put(struct wr *w, uint8_t tag, const void *v, size_t n)
{
	if (w->over || n > 0xFFFF || w->cap - w->len < 3 + n) {
		w->over = true;
		return;
	}
	w->b[w->len] = tag;
	w->b[w->len + 1] = (uint8_t)(n >> 8);
	w->b[w->len + 2] = (uint8_t)n;
	if (n)
		memcpy(w->b + w->len + 3, v, n);
	w->len += 3 + n;
}

static void
put_str(struct wr *w, uint8_t tag, const char *s)
{
	put(w, tag, s, strlen(s));
}

static void
put_u8(struct wr *w, uint8_t tag, int v)
{
	uint8_t b = (uint8_t)v;

	/* Out of a byte's range: let the parse-back refuse it, not a wrap. */
	if (v < 0 || v > 0xFF)
		w->over = true;
	put(w, tag, &b, 1);
}

static void
put_u64(struct wr *w, uint8_t tag, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	put(w, tag, b, 8);
}

/* A field whose value is built by fill() in place (a list, the items). */
static void
put_nested(struct wr *w, uint8_t tag, void (*fill)(struct wr *, const void *), const void *ctx)
{
	struct wr in;
	size_t n;

	if (w->over || w->cap - w->len < 3) {
		w->over = true;
		return;
	}
	in = (struct wr){.b = w->b + w->len + 3, .cap = w->cap - w->len - 3};
	fill(&in, ctx);
	n = in.len;
	if (in.over || n > 0xFFFF) {
		w->over = true;
		return;
	}
	w->b[w->len] = tag;
	w->b[w->len + 1] = (uint8_t)(n >> 8);
	w->b[w->len + 2] = (uint8_t)n;
	w->len += 3 + n;
}

static void
fill_items(struct wr *w, const void *ctx)
{
	const struct cvq_admin_enrol_req *r = ctx;

	for (size_t i = 0; i < r->n_items; i++) {
		const cvq_piv_secobj_item *it = &r->items[i];

		if (it->len > 0xFFFF || w->cap - w->len < 5 + it->len) {
			w->over = true;
			return;
		}
		w->b[w->len] = (uint8_t)(it->tag >> 16);
		w->b[w->len + 1] = (uint8_t)(it->tag >> 8);
		w->b[w->len + 2] = (uint8_t)it->tag;
		w->b[w->len + 3] = (uint8_t)(it->len >> 8);
		w->b[w->len + 4] = (uint8_t)it->len;
		memcpy(w->b + w->len + 5, it->data, it->len);
		w->len += 5 + it->len;
	}
}

static void
fill_card(struct wr *w, const void *ctx)
{
	const struct cvq_enrol_card_rec *c = ctx;

	put_str(w, T_GUID, c->guid);
	put_str(w, T_EXT_ID, c->holder);
	put_u8(w, T_STATUS, c->status);
	put_u64(w, T_EXPIRES, (uint64_t)c->expires);
	put_u64(w, T_CREATED, (uint64_t)c->created);
}

static void
fill_cert(struct wr *w, const void *ctx)
{
	const struct cvq_enrol_cert_rec *c = ctx;

	put_str(w, T_SERIAL, c->serial);
	put_str(w, T_PROFILE, c->profile);
	put_u8(w, T_GOOD, c->good ? 1 : 0);
	put_u64(w, T_NOT_AFTER, (uint64_t)c->not_after);
	put_u8(w, T_REVOKED, c->revoked ? 1 : 0);
	if (c->revoked && c->reason[0])
		put_str(w, T_WHY, c->reason);
}

static void
fill_list(struct wr *w, const void *ctx)
{
	const struct cvq_admin_enrol_ans *a = ctx;
	size_t i;

	if (a->op == CVQ_ADMIN_ENROL_CARD_LIST)
		for (i = 0; i < a->n_cards; i++)
			put_nested(w, T_REC, fill_card, &a->cards[i]);
	else
		for (i = 0; i < a->n_certs; i++)
			put_nested(w, T_REC, fill_cert, &a->certs[i]);
}

static void
fill_keep(struct wr *w, const void *ctx)
{
	const struct cvq_admin_enrol_req *r = ctx;
	size_t i, k;

	for (i = 0; i < r->n_keep; i++) {
		k = strlen(r->keep[i]);
		if (w->cap - w->len < k + 1) {
			w->over = true;
			return;
		}
		if (i)
			w->b[w->len++] = ',';
		memcpy(w->b + w->len, r->keep[i], k);
		w->len += k;
	}
}

/* A buffer with the magic and the op field. */
static bool
start(struct wr *w, int op)
{
	*w = (struct wr){.b = malloc(MAX_BODY), .cap = MAX_BODY};
	if (!w->b)
		return false;
	memcpy(w->b, magic, sizeof(magic));
	w->len = sizeof(magic);
	put_u8(w, T_OP, op);
	return true;
}

static void
req_fields(struct wr *w, const struct cvq_admin_enrol_req *r)
{
	uint32_t f = req_spec[r->op - 16].need | req_spec[r->op - 16].may;

	if (f & B(T_GUID))
		put_str(w, T_GUID, r->guid);
	if (f & B(T_EXT_ID))
		put_str(w, T_EXT_ID, r->ext_id);
	if (f & B(T_ACTION))
		put_str(w, T_ACTION, r->action);
	if ((f & B(T_DETAIL)) && r->detail[0])
		put_str(w, T_DETAIL, r->detail);
	if (f & B(T_EXPIRES))
		put_u64(w, T_EXPIRES, (uint64_t)r->expires);
	if (f & B(T_STATUS))
		put_u8(w, T_STATUS, r->status);
	if (f & B(T_REASON))
		put_u8(w, T_REASON, r->reason);
	if ((f & B(T_SINCE)) && r->since)
		put_u64(w, T_SINCE, (uint64_t)r->since);
	if ((f & B(T_KEEP)) && r->n_keep)
		put_nested(w, T_KEEP, fill_keep, r);
	if (f & B(T_ALG))
		put_u8(w, T_ALG, r->alg);
	if (f & B(T_PUK))
		put_str(w, T_PUK, r->puk);
	if (f & B(T_BLOB))
		put(w, T_BLOB, r->blob, r->blob ? r->blob_len : 0);
	if (f & B(T_CHUID))
		put(w, T_CHUID, r->chuid, r->chuid ? r->chuid_len : 0);
	if (f & B(T_ITEMS))
		put_nested(w, T_ITEMS, fill_items, r);
}

static void
ans_fields(struct wr *w, const struct cvq_admin_enrol_ans *a)
{
	uint8_t c[4];

	switch (a->op) {
	case CVQ_ADMIN_ENROL_CITIZEN_GET:
		put_str(w, T_EXT_ID, a->citizen.ext_id);
		put_str(w, T_GIVEN, a->citizen.given_name);
		put_str(w, T_FAMILY, a->citizen.family_name);
		break;
	case CVQ_ADMIN_ENROL_CARD_GET:
		fill_card(w, &a->cards[0]);
		break;
	case CVQ_ADMIN_ENROL_CARD_LIST:
	case CVQ_ADMIN_ENROL_CERT_LIST:
		if (a->op == CVQ_ADMIN_ENROL_CARD_LIST ? a->n_cards : a->n_certs)
			put_nested(w, T_LIST, fill_list, a);
		break;
	case CVQ_ADMIN_ENROL_REVOKE_CARD:
	case CVQ_ADMIN_ENROL_REVOKE_STRAYS:
		c[0] = (uint8_t)(a->count >> 24);
		c[1] = (uint8_t)(a->count >> 16);
		c[2] = (uint8_t)(a->count >> 8);
		c[3] = (uint8_t)a->count;
		put(w, T_COUNT, c, 4);
		break;
	case CVQ_ADMIN_ENROL_CRL_ISSUE:
		put(w, T_PEM, a->pem, a->pem ? a->pem_len : 0);
		put_u64(w, T_NUMBER, (uint64_t)a->number);
		break;
	case CVQ_ADMIN_ENROL_MGMT_KEY:
		put(w, T_KEY, a->key, a->key_len <= sizeof(a->key) ? a->key_len : 0);
		break;
	case CVQ_ADMIN_ENROL_PUK_SEAL:
		put(w, T_BLOB, a->blob, sizeof(a->blob));
		break;
	case CVQ_ADMIN_ENROL_PUK_OPEN:
		put_str(w, T_PUK, a->puk);
		break;
	case CVQ_ADMIN_ENROL_CHUID_SIGN:
	case CVQ_ADMIN_ENROL_SECOBJ_BUILD:
		put(w, T_DER, a->der, a->der ? a->der_len : 0);
		break;
	default:
		break;
	}
}

/* The end of an encoder: too long, or not what the other side accepts,
 * is refused here rather than there. */
static cvq_ca_err
finish(struct wr *w, bool req, int op, uint8_t **out, size_t *len)
{
	cvq_ca_err err = CVQ_CA_ERR_REQUEST;

	if (!w->over) {
		if (req) {
			struct cvq_admin_enrol_req chk;

			err = cvq_admin_enrol_req_parse(w->b, w->len, &chk);
			OPENSSL_cleanse(&chk, sizeof(chk));
		} else {
			/* On the heap: an answer holds two lists. */
			struct cvq_admin_enrol_ans *chk = malloc(sizeof(*chk));

			err = chk ? cvq_admin_enrol_ans_parse(op, w->b, w->len, chk) : CVQ_CA_ERR_NOMEM;
			if (chk) {
				OPENSSL_cleanse(chk, sizeof(*chk));
				free(chk);
			}
		}
	}
	if (err != CVQ_CA_OK) {
		cvq_admin_enrol_free(w->b, w->cap);
		return err;
	}
	*out = w->b;
	*len = w->len;
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_admin_enrol_req_encode(const struct cvq_admin_enrol_req *r, uint8_t **out, size_t *len)
{
	struct wr w;

	if (!r || !out || !len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*len = 0;
	if (r->op < CVQ_ADMIN_ENROL_AUDIT || r->op >= CVQ_ADMIN_ENROL_OP_END)
		return CVQ_CA_ERR_REQUEST;
	if (!start(&w, r->op))
		return CVQ_CA_ERR_NOMEM;
	req_fields(&w, r);
	return finish(&w, true, r->op, out, len);
}

cvq_ca_err
cvq_admin_enrol_ans_encode(const struct cvq_admin_enrol_ans *a, uint8_t **out, size_t *len)
{
	struct wr w;

	if (!a || !out || !len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*len = 0;
	if (a->op < CVQ_ADMIN_ENROL_AUDIT || a->op >= CVQ_ADMIN_ENROL_OP_END)
		return CVQ_CA_ERR_REQUEST;
	if (!start(&w, a->op))
		return CVQ_CA_ERR_NOMEM;
	ans_fields(&w, a);
	return finish(&w, false, a->op, out, len);
}

void
cvq_admin_enrol_free(uint8_t *b, size_t len)
{
	if (!b)
		return;
	OPENSSL_cleanse(b, len);
	free(b);
}
