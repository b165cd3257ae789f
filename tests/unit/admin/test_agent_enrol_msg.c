/*
 * Unit tests of the enrolment ops' codec (tools/cvq-admin/agent_enrol_msg.c,
 * issue #13 part 4): every request and answer round-trips, and the
 * parsers refuse what is truncated, duplicated, unknown, out of place,
 * oversize or out of range; the encoders refuse to produce it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cvq/piv.h>

#include "agent_enrol_msg.h"

#define GUID "0123456789abcdef0123456789abcdef"

/* ---- hand-made messages ---- */

struct raw {
	uint8_t b[70000];
	size_t len;
};

static void
raw_start(struct raw *m, int op)
{
	memcpy(m->b, "CVQ1", 4);
	m->b[4] = 1;
	m->b[5] = 0;
	m->b[6] = 1;
	m->b[7] = (uint8_t)op;
	m->len = 8;
}

static void
raw_add(struct raw *m, uint8_t tag, const void *v, size_t n)
{
	assert_true(m->len + 3 + n <= sizeof(m->b));
	m->b[m->len] = tag;
	m->b[m->len + 1] = (uint8_t)(n >> 8);
	m->b[m->len + 2] = (uint8_t)n;
	memcpy(m->b + m->len + 3, v, n);
	m->len += 3 + n;
}

static void
raw_str(struct raw *m, uint8_t tag, const char *s)
{
	raw_add(m, tag, s, strlen(s));
}

static void
raw_u64(struct raw *m, uint8_t tag, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	raw_add(m, tag, b, 8);
}

static cvq_ca_err
req_parse(const struct raw *m)
{
	struct cvq_admin_enrol_req r;

	return cvq_admin_enrol_req_parse(m->b, m->len, &r);
}

static cvq_ca_err
ans_parse(int op, const struct raw *m)
{
	static struct cvq_admin_enrol_ans a;

	return cvq_admin_enrol_ans_parse(op, m->b, m->len, &a);
}

/* A minimal CHUID of the card GUID (cardlib builds it). */
static size_t
chuid_of(const char *hex, uint8_t *out, size_t cap)
{
	uint8_t g[CVQ_CARD_GUID_LEN];
	size_t len = 0;

	assert_true(cvq_enrol_guid_parse(hex, g));
	assert_int_equal(cvq_card_chuid_build(g, "20301231", out, cap, &len), CVQ_CARD_OK);
	return len;
}

/* ---- round trips ---- */

static void
roundtrip_req(const struct cvq_admin_enrol_req *in, struct cvq_admin_enrol_req *out)
{
	uint8_t *b = NULL;
	size_t len = 0;

	assert_int_equal(cvq_admin_enrol_req_encode(in, &b, &len), CVQ_CA_OK);
	assert_non_null(b);
	assert_int_equal(cvq_admin_enrol_req_parse(b, len, out), CVQ_CA_OK);
	assert_int_equal(out->op, in->op);
	/* Parsed pointers point into b: compare before freeing. */
	if (in->chuid) {
		assert_int_equal(out->chuid_len, in->chuid_len);
		assert_memory_equal(out->chuid, in->chuid, in->chuid_len);
	}
	if (in->blob) {
		assert_int_equal(out->blob_len, in->blob_len);
		assert_memory_equal(out->blob, in->blob, in->blob_len);
	}
	for (size_t i = 0; i < in->n_items; i++) {
		assert_int_equal(out->items[i].tag, in->items[i].tag);
		assert_int_equal(out->items[i].len, in->items[i].len);
		assert_memory_equal(out->items[i].data, in->items[i].data, in->items[i].len);
	}
	cvq_admin_enrol_free(b, len);
	out->chuid = out->blob = NULL;
	for (size_t i = 0; i < out->n_items; i++)
		out->items[i].data = NULL;
}

