/*
 * libcvqca — a profile checker of our own (RFC 5280 rules), run by the
 * tests over every certificate they issue, beside openssl and certtool,
 * and by the CA itself on every to-be-signed form before signing it
 * (ca_check_tbs_der()).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_der.h"
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
	[CVQ_CA_PROFILE_TSA] = {X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_NON_REPUDIATION,
	                        XKU_TIMESTAMP, false},
	/* issue #17: PIV content signer and card authentication; their one
	 * EKU (SP 800-73-4, FIPS 201) is no XKU_* flag: see expect_oid */
	[CVQ_CA_PROFILE_CONTENT_SIGNING] = {X509v3_KU_DIGITAL_SIGNATURE, 0, false},
	[CVQ_CA_PROFILE_CARD_AUTH] = {X509v3_KU_DIGITAL_SIGNATURE, 0, false},
	/* issue #14: the document seal, EKU id-kp-documentSigning (RFC 9336) */
	[CVQ_CA_PROFILE_SEAL] = {X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_NON_REPUDIATION, 0, false},
};

/* The one EKU a profile wants when it is not one of XKU_*. */
static const char *const expect_oid[CVQ_CA_PROFILE__COUNT] = {
	[CVQ_CA_PROFILE_CONTENT_SIGNING] = "2.16.840.1.101.3.6.7",
	[CVQ_CA_PROFILE_CARD_AUTH] = "2.16.840.1.101.3.6.8",
	[CVQ_CA_PROFILE_SEAL] = "1.3.6.1.5.5.7.3.4,1.3.6.1.5.5.7.3.36",
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
		char got[160] = "", one[64];

		/* The profile's OIDs, in its order, comma-separated. */
		for (int k = 0; eku && k < sk_ASN1_OBJECT_num(eku) && k < 2; k++) {
			OBJ_obj2txt(one, sizeof(one), sk_ASN1_OBJECT_value(eku, k), 1);
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "", one);
		}
		if (eku && sk_ASN1_OBJECT_num(eku) > 2)
			got[0] = '\0';
		EXTENDED_KEY_USAGE_free(eku);
		if (strcmp(got, expect_oid[p]) != 0)
			FAIL("extended key usage %s, the profile wants %s", got[0] ? got : "other",
			     expect_oid[p]);
	} else if (xku != e->xku)
		FAIL("extended key usage 0x%x, the profile wants 0x%x", xku, e->xku);
	if (p == CVQ_CA_PROFILE_OCSP_SIGNER && X509_get_ext_by_NID(cert, NID_id_pkix_OCSP_noCheck, -1) < 0)
		FAIL("OCSP signer without id-pkix-ocsp-nocheck");
	/* RFC 3161 2.3: the one EKU, critical. */
	if (p == CVQ_CA_PROFILE_TSA) {
		EXTENDED_KEY_USAGE *x = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
		int nx = x ? sk_ASN1_OBJECT_num(x) : 0;

		sk_ASN1_OBJECT_pop_free(x, ASN1_OBJECT_free);
		if (crit != 1 || nx != 1)
			FAIL("TSA certificate without exactly one critical EKU");
	}
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

/*
 * The same rules on the to-be-signed form, before the CA signs it: the
 * TBSCertificate DER just built (ca_tbs.c), walked here rather than parsed
 * into an X509 — d2i_X509 decodes the public key through a provider
 * decoder, which costs more than the signature (see ca_csr.c). What the
 * issuer's own values say (issuer name, signature algorithm, key
 * identifier, validity) is compared as bytes or times.
 */
static const uint8_t oid_ce[] = {0x55, 0x1d};                   /* 2.5.29 */
static const uint8_t oid_kp[] = {0x2b, 6, 1, 5, 5, 7, 3};       /* id-kp */
static const uint8_t oid_nocheck[] = {0x2b, 6, 1, 5, 5, 7, 0x30, 1, 5};

#define TFAIL(...) do { snprintf(why, why_len, __VA_ARGS__); return CVQ_CA_ERR_POLICY; } while (0)

