/*
 * libcvqca — building and signing a certificate for a profile: random
 * serial, validity inside the CA's, extensions per profile and from the
 * configuration (policy, CRL distribution point, AIA).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_der.h"
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
 * Issue #17, the PIV card profile: the content signer that signs CHUIDs
 * and Security Objects at enrolment, and the card authentication key (9E)
 * readers challenge without a PIN. EKUs from SP 800-73-4 / FIPS 201-3
 * (id-PIV-content-signing, id-PIV-cardAuth); OpenSSL has no short names
 * for them, so they go in as OIDs.
 */
static cvq_ca_err
piv_template(cvq_ca *ca, enum cvq_ca_profile p, X509 *x)
{
	const char *eku, *ku = "critical,digitalSignature";
	cvq_ca_err err;

	switch (p) {
	case CVQ_CA_PROFILE_CONTENT_SIGNING: eku = "2.16.840.1.101.3.6.7"; break;
	case CVQ_CA_PROFILE_CARD_AUTH: eku = "2.16.840.1.101.3.6.8"; break;
	/* Issue #14: the city's seal commits the city (nonRepudiation). Its
	 * EKUs: id-kp-documentSigning (RFC 9336) says what it is for;
	 * emailProtection is what PDF readers on NSS (poppler, Firefox) and
	 * Adobe's trust list demand of a document signer. A seal can still
	 * make no receipt: libcvqverify refuses documentSigning there. */
	case CVQ_CA_PROFILE_SEAL:
		eku = "emailProtection,1.3.6.1.5.5.7.3.36";
		ku = "critical,digitalSignature,nonRepudiation";
		break;
	default: return CVQ_CA_ERR_ARG;
	}
	err = ca_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
	if (err == CVQ_CA_OK)
		err = ca_add_ext(x, ca->cert, NID_key_usage, ku);
	if (err == CVQ_CA_OK)
		err = ca_add_ext(x, ca->cert, NID_ext_key_usage, eku);
	if (err != CVQ_CA_OK)
		ca_fail(ca, err, "extensions of profile %s", cvq_ca_profile_name(p));
	return err;
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
	case CVQ_CA_PROFILE_TSA:
		/* RFC 3161 2.3: id-kp-timeStamping only, critical. */
		ADD(NID_basic_constraints, "critical,CA:FALSE");
		ADD(NID_key_usage, "critical,digitalSignature,nonRepudiation");
		ADD(NID_ext_key_usage, "critical,timeStamping");
		break;
	default:
		err = piv_template(ca, p, x);
		if (err != CVQ_CA_OK)
			goto fail;
		break;
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

/* Extensions [from, to) of x as concatenated DER. */
static cvq_ca_err
exts_der(X509 *x, int from, int to, uint8_t **out, size_t *len)
{
	struct ca_dbuf b = {0};
	unsigned char *d;
	int i, n;

	for (i = from; i < to; i++) {
		d = NULL;
		n = i2d_X509_EXTENSION(X509_get_ext(x, i), &d);
		if (n <= 0) {
			ca_dbuf_free(&b);
			return CVQ_CA_ERR_CRYPTO;
		}
		ca_dbuf_put(&b, d, (size_t)n);
		OPENSSL_free(d);
	}
	if (b.fail) {
		ca_dbuf_free(&b);
		return CVQ_CA_ERR_NOMEM;
	}
	*out = b.p;
	*len = b.len;
	return CVQ_CA_OK;
}

/* What every certificate of this CA carries: the issuer and the signature algorithm. */
static cvq_ca_err
warm_issuer(cvq_ca *ca)
{
	X509_ALGOR *alg = NULL;
	unsigned char *d = NULL;
	int sig_nid, n, base = EVP_PKEY_get_base_id(ca->key);

	if (ca->issuer_der)
		return CVQ_CA_OK;
	if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(ca_key_md(ca->key)), base))
		return ca_fail(ca, CVQ_CA_ERR_UNSUPPORTED, "no signature algorithm for the CA key");
	alg = X509_ALGOR_new();
	/* RFC 5758: no parameters for ECDSA; RFC 4055: NULL for RSA. */
	if (!alg || !X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid),
	                             base == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) ||
	    (n = i2d_X509_ALGOR(alg, &d)) <= 0) {
		X509_ALGOR_free(alg);
		return CVQ_CA_ERR_CRYPTO;
	}
	X509_ALGOR_free(alg);
	ca->sigalg_der = d;
	ca->sigalg_len = (size_t)n;
	d = NULL;
	n = i2d_X509_NAME(X509_get_subject_name(ca->cert), &d);
	if (n <= 0)
		return CVQ_CA_ERR_CRYPTO;
	ca->issuer_der = d;
	ca->issuer_len = (size_t)n;
	return CVQ_CA_OK;
}

