/* libcvqca — certificate records: lookup by serial, listing. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>

#include "ca_int.h"

cvq_ca_err
cvq_ca_serial_hex(const ASN1_INTEGER *serial, char out[67])
{
	BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
	char *hex;

	out[0] = '\0';
	if (!bn)
		return CVQ_CA_ERR_ARG;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (!hex)
		return CVQ_CA_ERR_NOMEM;
	if (strlen(hex) > 66) {
		OPENSSL_free(hex);
		return CVQ_CA_ERR_ARG;
	}
	strcpy(out, hex);
	OPENSSL_free(hex);
	return CVQ_CA_OK;
}

#define CERT_SELECT "SELECT c.serial, k.guid, c.profile, c.subject, c.not_before, c.not_after," \
	" c.issued, c.status, c.revoked_at, c.reason, c.invalidity, c.sha256, c.der" \
	" FROM certs c LEFT JOIN cards k ON k.id = c.card_id"

static void
read_info(sqlite3_stmt *st, struct cvq_ca_cert_info *i)
{
	const unsigned char *t;
	int p;

	memset(i, 0, sizeof(*i));
	t = sqlite3_column_text(st, 0);
	snprintf(i->serial, sizeof(i->serial), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, 1);
	snprintf(i->card_guid, sizeof(i->card_guid), "%s", t ? (const char *)t : "");
	p = sqlite3_column_int(st, 2);
	i->profile = p >= 0 && p < CVQ_CA_PROFILE__COUNT ? (enum cvq_ca_profile)p : CVQ_CA_PROFILE_SERVICE;
	t = sqlite3_column_text(st, 3);
	snprintf(i->subject, sizeof(i->subject), "%s", t ? (const char *)t : "");
	i->not_before = sqlite3_column_int64(st, 4);
	i->not_after = sqlite3_column_int64(st, 5);
	i->issued = sqlite3_column_int64(st, 6);
	i->status = sqlite3_column_int(st, 7) ? CVQ_CA_CERT_REVOKED : CVQ_CA_CERT_GOOD;
	i->revoked_at = sqlite3_column_int64(st, 8);
	i->reason = sqlite3_column_int(st, 9);
	i->invalidity = sqlite3_column_int64(st, 10);
	if (sqlite3_column_bytes(st, 11) == 32)
		memcpy(i->sha256, sqlite3_column_blob(st, 11), 32);
}

/* Accept any case and leading zeros; store form is BN_bn2hex's. */
static bool
serial_normalise(const char *in, char out[67])
{
	BIGNUM *bn = NULL;
	char *hex;
	size_t n = in ? strlen(in) : 0;
	bool ok;

	if (n == 0 || n > 66 || strspn(in, "0123456789abcdefABCDEF") != n)
		return false;
	if (!BN_hex2bn(&bn, in))
		return false;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	ok = hex && strlen(hex) <= 66;
	if (ok)
		strcpy(out, hex);
	OPENSSL_free(hex);
	return ok;
}

cvq_ca_err
cvq_ca_cert_get(cvq_ca *ca, const char *serial_in, struct cvq_ca_cert_info *info, X509 **cert)
{
	struct cvq_ca_cert_info tmp;
	const unsigned char *der;
	sqlite3_stmt *st = NULL;
	char serial[67];
	cvq_ca_err err = CVQ_CA_OK;
	int rc;

	if (!ca || !serial_normalise(serial_in, serial))
		return CVQ_CA_ERR_ARG;
	if (cert)
		*cert = NULL;
	if (!info)
		info = &tmp;
	rc = sqlite3_prepare_v2(ca->db, CERT_SELECT " WHERE c.serial = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "certificate");
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_info(st, info);
		if (cert) {
			der = sqlite3_column_blob(st, 12);
			*cert = d2i_X509(NULL, &der, sqlite3_column_bytes(st, 12));
			if (!*cert)
				err = CVQ_CA_ERR_STORE;
		}
	} else if (rc == SQLITE_DONE) {
		err = ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no certificate %s", serial);
	} else {
		err = ca_sql_fail(ca, rc, "certificate");
	}
	sqlite3_finalize(st);
	return err;
}

cvq_ca_err
cvq_ca_cert_list(cvq_ca *ca, const char *guid_in, cvq_ca_cert_cb cb, void *ctx)
{
	struct cvq_ca_cert_info info;
	sqlite3_stmt *st = NULL;
	char guid[33];
	int rc;

	if (!ca || !cb || (guid_in && !ca_guid_normalise(guid_in, guid)))
		return CVQ_CA_ERR_ARG;
	rc = sqlite3_prepare_v2(ca->db, CERT_SELECT " WHERE ?1 IS NULL OR k.guid = ?1"
	                        " ORDER BY c.issued, c.serial", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "certificate list");
	if (guid_in)
		sqlite3_bind_text(st, 1, guid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_info(st, &info);
		if (cb(ctx, &info) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "certificate list");
}