static bool
tlv(const uint8_t **p, const uint8_t *end, uint8_t want, const uint8_t **c, size_t *n)
{
	uint8_t tag;

	return ca_der_next(p, end, &tag, c, n) && tag == want;
}

/* A Name: one attribute per RDN, each value a string the input policy takes. */
static bool
tbs_name_ok(const uint8_t *c, size_t n, size_t max)
{
	const uint8_t *p = c, *end = c + n, *set, *atv, *q, *qe, *v;
	size_t sl, al, vl, ol;
	uint8_t tag;

	if (n == 0)
		return false;
	while (p < end) {
		if (!tlv(&p, end, 0x31, &set, &sl))
			return false;
		q = set;
		if (!tlv(&q, set + sl, 0x30, &atv, &al) || q != set + sl)
			return false; /* multi-valued RDN */
		qe = atv + al;
		if (!tlv(&atv, qe, 0x06, &v, &ol) || !ca_der_next(&atv, qe, &tag, &v, &vl) || atv != qe)
			return false;
		if ((tag != 0x0c && tag != 0x13 && tag != 0x16) || !ca_policy_text_ok(v, vl, max))
			return false;
	}
	return true;
}

static bool
tbs_time(const uint8_t *p, size_t n, uint8_t tag, ASN1_TIME *t)
{
	t->type = tag == 0x17 ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
	return (tag == 0x17 || tag == 0x18) && ASN1_STRING_set(t, p, (int)n) == 1 && ASN1_TIME_check(t) == 1;
}

/* The extended key usages as OpenSSL's XKU_* bits (unknown ones: ~0). */
static uint32_t
eku_bits(const uint8_t *c, size_t n)
{
	const uint8_t *p = c, *end = c + n, *o;
	uint32_t x = 0;
	size_t ol;

	while (p < end) {
		if (!tlv(&p, end, 0x06, &o, &ol))
			return ~0u;
		if (ol != sizeof(oid_kp) + 1 || memcmp(o, oid_kp, sizeof(oid_kp)) != 0)
			return ~0u;
		switch (o[sizeof(oid_kp)]) {
		case 1: x |= XKU_SSL_SERVER; break;
		case 2: x |= XKU_SSL_CLIENT; break;
		case 3: x |= XKU_CODE_SIGN; break;
		case 4: x |= XKU_SMIME; break;
		case 8: x |= XKU_TIMESTAMP; break;
		case 9: x |= XKU_OCSP_SIGN; break;
		default: return ~0u;
		}
	}
	return x;
}

/* Whether the EKU SEQUENCE content c holds exactly the OIDs of `want`
 * (dotted, comma-separated, in order): the PIV and seal profiles' EKUs
 * have no XKU_* flag. */
static bool
eku_is_only(const uint8_t *c, size_t n, const char *want)
{
	const uint8_t *p = c, *o;
	size_t ol;
	char got[160] = "", one[64];
	int k = 0;

	while (p < c + n && k < 4) {
		const unsigned char *q;
		ASN1_OBJECT *obj;
		unsigned char der[72];

		if (!tlv(&p, c + n, 0x06, &o, &ol) || ol + 2 > sizeof(der) || ol > 127)
			return false;
		der[0] = 0x06;
		der[1] = (unsigned char)ol;
		memcpy(der + 2, o, ol);
		q = der;
		obj = d2i_ASN1_OBJECT(NULL, &q, (long)ol + 2);
		if (!obj)
			return false;
		OBJ_obj2txt(one, sizeof(one), obj, 1);
		ASN1_OBJECT_free(obj);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k++ ? "," : "", one);
	}
	return p == c + n && strcmp(got, want) == 0;
}

