/*
 * libcvqca — building and signing a certificate for a profile: random
 * serial, validity inside the CA's, extensions per profile and from the
 * configuration (policy, CRL distribution point, AIA).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_int.h"

cvq_ca_err
ca_random_serial(ASN1_INTEGER **out)
{
	/* 16 bytes from the CSPRNG; the top bit cleared so the integer is
	 * positive, the next one set so it always takes 16 bytes: 126 random
	 * bits, far above the 64 of the CA/Browser Forum rules. */
	uint8_t b[16];
	BIGNUM *bn;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return CVQ_CA_ERR_CRYPTO;
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	*out = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	BN_free(bn);
	return *out ? CVQ_CA_OK : CVQ_CA_ERR_NOMEM;
}

time_t
ca_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

cvq_ca_err
ca_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext) {
		ERR_clear_error();
		return CVQ_CA_ERR_CONFIG;
	}
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? CVQ_CA_OK : CVQ_CA_ERR_NOMEM;
}

/* certificatePolicies by hand: the string form needs a config database. */
static cvq_ca_err
add_policy(X509 *x, const char *oid)
{
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int ok = 0;

	if (pols && pi && obj) {
		ASN1_OBJECT_free(pi->policyid);
		pi->policyid = obj;
		obj = NULL;
		if (sk_POLICYINFO_push(pols, pi)) {
			pi = NULL;
			ok = X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, X509V3_ADD_DEFAULT);
		}
	}
	ASN1_OBJECT_free(obj);
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	ERR_clear_error();
	return ok == 1 ? CVQ_CA_OK : CVQ_CA_ERR_CONFIG;
}

/*
 * Copy a SubjectPublicKeyInfo as is. X509_set_pubkey() would re-encode the
 * key through OpenSSL 3's decoders, the costliest step of issuance.
 */
static bool
copy_spki(X509 *x, const X509_PUBKEY *from)
{
	const unsigned char *pk;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *aobj, *pobj;
	const void *pval;
	ASN1_OBJECT *a = NULL;
	void *param = NULL;
	unsigned char *enc;
	int pklen, ptype;

	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, (X509_ALGOR **)&alg, (X509_PUBKEY *)from))
		return false;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	if (ptype == V_ASN1_OBJECT) {
		pobj = pval;
		param = OBJ_dup(pobj);
		if (!param)
			return false;
	} else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
		return false;
	}
	a = OBJ_dup(aobj);
	enc = OPENSSL_memdup(pk, (size_t)pklen);
	if (!a || !enc || !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), a, ptype, param, enc, pklen)) {
		ASN1_OBJECT_free(a);
		ASN1_OBJECT_free(param);
		OPENSSL_free(enc);
		return false;
	}
	return true;
}

/* The extensions that are the same for every certificate of a profile. */
static cvq_ca_err
build_template(cvq_ca *ca, enum cvq_ca_profile p, bool rsa, X509 **out, int *npre)
{
	const struct cvq_ca_config *c = ca->cfg;
	char buf[1024];
	cvq_ca_err err;
	X509 *x = X509_new();

	*out = NULL;
	if (!x)
		return CVQ_CA_ERR_NOMEM;
#define ADD(nid, v) do { err = ca_add_ext(x, ca->cert, (nid), (v)); \
	if (err != CVQ_CA_OK) { ca_fail(ca, err, "extension %s=%s", OBJ_nid2sn(nid), (v)); goto fail; } } while (0)
	switch (p) {
	case CVQ_CA_PROFILE_SUBCA:
		ADD(NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
		ADD(NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
		break;
	case CVQ_CA_PROFILE_CITIZEN_AUTH:
		ADD(NID_basic_constraints, "critical,CA:FALSE");
		ADD(NID_key_usage, "critical,digitalSignature");
		ADD(NID_ext_key_usage, "clientAuth");
		break;
	case CVQ_CA_PROFILE_CITIZEN_SIGN:
		ADD(NID_basic_constraints, "critical,CA:FALSE");
		ADD(NID_key_usage, "critical,digitalSignature,nonRepudiation");
		ADD(NID_ext_key_usage, "emailProtection");
		break;
	case CVQ_CA_PROFILE_OCSP_SIGNER:
		ADD(NID_basic_constraints, "critical,CA:FALSE");
		ADD(NID_key_usage, "critical,digitalSignature");
		ADD(NID_ext_key_usage, "OCSPSigning");
		ADD(NID_id_pkix_OCSP_noCheck, "ignored");
		break;
	case CVQ_CA_PROFILE_SERVICE:
		ADD(NID_basic_constraints, "critical,CA:FALSE");
		ADD(NID_key_usage, rsa ? "critical,digitalSignature,keyEncipherment"
		                       : "critical,digitalSignature");
		ADD(NID_ext_key_usage, "serverAuth,clientAuth");
		break;
	default:
		err = CVQ_CA_ERR_ARG;
		goto fail;
	}
	*npre = X509_get_ext_count(x);
	ADD(NID_authority_key_identifier, "keyid:always");
	if (c->policy_oid && add_policy(x, c->policy_oid) != CVQ_CA_OK) {
		err = ca_fail(ca, CVQ_CA_ERR_CONFIG, "bad policy OID %s", c->policy_oid);
		goto fail;
	}
	if (c->crl_url && p != CVQ_CA_PROFILE_OCSP_SIGNER) {
		snprintf(buf, sizeof(buf), "URI:%s", c->crl_url);
		ADD(NID_crl_distribution_points, buf);
	}
	buf[0] = '\0';
	/* An OCSP signer is not itself checked by OCSP (ocsp-nocheck). */
	if (c->ocsp_url && p != CVQ_CA_PROFILE_OCSP_SIGNER)
		snprintf(buf, sizeof(buf), "OCSP;URI:%s", c->ocsp_url);
	if (c->issuers_url)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%scaIssuers;URI:%s",
		         buf[0] ? "," : "", c->issuers_url);
	if (buf[0])
		ADD(NID_info_access, buf);
#undef ADD
	*out = x;
	return CVQ_CA_OK;
fail:
	X509_free(x);
	return err;
}

