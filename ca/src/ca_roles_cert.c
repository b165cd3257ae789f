/*
 * libcvqca — the roles of a certificate: who a TLS client of the issuing
 * agent is (its client certificate, nothing else) and what [roles] lets
 * it ask for (docs/ca.md, issue #13).
 *
 * A certificate speaks for someone only if this CA issued it and still
 * stands by it: it chains to the CA certificate, is inside its validity,
 * carries the clientAuth EKU, is byte for byte the certificate the store
 * holds under its serial (a forged one with a copied serial is not), is
 * not revoked, and the card it lives on (if any) is active. Only then do
 * [roles] members name it:
 *   serial:HEX   this one certificate (a service's key file)
 *   citizen:ID   whoever holds a good citizen-auth certificate of the
 *                citizen ext_id ID (the operator's staff card, key 9A),
 *                so a renewed card keeps its holder's roles
 * With no [roles] at all a certificate has no role: every citizen holds a
 * citizen-auth certificate of this CA, and none of them is an operator by
 * default (unlike the agent's group on the socket, see ca_roles.c).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "ca_int.h"

/* The CN as printable ASCII (the audit's actor; a foreign certificate's
 * CN may hold anything). */
static void
printable_cn(X509 *cert, char *out, size_t cap)
{
	char cn[128];
	size_t i;
	int n;

	n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	if (n <= 0)
		cn[0] = '\0';
	for (i = 0; cn[i] && i + 1 < cap; i++)
		out[i] = cn[i] >= 0x20 && cn[i] < 0x7f && cn[i] != '(' && cn[i] != ')' ? cn[i] : '?';
	out[i] = '\0';
}

/* "tls=serial:HEX(CN=...)", the CN cut so that the serial always fits. */
static void
actor_of(X509 *cert, const char *serial, char *actor, size_t cap)
{
	char cn[128];
	int head;

	printable_cn(cert, cn, sizeof(cn));
	head = snprintf(actor, cap, "tls=serial:%s", serial);
	if (head < 0 || (size_t)head + sizeof("(CN=x)") > cap)
		return;
	snprintf(actor + head, cap - (size_t)head, "(CN=%.*s)", (int)(cap - (size_t)head - 6), cn);
}

/* Chains to the CA certificate, now, as a TLS client certificate. */
static cvq_ca_err
check_chain(cvq_ca *ca, X509 *cert)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	cvq_ca_err err = CVQ_CA_ERR_NOMEM;
	int rc;

	if (!store || !ctx || !X509_STORE_add_cert(store, ca->cert) ||
	    !X509_STORE_CTX_init(ctx, store, cert, NULL))
		goto out;
	/* The CA certificate is the anchor, root or issuing CA alike. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	rc = X509_verify_cert(ctx);
	if (rc == 1) {
		err = CVQ_CA_OK;
	} else {
		err = ca_fail(ca, CVQ_CA_ERR_DENIED, "the client certificate is not one of this CA's: %s",
		              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

/* Whether a "serial:HEX" item names `serial` (upper-case, as stored). */
static bool
serial_item_is(const char *hex, size_t n, const char *serial)
{
	char buf[67];
	BIGNUM *bn = NULL;
	char *norm;
	bool same;

	if (n == 0 || n >= sizeof(buf) || strspn(hex, "0123456789abcdefABCDEF") < n)
		return false;
	memcpy(buf, hex, n);
	buf[n] = '\0';
	if (!BN_hex2bn(&bn, buf))
		return false;
	norm = BN_bn2hex(bn);
	BN_free(bn);
	same = norm && strcmp(norm, serial) == 0;
	OPENSSL_free(norm);
	return same;
}

/* The roles whose members name this certificate. holder: the citizen
 * whose citizen-auth certificate it is, or NULL. */
