/*
 * libcvqca — citizens (the Infoville subscription: only what the service
 * needs) and their cards (GUID, holder, status, dates).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ca_int.h"

bool
ca_guid_normalise(const char *in, char out[33])
{
	size_t i;

	if (!in || strlen(in) != 32)
		return false;
	for (i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return false;
		out[i] = (char)toupper((unsigned char)in[i]);
	}
	out[32] = '\0';
	return true;
}

static bool
text_ok(const char *s, size_t max, bool may_be_empty)
{
	size_t n;

	if (!s)
		return may_be_empty;
	n = strlen(s);
	if ((!n && !may_be_empty) || n >= max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

cvq_ca_err
cvq_ca_citizen_add(cvq_ca *ca, const struct cvq_ca_citizen *c, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	cvq_ca_err err;
	int rc;

	if (!ca || !c)
		return CVQ_CA_ERR_ARG;
	if (!text_ok(c->ext_id, sizeof(c->ext_id), false) ||
	    !text_ok(c->given_name, sizeof(c->given_name), false) ||
	    !text_ok(c->family_name, sizeof(c->family_name), false) ||
	    !text_ok(c->email, sizeof(c->email), true) || strchr(c->ext_id, '/'))
		return ca_fail(ca, CVQ_CA_ERR_ARG, "citizen: empty, too long or control characters");
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO citizens(ext_id, given_name, family_name,"
	                        " email, created) VALUES (?,?,?,?,?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, c->ext_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->given_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->family_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c->email, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, ca_now());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "citizen add");
		goto fail;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(ca->db);
	/* The audit log names the subscription, never the personal data. */
	err = ca_audit_append(ca, "citizen.add", c->ext_id, "%s", "");
	if (err != CVQ_CA_OK)
		goto fail;
	return ca_tx_commit(ca);
fail:
	ca_tx_rollback(ca);
	return err;
}

static void
col_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void
read_citizen(sqlite3_stmt *st, struct cvq_ca_citizen *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	col_text(c->ext_id, sizeof(c->ext_id), st, 1);
	col_text(c->given_name, sizeof(c->given_name), st, 2);
	col_text(c->family_name, sizeof(c->family_name), st, 3);
	col_text(c->email, sizeof(c->email), st, 4);
	c->created = sqlite3_column_int64(st, 5);
}

#define CITIZEN_COLS "id, ext_id, given_name, family_name, email, created"

