/*
 * cvq cardlib — a genuine city card, provably (issue #17): the signed
 * objects the issuer writes (CHUID signature, Security Object, CCC) and
 * the check that a card in a reader is one the city issued, not a copy
 * of its public objects on a blank card.
 *
 * Who signs what (docs/cardlib.md, "The card profile"):
 *   - the CHUID's issuer asymmetric signature (tag 3E) is a CMS SignedData
 *     (RFC 5652) over the CHUID's TLVs before tag 3E, detached, content
 *     type id-PIV-CHUIDSecurityObject (2.16.840.1.101.3.6.1), signed
 *     attributes contentType, messageDigest, signingTime, with the content
 *     signing certificate (EKU id-PIV-content-signing 2.16.840.1.101.3.6.7)
 *     in `certificates` (SP 800-73-4 part 1, 3.1.2; FIPS 201-3, 4.1.4.1);
 *   - the Security Object (5FC106) is BA (mapping: DG number, container
 *     ID) || BB (CMS SignedData, encapsulated content type
 *     id-icao-mrtd-security-ldsSecurityObject 2.23.136.1.1.1, content an
 *     LDSSecurityObject: version 0, SHA-256, one hash per data group) ||
 *     FE (SP 800-73-4 part 1, 3.1.6), signed by the same content signer;
 *     the certificate is not repeated there (the CHUID carries it);
 *   - the 9E certificate is issued by the city CA (EKU id-PIV-cardAuth
 *     2.16.840.1.101.3.6.8) for a key generated on the card; its use needs
 *     no PIN, so a reader can challenge it before asking for any.
 *
 * A copy of the public objects onto a blank card passes the first two
 * checks and fails the third: the private key of 9E never leaves the card.
 */
#ifndef CVQ_PIV_AUTHENTIC_H
#define CVQ_PIV_AUTHENTIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CVQ_EXPORT (docs/layout.md) comes with the shared-library layout. */
#if __has_include(<cvq/export.h>)
#include <cvq/export.h>
#else
#define CVQ_EXPORT
#endif

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cvq/card.h"
#include "cvq/card_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CVQ_CARD_OBJ_SECOBJ 0x5FC106u          /* Security Object */

#define CVQ_PIV_OID_CHUID_SECOBJ  "2.16.840.1.101.3.6.1"
#define CVQ_PIV_OID_CONTENT_SIGNING "2.16.840.1.101.3.6.7"
#define CVQ_PIV_OID_CARD_AUTH     "2.16.840.1.101.3.6.8"
#define CVQ_PIV_OID_LDS_SECOBJ    "2.23.136.1.1.1"

/* ---- building (the issuer, at enrolment) ------------------------------ */

/*
 * The CCC (5FC107) of a card of this profile: card identifier (F0,
 * registered ID 0xA000000116 || GUID), capability/application versions,
 * no extended application, FE. cap >= 64 suffices.
 *   CVQ_CARD_ERR_BUFFER
 */
CVQ_EXPORT cvq_card_err cvq_piv_ccc_build(const uint8_t guid[CVQ_CARD_GUID_LEN], uint8_t *out,
                               size_t cap, size_t *len);

/*
 * Sign a CHUID value (as cvq_card_chuid_build makes it, or a CHUID read
 * from a card: any 3E/FE present is replaced): *out (malloc'd) = the
 * TLVs before 3E || 3E CMS || FE 00.
 *   CVQ_CARD_ERR_BAD_DATA (not a CHUID), CVQ_CARD_ERR_CRYPTO
 */
CVQ_EXPORT cvq_card_err cvq_piv_chuid_sign(const uint8_t *chuid, size_t len, X509 *signer,
                                EVP_PKEY *key, uint8_t **out, size_t *out_len);

/*
 * Split a CHUID value: the signed content is buf[0..*content_len), the
 * CMS is sig[0..*sig_len) inside buf (sig_len 0 when 3E is empty or
 * absent). Fuzzed.  CVQ_CARD_ERR_TLV, CVQ_CARD_ERR_BAD_DATA
 */
CVQ_EXPORT cvq_card_err cvq_piv_chuid_split(const uint8_t *buf, size_t len, size_t *content_len,
                                 const uint8_t **sig, size_t *sig_len);

/* One data group of a Security Object: a data object's tag and value. */
typedef struct cvq_piv_secobj_item {
	uint32_t tag;             /* CHUID, CCC, a certificate, Printed Info... */
	const uint8_t *data;      /* the value of its 53 template */
	size_t len;
} cvq_piv_secobj_item;

/*
 * Build and sign a Security Object over n (1..16) objects, data group
 * numbers 1..n in that order; *out is malloc'd.
 *   CVQ_CARD_ERR_ARG (a tag without a container ID), CVQ_CARD_ERR_CRYPTO
 */
CVQ_EXPORT cvq_card_err cvq_piv_secobj_build(const cvq_piv_secobj_item *items, size_t n,
                                  X509 *signer, EVP_PKEY *key, uint8_t **out,
                                  size_t *out_len);

#define CVQ_PIV_SECOBJ_MAX 16

/* A parsed Security Object: mapping and the CMS (pointing into the input). */
typedef struct cvq_piv_secobj {
	size_t n;
	struct {
		uint8_t dg;
		uint16_t container;
		uint32_t tag;     /* 0 when the container ID is not one we know */
	} map[CVQ_PIV_SECOBJ_MAX];
	const uint8_t *cms;
	size_t cms_len;
} cvq_piv_secobj;

