/*
 * libcvqca — a profile checker of our own (RFC 5280 rules), run by the
 * tests over every certificate they issue, beside openssl and certtool.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_int.h"

struct expect {
	uint32_t ku;     /* X509v3_KU_* exactly */
	uint32_t xku;    /* XKU_* exactly, 0 = no EKU */
	bool ca;
};

static const struct expect expects[CVQ_CA_PROFILE__COUNT] = {
	[CVQ_CA_PROFILE_CITIZEN_AUTH] = {X509v3_KU_DIGITAL_SIGNATURE, XKU_SSL_CLIENT, false},
	[CVQ_CA_PROFILE_CITIZEN_SIGN] = {X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_NON_REPUDIATION,
	                                 XKU_SMIME, false},
	[CVQ_CA_PROFILE_OCSP_SIGNER] = {X509v3_KU_DIGITAL_SIGNATURE, XKU_OCSP_SIGN, false},
	[CVQ_CA_PROFILE_SERVICE] = {X509v3_KU_DIGITAL_SIGNATURE, XKU_SSL_SERVER | XKU_SSL_CLIENT, false},
	[CVQ_CA_PROFILE_SUBCA] = {X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_CERT_SIGN | X509v3_KU_CRL_SIGN,
	                          0, true},
	/* issue #17: PIV content signer and card authentication; their one
	 * EKU (SP 800-73-4, FIPS 201) is no XKU_* flag: see expect_oid */
	[CVQ_CA_PROFILE_CONTENT_SIGNING] = {X509v3_KU_DIGITAL_SIGNATURE, 0, false},
	[CVQ_CA_PROFILE_CARD_AUTH] = {X509v3_KU_DIGITAL_SIGNATURE, 0, false},
};

/* The one EKU a profile wants when it is not one of XKU_*. */
static const char *const expect_oid[CVQ_CA_PROFILE__COUNT] = {
	[CVQ_CA_PROFILE_CONTENT_SIGNING] = "2.16.840.1.101.3.6.7",
	[CVQ_CA_PROFILE_CARD_AUTH] = "2.16.840.1.101.3.6.8",
};

#define FAIL(...) do { snprintf(why, why_len, __VA_ARGS__); err = CVQ_CA_ERR_POLICY; goto out; } while (0)

cvq_ca_err
cvq_ca_check_profile(X509 *cert, X509 *issuer, enum cvq_ca_profile p, char *why, size_t why_len)
{
	const struct expect *e;
	const ASN1_INTEGER *serial;
	const ASN1_OCTET_STRING *ski, *aki_id, *issuer_ski;
	BIGNUM *bn = NULL;
	cvq_ca_err err = CVQ_CA_OK;
	uint32_t ku, xku;
	int i, n, crit;
	char dummy[1];

	if (!why || !why_len) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	why[0] = '\0';
	if (!cert || !issuer || (unsigned)p >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	e = &expects[p];
	/* Caches the extensions and flags EXFLAG_INVALID on bad ones. */
	if (X509_check_purpose(cert, -1, 0) != 1 || (X509_get_extension_flags(cert) & EXFLAG_INVALID))
		FAIL("extensions do not parse");
	if (X509_get_version(cert) != X509_VERSION_3)
		FAIL("not a version 3 certificate");
	serial = X509_get0_serialNumber(cert);
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (!bn || BN_is_negative(bn) || BN_is_zero(bn))
		FAIL("serial not positive");
	if (BN_num_bytes(bn) < 8 || BN_num_bytes(bn) > 20)
		FAIL("serial of %d bytes (8..20 wanted)", BN_num_bytes(bn));
	if (X509_verify(cert, X509_get0_pubkey(issuer)) != 1)
		FAIL("signature does not verify with the issuer's key");
	if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
		FAIL("issuer name differs from the issuer's subject");
	if (ASN1_TIME_compare(X509_get0_notBefore(cert), X509_get0_notAfter(cert)) >= 0)
		FAIL("notBefore not before notAfter");
	if (ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(issuer)) > 0)
		FAIL("valid beyond the issuer");
	if (ASN1_TIME_compare(X509_get0_notBefore(cert), X509_get0_notBefore(issuer)) < 0)
		FAIL("valid before the issuer");
	ski = X509_get0_subject_key_id(cert);
	if (!ski || ski->length == 0)
		FAIL("no subject key identifier");
	aki_id = X509_get0_authority_key_id(cert);
	issuer_ski = X509_get0_subject_key_id(issuer);
	if (!aki_id || !issuer_ski || ASN1_OCTET_STRING_cmp(aki_id, issuer_ski) != 0)
		FAIL("authority key identifier is not the issuer's key identifier");
	{
		BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
		bool is_ca = bc && bc->ca;

		BASIC_CONSTRAINTS_free(bc);
		if (!bc)
			FAIL("no basic constraints");
		if (crit != 1)
			FAIL("basic constraints not critical");
		if (is_ca != e->ca)
			FAIL("cA flag is %d, the profile wants %d", is_ca, e->ca);
	}
	ku = X509_get_key_usage(cert);
	if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE))
		FAIL("no key usage");
	{
		ASN1_BIT_STRING *k = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL);

		ASN1_BIT_STRING_free(k);
		if (crit != 1)
			FAIL("key usage not critical");
	}
	/* RSA service keys may also encipher (TLS key transport). */
	if (p == CVQ_CA_PROFILE_SERVICE)
		ku &= ~(uint32_t)X509v3_KU_KEY_ENCIPHERMENT;
	if (ku != e->ku)
		FAIL("key usage 0x%x, the profile wants 0x%x", ku, e->ku);
	xku = (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ? X509_get_extended_key_usage(cert) : 0;
	if (expect_oid[p]) {
		EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
		char got[64] = "";

		if (eku && sk_ASN1_OBJECT_num(eku) == 1)
			OBJ_obj2txt(got, sizeof(got), sk_ASN1_OBJECT_value(eku, 0), 1);
		EXTENDED_KEY_USAGE_free(eku);
		if (strcmp(got, expect_oid[p]) != 0)
			FAIL("extended key usage %s, the profile wants %s", got[0] ? got : "other",
			     expect_oid[p]);
	} else if (xku != e->xku)
		FAIL("extended key usage 0x%x, the profile wants 0x%x", xku, e->xku);
	if (p == CVQ_CA_PROFILE_OCSP_SIGNER && X509_get_ext_by_NID(cert, NID_id_pkix_OCSP_noCheck, -1) < 0)
		FAIL("OCSP signer without id-pkix-ocsp-nocheck");
	n = X509_get_ext_count(cert);
	for (i = 0; i < n; i++) {
		X509_EXTENSION *x = X509_get_ext(cert, i);

		if (X509_EXTENSION_get_critical(x) && !X509_supported_extension(x))
			FAIL("unknown critical extension");
	}
out:
	ERR_clear_error();
	BN_free(bn);
	return err;
}