cvq_ca_err
cvq_ca_citizen_get(cvq_ca *ca, const char *ext_id, struct cvq_ca_citizen *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!ca || !ext_id || !out)
		return CVQ_CA_ERR_ARG;
	rc = sqlite3_prepare_v2(ca->db, "SELECT " CITIZEN_COLS " FROM citizens WHERE ext_id = ?",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "citizen");
	sqlite3_bind_text(st, 1, ext_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_citizen(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return CVQ_CA_OK;
	if (rc == SQLITE_DONE)
		return ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no citizen %s", ext_id);
	return ca_sql_fail(ca, rc, "citizen");
}

cvq_ca_err
cvq_ca_citizen_list(cvq_ca *ca, cvq_ca_citizen_cb cb, void *ctx)
{
	struct cvq_ca_citizen c;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!ca || !cb)
		return CVQ_CA_ERR_ARG;
	rc = sqlite3_prepare_v2(ca->db, "SELECT " CITIZEN_COLS " FROM citizens ORDER BY ext_id",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "citizen list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_citizen(st, &c);
		if (cb(ctx, &c) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "citizen list");
}

cvq_ca_err
cvq_ca_card_add(cvq_ca *ca, const char *guid_in, const char *holder, int64_t expires,
                int64_t *id)
{
	struct cvq_ca_citizen c;
	sqlite3_stmt *st = NULL;
	char guid[33];
	cvq_ca_err err;
	int64_t now = ca_now();
	int rc;

	if (!ca || !holder || !ca_guid_normalise(guid_in, guid))
		return ca_fail(ca, CVQ_CA_ERR_ARG, "a card GUID is 32 hex digits");
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_citizen_get(ca, holder, &c);
	if (err != CVQ_CA_OK)
		goto fail;
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO cards(guid, citizen_id, status, created,"
	                        " expires, updated) VALUES (?,?,0,?,?,?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, guid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, c.id);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, expires);
		sqlite3_bind_int64(st, 5, now);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "card add");
		goto fail;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(ca->db);
	err = ca_audit_append(ca, "card.add", guid, "holder=%s", holder);
	if (err != CVQ_CA_OK)
		goto fail;
	return ca_tx_commit(ca);
fail:
	ca_tx_rollback(ca);
	return err;
}

#define CARD_SELECT "SELECT k.id, k.guid, c.ext_id, k.status, k.created, k.expires, k.updated" \
	" FROM cards k JOIN citizens c ON c.id = k.citizen_id"

static void
read_card(sqlite3_stmt *st, struct cvq_ca_card *k)
{
	int s;

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(st, 0);
	col_text(k->guid, sizeof(k->guid), st, 1);
	col_text(k->holder, sizeof(k->holder), st, 2);
	s = sqlite3_column_int(st, 3);
	k->status = s >= 0 && s < CVQ_CA_CARD__COUNT ? (enum cvq_ca_card_status)s : CVQ_CA_CARD_SUSPENDED;
	k->created = sqlite3_column_int64(st, 4);
	k->expires = sqlite3_column_int64(st, 5);
	k->updated = sqlite3_column_int64(st, 6);
}

cvq_ca_err
cvq_ca_card_get(cvq_ca *ca, const char *guid_in, struct cvq_ca_card *out)
{
	sqlite3_stmt *st = NULL;
	char guid[33];
	int rc;

	if (!ca || !out || !ca_guid_normalise(guid_in, guid))
		return CVQ_CA_ERR_ARG;
	rc = sqlite3_prepare_v2(ca->db, CARD_SELECT " WHERE k.guid = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "card");
	sqlite3_bind_text(st, 1, guid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_card(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return CVQ_CA_OK;
	if (rc == SQLITE_DONE)
		return ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no card %s", guid);
	return ca_sql_fail(ca, rc, "card");
}

cvq_ca_err
ca_card_lookup(cvq_ca *ca, const char *guid, int64_t *card_id,
               enum cvq_ca_card_status *status, char *holder, size_t holder_len)
{
	struct cvq_ca_card k;
	cvq_ca_err err = cvq_ca_card_get(ca, guid, &k);

	if (err != CVQ_CA_OK)
		return err;
	*card_id = k.id;
	if (status)
		*status = k.status;
	if (holder)
		snprintf(holder, holder_len, "%s", k.holder);
	return CVQ_CA_OK;
}

/* Inside the caller's transaction. */
cvq_ca_err
ca_card_set_status_tx(cvq_ca *ca, const char *guid, enum cvq_ca_card_status s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(ca->db, "UPDATE cards SET status = ?, updated = ? WHERE guid = ?",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, (int)s);
		sqlite3_bind_int64(st, 2, ca_now());
		sqlite3_bind_text(st, 3, guid, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ca_sql_fail(ca, rc, "card status");
	if (sqlite3_changes(ca->db) == 0)
		return ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no card %s", guid);
	return ca_audit_append(ca, "card.status", guid, "%s", cvq_ca_card_status_name(s));
}

cvq_ca_err
cvq_ca_card_set_status(cvq_ca *ca, const char *guid_in, enum cvq_ca_card_status s)
{
	char guid[33];
	cvq_ca_err err;

	if (!ca || !ca_guid_normalise(guid_in, guid) || (unsigned)s >= CVQ_CA_CARD__COUNT)
		return CVQ_CA_ERR_ARG;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = ca_card_set_status_tx(ca, guid, s);
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	return ca_tx_commit(ca);
}

cvq_ca_err
cvq_ca_card_list(cvq_ca *ca, const char *holder, cvq_ca_card_cb cb, void *ctx)
{
	struct cvq_ca_card k;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!ca || !cb)
		return CVQ_CA_ERR_ARG;
	rc = sqlite3_prepare_v2(ca->db, CARD_SELECT " WHERE ?1 IS NULL OR c.ext_id = ?1"
	                        " ORDER BY k.id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "card list");
	if (holder)
		sqlite3_bind_text(st, 1, holder, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_card(st, &k);
		if (cb(ctx, &k) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "card list");
}
