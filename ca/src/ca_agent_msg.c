/*
 * libcvqca — the issuing agent's request format, strict both ways.
 *
 * body := "CVQ1" field*
 * field := tag(1) length(2, big-endian) value
 *   1 op       1 byte: 1 issue, 2 status, 3 stop             (required)
 *   2 profile  1 byte: enum cvq_ca_profile                   (issue: required)
 *   3 card     1..32 hex digits
 *   4 subject  1..255 bytes, printable ASCII, starting with '/'
 *   5 dns      1..253 bytes of [A-Za-z0-9.*-]
 *   6 days     4 bytes, 1..36500
 *   7 csr      1..CVQ_CA_AGENT_MAX_CSR bytes (PEM or DER)     (issue, request: required)
 *   8 request  8 bytes: the request id                       (approve, reject: required)
 *   9 attest   1..MAX_ATTEST bytes: the card's attestation certificate (DER)
 *  10 f9       1..MAX_ATTEST bytes: the card's F9 certificate (DER)
 *  11 slot     1 byte: the slot attested                     (with 9 and 10, all or none)
 * Tags in any order, each at most once; status and stop carry only op;
 * approve and reject only op and request; roles (7) only op.
 */
#include <stdlib.h>
#include <string.h>

#include <cvq/util.h>

#include "ca_int.h"

static const char magic[4] = {'C', 'V', 'Q', '1'};

enum { T_OP = 1, T_PROFILE, T_CARD, T_SUBJECT, T_DNS, T_DAYS, T_CSR, T_REQID, T_ATTEST, T_F9,
       T_SLOT, T__COUNT };

#define MAX_ATTEST 4096

static bool
all_of(const uint8_t *v, size_t n, bool (*ok)(uint8_t))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ok(v[i]))
			return false;
	return true;
}

static bool
is_dns(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '-' || c == '*';
}

