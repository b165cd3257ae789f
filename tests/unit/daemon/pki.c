#include "pki.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>

EVP_PKEY *pki_ec_key(void)
{
	return EVP_EC_gen("P-256");
}

static void ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

X509 *pki_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *cakey, long serial, int is_ca)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, key);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"Ville de test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
	ext(x, ca ? ca : x, NID_subject_key_identifier, "hash");
	if (is_ca) {
		ext(x, ca ? ca : x, NID_basic_constraints, "critical,CA:TRUE");
		ext(x, ca ? ca : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		ext(x, ca, NID_key_usage, "critical,digitalSignature,nonRepudiation");
		ext(x, ca, NID_authority_key_identifier, "keyid");
	}
	X509_sign(x, ca ? cakey : key, EVP_sha256());
	return x;
}

X509_CRL *pki_crl(X509 *ca, EVP_PKEY *cakey, const long *serials, int n, long next_update_s)
{
	X509_CRL *c = X509_CRL_new();
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	ASN1_TIME *t = X509_gmtime_adj(NULL, -60);
	X509_CRL_set1_lastUpdate(c, t);
	X509_gmtime_adj(t, next_update_s);
	X509_CRL_set1_nextUpdate(c, t);
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		X509_gmtime_adj(t, -30);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(c);
	X509_CRL_sign(c, cakey, EVP_sha256());
	return c;
}

int pki_write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = PEM_write_X509(f, x);
	fclose(f);
	return ok ? 0 : -1;
}

int pki_write_crl(const char *path, X509_CRL *c)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = PEM_write_X509_CRL(f, c);
	fclose(f);
	return ok ? 0 : -1;
}