static unsigned
roles_naming(const struct cvq_ca_config *cfg, const char *serial, const char *holder)
{
	const char *p, *item;
	unsigned out = 0;
	size_t k;
	int r;

	if (!ca_any_roles(cfg))
		return 0;
	for (r = 0; r < CVQ_CA_ROLE__COUNT; r++) {
		p = cfg->roles[r];
		while (p && ca_list_next(&p, &item, &k)) {
			if (k > 7 && memcmp(item, "serial:", 7) == 0 && serial_item_is(item + 7, k - 7, serial))
				out |= 1u << r;
			/* Not for officers: two-person control counts certificates
			 * (one actor each), and a citizen may hold several good
			 * citizen-auth certificates (two active cards), so one
			 * person could request with one and approve with the
			 * other. An officer is named by one certificate
			 * (serial:) or by a uid. */
			else if (holder && r != CVQ_CA_ROLE_OFFICER && k > 8 &&
			         memcmp(item, "citizen:", 8) == 0 &&
			         k - 8 == strlen(holder) && memcmp(item + 8, holder, k - 8) == 0)
				out |= 1u << r;
		}
	}
	return out;
}

cvq_ca_err
cvq_ca_roles_of_cert(cvq_ca *ca, X509 *cert, char *actor, size_t cap, unsigned *roles)
{
	struct cvq_ca_cert_info info;
	struct cvq_ca_card card;
	X509 *stored = NULL;
	char serial[67];
	uint32_t xku;
	bool on_card;
	cvq_ca_err err;

	if (!ca || !cert || !actor || cap < 16 || !roles)
		return CVQ_CA_ERR_ARG;
	*roles = 0;
	snprintf(actor, cap, "tls=?");
	err = cvq_ca_serial_hex(X509_get0_serialNumber(cert), serial);
	if (err != CVQ_CA_OK)
		return ca_fail(ca, CVQ_CA_ERR_DENIED, "the client certificate has no usable serial");
	actor_of(cert, serial, actor, cap);
	err = check_chain(ca, cert);
	if (err != CVQ_CA_OK)
		return err;
	/* X509_PURPOSE_SSL_CLIENT admits a certificate without any EKU. */
	xku = X509_get_extended_key_usage(cert);
	if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) || !(xku & XKU_SSL_CLIENT))
		return ca_fail(ca, CVQ_CA_ERR_DENIED, "certificate %s is not for TLS clients (no clientAuth)",
		               serial);
	err = cvq_ca_cert_get(ca, serial, &info, &stored);
	if (err == CVQ_CA_ERR_NOT_FOUND)
		return ca_fail(ca, CVQ_CA_ERR_DENIED, "certificate %s is not in the CA's store", serial);
	if (err != CVQ_CA_OK)
		return err;
	err = X509_cmp(stored, cert) == 0 ? CVQ_CA_OK
	      : ca_fail(ca, CVQ_CA_ERR_DENIED, "certificate %s is not the one the CA issued", serial);
	X509_free(stored);
	if (err != CVQ_CA_OK)
		return err;
	if (info.status != CVQ_CA_CERT_GOOD)
		return ca_fail(ca, CVQ_CA_ERR_DENIED, "certificate %s is revoked", serial);
	on_card = info.card_guid[0] != '\0';
	if (on_card) {
		err = cvq_ca_card_get(ca, info.card_guid, &card);
		if (err != CVQ_CA_OK)
			return ca_fail(ca, CVQ_CA_ERR_DENIED, "certificate %s: its card %s is unknown", serial,
			               info.card_guid);
		if (card.status != CVQ_CA_CARD_ACTIVE)
			return ca_fail(ca, CVQ_CA_ERR_DENIED, "certificate %s: its card %s is %s", serial,
			               info.card_guid, cvq_ca_card_status_name(card.status));
	}
	*roles = roles_naming(ca_roles_cfg(ca), serial,
	                      on_card && info.profile == CVQ_CA_PROFILE_CITIZEN_AUTH ? card.holder : NULL);
	return CVQ_CA_OK;
}