/* A string field into its buffer (cap includes the NUL). */
static bool
take_str(const uint8_t *v, size_t n, size_t cap, bool (*ok)(uint8_t), char *dst)
{
	if (n == 0 || n >= cap || !all_of(v, n, ok))
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

cvq_ca_err
cvq_ca_agent_parse(const uint8_t *b, size_t len, struct cvq_ca_agent_msg *m)
{
	bool seen[T__COUNT] = {false};
	const uint8_t *p, *end, *v;
	uint32_t days;
	size_t n;
	uint8_t tag;

	if (!m)
		return CVQ_CA_ERR_ARG;
	memset(m, 0, sizeof(*m));
	m->req.profile = CVQ_CA_PROFILE__COUNT;
	if (!b || len < sizeof(magic) || len > CVQ_CA_AGENT_MAX_MSG ||
	    memcmp(b, magic, sizeof(magic)) != 0)
		return CVQ_CA_ERR_REQUEST;
	p = b + sizeof(magic);
	end = b + len;
	while (p < end) {
		if (end - p < 3)
			return CVQ_CA_ERR_REQUEST;
		tag = p[0];
		n = (size_t)p[1] << 8 | p[2];
		v = p + 3;
		if ((size_t)(end - v) < n || tag == 0 || tag >= T__COUNT || seen[tag])
			return CVQ_CA_ERR_REQUEST;
		seen[tag] = true;
		p = v + n;
		switch (tag) {
		case T_OP:
			if (n != 1 || v[0] < CVQ_CA_AGENT_ISSUE || v[0] > CVQ_CA_AGENT_ROLES)
				return CVQ_CA_ERR_REQUEST;
			m->op = (enum cvq_ca_agent_op)v[0];
			break;
		case T_PROFILE:
			if (n != 1 || v[0] >= CVQ_CA_PROFILE__COUNT)
				return CVQ_CA_ERR_REQUEST;
			m->req.profile = (enum cvq_ca_profile)v[0];
			break;
		case T_CARD:
			if (!take_str(v, n, sizeof(m->card), cvq_util_is_hex_char, m->card))
				return CVQ_CA_ERR_REQUEST;
			m->req.card_guid = m->card;
			break;
		case T_SUBJECT:
			if (!take_str(v, n, sizeof(m->subject), cvq_util_is_print_char, m->subject) || v[0] != '/')
				return CVQ_CA_ERR_REQUEST;
			m->req.subject = m->subject;
			break;
		case T_DNS:
			if (!take_str(v, n, sizeof(m->dns), is_dns, m->dns))
				return CVQ_CA_ERR_REQUEST;
			m->req.dns_name = m->dns;
			break;
		case T_DAYS:
			if (n != 4)
				return CVQ_CA_ERR_REQUEST;
			days = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
			if (days < 1 || days > 36500)
				return CVQ_CA_ERR_REQUEST;
			m->req.days = days;
			break;
		case T_CSR:
			if (n == 0 || n > CVQ_CA_AGENT_MAX_CSR)
				return CVQ_CA_ERR_REQUEST;
			m->csr = v;
			m->csr_len = n;
			break;
		case T_REQID:
			if (n != 8)
				return CVQ_CA_ERR_REQUEST;
			for (size_t i = 0; i < 8; i++)
				m->request_id = m->request_id << 8 | v[i];
			if (m->request_id == 0 || m->request_id > INT64_MAX)
				return CVQ_CA_ERR_REQUEST;
			break;
		case T_ATTEST:
		case T_F9:
			if (n == 0 || n > MAX_ATTEST)
				return CVQ_CA_ERR_REQUEST;
			if (tag == T_ATTEST) {
				m->attest_buf.cert = v;
				m->attest_buf.cert_len = n;
			} else {
				m->attest_buf.f9 = v;
				m->attest_buf.f9_len = n;
			}
			break;
		case T_SLOT:
			if (n != 1)
				return CVQ_CA_ERR_REQUEST;
			m->attest_buf.slot = v[0];
			break;
		default:
			return CVQ_CA_ERR_REQUEST;
		}
	}
	if (!seen[T_OP])
		return CVQ_CA_ERR_REQUEST;
	if (seen[T_ATTEST] != seen[T_F9] || seen[T_ATTEST] != seen[T_SLOT])
		return CVQ_CA_ERR_REQUEST;
	if (seen[T_ATTEST])
		m->req.attest = &m->attest_buf;
	if (m->op == CVQ_CA_AGENT_ISSUE || m->op == CVQ_CA_AGENT_REQUEST) {
		if (!seen[T_PROFILE] || !seen[T_CSR] || seen[T_REQID] ||
		    (m->op == CVQ_CA_AGENT_REQUEST && seen[T_ATTEST]))
			return CVQ_CA_ERR_REQUEST;
	} else {
		int t;

		for (t = T_PROFILE; t < T__COUNT; t++)
			if (seen[t] && !(t == T_REQID && (m->op == CVQ_CA_AGENT_APPROVE ||
			                                  m->op == CVQ_CA_AGENT_REJECT)))
				return CVQ_CA_ERR_REQUEST;
		if ((m->op == CVQ_CA_AGENT_APPROVE || m->op == CVQ_CA_AGENT_REJECT) && !seen[T_REQID])
			return CVQ_CA_ERR_REQUEST;
	}
	return CVQ_CA_OK;
}

static void
put_field(uint8_t **p, uint8_t tag, const void *v, size_t n)
{
	(*p)[0] = tag;
	(*p)[1] = (uint8_t)(n >> 8);
	(*p)[2] = (uint8_t)n;
	memcpy(*p + 3, v, n);
	*p += 3 + n;
}

cvq_ca_err
cvq_ca_agent_encode(const struct cvq_ca_agent_msg *m, uint8_t **out, size_t *len)
{
	const struct cvq_ca_issue_req *r;
	uint8_t *b, *p, op, prof, days[4], id[8], slot;
	size_t cap;
	cvq_ca_err err;

	if (!m || !out || !len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	r = &m->req;
	cap = sizeof(magic) + 11 * 3 + 2 + 4 + 8 + 1 + m->csr_len +
	      (r->attest ? r->attest->cert_len + r->attest->f9_len : 0) +
	      (r->card_guid ? strlen(r->card_guid) : 0) + (r->subject ? strlen(r->subject) : 0) +
	      (r->dns_name ? strlen(r->dns_name) : 0);
	if (cap > CVQ_CA_AGENT_MAX_MSG || m->csr_len > CVQ_CA_AGENT_MAX_CSR ||
	    (r->attest && (r->attest->cert_len > MAX_ATTEST || r->attest->f9_len > MAX_ATTEST)))
		return CVQ_CA_ERR_REQUEST;
	b = malloc(cap);
	if (!b)
		return CVQ_CA_ERR_NOMEM;
	p = b;
	memcpy(p, magic, sizeof(magic));
	p += sizeof(magic);
	op = (uint8_t)m->op;
	put_field(&p, T_OP, &op, 1);
	if (m->op == CVQ_CA_AGENT_APPROVE || m->op == CVQ_CA_AGENT_REJECT) {
		for (int i = 0; i < 8; i++)
			id[i] = (uint8_t)(m->request_id >> (56 - 8 * i));
		put_field(&p, T_REQID, id, 8);
	}
	if (m->op == CVQ_CA_AGENT_ISSUE || m->op == CVQ_CA_AGENT_REQUEST) {
		prof = (uint8_t)r->profile;
		put_field(&p, T_PROFILE, &prof, 1);
		if (r->card_guid)
			put_field(&p, T_CARD, r->card_guid, strlen(r->card_guid));
		if (r->subject)
			put_field(&p, T_SUBJECT, r->subject, strlen(r->subject));
		if (r->dns_name)
			put_field(&p, T_DNS, r->dns_name, strlen(r->dns_name));
		if (r->days) {
			days[0] = (uint8_t)(r->days >> 24);
			days[1] = (uint8_t)(r->days >> 16);
			days[2] = (uint8_t)(r->days >> 8);
			days[3] = (uint8_t)r->days;
			put_field(&p, T_DAYS, days, 4);
		}
		if (m->csr)
			put_field(&p, T_CSR, m->csr, m->csr_len);
		if (r->attest) {
			slot = (uint8_t)r->attest->slot;
			put_field(&p, T_ATTEST, r->attest->cert, r->attest->cert_len);
			put_field(&p, T_F9, r->attest->f9, r->attest->f9_len);
			put_field(&p, T_SLOT, &slot, 1);
		}
	}
	*len = (size_t)(p - b);
	/* What we send must be what the agent accepts. */
	{
		struct cvq_ca_agent_msg chk;

		err = cvq_ca_agent_parse(b, *len, &chk);
	}
	if (err != CVQ_CA_OK) {
		free(b);
		return err;
	}
	*out = b;
	return CVQ_CA_OK;
}
