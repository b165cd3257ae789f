/* cvq-vcard internals shared by the card logic files (not by main.c). */
#ifndef CVQ_VCARD_INT_H
#define CVQ_VCARD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "vcard.h"
#include "apdu.h"

/* Status words. */
#define SW_OK              0x9000
#define SW_WRONG_LENGTH    0x6700
#define SW_SECURITY        0x6982
#define SW_BLOCKED         0x6983
#define SW_CONDITIONS      0x6985
#define SW_WRONG_DATA      0x6A80
#define SW_FUNC_NOT_SUPP   0x6A81
#define SW_NOT_FOUND       0x6A82
#define SW_WRONG_P1P2      0x6A86
#define SW_REF_NOT_FOUND   0x6A88
#define SW_INS_NOT_SUPP    0x6D00
#define SW_CLA_NOT_SUPP    0x6E00
#define SW_MEMORY          0x6581
#define SW_NO_PRECISE      0x6F00
#define SW_TRIES(n)        (0x63C0 | ((n) & 0x0F))

/* PIV algorithm identifiers (SP 800-78-4). */
#define ALG_3DES    0x03
#define ALG_RSA1024 0x06
#define ALG_RSA2048 0x07
#define ALG_AES128  0x08
#define ALG_AES192  0x0A
#define ALG_AES256  0x0C
#define ALG_P256    0x11
#define ALG_P384    0x14

#define VC_NKEYS 25          /* 9A 9C 9D 9E, the retired 82..95, attestation F9 */
#define VC_REF_ATTEST 0xF9   /* Yubico's attestation key slot */
#define VC_OBJ_ATTEST 0x5FFF01u /* its certificate (DER in 70, as PIV certificates) */
#define VC_MAX_OBJS 48
#define VC_MAX_OBJ_LEN 8192  /* the value of the 53 template */
#define VC_MAX_CHAIN 16384   /* command chaining reassembly */
#define VC_REF_LEN 8         /* PIN / PUK, padded with FF */

struct vc_key {
	uint8_t alg;     /* 0 = empty slot */
	EVP_PKEY *pkey;
	bool imported;   /* put there by FE, not generated here: never attested */
};

struct vc_obj {
	uint32_t tag;    /* 0x5FC1xx / 0x5FFFxx */
	uint8_t *data;   /* value of the 53 template */
	size_t len;
};

enum vc_auth_step { AUTH_NONE, AUTH_MUTUAL, AUTH_EXTERNAL };

/* A growing output buffer for one response. */
struct vc_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

struct vc_card {
	/* Persistent (saved in the state file). */
	uint32_t serial;
	uint8_t pin[VC_REF_LEN], puk[VC_REF_LEN];
	uint8_t pin_tries, pin_max, puk_tries, puk_max;
	uint8_t mgmt_alg;
	uint8_t mgmt_key[32];
	size_t mgmt_len;
	struct vc_key keys[VC_NKEYS];
	struct vc_obj objs[VC_MAX_OBJS];
	size_t nobjs;

	/* Volatile: lost on power off/on/reset/removal and on SELECT. */
	bool dirty;
	bool pin_verified;
	bool pin_fresh;  /* a VERIFY that no 9C signature consumed yet */
	bool mgmt_auth;
	enum vc_auth_step auth_step;
	uint8_t auth_alg;
	uint8_t auth_nonce[16];
	size_t auth_nonce_len;

	/* Command chaining (CLA 0x10). */
	uint8_t *chain;
	size_t chain_len;
	uint8_t chain_ins, chain_p1, chain_p2;
	bool chaining;

	/* Response chaining (61xx + GET RESPONSE). */
	uint8_t *pending;
	size_t pending_len, pending_off;
};

/* Dispatch targets: each returns a SW and may append data to out. */
uint16_t vc_piv_select(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_obj_get_data(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_obj_put_data(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_pin_verify(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_pin_change(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_pin_reset(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_general_auth(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_mgmt_auth(struct vc_card *c, const struct vc_apdu *a,
                      const uint8_t *dyn, size_t dyn_len, struct vc_buf *out);
uint16_t vc_key_generate(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
uint16_t vc_key_use(struct vc_card *c, const struct vc_apdu *a,
                    const uint8_t *dyn, size_t dyn_len, struct vc_buf *out);
uint16_t vc_yubico(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);
/* Yubico ATTEST (F9, attest.c). */
uint16_t vc_attest(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out);

/* Factory defaults for PIN, PUK, management key and their counters. */
void vc_card_factory(struct vc_card *c);
void vc_card_clear_keys_objects(struct vc_card *c);
void vc_card_clear_auth(struct vc_card *c);
/* PIN and management key states (SELECT clears them). */
void vc_card_clear_security(struct vc_card *c);

/* Key slots: index for a key reference, or -1. */
int vc_key_index(uint8_t ref);
uint8_t vc_key_ref(int index);
/* Public key as the GENERATE response template (7F49 ...). */
uint16_t vc_key_public_template(const struct vc_key *k, struct vc_buf *out);
/* Block size of a management key algorithm and its key length (0: unknown). */
size_t vc_mgmt_block(uint8_t alg);
size_t vc_mgmt_keylen(uint8_t alg);

/* Objects. */
struct vc_obj *vc_obj_find(struct vc_card *c, uint32_t tag);
bool vc_obj_set(struct vc_card *c, uint32_t tag, const uint8_t *data, size_t len);

/* Output buffer helpers; failures are sticky and reported as 6F00. */
void vc_buf_add(struct vc_buf *b, const void *data, size_t len);
void vc_buf_tlv(struct vc_buf *b, uint32_t tag, const void *val, size_t len);
void vc_buf_header(struct vc_buf *b, uint32_t tag, size_t len);
/* A dynamic authentication template with one item: 7C { tag val }. */
void vc_buf_dyn(struct vc_buf *b, uint32_t tag, const void *val, size_t len);

/* Read an 8-byte PIN/PUK reference and check its format (6-8 bytes + FF). */
bool vc_ref_format_ok(const uint8_t ref[VC_REF_LEN]);

#endif
