/*
 * Yubico PIV attestation (issue #13): ATTEST (INS F9, P1 = slot) answers a
 * certificate, signed by the factory attestation key in slot F9, that the
 * slot's key was generated on this card. As on a YubiKey:
 *   subject  CN=YubiKey PIV Attestation <slot>
 *   issuer   the F9 certificate's subject (object 5FFF01)
 *   validity the F9 certificate's
 *   1.3.6.1.4.1.41482.3.3  firmware version (3 bytes)
 *   1.3.6.1.4.1.41482.3.7  serial number (INTEGER)
 *   1.3.6.1.4.1.41482.3.8  PIN policy, touch policy (2 bytes)
 *   1.3.6.1.4.1.41482.3.9  form factor (1 byte)
 * and cvq's 1.3.6.1.4.1.55555.13.1, the CHUID's GUID, when the card has one.
 * An imported key (FE) is never attested (6A80); a card without an F9 key
 * and certificate has no attestation (6D00).
 */
#include <string.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "card_int.h"
#include "cvq/card_tlv.h"

/* What the card enforces (piv_keys.c): 9C always, 9E never, others once. */
static uint8_t
pin_policy(uint8_t ref)
{
	return ref == 0x9C ? 3 : ref == 0x9E ? 1 : 2;
}

static bool
add_raw_ext(X509 *x, const char *oid, const uint8_t *v, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	bool ok = false;

	if (obj && os && ASN1_OCTET_STRING_set(os, v, (int)len) == 1 &&
	    (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) != NULL)
		ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok;
}

/* The F9 certificate: the value of 5FFF01 is 70 DER [71 ..] [FE ..]. */
static X509 *
f9_cert(struct vc_card *c)
{
	struct vc_obj *o = vc_obj_find(c, VC_OBJ_ATTEST);
	const unsigned char *p;
	cvq_card_tlv t;
	X509 *x;

	if (o == NULL || cvq_card_tlv_find(o->data, o->len, 0x70, &t) != CVQ_CARD_OK)
		return NULL;
	p = t.value;
	x = d2i_X509(NULL, &p, (long)t.len);
	if (x != NULL && p != t.value + t.len) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

static bool
add_exts(struct vc_card *c, X509 *x, uint8_t ref)
{
	static const uint8_t fw[3] = {5, 4, 3}, form[1] = {0x01};
	uint8_t pol[2] = {pin_policy(ref), 0x01};
	struct vc_obj *chuid = vc_obj_find(c, 0x5FC102u);
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	unsigned char *der = NULL;
	cvq_card_tlv g;
	bool ok;
	int n;

	ok = i && ASN1_INTEGER_set_uint64(i, c->serial) == 1 &&
	     (n = i2d_ASN1_INTEGER(i, &der)) > 0 &&
	     add_raw_ext(x, "1.3.6.1.4.1.41482.3.3", fw, sizeof(fw)) &&
	     add_raw_ext(x, "1.3.6.1.4.1.41482.3.7", der, (size_t)n) &&
	     add_raw_ext(x, "1.3.6.1.4.1.41482.3.8", pol, sizeof(pol)) &&
	     add_raw_ext(x, "1.3.6.1.4.1.41482.3.9", form, sizeof(form));
	if (ok && chuid != NULL &&
	    cvq_card_tlv_find(chuid->data, chuid->len, 0x34, &g) == CVQ_CARD_OK && g.len == 16)
		ok = add_raw_ext(x, "1.3.6.1.4.1.55555.13.1", g.value, g.len);
	OPENSSL_free(der);
	ASN1_INTEGER_free(i);
	return ok;
}

uint16_t
vc_attest(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	int idx = vc_key_index(a->p1), f9 = vc_key_index(VC_REF_ATTEST);
	struct vc_key *k;
	X509 *issuer = NULL, *x = NULL;
	unsigned char *der = NULL, sn[16];
	char cn[40];
	BIGNUM *bn = NULL;
	uint16_t sw = SW_NO_PRECISE;
	int n;

	if (idx < 0 || a->p1 == VC_REF_ATTEST || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	k = &c->keys[idx];
	if (c->keys[f9].pkey == NULL || (issuer = f9_cert(c)) == NULL)
		return SW_INS_NOT_SUPP;
	if (k->pkey == NULL) {
		sw = SW_REF_NOT_FOUND;
		goto out;
	}
	if (k->imported) {
		sw = SW_WRONG_DATA;
		goto out;
	}
	snprintf(cn, sizeof(cn), "YubiKey PIV Attestation %02x", a->p1);
	if (RAND_bytes(sn, sizeof(sn)) != 1)
		goto out;
	sn[0] &= 0x7F;
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    (bn = BN_bin2bn(sn, sizeof(sn), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                               (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 ||
	    X509_set1_notBefore(x, X509_get0_notBefore(issuer)) != 1 ||
	    X509_set1_notAfter(x, X509_get0_notAfter(issuer)) != 1 ||
	    X509_set_pubkey(x, k->pkey) != 1 || !add_exts(c, x, a->p1) ||
	    X509_sign(x, c->keys[f9].pkey, EVP_sha256()) <= 0 ||
	    (n = i2d_X509(x, &der)) <= 0)
		goto out;
	vc_buf_add(out, der, (size_t)n);
	sw = SW_OK;
out:
	OPENSSL_free(der);
	BN_free(bn);
	X509_free(x);
	X509_free(issuer);
	return sw;
}