cvq_ca_err
ca_check_tbs_der(cvq_ca *ca, enum cvq_ca_profile prof, const uint8_t *tbs, size_t len,
                 char *why, size_t why_len)
{
	const struct expect *e;
	const uint8_t *p = tbs, *end = tbs + len, *c, *q, *qe, *v, *val, *x, *xe, *s;
	const ASN1_OCTET_STRING *issuer_ski = X509_get0_subject_key_id(ca->cert);
	ASN1_TIME *nb = ASN1_TIME_new(), *na = ASN1_TIME_new();
	size_t n, vl, sl, max = ca->cfg->subject_max ? ca->cfg->subject_max : 64;
	bool ku_seen = false, bc_seen = false, ski_seen = false, aki_ok = false, nocheck = false;
	uint32_t ku = 0, xku = 0;
	cvq_ca_err err = CVQ_CA_ERR_POLICY;
	uint8_t tag;
	int crit;

	why[0] = '\0';
	if ((unsigned)prof >= CVQ_CA_PROFILE__COUNT || !nb || !na) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	e = &expects[prof];
#undef FAIL
#define FAIL(...) do { snprintf(why, why_len, __VA_ARGS__); goto out; } while (0)
	if (!tlv(&p, end, 0x30, &c, &n) || p != end)
		FAIL("TBS is not one SEQUENCE");
	p = c;
	end = c + n;
	if (!tlv(&p, end, 0xa0, &v, &vl) || vl != 3 || v[0] != 2 || v[1] != 1 || v[2] != 2)
		FAIL("not a version 3 certificate");
	if (!tlv(&p, end, 0x02, &v, &vl) || vl < 8 || vl > 20 || (v[0] & 0x80) ||
	    (v[0] == 0 && (vl == 1 || !(v[1] & 0x80))))
		FAIL("serial not positive, minimal and 8..20 bytes");
	q = p;
	if (!ca_der_next(&p, end, &tag, &v, &vl) || (size_t)(p - q) != ca->sigalg_len ||
	    memcmp(q, ca->sigalg_der, ca->sigalg_len) != 0)
		FAIL("signature algorithm differs from the CA's");
	q = p;
	if (!ca_der_next(&p, end, &tag, &v, &vl) || (size_t)(p - q) != ca->issuer_len ||
	    memcmp(q, ca->issuer_der, ca->issuer_len) != 0)
		FAIL("issuer name differs from the issuer's subject");
	if (!tlv(&p, end, 0x30, &v, &vl))
		FAIL("no validity");
	q = v;
	qe = v + vl;
	if (!ca_der_next(&q, qe, &tag, &s, &sl) || !tbs_time(s, sl, tag, nb) ||
	    !ca_der_next(&q, qe, &tag, &s, &sl) || !tbs_time(s, sl, tag, na) || q != qe)
		FAIL("validity does not parse");
	if (ASN1_TIME_compare(nb, na) >= 0)
		FAIL("notBefore not before notAfter");
	if (ASN1_TIME_compare(na, X509_get0_notAfter(ca->cert)) > 0)
		FAIL("valid beyond the issuer");
	if (ASN1_TIME_compare(nb, X509_get0_notBefore(ca->cert)) < 0)
		FAIL("valid before the issuer");
	if (!tlv(&p, end, 0x30, &v, &vl) || !tbs_name_ok(v, vl, max))
		FAIL("subject: a multi-valued RDN, a string type or a character the input policy refuses");
	if (!tlv(&p, end, 0x30, &v, &vl))
		FAIL("no public key");
	q = v;
	qe = v + vl;
	/* AlgorithmIdentifier { OID, parameters }: EC parameters must name a curve. */
	if (!tlv(&q, qe, 0x30, &s, &sl))
		FAIL("public key algorithm does not parse");
	{
		const uint8_t *a = s, *ae = s + sl, *o;
		size_t olen;

		if (!tlv(&a, ae, 0x06, &o, &olen))
			FAIL("public key algorithm does not parse");
		if (olen == 7 && memcmp(o, "\x2a\x86\x48\xce\x3d\x02\x01", 7) == 0 &&
		    (!ca_der_next(&a, ae, &tag, &o, &olen) || tag != 0x06))
			FAIL("EC key without a named curve");
	}
	if (!tlv(&p, end, 0xa3, &v, &vl) || p != end)
		FAIL("no extensions, or something after them");
	q = v;
	qe = v + vl;
	if (!tlv(&q, qe, 0x30, &x, &n) || q != qe)
		FAIL("extensions do not parse");
	xe = x + n;
	while (x < xe) {
		const uint8_t *ex, *exe, *oid;
		size_t el, ol;

		if (!tlv(&x, xe, 0x30, &ex, &el))
			FAIL("extensions do not parse");
		exe = ex + el;
		if (!tlv(&ex, exe, 0x06, &oid, &ol))
			FAIL("extensions do not parse");
		crit = 0;
		if (ex < exe && ex[0] == 0x01) {
			if (!tlv(&ex, exe, 0x01, &s, &sl) || sl != 1)
				FAIL("extensions do not parse");
			crit = s[0] != 0;
		}
		if (!tlv(&ex, exe, 0x04, &val, &vl) || ex != exe)
			FAIL("extensions do not parse");
		if (ol == 3 && memcmp(oid, oid_ce, 2) == 0) {
			const uint8_t *w = val, *we = val + vl;

			switch (oid[2]) {
			case 0x0f: /* keyUsage */
				if (!tlv(&w, we, 0x03, &s, &sl) || sl < 2 || sl > 3 || w != we)
					FAIL("key usage does not parse");
				ku = s[1] | (sl > 2 ? (uint32_t)s[2] << 8 : 0);
				ku_seen = true;
				if (!crit)
					FAIL("key usage not critical");
				break;
			case 0x13: /* basicConstraints */
				if (!tlv(&w, we, 0x30, &s, &sl) || w != we)
					FAIL("basic constraints do not parse");
				if (!crit)
					FAIL("basic constraints not critical");
				if ((sl >= 3 && s[0] == 0x01 && s[2] != 0) != e->ca)
					FAIL("cA flag is not what the profile wants (%d)", e->ca);
				bc_seen = true;
				break;
			case 0x25: /* extKeyUsage */
				if (!tlv(&w, we, 0x30, &s, &sl) || w != we)
					FAIL("extended key usage does not parse");
				if (expect_oid[prof]) {
					if (!eku_is_only(s, sl, expect_oid[prof]))
						FAIL("extended key usage is not %s alone", expect_oid[prof]);
					xku = e->xku;
				} else {
					xku = eku_bits(s, sl);
				}
				break;
			case 0x0e: /* subjectKeyIdentifier */
				ski_seen = tlv(&w, we, 0x04, &s, &sl) && sl > 0 && w == we;
				break;
			case 0x23: /* authorityKeyIdentifier: [0] keyIdentifier */
				if (tlv(&w, we, 0x30, &s, &sl) && sl > 2 && s[0] == 0x80 && issuer_ski &&
				    (size_t)s[1] == (size_t)ASN1_STRING_length(issuer_ski) && (size_t)s[1] + 2 <= sl &&
				    memcmp(s + 2, ASN1_STRING_get0_data(issuer_ski), s[1]) == 0)
					aki_ok = true;
				break;
			case 0x11: case 0x1e: case 0x20: case 0x24: case 0x36:
				break; /* SAN, name constraints, policies: known */
			default:
				if (crit)
					FAIL("unknown critical extension");
			}
		} else if (ol == sizeof(oid_nocheck) && memcmp(oid, oid_nocheck, ol) == 0) {
			nocheck = true;
		} else if (crit) {
			FAIL("unknown critical extension");
		}
	}
	if (!bc_seen)
		FAIL("no basic constraints");
	if (!ku_seen)
		FAIL("no key usage");
	if (prof == CVQ_CA_PROFILE_SERVICE)
		ku &= ~(uint32_t)X509v3_KU_KEY_ENCIPHERMENT;
	if (ku != e->ku)
		FAIL("key usage 0x%x, the profile wants 0x%x", ku, e->ku);
	if (xku != e->xku)
		FAIL("extended key usage 0x%x, the profile wants 0x%x", xku, e->xku);
	if (!ski_seen)
		FAIL("no subject key identifier");
	if (!aki_ok)
		FAIL("authority key identifier is not the issuer's key identifier");
	if (prof == CVQ_CA_PROFILE_OCSP_SIGNER && !nocheck)
		FAIL("OCSP signer without id-pkix-ocsp-nocheck");
	err = CVQ_CA_OK;
out:
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	return err;
}