static void
test_req_roundtrip(void **state)
{
	struct cvq_admin_enrol_req in, out;
	uint8_t chuid[64], blob[CVQ_ENROL_PUK_BLOB_LEN], ccc[] = {0xF0, 1, 2};
	size_t n = chuid_of(GUID, chuid, sizeof(chuid));

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_AUDIT;
	strcpy(in.guid, GUID);
	strcpy(in.action, "enrol.step-3");
	strcpy(in.detail, "reader Virtual PCD 00 00, Zo\xc3\xab");
	roundtrip_req(&in, &out);
	assert_string_equal(out.guid, GUID);
	assert_string_equal(out.action, "enrol.step-3");
	assert_string_equal(out.detail, in.detail);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CARD_ADD;
	strcpy(in.guid, GUID);
	strcpy(in.ext_id, "0001");
	in.expires = 1900000000;
	roundtrip_req(&in, &out);
	assert_string_equal(out.ext_id, "0001");
	assert_int_equal(out.expires, 1900000000);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_REVOKE_CARD;
	strcpy(in.guid, GUID);
	in.reason = 1;
	in.since = 1700000000;
	in.status = CVQ_ENROL_CARD__COUNT; /* keep the status: allowed here */
	roundtrip_req(&in, &out);
	assert_int_equal(out.reason, 1);
	assert_int_equal(out.since, 1700000000);
	assert_int_equal(out.status, CVQ_ENROL_CARD__COUNT);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_REVOKE_STRAYS;
	strcpy(in.guid, GUID);
	strcpy(in.keep[0], "1A2B");
	strcpy(in.keep[1], "3C");
	in.n_keep = 2;
	roundtrip_req(&in, &out);
	assert_int_equal(out.n_keep, 2);
	assert_string_equal(out.keep[0], "1A2B");
	assert_string_equal(out.keep[1], "3C");
	in.n_keep = 0; /* none kept: the field is left out */
	roundtrip_req(&in, &out);
	assert_int_equal(out.n_keep, 0);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_MGMT_KEY;
	strcpy(in.guid, GUID);
	in.alg = CVQ_CARD_ALG_AES192;
	roundtrip_req(&in, &out);
	assert_int_equal(out.alg, CVQ_CARD_ALG_AES192);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_PUK_SEAL;
	strcpy(in.guid, GUID);
	strcpy(in.puk, "12345678");
	roundtrip_req(&in, &out);
	assert_string_equal(out.puk, "12345678");

	memset(&in, 0, sizeof(in));
	memset(blob, 0xA5, sizeof(blob));
	in.op = CVQ_ADMIN_ENROL_PUK_OPEN;
	strcpy(in.guid, GUID);
	in.blob = blob;
	in.blob_len = sizeof(blob);
	roundtrip_req(&in, &out);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CHUID_SIGN;
	strcpy(in.guid, GUID);
	in.chuid = chuid;
	in.chuid_len = n;
	roundtrip_req(&in, &out);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_SECOBJ_BUILD;
	strcpy(in.guid, GUID);
	in.items[0] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CHUID, chuid, n};
	in.items[1] = (cvq_piv_secobj_item){0x5FC107, ccc, sizeof(ccc)};
	in.n_items = 2;
	roundtrip_req(&in, &out);
	assert_int_equal(out.n_items, 2);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CRL_ISSUE;
	roundtrip_req(&in, &out);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CARD_LIST;
	strcpy(in.ext_id, "0002");
	roundtrip_req(&in, &out);
	assert_string_equal(out.ext_id, "0002");
}

