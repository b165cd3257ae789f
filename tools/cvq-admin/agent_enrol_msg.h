/*
 * cvq-admin — the enrolment ops of the CA's issuing agent (issue #13
 * part 4): what a counter away from the CA asks of it instead of opening
 * the store, holding the master secret or the content signer's key. The
 * request and answer formats, strict both ways (agent_enrol_msg.c): the
 * agent parses what any member of its group sends, and the counter parses
 * what comes back over a link it does not control.
 *
 * Requests go in the body of an agent frame, op numbers 16..31
 * (CVQ_CA_AGENT_EXT_FIRST on); answers are the payload of an OK answer.
 */
#ifndef CVQ_ADMIN_AGENT_ENROL_MSG_H
#define CVQ_ADMIN_AGENT_ENROL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cvq/ca.h>
#include <cvq/enrol.h>

enum cvq_admin_enrol_op {
	CVQ_ADMIN_ENROL_AUDIT = CVQ_CA_AGENT_EXT_FIRST, /* 16 */
	CVQ_ADMIN_ENROL_CITIZEN_GET,
	CVQ_ADMIN_ENROL_CARD_GET,
	CVQ_ADMIN_ENROL_CARD_ADD,
	CVQ_ADMIN_ENROL_CARD_SET_STATUS, /* 20 */
	CVQ_ADMIN_ENROL_CARD_LIST,
	CVQ_ADMIN_ENROL_CERT_LIST,
	CVQ_ADMIN_ENROL_REVOKE_CARD,
	CVQ_ADMIN_ENROL_REVOKE_STRAYS,
	CVQ_ADMIN_ENROL_CRL_ISSUE,       /* 25 */
	CVQ_ADMIN_ENROL_MGMT_KEY,
	CVQ_ADMIN_ENROL_PUK_SEAL,
	CVQ_ADMIN_ENROL_PUK_OPEN,
	CVQ_ADMIN_ENROL_CHUID_SIGN,
	CVQ_ADMIN_ENROL_SECOBJ_BUILD,    /* 30 */
	CVQ_ADMIN_ENROL_OP_END           /* 31: none yet, refused */
};
/* "audit", "citizen-get", ...: for audit details and messages. */
const char *cvq_admin_enrol_op_name(int op);

#define CVQ_ADMIN_ENROL_MAX_KEEP 16    /* serials kept by revoke_strays */
#define CVQ_ADMIN_ENROL_MAX_CARDS 32   /* cards of a holder in one answer */
#define CVQ_ADMIN_ENROL_MAX_CERTS 128  /* certificates of a card in one answer */
#define CVQ_ADMIN_ENROL_MAX_CHUID 4096 /* a CHUID, signed or not */

/* A request. After parsing, blob, chuid and items[].data point into the
 * parsed bytes. Fields an op does not carry are zero. */
struct cvq_admin_enrol_req {
	int op;
	char guid[33];                 /* 32 hex digits, as sent */
	char ext_id[64];               /* citizen_get; the holder of card_add, card_list */
	char action[32], detail[256];  /* audit */
	int64_t expires;               /* card_add */
	int status;                    /* card_set_status, revoke_card (__COUNT: keep) */
	int reason;                    /* revoke_card: RFC 5280 CRLReason */
	int64_t since;                 /* revoke_card: invalidity date, 0 none */
	char keep[CVQ_ADMIN_ENROL_MAX_KEEP][67]; /* revoke_strays: serials (hex) */
	size_t n_keep;
	int alg;                       /* mgmt_key: cvq_card_alg */
	char puk[CVQ_ENROL_PUK_LEN + 1]; /* puk_seal: 8 digits (a secret) */
	const uint8_t *blob;           /* puk_open: CVQ_ENROL_PUK_BLOB_LEN bytes */
	size_t blob_len;
	const uint8_t *chuid;          /* chuid_sign */
	size_t chuid_len;
	cvq_piv_secobj_item items[CVQ_PIV_SECOBJ_MAX]; /* secobj_build */
	size_t n_items;
};

/* An answer; lists and secrets by value, pem and der into the parsed bytes. */
struct cvq_admin_enrol_ans {
	int op;                        /* the op answered (checked by the parser) */
	struct cvq_enrol_citizen citizen;            /* citizen_get */
	struct cvq_enrol_card_rec cards[CVQ_ADMIN_ENROL_MAX_CARDS]; /* card_get (1), card_list */
	size_t n_cards;
	struct cvq_enrol_cert_rec certs[CVQ_ADMIN_ENROL_MAX_CERTS]; /* cert_list */
	size_t n_certs;
	unsigned count;                /* revoke_card, revoke_strays */
	const uint8_t *pem;            /* crl_issue */
	size_t pem_len;
	int64_t number;                /* crl_issue */
	uint8_t key[32];               /* mgmt_key (a secret) */
	size_t key_len;
	uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN]; /* puk_seal */
	char puk[CVQ_ENROL_PUK_LEN + 1];      /* puk_open (a secret) */
	const uint8_t *der;            /* chuid_sign, secobj_build: the signed object */
	size_t der_len;
};

/*
 * Strict: "CVQ1", the op field, then each field the op carries (required
 * ones present), each checked, none twice, nothing unknown, nothing left.
 * CVQ_CA_ERR_REQUEST otherwise. Fuzzed (tests/fuzz/admin).
 */
cvq_ca_err cvq_admin_enrol_req_parse(const uint8_t *b, size_t len, struct cvq_admin_enrol_req *out);
/* The answer to a request of op `op`: refused if it answers another op. */
cvq_ca_err cvq_admin_enrol_ans_parse(int op, const uint8_t *b, size_t len,
                                     struct cvq_admin_enrol_ans *out);
/* Encode (malloc'd; free with cvq_admin_enrol_free): what is produced is
 * parsed back before it is returned, CVQ_CA_ERR_REQUEST if it does not. */
cvq_ca_err cvq_admin_enrol_req_encode(const struct cvq_admin_enrol_req *r, uint8_t **out,
                                      size_t *len);
cvq_ca_err cvq_admin_enrol_ans_encode(const struct cvq_admin_enrol_ans *a, uint8_t **out,
                                      size_t *len);
/* Wipe (it may hold a PUK or a key) and free an encoded message. */
void cvq_admin_enrol_free(uint8_t *b, size_t len);

#endif