/* Parse a Security Object value (fuzzed). CVQ_CARD_ERR_TLV / _BAD_DATA. */
CVQ_EXPORT cvq_card_err cvq_piv_secobj_parse(const uint8_t *buf, size_t len, cvq_piv_secobj *out);

/*
 * Parse an LDSSecurityObject (the CMS's content, fuzzed): the hash
 * algorithm must be SHA-256 and every data group of `so` must have a
 * 32-byte hash; hashes[i] gets the one of so->map[i].
 *   CVQ_CARD_ERR_BAD_DATA
 */
CVQ_EXPORT cvq_card_err cvq_piv_lds_parse(const uint8_t *buf, size_t len, const cvq_piv_secobj *so,
                               uint8_t hashes[][32]);

/* Container ID (SP 800-73-4 part 1, table 3) of an object tag, 0 if none. */
CVQ_EXPORT uint16_t cvq_piv_container_id(uint32_t tag);

/* ---- checking (kiosk, counter, door reader) --------------------------- */

typedef enum cvq_piv_auth_reason {
	CVQ_PIV_AUTH_OK = 0,
	CVQ_PIV_AUTH_NO_CHUID,            /* no CHUID */
	CVQ_PIV_AUTH_CHUID_UNSIGNED,      /* 3E empty: not issued by a signing issuer */
	CVQ_PIV_AUTH_CHUID_SIGNATURE,     /* the CMS does not verify over the CHUID */
	CVQ_PIV_AUTH_SIGNER_UNTRUSTED,    /* the content signer does not chain to the CA */
	CVQ_PIV_AUTH_SIGNER_NOT_CONTENT,  /* signer without id-PIV-content-signing */
	CVQ_PIV_AUTH_EXPIRED,             /* the CHUID's expiry date has passed */
	CVQ_PIV_AUTH_NO_SECOBJ,           /* no Security Object */
	CVQ_PIV_AUTH_SECOBJ_SIGNATURE,    /* Security Object's CMS does not verify */
	CVQ_PIV_AUTH_SECOBJ_INCOMPLETE,   /* it does not cover the CHUID and 9E certificate */
	CVQ_PIV_AUTH_HASH_MISMATCH,       /* an object differs from what was signed */
	CVQ_PIV_AUTH_NO_CARDAUTH,         /* no 9E certificate */
	CVQ_PIV_AUTH_CARDAUTH_UNTRUSTED,  /* 9E certificate not from the CA, or not id-PIV-cardAuth */
	CVQ_PIV_AUTH_CARDAUTH_FAILED,     /* the card could not sign the challenge with 9E */
	CVQ_PIV_AUTH__COUNT
} cvq_piv_auth_reason;

/* "ok", "no-chuid", "chuid-unsigned", ... (stable, for JSON). */
CVQ_EXPORT const char *cvq_piv_auth_reason_name(cvq_piv_auth_reason r);
/* A sentence in English for logs and cvq-admin. */
CVQ_EXPORT const char *cvq_piv_auth_reason_text(cvq_piv_auth_reason r);

typedef struct cvq_piv_authenticity {
	bool authentic;           /* every check below passed */
	cvq_piv_auth_reason reason; /* the first check that failed */
	bool chuid_signed;        /* CHUID signature verified, signer trusted */
	bool secobj_ok;           /* Security Object verified, hashes matched */
	bool cardauth_ok;         /* 9E answered the challenge */
	unsigned objects_hashed;  /* data groups whose hash was compared */
	unsigned objects_skipped; /* mapped objects not readable without PIN */
	char signer[128];         /* content signer's subject (one line), or "" */
	char detail[128];         /* e.g. which object did not match */
} cvq_piv_authenticity;

enum {
	/*
	 * Compare the hashes of the CHUID and the 9E certificate only (the
	 * objects the check reads anyway): the fewest APDUs, for a kiosk at
	 * insertion. Without it every mapped object readable without PIN is
	 * read and compared.
	 */
	CVQ_PIV_AUTH_QUICK = 1u << 0,
};

/*
 * Is the card one that the issuer behind `trust` (its CA certificates,
 * with X509_V_FLAG_PARTIAL_CHAIN if a sub-CA is the anchor) issued? Reads
 * the CHUID (cached), the Security Object and the 9E certificate (cached),
 * and signs a fresh 32-byte challenge with 9E (no PIN). The answer is in
 * *out; CVQ_CARD_OK means the check could be done, whatever its verdict.
 *   errors: those of the card (removed, comm, ...)
 */
CVQ_EXPORT cvq_card_err cvq_piv_authenticate(cvq_card *card, X509_STORE *trust, unsigned flags,
                                  cvq_piv_authenticity *out);

/*
 * Yubico ATTEST (INS F9, P1 = slot): the card's certificate that the key
 * in slot was generated on it, signed by its factory attestation key
 * (slot F9). *cert is a new X509.
 *   CVQ_CARD_ERR_UNSUPPORTED (no attestation), CVQ_CARD_ERR_NOT_FOUND
 *   (no key in slot, or an imported key)
 */
CVQ_EXPORT cvq_card_err cvq_piv_attest(cvq_card *card, uint8_t slot, X509 **cert);

#ifdef __cplusplus
}
#endif
#endif