cvq_ca_err
ca_profile_warm(cvq_ca *ca, enum cvq_ca_profile p)
{
	cvq_ca_err err;
	int r;

	if ((unsigned)p >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	if (!ca->key)
		return ca_fail(ca, CVQ_CA_ERR_KEY, "the CA was opened without its key");
	err = warm_issuer(ca);
	if (err != CVQ_CA_OK)
		return err;
	for (r = 0; r < 2; r++) {
		X509 *x;

		if (ca->tmpl[p][r].post)
			continue;
		if (!ca->tmpl[p][r].x) {
			err = build_template(ca, p, r == 1, &ca->tmpl[p][r].x, &ca->tmpl[p][r].npre);
			if (err != CVQ_CA_OK)
				return err;
		}
		x = ca->tmpl[p][r].x;
		err = exts_der(x, 0, ca->tmpl[p][r].npre, &ca->tmpl[p][r].pre, &ca->tmpl[p][r].pre_len);
		if (err == CVQ_CA_OK)
			err = exts_der(x, ca->tmpl[p][r].npre, X509_get_ext_count(x),
			               &ca->tmpl[p][r].post, &ca->tmpl[p][r].post_len);
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
		for (r = 0; r < 2; r++) {
			X509_free(ca->tmpl[p][r].x);
			free(ca->tmpl[p][r].pre);
			free(ca->tmpl[p][r].post);
		}
	OPENSSL_free(ca->issuer_der);
	OPENSSL_free(ca->sigalg_der);
}

cvq_ca_err
ca_san_der(X509 *issuer, const char *dns_name, uint8_t **der, size_t *len)
{
	return ca_san_names_der(issuer, dns_name, NULL, der, len);
}

/* ---- rfc822Name (issue #15): the citizen's e-mail in the 9C certificate ---- */

bool
ca_email_ok(const char *e)
{
	const char *at = e ? strchr(e, '@') : NULL;
	size_t n = e ? strlen(e) : 0;

	if (!at || at == e || !at[1] || strchr(at + 1, '@') || n > 254)
		return false;
	/* Printable ASCII only, and nothing the config-string form splits on. */
	for (; *e; e++)
		if ((unsigned char)*e <= 0x20 || (unsigned char)*e >= 0x7f || strchr(",:;<>()[]\\\"", *e))
			return false;
	return true;
}

cvq_ca_err
ca_san_names_der(X509 *issuer, const char *dns_name, const char *email, uint8_t **der,
                 size_t *len)
{
	X509 *x;
	unsigned char *d = NULL;
	char buf[600];
	int n = 0;

	*der = NULL;
	if ((!dns_name && !email) || (email && !ca_email_ok(email)))
		return CVQ_CA_ERR_REQUEST;
	if (dns_name && (strpbrk(dns_name, ",:\n") || strlen(dns_name) > 253))
		return CVQ_CA_ERR_REQUEST;
	snprintf(buf, sizeof(buf), "%s%s%s%s%s", dns_name ? "DNS:" : "", dns_name ? dns_name : "",
	         dns_name && email ? "," : "", email ? "email:" : "", email ? email : "");
	x = X509_new();
	if (x && ca_add_ext(x, issuer, NID_subject_alt_name, buf) == CVQ_CA_OK)
		n = i2d_X509_EXTENSION(X509_get_ext(x, 0), &d);
	X509_free(x);
	ERR_clear_error();
	if (n <= 0)
		return CVQ_CA_ERR_REQUEST;
	*der = d;
	*len = (size_t)n;
	return CVQ_CA_OK;
}

cvq_ca_err
ca_cert_make(cvq_ca *ca, cvq_ca *log, const struct cvq_ca_issue_req *req, X509_NAME *subject,
             EVP_PKEY *pub, const X509_PUBKEY *spki, X509 **out)
{
	struct ca_issued c = {0};
	const unsigned char *p;
	cvq_ca_err err;

	*out = NULL;
	err = ca_cert_make_der(ca, log, req, subject, pub, spki, NULL, &c);
	if (err != CVQ_CA_OK)
		return err;
	p = c.der;
	*out = d2i_X509(NULL, &p, (long)c.len);
	ca_issued_free(&c);
	if (!*out) {
		ERR_clear_error();
		return CVQ_CA_ERR_CRYPTO;
	}
	return CVQ_CA_OK;
}