static void
roundtrip_ans(const struct cvq_admin_enrol_ans *in, struct cvq_admin_enrol_ans *out)
{
	uint8_t *b = NULL;
	size_t len = 0;

	assert_int_equal(cvq_admin_enrol_ans_encode(in, &b, &len), CVQ_CA_OK);
	assert_int_equal(cvq_admin_enrol_ans_parse(in->op, b, len, out), CVQ_CA_OK);
	if (in->pem) {
		assert_int_equal(out->pem_len, in->pem_len);
		assert_memory_equal(out->pem, in->pem, in->pem_len);
	}
	if (in->der) {
		assert_int_equal(out->der_len, in->der_len);
		assert_memory_equal(out->der, in->der, in->der_len);
	}
	/* An answer is read for its own op only. */
	assert_int_equal(cvq_admin_enrol_ans_parse(in->op == CVQ_ADMIN_ENROL_AUDIT
	                                                   ? CVQ_ADMIN_ENROL_CARD_ADD
	                                                   : CVQ_ADMIN_ENROL_AUDIT,
	                                           b, len, out),
	                 CVQ_CA_ERR_REQUEST);
	assert_int_equal(cvq_admin_enrol_ans_parse(in->op, b, len, out), CVQ_CA_OK);
	cvq_admin_enrol_free(b, len);
	out->pem = out->der = NULL;
}

static void
test_ans_roundtrip(void **state)
{
	static struct cvq_admin_enrol_ans in, out;
	static const char pem[] = "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n";
	uint8_t der[300];

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CITIZEN_GET;
	strcpy(in.citizen.ext_id, "0001");
	strcpy(in.citizen.given_name, "Ma\xc3\xa9lle");
	strcpy(in.citizen.family_name, "Dupont");
	roundtrip_ans(&in, &out);
	assert_string_equal(out.citizen.given_name, "Ma\xc3\xa9lle");
	assert_string_equal(out.citizen.family_name, "Dupont");

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CARD_GET;
	strcpy(in.cards[0].guid, GUID);
	strcpy(in.cards[0].holder, "0001");
	in.cards[0].status = CVQ_ENROL_CARD_LOST;
	in.cards[0].expires = 1900000000;
	in.cards[0].created = 1700000000;
	roundtrip_ans(&in, &out);
	assert_int_equal(out.n_cards, 1);
	assert_int_equal(out.cards[0].created, 1700000000);
	assert_string_equal(out.cards[0].guid, GUID);
	assert_int_equal(out.cards[0].status, CVQ_ENROL_CARD_LOST);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CARD_LIST;
	for (size_t i = 0; i < CVQ_ADMIN_ENROL_MAX_CARDS; i++) {
		snprintf(in.cards[i].guid, 33, "%032zx", i);
		strcpy(in.cards[i].holder, "0001");
		in.cards[i].status = (int)(i % CVQ_ENROL_CARD__COUNT);
		in.cards[i].expires = (int64_t)i;
	}
	in.n_cards = CVQ_ADMIN_ENROL_MAX_CARDS;
	roundtrip_ans(&in, &out);
	assert_int_equal(out.n_cards, CVQ_ADMIN_ENROL_MAX_CARDS);
	assert_string_equal(out.cards[31].guid, "0000000000000000000000000000001f");
	assert_int_equal(out.cards[31].status, 31 % CVQ_ENROL_CARD__COUNT);
	in.n_cards = 0; /* no card: no list */
	roundtrip_ans(&in, &out);
	assert_int_equal(out.n_cards, 0);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CERT_LIST;
	for (size_t i = 0; i < CVQ_ADMIN_ENROL_MAX_CERTS; i++) {
		snprintf(in.certs[i].serial, sizeof(in.certs[i].serial), "%064zX", i);
		strcpy(in.certs[i].profile, "citizen-auth");
		in.certs[i].good = i & 1;
		in.certs[i].not_after = 1900000000;
		in.certs[i].revoked = !(i & 1) && i % 4 == 0;
		if (in.certs[i].revoked && i % 8 == 0)
			strcpy(in.certs[i].reason, "keyCompromise");
	}
	in.n_certs = CVQ_ADMIN_ENROL_MAX_CERTS;
	roundtrip_ans(&in, &out);
	assert_int_equal(out.n_certs, CVQ_ADMIN_ENROL_MAX_CERTS);
	assert_true(out.certs[127].good);
	assert_false(out.certs[126].good);
	assert_false(out.certs[126].revoked);
	assert_true(out.certs[124].revoked);
	assert_string_equal(out.certs[124].reason, "");
	assert_true(out.certs[120].revoked);
	assert_string_equal(out.certs[120].reason, "keyCompromise");
	/* Good and revoked: not sent. */
	in.certs[2].good = true;
	in.certs[2].revoked = true;
	{
		uint8_t *b = NULL;
		size_t len = 0;

		assert_int_equal(cvq_admin_enrol_ans_encode(&in, &b, &len), CVQ_CA_ERR_REQUEST);
	}

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_REVOKE_CARD;
	in.count = 0xDEADBEEF;
	roundtrip_ans(&in, &out);
	assert_int_equal(out.count, 0xDEADBEEF);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_CRL_ISSUE;
	in.pem = (const uint8_t *)pem;
	in.pem_len = strlen(pem);
	in.number = 42;
	roundtrip_ans(&in, &out);
	assert_int_equal(out.number, 42);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_MGMT_KEY;
	memset(in.key, 0x42, 24);
	in.key_len = 24;
	roundtrip_ans(&in, &out);
	assert_int_equal(out.key_len, 24);
	assert_memory_equal(out.key, in.key, 24);

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_PUK_SEAL;
	memset(in.blob, 7, sizeof(in.blob));
	roundtrip_ans(&in, &out);
	assert_memory_equal(out.blob, in.blob, sizeof(in.blob));

	memset(&in, 0, sizeof(in));
	in.op = CVQ_ADMIN_ENROL_PUK_OPEN;
	strcpy(in.puk, "87654321");
	roundtrip_ans(&in, &out);
	assert_string_equal(out.puk, "87654321");

	memset(&in, 0, sizeof(in));
	memset(der, 0x30, sizeof(der));
	in.op = CVQ_ADMIN_ENROL_SECOBJ_BUILD;
	in.der = der;
	in.der_len = sizeof(der);
	roundtrip_ans(&in, &out);

	for (int op = CVQ_ADMIN_ENROL_AUDIT; op <= CVQ_ADMIN_ENROL_CARD_SET_STATUS; op++) {
		if (op != CVQ_ADMIN_ENROL_AUDIT && op != CVQ_ADMIN_ENROL_CARD_ADD &&
		    op != CVQ_ADMIN_ENROL_CARD_SET_STATUS)
			continue;
		memset(&in, 0, sizeof(in));
		in.op = op;
		roundtrip_ans(&in, &out);
	}
}

