/*
 * libcvqca — revocation by serial, by card, by citizen. Idempotent: a
 * certificate already revoked keeps its first time and reason.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>

#include "ca_int.h"

static bool
reason_ok(int r)
{
	/* removeFromCRL is for delta CRLs only, 7 is unassigned. */
	return r >= 0 && r <= 10 && r != 7 && r != CVQ_CA_REASON_REMOVE_FROM_CRL;
}

/*
 * The invalidity date (RFC 5280 5.3.2): since when the key may be in other
 * hands, as the holder reports it (`card lost --since`). Never in the
 * future (a minute of clock skew aside): it decides which receipts stand.
 */
static bool
invalidity_ok(int64_t invalidity)
{
	return invalidity >= 0 && invalidity <= ca_now() + 60;
}

/*
 * Revoke the good certificates matching `where` (one text parameter ?1)
 * and audit each. UPDATE ... RETURNING hands back the serials once the
 * update is done, so the audit inserts never race the scan.
 */
static cvq_ca_err
revoke_where(cvq_ca *ca, const char *where, const char *param, int reason,
             int64_t invalidity, unsigned *count)
{
	sqlite3_stmt *upd = NULL;
	char sql[512], serial[67];
	cvq_ca_err err = CVQ_CA_OK;
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE certs SET status = 1, revoked_at = ?2, reason = ?3,"
	         " invalidity = ?4 WHERE status = 0 AND serial IN (SELECT c.serial FROM certs c"
	         " LEFT JOIN cards k ON k.id = c.card_id LEFT JOIN citizens z ON z.id = k.citizen_id"
	         " WHERE %s) RETURNING serial", where);
	rc = sqlite3_prepare_v2(ca->db, sql, -1, &upd, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "revoke");
	sqlite3_bind_text(upd, 1, param, -1, SQLITE_STATIC);
	sqlite3_bind_int64(upd, 2, ca_now());
	sqlite3_bind_int(upd, 3, reason);
	sqlite3_bind_int64(upd, 4, invalidity);
	while ((rc = sqlite3_step(upd)) == SQLITE_ROW) {
		snprintf(serial, sizeof(serial), "%s", (const char *)sqlite3_column_text(upd, 0));
		err = ca_audit_append(ca, "cert.revoke", serial, "reason=%s invalidity=%lld",
		                      cvq_ca_reason_name(reason), (long long)invalidity);
		if (err != CVQ_CA_OK)
			goto out;
		if (count)
			(*count)++;
	}
	if (rc != SQLITE_DONE)
		err = ca_sql_fail(ca, rc, "revoke");
out:
	sqlite3_finalize(upd);
	return err;
}

cvq_ca_err
cvq_ca_revoke_serial(cvq_ca *ca, const char *serial, int reason, int64_t invalidity)
{
	struct cvq_ca_cert_info info;
	cvq_ca_err err;

	if (!ca || !reason_ok(reason) || !invalidity_ok(invalidity))
		return CVQ_CA_ERR_ARG;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_cert_get(ca, serial, &info, NULL);
	if (err == CVQ_CA_OK && info.status == CVQ_CA_CERT_GOOD)
		err = revoke_where(ca, "c.serial = ?1", info.serial, reason, invalidity, NULL);
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	return ca_tx_commit(ca);
}

cvq_ca_err
cvq_ca_revoke_card(cvq_ca *ca, const char *guid_in, int reason, int64_t invalidity,
                   enum cvq_ca_card_status status, unsigned *count)
{
	struct cvq_ca_card card;
	cvq_ca_err err;

	if (count)
		*count = 0;
	if (!ca || !reason_ok(reason) || !invalidity_ok(invalidity) || (unsigned)status > CVQ_CA_CARD__COUNT)
		return CVQ_CA_ERR_ARG;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_card_get(ca, guid_in, &card);
	if (err == CVQ_CA_OK)
		err = revoke_where(ca, "k.guid = ?1", card.guid, reason, invalidity, count);
	if (err == CVQ_CA_OK && status != CVQ_CA_CARD__COUNT && status != card.status)
		err = ca_card_set_status_tx(ca, card.guid, status);
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	return ca_tx_commit(ca);
}

cvq_ca_err
cvq_ca_revoke_citizen(cvq_ca *ca, const char *ext_id, int reason, int64_t invalidity,
                      unsigned *count)
{
	struct cvq_ca_citizen c;
	cvq_ca_err err;

	if (count)
		*count = 0;
	if (!ca || !ext_id || !reason_ok(reason) || !invalidity_ok(invalidity))
		return CVQ_CA_ERR_ARG;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_citizen_get(ca, ext_id, &c);
	if (err == CVQ_CA_OK)
		err = revoke_where(ca, "z.ext_id = ?1", ext_id, reason, invalidity, count);
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	return ca_tx_commit(ca);
}
