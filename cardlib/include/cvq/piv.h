/*
 * cvq cardlib — the PIV card application (NIST SP 800-73-4), and the
 * Yubico extensions where a card has them.
 *
 * Every cvq_card_piv_* / cvq_card_* function below that takes a cvq_card
 * runs inside its own PC/SC transaction (nested in the caller's, see
 * cvq_card_begin), selects PIV only when this handle has not selected it
 * since the last reset, and re-selects once and retries when the card
 * answers as if another application had been selected meanwhile (6D00,
 * 6E00). So a signature on a selected card is exactly VERIFY + GENERAL
 * AUTHENTICATE.
 *
 * What is read from the card (CHUID, certificates, Discovery) is cached
 * in the handle for the life of the insertion and dropped on removal, on
 * reset when the GUID changed, and by cvq_card_piv_forget.
 *
 * Errors common to every function taking a cvq_card (besides ARG, NOMEM,
 * INTERNAL): CVQ_CARD_ERR_CARD_REMOVED (the card left; reconnect when it
 * is back), CVQ_CARD_ERR_CARD_CHANGED (a reset showed another card: the
 * operation was not done), CVQ_CARD_ERR_COMM, CVQ_CARD_ERR_NO_SERVICE,
 * CVQ_CARD_ERR_PCSC, CVQ_CARD_ERR_BUSY, CVQ_CARD_ERR_NOT_PIV (SELECT
 * failed), CVQ_CARD_ERR_SW (an unexpected status word), and
 * CVQ_CARD_ERR_BAD_DATA (a malformed answer). The lists below give the
 * others.
 *
 * PINs and PUKs are NUL-terminated strings of 6 to 8 bytes (PIV allows
 * any byte but 0xFF; the CVQ profile uses digits); the library pads them
 * with 0xFF to 8 bytes in a buffer it wipes, and never logs them.
 */
#ifndef CVQ_PIV_H
#define CVQ_PIV_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cvq/card.h"
#include "cvq/card_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Key references (slots). */
typedef enum cvq_card_slot {
	CVQ_CARD_SLOT_AUTH = 0x9A,      /* PIV Authentication */
	CVQ_CARD_SLOT_MGMT = 0x9B,      /* card management key (symmetric) */
	CVQ_CARD_SLOT_SIGN = 0x9C,      /* Digital Signature (PIN always) */
	CVQ_CARD_SLOT_KEYMGMT = 0x9D,   /* Key Management */
	CVQ_CARD_SLOT_CARDAUTH = 0x9E,  /* Card Authentication (no PIN) */
} cvq_card_slot;

/* Algorithm identifiers (SP 800-78-4). */
typedef enum cvq_card_alg {
	CVQ_CARD_ALG_3DES = 0x03,
	CVQ_CARD_ALG_RSA1024 = 0x06,
	CVQ_CARD_ALG_RSA2048 = 0x07,
	CVQ_CARD_ALG_AES128 = 0x08,
	CVQ_CARD_ALG_AES192 = 0x0A,
	CVQ_CARD_ALG_AES256 = 0x0C,
	CVQ_CARD_ALG_ECCP256 = 0x11,
	CVQ_CARD_ALG_ECCP384 = 0x14,
} cvq_card_alg;

/* Data object tags (the 3-byte tag inside 5C). */
#define CVQ_CARD_OBJ_DISCOVERY   0x7Eu
#define CVQ_CARD_OBJ_CARDAUTH    0x5FC101u  /* certificate 9E */
#define CVQ_CARD_OBJ_CHUID       0x5FC102u
#define CVQ_CARD_OBJ_AUTH        0x5FC105u  /* certificate 9A */
#define CVQ_CARD_OBJ_CCC         0x5FC107u
#define CVQ_CARD_OBJ_PRINTED     0x5FC109u
#define CVQ_CARD_OBJ_SIGN        0x5FC10Au  /* certificate 9C */
#define CVQ_CARD_OBJ_KEYMGMT     0x5FC10Bu  /* certificate 9D */
#define CVQ_CARD_OBJ_KEYHISTORY  0x5FC10Cu

/* The factory default 3DES management key (SP 800-73 test cards, YubiKey). */
extern CVQ_EXPORT const uint8_t cvq_card_default_mgmt_key[24];

/* Key length of a management key algorithm (24, 16, 24, 32), 0 if not one. */
CVQ_EXPORT size_t cvq_card_mgmt_key_len(cvq_card_alg alg);

/* Certificate object of a slot (9A -> 5FC105 ...), 0 if none. */
CVQ_EXPORT uint32_t cvq_card_slot_object(cvq_card_slot slot);

/* ---- application ------------------------------------------------------ */