cvq_ca_err
ca_profile_warm(cvq_ca *ca, enum cvq_ca_profile p)
{
	cvq_ca_err err;
	int r;

	if ((unsigned)p >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	for (r = 0; r < 2; r++) {
		if (ca->tmpl[p][r].x)
			continue;
		err = build_template(ca, p, r == 1, &ca->tmpl[p][r].x, &ca->tmpl[p][r].npre);
		if (err != CVQ_CA_OK)
			return err;
	}
	return CVQ_CA_OK;
}

void
ca_profile_free(cvq_ca *ca)
{
	int p, r;

	for (p = 0; p < CVQ_CA_PROFILE__COUNT; p++)
		for (r = 0; r < 2; r++)
			X509_free(ca->tmpl[p][r].x);
}

static cvq_ca_err
add_profile_exts(cvq_ca *ca, cvq_ca *log, X509 *x, const struct cvq_ca_issue_req *req,
                 EVP_PKEY *pub)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *ski = NULL;
	char buf[300];
	cvq_ca_err err;
	X509 *t;
	int i, n, npre, ok;
	bool rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;

	if ((unsigned)req->profile >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	/* Built by the calling thread when not yet there; batch threads find
	 * them built (ca_profile_warm() before they start). */
	if (!ca->tmpl[req->profile][rsa].x) {
		if (!log)
			return CVQ_CA_ERR_ARG;
		err = ca_profile_warm(ca, req->profile);
		if (err != CVQ_CA_OK)
			return err;
	}
	t = ca->tmpl[req->profile][rsa].x;
	npre = ca->tmpl[req->profile][rsa].npre;
	n = X509_get_ext_count(t);
	for (i = 0; i < npre; i++)
		if (!X509_add_ext(x, X509_get_ext(t, i), -1))
			return CVQ_CA_ERR_NOMEM;
	if (req->dns_name) {
		if (strpbrk(req->dns_name, ",:\n") || strlen(req->dns_name) > 253)
			return ca_fail(log, CVQ_CA_ERR_REQUEST, "bad DNS name");
		snprintf(buf, sizeof(buf), "DNS:%s", req->dns_name);
		err = ca_add_ext(x, ca->cert, NID_subject_alt_name, buf);
		if (err != CVQ_CA_OK)
			return ca_fail(log, err, "bad DNS name");
	}
	/* SKI: SHA-1 of the public key bits (RFC 5280 4.2.1.2 method 1). */
	ski = ASN1_OCTET_STRING_new();
	ok = ski && X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) &&
	     ASN1_OCTET_STRING_set(ski, md, (int)mdlen) &&
	     X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) == 1;
	ASN1_OCTET_STRING_free(ski);
	if (!ok)
		return CVQ_CA_ERR_CRYPTO;
	for (i = npre; i < n; i++)
		if (!X509_add_ext(x, X509_get_ext(t, i), -1))
			return CVQ_CA_ERR_NOMEM;
	return CVQ_CA_OK;
}

cvq_ca_err
ca_cert_make(cvq_ca *ca, cvq_ca *log, const struct cvq_ca_issue_req *req, X509_NAME *subject,
             EVP_PKEY *pub, const X509_PUBKEY *spki, X509 **out)
{
	ASN1_INTEGER *serial = NULL;
	X509 *x = NULL;
	cvq_ca_err err;
	time_t now = time(NULL), end, ca_end;
	unsigned days;

	*out = NULL;
	if (!ca->key)
		return ca_fail(log, CVQ_CA_ERR_KEY, "the CA was opened without its key");
	if ((unsigned)req->profile >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	days = req->days ? req->days : ca->cfg->days[req->profile];
	end = now + (time_t)days * 86400;
	/* Never beyond the CA: a certificate outliving its issuer. */
	ca_end = ca_asn1_time(X509_get0_notAfter(ca->cert));
	if (ca_end && end > ca_end)
		end = ca_end;
	if (end <= now)
		return ca_fail(log, CVQ_CA_ERR_POLICY, "the CA certificate has expired");
	x = X509_new();
	if (!x)
		return CVQ_CA_ERR_NOMEM;
	err = ca_random_serial(&serial);
	if (err != CVQ_CA_OK)
		goto out;
	err = CVQ_CA_ERR_CRYPTO;
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_serialNumber(x, serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    !X509_set_subject_name(x, subject) ||
	    !(spki ? copy_spki(x, spki) : X509_set_pubkey(x, pub)) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), end))
		goto out;
	err = add_profile_exts(ca, log, x, req, pub);
	if (err != CVQ_CA_OK)
		goto out;
	if (!X509_sign(x, ca->key, ca_key_md(ca->key))) {
		err = ca_fail(log, CVQ_CA_ERR_CRYPTO, "signing the certificate failed");
		goto out;
	}
	*out = x;
	x = NULL;
	err = CVQ_CA_OK;
out:
	ERR_clear_error();
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return err;
}