/* ---- refusals ---- */

static void
test_truncated(void **state)
{
	struct raw m;
	size_t full;

	(void)state;
	/* card_add: every field required, so no strict prefix is a request. */
	raw_start(&m, CVQ_ADMIN_ENROL_CARD_ADD);
	raw_str(&m, 2, GUID);
	raw_str(&m, 3, "0001");
	raw_u64(&m, 6, 1900000000);
	assert_int_equal(req_parse(&m), CVQ_CA_OK);
	full = m.len;
	for (m.len = 0; m.len < full; m.len++)
		assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	/* Bytes left after the last field. */
	m.len = full;
	m.b[m.len++] = 2;
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	m.b[m.len++] = 0;
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	/* A length beyond the end. */
	m.len = full;
	m.b[full - 9] = 9;
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);

	/* An answer cut short: the key's field. */
	raw_start(&m, CVQ_ADMIN_ENROL_MGMT_KEY);
	raw_add(&m, 26, "0123456789abcdef01234567", 24);
	assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_MGMT_KEY, &m), CVQ_CA_OK);
	full = m.len;
	for (m.len = 0; m.len < full; m.len++)
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_MGMT_KEY, &m), CVQ_CA_ERR_REQUEST);
}

static void
test_duplicated(void **state)
{
	struct raw m;

	(void)state;
	raw_start(&m, CVQ_ADMIN_ENROL_CARD_GET);
	raw_str(&m, 2, GUID);
	assert_int_equal(req_parse(&m), CVQ_CA_OK);
	raw_str(&m, 2, GUID);
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	/* The op twice, even the same. */
	raw_start(&m, CVQ_ADMIN_ENROL_CARD_GET);
	raw_str(&m, 2, GUID);
	raw_add(&m, 1, "\x12", 1);
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	/* A record field twice inside a list. */
	raw_start(&m, CVQ_ADMIN_ENROL_CERT_LIST);
	{
		struct raw rec, list;

		rec.len = 0;
		raw_str(&rec, 19, "01");
		raw_str(&rec, 20, "citizen-auth");
		raw_add(&rec, 21, "\x01", 1);
		raw_u64(&rec, 22, 5);
		raw_add(&rec, 30, "\x00", 1);
		list.len = 0;
		raw_add(&list, 28, rec.b, rec.len);
		raw_add(&m, 18, list.b, list.len);
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CERT_LIST, &m), CVQ_CA_OK);
		raw_add(&rec, 21, "\x01", 1);
		raw_start(&m, CVQ_ADMIN_ENROL_CERT_LIST);
		list.len = 0;
		raw_add(&list, 28, rec.b, rec.len);
		raw_add(&m, 18, list.b, list.len);
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CERT_LIST, &m), CVQ_CA_ERR_REQUEST);
	}
}

