/*
 * libcvqca — PIV attestation, the CA side (cvq/ca_attest.h, issue #13):
 * a citizen certificate only for a key the citizen's card says it made.
 *
 * The card's F9 certificate must chain to a configured attestation root;
 * the attestation certificate must be signed by the F9 key, name the slot
 * and carry the very key the certificate is asked for. A key imported into
 * a card, or a software key, has no such statement: the card signs
 * attestations only for keys it generated.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cvq/ca_attest.h>

#include "ca_int.h"

#define MAX_CERT (16 * 1024)

#define FAIL(e, ...) do { snprintf(why, why_len, __VA_ARGS__); err = (e); goto out; } while (0)

/* The extension's raw value (Yubico puts the bytes in extnValue as is). */
static const ASN1_OCTET_STRING *
ext_value(X509 *x, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i = o ? X509_get_ext_by_OBJ(x, o, -1) : -1;

	ASN1_OBJECT_free(o);
	return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

/* The slot from a subject CN ending in two hex digits ("... Attestation 9c"). */
static int
cn_slot(X509 *x)
{
	char cn[128];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));

	if (n < 2 || !isxdigit((unsigned char)cn[n - 1]) || !isxdigit((unsigned char)cn[n - 2]) ||
	    (n > 2 && cn[n - 3] != ' '))
		return -1;
	return (int)strtol(cn + n - 2, NULL, 16);
}