/*
 * SELECT the PIV application now (normally implicit).
 *   CVQ_CARD_ERR_NOT_PIV  the card has no PIV application
 */
CVQ_EXPORT cvq_card_err cvq_card_piv_select(cvq_card *card);

/* Drop every cached object of this handle (the next read asks the card). */
CVQ_EXPORT void cvq_card_piv_forget(cvq_card *card);

/* ---- data objects ----------------------------------------------------- */

/*
 * GET DATA: the value of the object's 53 wrapper (7E for Discovery),
 * malloc'd in *data (freed by the caller). Not cached: use the typed
 * readers below for what can be cached.
 *   CVQ_CARD_ERR_NOT_FOUND  the object is absent (6A82) or empty
 */
CVQ_EXPORT cvq_card_err cvq_card_read_object(cvq_card *card, uint32_t tag,
                                  uint8_t **data, size_t *len);

/*
 * PUT DATA: store data (the value; the library wraps it in 53) as object
 * tag; len 0 deletes it. Needs management key authentication.
 *   CVQ_CARD_ERR_SECURITY  not authenticated with the management key
 *   CVQ_CARD_ERR_BUFFER    no room on the card
 */
CVQ_EXPORT cvq_card_err cvq_card_write_object(cvq_card *card, uint32_t tag,
                                   const uint8_t *data, size_t len);

/* Discovery object. */
typedef struct cvq_card_discovery {
	uint8_t aid[16];
	size_t aid_len;
	uint16_t pin_policy;      /* 5F2F, e.g. 0x4000: PIV PIN only */
} cvq_card_discovery;

/* Parse the value of a 7E object (fuzzed). CVQ_CARD_ERR_TLV / _BAD_DATA. */
CVQ_EXPORT cvq_card_err cvq_card_discovery_parse(const uint8_t *buf, size_t len,
                                      cvq_card_discovery *out);
/* NOT_FOUND when the card has none. Cached. */
CVQ_EXPORT cvq_card_err cvq_card_read_discovery(cvq_card *card, cvq_card_discovery *out);

/* CHUID. */
typedef struct cvq_card_chuid {
	uint8_t guid[CVQ_CARD_GUID_LEN];
	bool has_fascn;
	uint8_t fascn[25];
	char expiry[9];           /* YYYYMMDD, NUL-terminated; "" if absent */
} cvq_card_chuid;

/* Parse the value of a CHUID (fuzzed). CVQ_CARD_ERR_TLV / _BAD_DATA (no GUID). */
CVQ_EXPORT cvq_card_err cvq_card_chuid_parse(const uint8_t *buf, size_t len,
                                  cvq_card_chuid *out);
/*
 * Build a CHUID value: FASC-N (agency code 9999, so OpenSC uses the GUID
 * as the token serial), GUID, expiry (YYYYMMDD), empty signature, LRC.
 *   CVQ_CARD_ERR_BUFFER  cap too small (64 bytes always suffice)
 */
CVQ_EXPORT cvq_card_err cvq_card_chuid_build(const uint8_t guid[CVQ_CARD_GUID_LEN],
                                  const char *expiry, uint8_t *out,
                                  size_t cap, size_t *len);
/* NOT_FOUND when the card has no CHUID. Cached. */
CVQ_EXPORT cvq_card_err cvq_card_read_chuid(cvq_card *card, cvq_card_chuid *out);
/* The GUID from the CHUID (cached): NOT_FOUND without CHUID. */
CVQ_EXPORT cvq_card_err cvq_card_guid(cvq_card *card, uint8_t guid[CVQ_CARD_GUID_LEN]);

/* Printed Information (SP 800-73-4 part 1, 3.1.4); strings NUL-terminated. */
typedef struct cvq_card_printed {
	char name[126];           /* 01 */
	char affiliation[21];     /* 02 employee affiliation */
	char expiry[10];          /* 04 YYYYMMMDD, e.g. 2030JAN01 */
	char serial[11];          /* 05 agency card serial number */
	char issuer[16];          /* 06 issuer identification */
} cvq_card_printed;

CVQ_EXPORT cvq_card_err cvq_card_printed_parse(const uint8_t *buf, size_t len,
                                    cvq_card_printed *out);
CVQ_EXPORT cvq_card_err cvq_card_printed_build(const cvq_card_printed *in, uint8_t *out,
                                    size_t cap, size_t *len);
/* Needs the PIN on real cards (SECURITY otherwise); not cached. */
CVQ_EXPORT cvq_card_err cvq_card_read_printed(cvq_card *card, cvq_card_printed *out);

/* ---- certificates ----------------------------------------------------- */

