/*
 * libcvqverify — is this a citizen signature certificate? The profile is
 * the CA's CITIZEN_SIGN (ca/src/ca_profile.c): key usage digitalSignature
 * and nonRepudiation, EKU emailProtection, CA:FALSE, and the city's policy.
 * The authentication certificate (9A: digitalSignature, clientAuth), a
 * service, an OCSP signer or a TSA certificate fail it: their keys sign
 * logins and protocol messages, never a citizen's commitment.
 */
#include <openssl/x509v3.h>

#include "verify_int.h"

static bool has_policy(X509 *x, const ASN1_OBJECT *want)
{
	CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	bool found = false;

	for (int i = 0; pols && i < sk_POLICYINFO_num(pols); i++)
		if (OBJ_cmp(sk_POLICYINFO_value(pols, i)->policyid, want) == 0)
			found = true;
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	return found;
}

/* id-kp-documentSigning (RFC 9336): OpenSSL 3.0 has no NID for it. */
static bool has_document_signing(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	ASN1_OBJECT *want = OBJ_txt2obj("1.3.6.1.5.5.7.3.36", 1);
	bool found = false;

	for (int i = 0; eku && want && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0)
			found = true;
	ASN1_OBJECT_free(want);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return found;
}

cvq_verify_err vfy_profile(const cvq_verify_ctx *ctx, X509 *x, cvq_verify_result *r)
{
	const uint32_t ku = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
	uint32_t flags = X509_get_extension_flags(x);

	if (flags & EXFLAG_INVALID)
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT, "the signer's certificate has invalid extensions");
	if (flags & EXFLAG_CA)
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT, "the signer's certificate is a CA certificate");
	if (!(flags & EXFLAG_KUSAGE) || (X509_get_key_usage(x) & ku) != ku)
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the signer's certificate lacks key usage digitalSignature and nonRepudiation");
	if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_SMIME))
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the signer's certificate lacks extended key usage emailProtection");
	/* The city's seal carries emailProtection for PDF readers; it signs
	 * documents in the city's name, never a citizen's receipt. */
	if (has_document_signing(x))
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the signer's certificate is a document seal, not a citizen's");
	if (ctx->policy && !has_policy(x, ctx->policy)) {
		char oid[80];
		OBJ_obj2txt(oid, sizeof oid, ctx->policy, 1);
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the signer's certificate lacks the policy %s", oid);
	}
	return CVQ_VERIFY_OK;
}

cvq_verify_err vfy_profile_seal(const cvq_verify_ctx *ctx, X509 *x, cvq_verify_result *r)
{
	const uint32_t ku = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
	uint32_t flags = X509_get_extension_flags(x);

	if (flags & EXFLAG_INVALID)
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT, "the seal certificate has invalid extensions");
	if (flags & EXFLAG_CA)
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT, "the seal certificate is a CA certificate");
	if (!(flags & EXFLAG_KUSAGE) || (X509_get_key_usage(x) & ku) != ku)
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the seal certificate lacks key usage digitalSignature and nonRepudiation");
	if (!has_document_signing(x))
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the certificate is not a document seal (no extended key usage documentSigning)");
	if (ctx->policy && !has_policy(x, ctx->policy)) {
		char oid[80];
		OBJ_obj2txt(oid, sizeof oid, ctx->policy, 1);
		return vfy_fail(r, CVQ_VERIFY_ERR_NOT_SIGNING_CERT,
		                "the seal certificate lacks the policy %s", oid);
	}
	return CVQ_VERIFY_OK;
}