static void
test_unknown(void **state)
{
	struct raw m;
	static const uint8_t tags[] = {0, 29, 200, 12 /* puk: not card_get's */, 28};

	(void)state;
	for (size_t i = 0; i < sizeof(tags); i++) {
		raw_start(&m, CVQ_ADMIN_ENROL_CARD_GET);
		raw_str(&m, 2, GUID);
		raw_add(&m, tags[i], "12345678", 8);
		assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	}
	/* Ops outside 16..30 (libcvqca's own, none), or 16..30 without
	 * their required fields. */
	for (int op = 0; op < 256; op++) {
		if (op == CVQ_ADMIN_ENROL_CRL_ISSUE)
			continue;
		raw_start(&m, op);
		assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	}
	raw_start(&m, CVQ_ADMIN_ENROL_CRL_ISSUE);
	assert_int_equal(req_parse(&m), CVQ_CA_OK);
	raw_start(&m, CVQ_ADMIN_ENROL_OP_END);
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	/* The op not first, the wrong magic. */
	m.len = 0;
	memcpy(m.b, "CVQ1", 4);
	m.len = 4;
	raw_str(&m, 2, GUID);
	raw_add(&m, 1, "\x12", 1);
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	raw_start(&m, CVQ_ADMIN_ENROL_CRL_ISSUE);
	m.b[3] = '2';
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	/* A required field missing. */
	raw_start(&m, CVQ_ADMIN_ENROL_MGMT_KEY);
	raw_str(&m, 2, GUID);
	assert_int_equal(req_parse(&m), CVQ_CA_ERR_REQUEST);
	raw_add(&m, 11, "\x0a", 1);
	assert_int_equal(req_parse(&m), CVQ_CA_OK);
}