/*
 * Parse a certificate object value: 70 certificate (gzip when 71 says
 * 01), 71 CertInfo, FE LRC (fuzzed). *cert is a new X509.
 *   CVQ_CARD_ERR_TLV, CVQ_CARD_ERR_BAD_DATA (bad DER, bad gzip, > 32 KiB)
 */
CVQ_EXPORT cvq_card_err cvq_card_cert_parse(const uint8_t *buf, size_t len, X509 **cert);

/*
 * The certificate of a slot, read once per insertion and cached in the
 * handle; *cert is a new reference (X509_free it).
 *   CVQ_CARD_ERR_NOT_FOUND  the slot has no certificate (also cached)
 */
CVQ_EXPORT cvq_card_err cvq_card_read_cert(cvq_card *card, cvq_card_slot slot,
                                X509 **cert);

/*
 * Store a certificate for a slot (DER, gzip-compressed when compress).
 * Needs management key authentication; updates the cache.
 *   CVQ_CARD_ERR_SECURITY, CVQ_CARD_ERR_BUFFER (no room on the card)
 */
CVQ_EXPORT cvq_card_err cvq_card_write_cert(cvq_card *card, cvq_card_slot slot,
                                 X509 *cert, bool compress);
/* Delete a slot's certificate object. */
CVQ_EXPORT cvq_card_err cvq_card_delete_cert(cvq_card *card, cvq_card_slot slot);

/* ---- PIN and PUK ------------------------------------------------------ */

typedef enum cvq_card_pin_ref {
	CVQ_CARD_PIN = 0x80,      /* PIV Card Application PIN */
	CVQ_CARD_PUK = 0x81,      /* PIN Unblocking Key */
} cvq_card_pin_ref;

/*
 * VERIFY the PIN. *tries_left (optional) gets the tries left after a
 * wrong PIN (0 when blocked), -1 on success.
 *   CVQ_CARD_ERR_PIN_WRONG    wrong PIN, *tries_left > 0
 *   CVQ_CARD_ERR_PIN_BLOCKED  blocked (now or before)
 *   CVQ_CARD_ERR_PIN_FORMAT   not 6-8 bytes, or contains 0xFF
 */
CVQ_EXPORT cvq_card_err cvq_card_pin_verify(cvq_card *card, const char *pin,
                                 int *tries_left);

/*
 * The PIN's state without spending a try (empty VERIFY): *verified true
 * when this card session already verified it, else *tries_left = tries.
 *   CVQ_CARD_OK, CVQ_CARD_ERR_PIN_BLOCKED (*tries_left = 0)
 */
CVQ_EXPORT cvq_card_err cvq_card_pin_status(cvq_card *card, int *tries_left,
                                 bool *verified);

/*
 * The PUK's tries left without spending one: Yubico metadata (F7) where
 * the card has it. CVQ_CARD_ERR_UNSUPPORTED elsewhere (PIV has no way).
 */
CVQ_EXPORT cvq_card_err cvq_card_puk_status(cvq_card *card, int *tries_left);

/*
 * CHANGE REFERENCE DATA for the PIN or the PUK. A new PIN must be 6-8
 * digits (SP 800-73-4), a new PUK 8 bytes; else _PIN_FORMAT before
 * anything is sent.
 *   CVQ_CARD_ERR_PIN_WRONG (tries left set), _PIN_BLOCKED, _PIN_FORMAT
 */
CVQ_EXPORT cvq_card_err cvq_card_pin_change(cvq_card *card, cvq_card_pin_ref ref,
                                 const char *old_pin, const char *new_pin,
                                 int *tries_left);

/*
 * RESET RETRY COUNTER: set a new PIN (6-8 digits) with the PUK (unblocks
 * the PIN).
 *   CVQ_CARD_ERR_PIN_WRONG (PUK tries left set), _PIN_BLOCKED (PUK
 *   blocked), _PIN_FORMAT
 */
CVQ_EXPORT cvq_card_err cvq_card_pin_unblock(cvq_card *card, const char *puk,
                                  const char *new_pin, int *tries_left);

/* ---- management key --------------------------------------------------- */

/*
 * Mutual authentication with the card management key (9B): 2 APDUs.
 * After it, this card session may generate keys and write objects.
 *   CVQ_CARD_ERR_AUTH         wrong key (or the card's proof was wrong)
 *   CVQ_CARD_ERR_UNSUPPORTED  the card does not use this algorithm
 *   CVQ_CARD_ERR_CRYPTO       host cipher failure
 */
CVQ_EXPORT cvq_card_err cvq_card_mgmt_auth(cvq_card *card, cvq_card_alg alg,
                                const uint8_t *key, size_t key_len);

