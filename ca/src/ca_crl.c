/*
 * libcvqca — full CRLs: every revoked certificate not yet expired, a
 * strictly increasing CRL number (the crls table's key), AKI, reasons and
 * invalidity dates as entry extensions.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_int.h"

static cvq_ca_err
add_entry(X509_CRL *crl, sqlite3_stmt *st)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_GENERALIZEDTIME *inv = NULL;
	BIGNUM *bn = NULL;
	int code = sqlite3_column_int(st, 2), ok = 0;
	int64_t invalidity = sqlite3_column_int64(st, 3);

	if (!r || !BN_hex2bn(&bn, (const char *)sqlite3_column_text(st, 0)))
		goto out;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	t = ASN1_TIME_set(NULL, (time_t)sqlite3_column_int64(st, 1));
	if (!serial || !t || !X509_REVOKED_set_serialNumber(r, serial) ||
	    !X509_REVOKED_set_revocationDate(r, t))
		goto out;
	/* reasonCode is omitted when unspecified (RFC 5280 5.3.1). */
	if (code > 0) {
		reason = ASN1_ENUMERATED_new();
		if (!reason || !ASN1_ENUMERATED_set(reason, code) ||
		    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0))
			goto out;
	}
	if (invalidity > 0) {
		inv = ASN1_GENERALIZEDTIME_set(NULL, (time_t)invalidity);
		if (!inv || !X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, inv, 0, 0))
			goto out;
	}
	ok = X509_CRL_add0_revoked(crl, r);
	if (ok)
		r = NULL;
out:
	X509_REVOKED_free(r);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(reason);
	ASN1_GENERALIZEDTIME_free(inv);
	BN_free(bn);
	return ok ? CVQ_CA_OK : CVQ_CA_ERR_CRYPTO;
}

cvq_ca_err
cvq_ca_crl_issue(cvq_ca *ca, X509_CRL **out, uint64_t *number_out)
{
	X509_CRL *crl = NULL;
	sqlite3_stmt *st = NULL;
	ASN1_TIME *this_t = NULL, *next_t = NULL;
	ASN1_INTEGER *num = NULL;
	unsigned char *der = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *aki = NULL;
	cvq_ca_err err;
	int64_t number = 1, now = ca_now(), next, entries = 0;
	int rc, len = 0;
	char nstr[24];

	if (!ca || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	if (!ca->key)
		return ca_fail(ca, CVQ_CA_ERR_KEY, "the CA was opened without its key");
	next = now + (int64_t)ca->cfg->crl_hours * 3600;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	rc = sqlite3_prepare_v2(ca->db, "SELECT coalesce(max(number), 0) + 1 FROM crls", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		number = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_ROW) {
		err = ca_sql_fail(ca, rc, "crl number");
		goto out;
	}
	err = CVQ_CA_ERR_CRYPTO;
	crl = X509_CRL_new();
	this_t = ASN1_TIME_set(NULL, (time_t)now);
	next_t = ASN1_TIME_set(NULL, (time_t)next);
	num = ASN1_INTEGER_new();
	if (!crl || !this_t || !next_t || !num || !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
	    !X509_CRL_set1_lastUpdate(crl, this_t) || !X509_CRL_set1_nextUpdate(crl, next_t) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto out;
	X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1))
		goto out;
	/* Expired certificates leave the CRL (RFC 5280 3.3). */
	rc = sqlite3_prepare_v2(ca->db, "SELECT serial, revoked_at, reason, invalidity FROM certs"
	                        " WHERE status = 1 AND not_after >= ?", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = ca_sql_fail(ca, rc, "crl");
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = add_entry(crl, st);
		if (err != CVQ_CA_OK)
			goto out;
		entries++;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "crl");
		goto out;
	}
	err = CVQ_CA_ERR_CRYPTO;
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, ca->key, ca_key_md(ca->key)))
		goto out;
	len = i2d_X509_CRL(crl, &der);
	if (len <= 0)
		goto out;
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO crls(number, this_update, next_update, entries, der)"
	                        " VALUES (?,?,?,?,?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, number);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, next);
		sqlite3_bind_int64(st, 4, entries);
		sqlite3_bind_blob(st, 5, der, len, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "crl insert");
		goto out;
	}
	snprintf(nstr, sizeof(nstr), "%lld", (long long)number);
	err = ca_audit_append(ca, "crl.issue", nstr, "entries=%lld", (long long)entries);
	/* Each CRL also seals the audit log up to here. */
	if (err == CVQ_CA_OK)
		err = ca_audit_sign_tx(ca);
	if (err != CVQ_CA_OK)
		goto out;
	err = ca_tx_commit(ca);
	if (err == CVQ_CA_OK) {
		*out = crl;
		crl = NULL;
		if (number_out)
			*number_out = (uint64_t)number;
	}
out:
	if (err != CVQ_CA_OK) {
		ERR_clear_error();
		ca_tx_rollback(ca);
	}
	sqlite3_finalize(st);
	OPENSSL_free(der);
	X509_EXTENSION_free(aki);
	X509_CRL_free(crl);
	ASN1_TIME_free(this_t);
	ASN1_TIME_free(next_t);
	ASN1_INTEGER_free(num);
	return err;
}

cvq_ca_err
cvq_ca_crl_latest(cvq_ca *ca, X509_CRL **out)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *der;
	cvq_ca_err err = CVQ_CA_OK;
	int rc;

	if (!ca || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	rc = sqlite3_prepare_v2(ca->db, "SELECT der FROM crls ORDER BY number DESC LIMIT 1",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "crl");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		der = sqlite3_column_blob(st, 0);
		*out = d2i_X509_CRL(NULL, &der, sqlite3_column_bytes(st, 0));
		if (!*out)
			err = CVQ_CA_ERR_STORE;
	} else if (rc == SQLITE_DONE) {
		err = ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no CRL issued yet");
	} else {
		err = ca_sql_fail(ca, rc, "crl");
	}
	sqlite3_finalize(st);
	return err;
}