/* One field of value (v, n) on a request of op with the other fields ok. */
static cvq_ca_err
with_field(int op, uint8_t tag, const void *v, size_t n)
{
	struct raw m;
	uint8_t chuid[64];
	size_t cn = chuid_of(GUID, chuid, sizeof(chuid));

	raw_start(&m, op);
	if (tag != 2 && op != CVQ_ADMIN_ENROL_CITIZEN_GET && op != CVQ_ADMIN_ENROL_CARD_LIST)
		raw_str(&m, 2, GUID);
	switch (op) {
	case CVQ_ADMIN_ENROL_AUDIT:
		if (tag != 4)
			raw_str(&m, 4, "enrol.x");
		break;
	case CVQ_ADMIN_ENROL_CARD_ADD:
		if (tag != 3)
			raw_str(&m, 3, "0001");
		if (tag != 6)
			raw_u64(&m, 6, 1900000000);
		break;
	case CVQ_ADMIN_ENROL_REVOKE_CARD:
		if (tag != 8)
			raw_add(&m, 8, "\x01", 1);
		if (tag != 7)
			raw_add(&m, 7, "\x02", 1);
		break;
	case CVQ_ADMIN_ENROL_SECOBJ_BUILD:
		if (tag != 15) {
			uint8_t it[80] = {0x5F, 0xC1, 0x02, 0, (uint8_t)cn};

			memcpy(it + 5, chuid, cn);
			raw_add(&m, 15, it, 5 + cn);
		}
		break;
	default:
		break;
	}
	raw_add(&m, tag, v, n);
	return req_parse(&m);
}