static X509 *
der_cert(const uint8_t *b, size_t n)
{
	const unsigned char *p = b;
	X509 *x;

	if (!b || n == 0 || n > MAX_CERT)
		return NULL;
	x = d2i_X509(NULL, &p, (long)n);
	if (x && p != b + n) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static void
read_info(X509 *att, X509 *f9, int slot, struct cvq_ca_attest_info *o)
{
	const ASN1_OCTET_STRING *v;
	unsigned char *der = NULL;
	BIO *mem;
	int len, i;

	memset(o, 0, sizeof(*o));
	o->slot = slot;
	if ((v = ext_value(att, CVQ_CA_ATTEST_OID_FIRMWARE)) && ASN1_STRING_length(v) == 3)
		memcpy(o->firmware, ASN1_STRING_get0_data(v), 3);
	if ((v = ext_value(att, CVQ_CA_ATTEST_OID_SERIAL))) {
		const unsigned char *p = ASN1_STRING_get0_data(v);
		ASN1_INTEGER *in = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(v));
		uint64_t s;

		if (in && ASN1_INTEGER_get_uint64(&s, in) == 1) {
			o->serial = s;
			o->has_serial = true;
		}
		ASN1_INTEGER_free(in);
	}
	if ((v = ext_value(att, CVQ_CA_ATTEST_OID_POLICY)) && ASN1_STRING_length(v) == 2) {
		o->pin_policy = ASN1_STRING_get0_data(v)[0];
		o->touch_policy = ASN1_STRING_get0_data(v)[1];
	}
	if ((v = ext_value(att, CVQ_CA_ATTEST_OID_FORM)) && ASN1_STRING_length(v) == 1)
		o->form_factor = ASN1_STRING_get0_data(v)[0];
	if ((v = ext_value(att, CVQ_CA_ATTEST_OID_GUID)) && ASN1_STRING_length(v) == 16)
		for (i = 0; i < 16; i++)
			snprintf(o->guid + 2 * i, 3, "%02X", ASN1_STRING_get0_data(v)[i]);
	mem = BIO_new(BIO_s_mem());
	if (mem && X509_NAME_print_ex(mem, X509_get_subject_name(f9), 0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(mem, o->f9_subject, sizeof(o->f9_subject) - 1);

		o->f9_subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(mem);
	len = i2d_X509(f9, &der);
	if (len > 0)
		EVP_Digest(der, (size_t)len, o->f9_sha256, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
}

cvq_ca_err
cvq_ca_attest_verify_store(X509_STORE *roots, const uint8_t *attest_der, size_t attest_len,
                           const uint8_t *f9_der, size_t f9_len, EVP_PKEY *key, int slot,
                           struct cvq_ca_attest_info *out, char *why, size_t why_len)
{
	X509 *att = NULL, *f9 = NULL;
	X509_STORE_CTX *ctx = NULL;
	EVP_PKEY *f9key;
	cvq_ca_err err = CVQ_CA_OK;
	char dummy[1];
	int rc;

	if (!why || !why_len)
		why = dummy, why_len = sizeof(dummy);
	why[0] = '\0';
	if (!roots || !key)
		return CVQ_CA_ERR_ARG;
	att = der_cert(attest_der, attest_len);
	if (!att)
		FAIL(CVQ_CA_ERR_REQUEST, "the attestation is not a DER certificate");
	f9 = der_cert(f9_der, f9_len);
	if (!f9)
		FAIL(CVQ_CA_ERR_REQUEST, "the F9 (attestation key) certificate is not a DER certificate");
	/* The F9 certificate: issued by a configured root. Time is not
	 * checked: a factory certificate vouches for the keys made under it. */
	ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, roots, f9, NULL) != 1)
		FAIL(CVQ_CA_ERR_NOMEM, "out of memory");
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	rc = X509_verify_cert(ctx);
	if (rc != 1)
		FAIL(CVQ_CA_ERR_POP, "the F9 certificate does not chain to an attestation root: %s",
		     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	f9key = X509_get0_pubkey(f9);
	if (!f9key || X509_NAME_cmp(X509_get_issuer_name(att), X509_get_subject_name(f9)) != 0 ||
	    X509_verify(att, f9key) != 1)
		FAIL(CVQ_CA_ERR_POP, "the attestation is not signed by the card's F9 key");
	if (cn_slot(att) != slot)
		FAIL(CVQ_CA_ERR_POP, "the attestation is for slot %02x, not %02x", cn_slot(att) & 0xff,
		     slot & 0xff);
	if (!X509_get0_pubkey(att) || EVP_PKEY_eq(X509_get0_pubkey(att), key) != 1)
		FAIL(CVQ_CA_ERR_POP, "the attested key is not the key of the request");
	if (out)
		read_info(att, f9, slot, out);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_free(att);
	X509_free(f9);
	return err;
}

cvq_ca_err
cvq_ca_attest_verify(cvq_ca *ca, const uint8_t *attest_der, size_t attest_len,
                     const uint8_t *f9_der, size_t f9_len, EVP_PKEY *key, int slot,
                     struct cvq_ca_attest_info *out)
{
	X509_STORE *st = NULL;
	char *path = NULL, why[200];
	cvq_ca_err err;

	if (!ca || !key)
		return CVQ_CA_ERR_ARG;
	if (!ca->cfg->attest_roots)
		return ca_fail(ca, CVQ_CA_ERR_CONFIG, "no attestation roots configured ([attest] roots)");
	path = cvq_ca_config_path(ca->cfg, ca->cfg->attest_roots);
	st = X509_STORE_new();
	if (!path || !st) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	if (X509_STORE_load_file(st, path) != 1) {
		ERR_clear_error();
		err = ca_fail(ca, CVQ_CA_ERR_CONFIG, "cannot read the attestation roots %s", path);
		goto out;
	}
	err = cvq_ca_attest_verify_store(st, attest_der, attest_len, f9_der, f9_len, key, slot, out,
	                                 why, sizeof(why));
	if (err != CVQ_CA_OK)
		ca_fail(ca, err, "%s", why);
out:
	X509_STORE_free(st);
	free(path);
	return err;
}

/* Which slot each card key's profile lives in (the CVQ card profile). */
static int
profile_slot(enum cvq_ca_profile p)
{
	return p == CVQ_CA_PROFILE_CITIZEN_SIGN ? 0x9c : p == CVQ_CA_PROFILE_CARD_AUTH ? 0x9e : 0x9a;
}

cvq_ca_err
ca_attest_check(cvq_ca *ca, const struct cvq_ca_issue_req *req, EVP_PKEY *pub)
{
	struct cvq_ca_attest_info info;
	const struct cvq_ca_attest *a = req->attest;
	char guid[33];
	cvq_ca_err err;
	int i;

	if (!a) {
		if (!ca->cfg->admit_unattested)
			return ca_fail(ca, CVQ_CA_ERR_POLICY, "no attestation: a citizen key must be "
			               "attested by its card ([attest] unattested = refuse)");
		/* The explicit policy admits it, and every such key is on record. */
		return ca_audit_append(ca, "attest.waived", req->card_guid ? req->card_guid : "",
		                       "profile=%s policy=unattested-admit%s",
		                       cvq_ca_profile_name(req->profile), ca->via_agent ? " via=agent" : "");
	}
	if (!pub)
		return ca_fail(ca, CVQ_CA_ERR_ARG, "an attestation needs the key it attests");
	if (a->slot != profile_slot(req->profile))
		return ca_fail(ca, CVQ_CA_ERR_POLICY, "a %s key lives in slot %02x, not %02x",
		               cvq_ca_profile_name(req->profile), profile_slot(req->profile), a->slot & 0xff);
	err = cvq_ca_attest_verify(ca, a->cert, a->cert_len, a->f9, a->f9_len, pub, a->slot, &info);
	if (err != CVQ_CA_OK)
		return err;
	if (info.guid[0]) {
		if (!req->card_guid || !ca_guid_normalise(req->card_guid, guid) || strcmp(guid, info.guid) != 0)
			return ca_fail(ca, CVQ_CA_ERR_POP, "the attestation is of card %s, not %s", info.guid,
			               req->card_guid ? req->card_guid : "(none)");
	}
	{
		char fp[17];

		for (i = 0; i < 8; i++)
			snprintf(fp + 2 * i, 3, "%02x", info.f9_sha256[i]);
		return ca_audit_append(ca, "attest.ok", req->card_guid ? req->card_guid : "",
		                       "profile=%s slot=%02x serial=%llu pin=%u touch=%u f9=%s",
		                       cvq_ca_profile_name(req->profile), a->slot,
		                       (unsigned long long)info.serial, info.pin_policy, info.touch_policy, fp);
	}
}
