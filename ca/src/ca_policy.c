/*
 * libcvqca — the input policy: which keys and which subjects the CA signs
 * at all, whoever asks (issue #13).
 *
 * Keys: [policy] keys, default "ec-p256,ec-p384,rsa-2048" (rsa-N: N bits
 * or more, up to 8192). EC keys on a named curve only: a key whose
 * SubjectPublicKeyInfo spells the curve out (explicit parameters, the
 * trick of CVE-2020-0601) is refused even when the numbers are P-256's.
 *
 * Subjects: one attribute per RDN (no multi-valued RDNs, which most
 * software displays as one), attribute types from a short list, values as
 * UTF8String, PrintableString (its own alphabet) or IA5String, each 1 to
 * [policy] subject_max bytes (default 64, RFC 5280's ub-common-name), valid
 * UTF-8 with no C0 or C1 control character (ESC, CR, LF, NUL, 0x80-0x9f):
 * what a terminal, a log or a PDF viewer shows is then what was signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "ca_int.h"

#define MAX_RDNS 16

/* Allowed keys, parsed from the configuration's list. */
struct keyset {
	bool p256, p384;
	int rsa_min;    /* 0: no RSA */
	bool bad;       /* the list has an item we do not know */
};

static void
keyset_parse(const char *list, struct keyset *k)
{
	const char *p = list ? list : "ec-p256,ec-p384,rsa-2048";
	char item[32];

	memset(k, 0, sizeof(*k));
	while (*p) {
		size_t n = 0;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		while (*p && *p != ',' && *p != ' ' && n + 1 < sizeof(item))
			item[n++] = *p++;
		item[n] = '\0';
		if (!n)
			continue;
		if (strcmp(item, "ec-p256") == 0)
			k->p256 = true;
		else if (strcmp(item, "ec-p384") == 0)
			k->p384 = true;
		else if (strncmp(item, "rsa-", 4) == 0 && atoi(item + 4) >= 2048 && atoi(item + 4) <= 8192)
			k->rsa_min = atoi(item + 4);
		else
			k->bad = true;
	}
}

static cvq_ca_err
refuse(cvq_ca *log, const char *what)
{
	ERR_clear_error();
	return ca_fail(log, CVQ_CA_ERR_POLICY, "%s", what);
}

cvq_ca_err
ca_policy_key(const struct cvq_ca_config *cfg, cvq_ca *log, EVP_PKEY *pub, const X509_PUBKEY *spki)
{
	struct keyset k;
	char group[64], enc[32];
	size_t gl = 0, el = 0;
	int bits = EVP_PKEY_get_bits(pub);

	keyset_parse(cfg ? cfg->key_policy : NULL, &k);
	if (k.bad)
		return ca_fail(log, CVQ_CA_ERR_CONFIG, "[policy] keys: unknown item (ec-p256, ec-p384, rsa-N)");
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		if (spki) {
			const X509_ALGOR *alg = NULL;
			const void *pval;
			int ptype;

			if (!X509_PUBKEY_get0_param(NULL, NULL, NULL, (X509_ALGOR **)&alg, spki) || !alg)
				return refuse(log, "no key algorithm");
			X509_ALGOR_get0(NULL, &ptype, &pval, alg);
			if (ptype != V_ASN1_OBJECT)
				return refuse(log, "EC key with explicit curve parameters (named curves only)");
		}
		if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), &el) &&
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
			return refuse(log, "EC key with explicit curve parameters (named curves only)");
		if (!EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl))
			return refuse(log, "EC key on an unnamed curve");
		if ((k.p256 && bits == 256 && (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)) ||
		    (k.p384 && bits == 384 && (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)))
			return CVQ_CA_OK;
		ERR_clear_error();
		return ca_fail(log, CVQ_CA_ERR_POLICY, "EC curve %s not allowed (%s%s)", group,
		               k.p256 ? "P-256 " : "", k.p384 ? "P-384" : "");
	case EVP_PKEY_RSA:
		if (k.rsa_min && bits >= k.rsa_min && bits <= 8192)
			return CVQ_CA_OK;
		return ca_fail(log, CVQ_CA_ERR_POLICY, "RSA key of %d bits not allowed (%d..8192)", bits,
		               k.rsa_min);
	default:
		return refuse(log, "key type not allowed (EC P-256/P-384, RSA >= 2048)");
	}
}