static void
test_oversize(void **state)
{
	static uint8_t big[CVQ_CA_AGENT_MAX_MSG];
	char s[300];
	struct raw m;

	(void)state;
	memset(big, 'a', sizeof(big));
	/* guid: exactly 32 hex. */
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_GET, 2, GUID, 32), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_GET, 2, GUID "a", 33), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_GET, 2, GUID, 31), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_GET, 2, "0123456789abcdef0123456789abcdeg",
	                            32), CVQ_CA_ERR_REQUEST);
	/* ext_id: 1..63. */
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CITIZEN_GET, 3, big, 63), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CITIZEN_GET, 3, big, 64), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CITIZEN_GET, 3, big, 0), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CITIZEN_GET, 3, "00\n1", 4), CVQ_CA_ERR_REQUEST);
	/* action: 1..31, enrol. or card. only. */
	memset(s, 'a', sizeof(s));
	memcpy(s, "enrol.", 6);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 4, s, 31), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 4, s, 32), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 4, "card.reported", 13), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 4, "cert.issue", 10), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 4, "agent.refuse", 12),
	                 CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 4, "enrol.X", 7), CVQ_CA_ERR_REQUEST);
	/* detail: 0..255 of text. */
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 5, big, 255), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 5, big, 256), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_AUDIT, 5, "a\tb", 3), CVQ_CA_ERR_REQUEST);
	/* keep: at most 16 serials of at most 66 hex digits. */
	{
		char k[17 * 3];
		size_t n = 0;

		for (int i = 0; i < 17; i++)
			n += (size_t)sprintf(k + n, "%s%X", i ? "," : "", i + 16);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, k, n - 3), CVQ_CA_OK);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, k, n), CVQ_CA_ERR_REQUEST);
		memset(s, 'A', 67);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, s, 66), CVQ_CA_OK);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, s, 67), CVQ_CA_ERR_REQUEST);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, "1A,,2B", 6),
		                 CVQ_CA_ERR_REQUEST);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, "1A,", 3),
		                 CVQ_CA_ERR_REQUEST);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_STRAYS, 10, "", 0), CVQ_CA_ERR_REQUEST);
	}
	/* puk: 8 digits; blob: the sealed length exactly. */
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_SEAL, 12, "12345678", 8), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_SEAL, 12, "123456789", 9), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_SEAL, 12, "1234567", 7), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_SEAL, 12, "1234567a", 8), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_OPEN, 13, big, CVQ_ENROL_PUK_BLOB_LEN),
	                 CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_OPEN, 13, big, CVQ_ENROL_PUK_BLOB_LEN + 1),
	                 CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_PUK_OPEN, 13, big, CVQ_ENROL_PUK_BLOB_LEN - 1),
	                 CVQ_CA_ERR_REQUEST);
	/* chuid: 1..4096. */
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CHUID_SIGN, 14, big, 4096), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CHUID_SIGN, 14, big, 4097), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CHUID_SIGN, 14, big, 0), CVQ_CA_ERR_REQUEST);
	/* items: at most 16, each with a PIV container, none empty, inside. */
	{
		uint8_t it[17 * 6];

		for (int i = 0; i < 17; i++)
			memcpy(it + 6 * i, "\x5f\xc1\x07\x00\x01\xf0", 6);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_SECOBJ_BUILD, 15, it, 16 * 6), CVQ_CA_OK);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_SECOBJ_BUILD, 15, it, 17 * 6),
		                 CVQ_CA_ERR_REQUEST);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_SECOBJ_BUILD, 15, it, 5), CVQ_CA_ERR_REQUEST);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_SECOBJ_BUILD, 15, "\x12\x34\x56\x00\x01\x00",
		                            6), CVQ_CA_ERR_REQUEST);
		assert_int_equal(with_field(CVQ_ADMIN_ENROL_SECOBJ_BUILD, 15, "\x5f\xc1\x07\x00\x00", 5),
		                 CVQ_CA_ERR_REQUEST);
	}
	/* Values out of range. */
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_SET_STATUS, 7, "\x05", 1), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_SET_STATUS, 7, "\x06", 1), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_SET_STATUS, 7, "\x00\x00", 2),
	                 CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_CARD, 9, "\x80\0\0\0\0\0\0\0", 8),
	                 CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_CARD, 8, "\x07", 1), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_CARD, 8, "\x0b", 1), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_REVOKE_CARD, 8, "\x0a", 1), CVQ_CA_OK);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_MGMT_KEY, 11, "\x11", 1), CVQ_CA_ERR_REQUEST);
	assert_int_equal(with_field(CVQ_ADMIN_ENROL_CARD_ADD, 6, "\0\0\0\0\0\0\0\0", 8),
	                 CVQ_CA_ERR_REQUEST);
	/* The whole message: never more than an agent frame, each field
	 * within its bounds or not. */
	for (size_t each = 3000; each <= 3070; each += 70) {
		struct raw items;

		items.len = 0;
		for (int i = 0; i < 16; i++) {
			uint8_t h[5] = {0x5F, 0xC1, 0x07, (uint8_t)(each >> 8), (uint8_t)each};

			memcpy(items.b + items.len, h, 5);
			memset(items.b + items.len + 5, 'a', each);
			items.len += 5 + each;
		}
		raw_start(&m, CVQ_ADMIN_ENROL_SECOBJ_BUILD);
		raw_str(&m, 2, GUID);
		raw_add(&m, 15, items.b, items.len);
		assert_int_equal(req_parse(&m), m.len <= CVQ_CA_AGENT_MAX_MSG ? CVQ_CA_OK
		                                                              : CVQ_CA_ERR_REQUEST);
		assert_true(each == 3000 ? m.len <= CVQ_CA_AGENT_MAX_MSG : m.len > CVQ_CA_AGENT_MAX_MSG);
	}
	/* Answers: a key of another size, a list too long, a bad PEM. */
	raw_start(&m, CVQ_ADMIN_ENROL_MGMT_KEY);
	raw_add(&m, 26, big, 20);
	assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_MGMT_KEY, &m), CVQ_CA_ERR_REQUEST);
	{
		struct raw rec, list;

		rec.len = 0;
		raw_str(&rec, 2, GUID);
		raw_str(&rec, 3, "0001");
		raw_add(&rec, 7, "\x00", 1);
		raw_u64(&rec, 6, 1);
		raw_u64(&rec, 29, 0);
		list.len = 0;
		for (int i = 0; i <= CVQ_ADMIN_ENROL_MAX_CARDS; i++)
			raw_add(&list, 28, rec.b, rec.len);
		raw_start(&m, CVQ_ADMIN_ENROL_CARD_LIST);
		raw_add(&m, 18, list.b, list.len - 3 - rec.len);
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CARD_LIST, &m), CVQ_CA_OK);
		raw_start(&m, CVQ_ADMIN_ENROL_CARD_LIST);
		raw_add(&m, 18, list.b, list.len);
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CARD_LIST, &m), CVQ_CA_ERR_REQUEST);
		/* a certificate's record where a card's goes */
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CERT_LIST, &m), CVQ_CA_ERR_REQUEST);
	}
	/* A certificate's reason: only when revoked, letters only. */
	for (int t = 0; t < 4; t++) {
		struct raw rec, list;

		rec.len = 0;
		raw_str(&rec, 19, "01");
		raw_str(&rec, 20, "citizen-sign");
		raw_add(&rec, 21, "\x00", 1);
		raw_u64(&rec, 22, 5);
		raw_add(&rec, 30, t == 1 ? "\x00" : "\x01", 1);
		raw_str(&rec, 31, t == 2 ? "key compromise" : t == 3 ? "" : "superseded");
		list.len = 0;
		raw_add(&list, 28, rec.b, rec.len);
		raw_start(&m, CVQ_ADMIN_ENROL_CERT_LIST);
		raw_add(&m, 18, list.b, list.len);
		assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CERT_LIST, &m),
		                 t == 0 ? CVQ_CA_OK : CVQ_CA_ERR_REQUEST);
	}
	raw_start(&m, CVQ_ADMIN_ENROL_CRL_ISSUE);
	raw_str(&m, 24, "-----BEGIN CERTIFICATE-----\n");
	raw_u64(&m, 25, 1);
	assert_int_equal(ans_parse(CVQ_ADMIN_ENROL_CRL_ISSUE, &m), CVQ_CA_ERR_REQUEST);
}