/*
 * Yubico SET MANAGEMENT KEY (FF): replace the management key. Needs a
 * prior cvq_card_mgmt_auth in the same transaction or session.
 *   CVQ_CARD_ERR_UNSUPPORTED  not a Yubico-compatible card
 *   CVQ_CARD_ERR_SECURITY     not authenticated
 */
CVQ_EXPORT cvq_card_err cvq_card_mgmt_set_key(cvq_card *card, cvq_card_alg alg,
                                   const uint8_t *key, size_t key_len);

/* ---- keys ------------------------------------------------------------- */

/*
 * GENERATE ASYMMETRIC KEY PAIR in slot for alg (RSA2048, ECCP256,
 * ECCP384); *pub gets the public key. Needs management key auth. The
 * slot's certificate is still the old one until cvq_card_write_cert.
 *   CVQ_CARD_ERR_SECURITY, CVQ_CARD_ERR_UNSUPPORTED (alg)
 */
CVQ_EXPORT cvq_card_err cvq_card_generate(cvq_card *card, cvq_card_slot slot,
                               cvq_card_alg alg, EVP_PKEY **pub);

/* Parse a GENERATE response (7F49 ...) for alg (fuzzed). */
CVQ_EXPORT cvq_card_err cvq_card_generate_parse(const uint8_t *buf, size_t len,
                                     cvq_card_alg alg, EVP_PKEY **pub);

typedef enum cvq_card_padding {
	CVQ_CARD_PAD_NONE = 0,    /* EC keys */
	CVQ_CARD_PAD_PKCS1,       /* RSA PKCS#1 v1.5 (DigestInfo added here) */
	CVQ_CARD_PAD_PSS,         /* RSA PSS, MGF1 with md, salt = digest length */
} cvq_card_padding;

typedef struct cvq_card_sign_req {
	cvq_card_slot slot;
	/*
	 * The slot's public key, or NULL to take it from the slot's cached
	 * certificate (read once if needed: one more GET DATA).
	 */
	EVP_PKEY *pub;
	const EVP_MD *md;         /* digest algorithm of `digest` (RSA, PSS) */
	cvq_card_padding padding; /* RSA only; NONE is taken as PKCS1 */
	const uint8_t *digest;
	size_t digest_len;
	/*
	 * PIN to VERIFY just before signing, in the same transaction, or NULL
	 * when the session is already verified (9A) or none is needed (9E).
	 */
	const char *pin;
} cvq_card_sign_req;

/*
 * Sign a digest: [VERIFY] + GENERAL AUTHENTICATE. ECDSA signatures come
 * back DER-encoded (SEQUENCE {r, s}), RSA ones as the raw big-endian
 * modulus-sized block; *sig is malloc'd (free()).
 *   CVQ_CARD_ERR_NOT_VERIFIED  the card wants the PIN and none was given
 *   CVQ_CARD_ERR_PIN_WRONG / _PIN_BLOCKED / _PIN_FORMAT (with *tries_left)
 *   CVQ_CARD_ERR_NOT_FOUND     no public key given and no certificate
 *   CVQ_CARD_ERR_UNSUPPORTED   key type or digest the card cannot use
 */
CVQ_EXPORT cvq_card_err cvq_card_sign(cvq_card *card, const cvq_card_sign_req *req,
                           uint8_t **sig, size_t *sig_len, int *tries_left);

/* ---- Yubico extensions ------------------------------------------------ */

/* FD: firmware version. CVQ_CARD_ERR_UNSUPPORTED on other cards. Cached. */
CVQ_EXPORT cvq_card_err cvq_card_yk_version(cvq_card *card, uint8_t version[3]);
/* F8: serial number. CVQ_CARD_ERR_UNSUPPORTED on other cards. */
CVQ_EXPORT cvq_card_err cvq_card_yk_serial(cvq_card *card, uint32_t *serial);
/*
 * FA: set PIN and PUK tries (1..255); resets both to the defaults
 * (123456 / 12345678). Needs management key auth and the PIN verified.
 */
CVQ_EXPORT cvq_card_err cvq_card_yk_set_retries(cvq_card *card, uint8_t pin_tries,
                                     uint8_t puk_tries);
/*
 * Factory reset (FB): Yubico cards reset only when PIN and PUK are both
 * blocked, so this first blocks them with wrong values (spending every
 * try left), then resets: PIN 123456, PUK 12345678, default management
 * key, keys and objects erased. Drops the cache.
 *   CVQ_CARD_ERR_UNSUPPORTED  the card has no factory reset
 */
CVQ_EXPORT cvq_card_err cvq_card_yk_reset(cvq_card *card);

#ifdef __cplusplus
}
#endif
#endif