/* PrintableString's alphabet (X.680 41.4). */
static bool
printable_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr(" '()+,-./:=?", c) != NULL;
}

bool
ca_policy_text_ok(const unsigned char *s, size_t len, size_t max)
{
	size_t i = 0;

	if (len == 0 || len > max)
		return false;
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n, j;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (j = 1; j <= n; j++) {
			if (i + j >= len || (s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode, C1 controls. */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n + 1;
	}
	return true;
}

static const int allowed_nids[] = {
	NID_countryName, NID_stateOrProvinceName, NID_localityName, NID_organizationName,
	NID_organizationalUnitName, NID_commonName, NID_serialNumber, NID_givenName,
	NID_surname, NID_title, NID_pkcs9_emailAddress,
};

cvq_ca_err
ca_policy_subject(const struct cvq_ca_config *cfg, cvq_ca *log, const X509_NAME *n)
{
	size_t max = cfg && cfg->subject_max ? cfg->subject_max : 64;
	int i, count = X509_NAME_entry_count(n), prev_set = -1;

	if (count <= 0)
		return ca_fail(log, CVQ_CA_ERR_REQUEST, "no usable subject");
	if (count > MAX_RDNS)
		return ca_fail(log, CVQ_CA_ERR_POLICY, "subject of %d attributes (at most %d)", count, MAX_RDNS);
	for (i = 0; i < count; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		int set = X509_NAME_ENTRY_set(e), type = ASN1_STRING_type(v), len = ASN1_STRING_length(v);
		const unsigned char *d = ASN1_STRING_get0_data(v);
		size_t k;

		if (set == prev_set)
			return ca_fail(log, CVQ_CA_ERR_POLICY, "multi-valued RDN in the subject");
		prev_set = set;
		for (k = 0; k < sizeof(allowed_nids) / sizeof(allowed_nids[0]); k++)
			if (allowed_nids[k] == nid)
				break;
		if (k == sizeof(allowed_nids) / sizeof(allowed_nids[0]))
			return ca_fail(log, CVQ_CA_ERR_POLICY, "subject attribute %s not allowed",
			               nid != NID_undef ? OBJ_nid2sn(nid) : "(unknown OID)");
		if (type != V_ASN1_UTF8STRING && type != V_ASN1_PRINTABLESTRING && type != V_ASN1_IA5STRING)
			return ca_fail(log, CVQ_CA_ERR_POLICY, "subject %s: string type %d not allowed",
			               OBJ_nid2sn(nid), type);
		if (!ca_policy_text_ok(d, (size_t)len, max))
			return ca_fail(log, CVQ_CA_ERR_POLICY,
			               "subject %s: empty, longer than %zu bytes, not UTF-8 or a control character",
			               OBJ_nid2sn(nid), max);
		if (type == V_ASN1_PRINTABLESTRING)
			for (k = 0; k < (size_t)len; k++)
				if (!printable_char(d[k]))
					return ca_fail(log, CVQ_CA_ERR_POLICY, "subject %s: not a PrintableString",
					               OBJ_nid2sn(nid));
		if (type == V_ASN1_IA5STRING && nid != NID_pkcs9_emailAddress)
			return ca_fail(log, CVQ_CA_ERR_POLICY, "subject %s: IA5String only for emailAddress",
			               OBJ_nid2sn(nid));
		if (nid == NID_countryName && (len != 2 || d[0] < 'A' || d[0] > 'Z' || d[1] < 'A' || d[1] > 'Z'))
			return ca_fail(log, CVQ_CA_ERR_POLICY, "subject C: two capital letters");
	}
	return CVQ_CA_OK;
}