static void
test_encode_refuses(void **state)
{
	struct cvq_admin_enrol_req r;
	static struct cvq_admin_enrol_ans a;
	uint8_t *b = (uint8_t *)"x";
	size_t len = 1;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.op = CVQ_ADMIN_ENROL_CARD_GET;
	strcpy(r.guid, "0123");
	assert_int_equal(cvq_admin_enrol_req_encode(&r, &b, &len), CVQ_CA_ERR_REQUEST);
	assert_null(b);
	r.op = CVQ_ADMIN_ENROL_MGMT_KEY;
	strcpy(r.guid, GUID);
	r.alg = 0x11; /* not a management key's */
	assert_int_equal(cvq_admin_enrol_req_encode(&r, &b, &len), CVQ_CA_ERR_REQUEST);
	r.alg = 0x100 | CVQ_CARD_ALG_AES192; /* no wrap to a byte that would pass */
	assert_int_equal(cvq_admin_enrol_req_encode(&r, &b, &len), CVQ_CA_ERR_REQUEST);
	r.op = 3; /* libcvqca's own */
	assert_int_equal(cvq_admin_enrol_req_encode(&r, &b, &len), CVQ_CA_ERR_REQUEST);
	memset(&a, 0, sizeof(a));
	a.op = CVQ_ADMIN_ENROL_CITIZEN_GET; /* no ext_id */
	assert_int_equal(cvq_admin_enrol_ans_encode(&a, &b, &len), CVQ_CA_ERR_REQUEST);
	a.op = CVQ_ADMIN_ENROL_CHUID_SIGN; /* nothing signed */
	assert_int_equal(cvq_admin_enrol_ans_encode(&a, &b, &len), CVQ_CA_ERR_REQUEST);
	a.op = CVQ_ADMIN_ENROL_PUK_OPEN;
	strcpy(a.puk, "1234");
	assert_int_equal(cvq_admin_enrol_ans_encode(&a, &b, &len), CVQ_CA_ERR_REQUEST);
	assert_string_equal(cvq_admin_enrol_op_name(CVQ_ADMIN_ENROL_MGMT_KEY), "mgmt-key");
	assert_string_equal(cvq_admin_enrol_op_name(2), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_roundtrip),  cmocka_unit_test(test_ans_roundtrip),
		cmocka_unit_test(test_truncated),      cmocka_unit_test(test_duplicated),
		cmocka_unit_test(test_unknown),        cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_encode_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
