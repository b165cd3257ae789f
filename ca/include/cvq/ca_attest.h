/*
 * libcvqca — PIV key attestation (issue #13), the CA side.
 *
 * A card proves that a key was generated on it, never imported, the way
 * YubiKeys do: the card holds a factory attestation key and certificate in
 * slot F9 (the "F9 certificate", issued by an attestation root the city
 * configures), and the ATTEST instruction (INS 0xF9, P1 = slot) returns a
 * certificate signed by the F9 key whose public key is the slot's key.
 *
 * The attestation certificate follows Yubico's format:
 *   subject CN = "YubiKey PIV Attestation XX" (XX: the slot, hex; any
 *                prefix is accepted, the last two hex digits are the slot)
 *   issuer     = the F9 certificate's subject, signed by the F9 key
 *   1.3.6.1.4.1.41482.3.3  firmware version, OCTET STRING of 3 bytes
 *   1.3.6.1.4.1.41482.3.7  serial number, INTEGER
 *   1.3.6.1.4.1.41482.3.8  PIN policy, touch policy: OCTET STRING of 2 bytes
 *   1.3.6.1.4.1.41482.3.9  form factor, OCTET STRING of 1 byte
 * and may carry cvq's own
 *   1.3.6.1.4.1.55555.13.1 the card's CHUID GUID, OCTET STRING of 16 bytes
 * which, when present, must name the card the certificate is asked for.
 *
 * Roots: [attest] roots = a PEM file of attestation roots in the CA
 * configuration (docs/ca.md). The F9 certificate must chain to one of them
 * (an intermediate between a root and F9 goes in the same file).
 */
#ifndef CVQ_CA_ATTEST_H
#define CVQ_CA_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/ca.h>
#include <cvq/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CVQ_CA_ATTEST_OID_FIRMWARE "1.3.6.1.4.1.41482.3.3"
#define CVQ_CA_ATTEST_OID_SERIAL   "1.3.6.1.4.1.41482.3.7"
#define CVQ_CA_ATTEST_OID_POLICY   "1.3.6.1.4.1.41482.3.8"
#define CVQ_CA_ATTEST_OID_FORM     "1.3.6.1.4.1.41482.3.9"
#define CVQ_CA_ATTEST_OID_GUID     "1.3.6.1.4.1.55555.13.1"

/* Yubico's PIN and touch policy values (extension .3.8). */
enum {
	CVQ_CA_ATTEST_PIN_DEFAULT = 0, CVQ_CA_ATTEST_PIN_NEVER = 1,
	CVQ_CA_ATTEST_PIN_ONCE = 2, CVQ_CA_ATTEST_PIN_ALWAYS = 3,
};

/* What a valid attestation says. */
struct cvq_ca_attest_info {
	int slot;                  /* 0x9a, 0x9c, 0x9d, 0x9e, 0x82..0x95 */
	uint8_t firmware[3];       /* major, minor, patch; 0 when absent */
	uint64_t serial;           /* the card's serial; 0 when absent */
	bool has_serial;
	uint8_t pin_policy;        /* CVQ_CA_ATTEST_PIN_*; 0 when absent */
	uint8_t touch_policy;
	uint8_t form_factor;
	char guid[33];             /* upper-case hex; empty when absent */
	char f9_subject[256];      /* RFC 2253 subject of the F9 certificate */
	uint8_t f9_sha256[32];     /* fingerprint of the F9 certificate */
};

/* struct cvq_ca_attest (the card's attestation and F9 certificates and the
 * slot) is in ca.h, beside struct cvq_ca_issue_req that points to it. */

/*
 * Check that `key` (the CSR's or the card's public key) is the key that
 * `attest_der` attests for `slot`: the attestation certificate parses, is
 * signed by the F9 certificate's key, names that slot, carries `key` as
 * its public key; the F9 certificate chains to the configured attestation
 * roots (CVQ_CA_ERR_CONFIG when none are configured). Neither certificate's
 * validity period is checked (YubiKey attestations are not renewed); the
 * roots' are not either: a factory root vouches for keys made while it
 * was trusted, and is removed from the file when no longer trusted.
 *
 * CVQ_CA_ERR_REQUEST: a certificate does not parse or lacks what it must
 * hold; CVQ_CA_ERR_POP: the signature, chain, slot or key does not match.
 * cvq_ca_errmsg(ca) says which. `out` may be NULL.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_attest_verify(cvq_ca *ca,
                                           const uint8_t *attest_der, size_t attest_len,
                                           const uint8_t *f9_cert_der, size_t f9_len,
                                           EVP_PKEY *key, int slot,
                                           struct cvq_ca_attest_info *out);

/*
 * The same against roots given by the caller (no CA handle: the card's own
 * tests, a counter's pre-check). `roots` holds the trust anchors; an
 * intermediate between a root and F9 must be in `roots` too. why[] gets
 * the reason of a failure.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_attest_verify_store(X509_STORE *roots,
                                                 const uint8_t *attest_der, size_t attest_len,
                                                 const uint8_t *f9_cert_der, size_t f9_len,
                                                 EVP_PKEY *key, int slot,
                                                 struct cvq_ca_attest_info *out,
                                                 char *why, size_t why_len);

/*
 * Issuance with attestation: struct cvq_ca_issue_req gains
 *     const struct cvq_ca_attest *attest;
 * (ca.h). For the citizen profiles the CA then calls cvq_ca_attest_verify()
 * on the request's key and slot, checks the GUID extension (when present)
 * against req->card_guid, and refuses with CVQ_CA_ERR_POLICY when attest
 * is NULL unless the configuration's `[attest] unattested = admit` policy
 * says otherwise (audited as "attest.waived" on every such issuance).
 */

#ifdef __cplusplus
}
#endif
#endif
