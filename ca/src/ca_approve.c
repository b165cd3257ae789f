/*
 * libcvqca — two-person control (issue #13): what can mint authority is
 * issued only once cfg->approvals officers other than the requester have
 * approved the very request (CSR and options) that was submitted.
 *
 * Identity is the kernel's: the caller's uid (cvq_ca_set_caller(); the
 * process's getuid() by default), so one person cannot approve twice
 * under two names. A peer a front identified by its TLS client
 * certificate has no uid (caller_uid = (unsigned)-1, cvq_ca_agent_handle)
 * and is told apart by its actor, the string naming that certificate:
 * caller_id() is the one key both the requester check and the count of
 * approvals use, so all such peers never collapse into "uid -1" (which
 * would let one refuse another's approval, or count two as one).
 * Limit: the key is the uid or the certificate, not the person. One
 * officer reachable both ways (a uid in [roles] and a staff card named by
 * citizen:ID), or holding two good citizen-auth certificates, is two
 * identities here: it may approve its own request, or approve twice.
 * [roles] must not name one person twice until the key is the holder.
 *
 * Each step is one transaction with its audit entry; the
 * last approval issues through the usual path (input policy, profile
 * checker, store row, audit), with ca->issuing_request allowing the
 * profile only for that call.
 *
 * The tables are made when first used (CREATE TABLE IF NOT EXISTS) rather
 * than by a schema migration, so a store of an older cvq keeps opening.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "ca_csr.h"
#include "ca_int.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS requests ("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  requester TEXT NOT NULL,"
	"  requester_uid INTEGER NOT NULL,"
	"  profile INTEGER NOT NULL,"
	"  card TEXT, subject TEXT, dns TEXT,"
	"  days INTEGER NOT NULL DEFAULT 0,"
	"  csr BLOB NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  serial TEXT NOT NULL DEFAULT '',"
	"  roles TEXT);"  /* a change of roles: their canonical text (ca_roles_pin.c) */
	"CREATE TABLE IF NOT EXISTS approvals ("
	"  request_id INTEGER NOT NULL REFERENCES requests(id),"
	"  approver_uid INTEGER NOT NULL,"
	"  approver TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  PRIMARY KEY (request_id, approver_uid));"
	/* Approvals by identity (caller_id()): the table above keyed them by
	 * uid, which a certificate peer does not have. Its rows (a store of
	 * the uid-only cvq) are carried over once, as "uid=N". */
	"CREATE TABLE IF NOT EXISTS approvals_by ("
	"  request_id INTEGER NOT NULL REFERENCES requests(id),"
	"  who TEXT NOT NULL,"
	"  approver TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  PRIMARY KEY (request_id, who));";

static const char carry_over[] =
	"INSERT OR IGNORE INTO approvals_by (request_id, who, approver, ts)"
	"  SELECT request_id, 'uid=' || approver_uid, approver, ts FROM approvals;"
	"DELETE FROM approvals;";

/* No uid: a peer identified by a certificate (cvq_ca_agent_handle). */
#define NO_UID ((unsigned)-1)

/*
 * Who the caller is, for telling officers apart: "uid=N" for the kernel's
 * word, else the actor that names the peer's certificate. Never a bare
 * actor of a uid caller: its user name may change, its uid may not.
 */
static void
caller_id(const cvq_ca *ca, char out[80])
{
	if (ca->caller_uid != NO_UID)
		snprintf(out, 80, "uid=%u", ca->caller_uid);
	else
		snprintf(out, 80, "peer=%.70s", ca->actor);
}

/* requests.requester_uid: the uid, or -1 for a certificate peer. */
static int64_t
uid_column(const cvq_ca *ca)
{
	return ca->caller_uid == NO_UID ? -1 : (int64_t)ca->caller_uid;
}

/* The same for the requester of a row (its uid, or its actor when none). */
static void
requester_id(int64_t uid, const char *actor, char out[80])
{
	if (uid >= 0 && (unsigned)uid != NO_UID)
		snprintf(out, 80, "uid=%u", (unsigned)uid);
	else
		snprintf(out, 80, "peer=%.70s", actor);
}

/*
 * The caller's roles again after the approved roles changed. A uid is
 * looked up in them; a certificate peer's roles are its front's to derive
 * (from the certificate, not from any uid): it keeps none for the rest of
 * this request, and the next one is judged afresh.
 */
static void
caller_refresh(cvq_ca *ca)
{
	if (ca->caller_uid != NO_UID)
		cvq_ca_set_caller(ca, ca->caller_uid);
	else
		ca->caller_roles = 0; /* the actor (the certificate's name) stays */
}

static cvq_ca_err
ensure_tables(cvq_ca *ca)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_exec(ca->db, schema, NULL, NULL, NULL);
	bool old_rows = false;

	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "request tables");
	/* Only written when there is something to carry (a reader's store
	 * may be read-only). */
	rc = sqlite3_prepare_v2(ca->db, "SELECT 1 FROM approvals LIMIT 1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		old_rows = (rc = sqlite3_step(st)) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ca_sql_fail(ca, rc, "request tables");
	rc = old_rows ? sqlite3_exec(ca->db, carry_over, NULL, NULL, NULL) : SQLITE_OK;
	return rc == SQLITE_OK ? CVQ_CA_OK : ca_sql_fail(ca, rc, "approvals carried over");
}

/* Refused: said, and on record (own transaction; best effort). */
static cvq_ca_err
refuse(cvq_ca *ca, cvq_ca_err err, const char *action, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static cvq_ca_err
refuse(cvq_ca *ca, cvq_ca_err err, const char *action, int64_t id, const char *fmt, ...)
{
	char obj[32], msg[sizeof(ca->errmsg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(obj, sizeof(obj), "request:%lld", (long long)id);
	if (ca_tx_begin(ca) == CVQ_CA_OK) {
		if (ca_audit_append(ca, action, obj, "refused: %.200s", msg) == CVQ_CA_OK)
			ca_tx_commit(ca);
		else
			ca_tx_rollback(ca);
	}
	snprintf(ca->errmsg, sizeof(ca->errmsg), "%s", msg);
	return err;
}

static bool
is_officer(const cvq_ca *ca)
{
	return (ca->caller_roles & (1u << CVQ_CA_ROLE_OFFICER)) != 0;
}

cvq_ca_err
cvq_ca_request_submit(cvq_ca *ca, const struct cvq_ca_issue_req *req, const uint8_t *csr,
                      size_t csr_len, int64_t *id)
{
	struct ca_csr r;
	sqlite3_stmt *st = NULL;
	uint8_t h[32];
	char obj[32];
	cvq_ca_err err;
	int rc;

	if (!ca || !req || !csr || !csr_len || !id || (unsigned)req->profile >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	*id = 0;
	if (!is_officer(ca))
		return refuse(ca, CVQ_CA_ERR_DENIED, "request.submit", 0,
		              "%s is not a CA officer: only officers ask for %s certificates", ca->actor,
		              cvq_ca_profile_name(req->profile));
	if (!cvq_ca_profile_dual(req->profile))
		return refuse(ca, CVQ_CA_ERR_ARG, "request.submit", 0,
		              "the %s profile is issued directly, without a request",
		              cvq_ca_profile_name(req->profile));
	if (!cvq_ca_roles_allow(ca->cfg, ca->caller_roles, req->profile))
		return refuse(ca, CVQ_CA_ERR_DENIED, "request.submit", 0, "the %s profile is not for %s",
		              cvq_ca_profile_name(req->profile), ca->actor);
	/* The request must be issuable as it stands: refused now, not after
	 * two officers have spent their time on it. */
	err = ca_csr_parse(csr, csr_len, &r);
	if (err != CVQ_CA_OK)
		return refuse(ca, err, "request.submit", 0, "%s", err == CVQ_CA_ERR_POP ?
		              "the CSR's signature does not verify" : "not a CSR, or no usable public key");
	err = ca_policy_key(ca->cfg, ca, r.pub, r.spki);
	if (err == CVQ_CA_OK && !req->subject)
		err = ca_policy_subject(ca->cfg, ca, r.subject);
	ca_csr_free(&r);
	if (err == CVQ_CA_OK && req->subject) {
		X509_NAME *n = ca_name_parse(req->subject);

		err = n ? ca_policy_subject(ca->cfg, ca, n) : ca_fail(ca, CVQ_CA_ERR_ARG, "bad subject");
		X509_NAME_free(n);
	}
	if (err != CVQ_CA_OK)
		return refuse(ca, err, "request.submit", 0, "%s", ca->errmsg);
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = ensure_tables(ca);
	if (err != CVQ_CA_OK)
		goto out;
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO requests (created, requester, requester_uid, "
	                        "profile, card, subject, dns, days, csr) VALUES (?,?,?,?,?,?,?,?,?)",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = ca_sql_fail(ca, rc, "request insert");
		goto out;
	}
	sqlite3_bind_int64(st, 1, ca_now());
	sqlite3_bind_text(st, 2, ca->actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, uid_column(ca));
	sqlite3_bind_int(st, 4, (int)req->profile);
	if (req->card_guid)
		sqlite3_bind_text(st, 5, req->card_guid, -1, SQLITE_STATIC);
	if (req->subject)
		sqlite3_bind_text(st, 6, req->subject, -1, SQLITE_STATIC);
	if (req->dns_name)
		sqlite3_bind_text(st, 7, req->dns_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, req->days);
	sqlite3_bind_blob(st, 9, csr, (int)csr_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "request insert");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(ca->db);
	EVP_Digest(csr, csr_len, h, NULL, EVP_sha256(), NULL);
	snprintf(obj, sizeof(obj), "request:%lld", (long long)*id);
	err = ca_audit_append(ca, "request.submit", obj,
	                      "profile=%s subject=%.100s csr_sha256=%02x%02x%02x%02x%02x%02x%02x%02x "
	                      "needs=%u%s", cvq_ca_profile_name(req->profile),
	                      req->subject ? req->subject : "(the CSR's)", h[0], h[1], h[2], h[3], h[4],
	                      h[5], h[6], h[7], ca->cfg->approvals, ca->via_agent ? " via=agent" : "");
out:
	sqlite3_finalize(st);
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	if (err != CVQ_CA_OK)
		*id = 0;
	return err;
}

/* The request row (inside a transaction). csr: malloc'd copy, or NULL. */
struct row {
	struct cvq_ca_request_info info;
	int64_t requester_uid;
	char card[33], dns[254];
	bool has_card, has_subject, has_dns;
	unsigned days;
	uint8_t *csr;
	size_t csr_len;
	char *roles;            /* a change of roles: the text to put in force */
};

static void
row_free(struct row *r)
{
	free(r->csr);
	free(r->roles);
	r->csr = NULL;
	r->roles = NULL;
}

static cvq_ca_err
load_row(cvq_ca *ca, int64_t id, struct row *r, bool with_csr)
{
	sqlite3_stmt *st = NULL;
	cvq_ca_err err;
	int rc;

	memset(r, 0, sizeof(*r));
	err = ensure_tables(ca);
	if (err != CVQ_CA_OK)
		return err;
	rc = sqlite3_prepare_v2(ca->db, "SELECT id, created, requester, requester_uid, profile, card, "
	                        "subject, dns, days, state, serial, csr, (SELECT count(*) FROM "
	                        "approvals_by WHERE request_id = requests.id), roles FROM requests WHERE id = ?",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "request lookup");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no request %lld", (long long)id)
		                         : ca_sql_fail(ca, rc, "request lookup");
	}
	r->info.id = sqlite3_column_int64(st, 0);
	r->info.created = sqlite3_column_int64(st, 1);
	snprintf(r->info.requester, sizeof(r->info.requester), "%s", sqlite3_column_text(st, 2));
	r->requester_uid = sqlite3_column_int64(st, 3);
	r->info.profile = (enum cvq_ca_profile)sqlite3_column_int(st, 4);
	if ((r->has_card = sqlite3_column_type(st, 5) != SQLITE_NULL))
		snprintf(r->card, sizeof(r->card), "%s", sqlite3_column_text(st, 5));
	if ((r->has_subject = sqlite3_column_type(st, 6) != SQLITE_NULL))
		snprintf(r->info.subject, sizeof(r->info.subject), "%s", sqlite3_column_text(st, 6));
	if ((r->has_dns = sqlite3_column_type(st, 7) != SQLITE_NULL))
		snprintf(r->dns, sizeof(r->dns), "%s", sqlite3_column_text(st, 7));
	r->days = (unsigned)sqlite3_column_int(st, 8);
	r->info.state = (enum cvq_ca_request_state)sqlite3_column_int(st, 9);
	snprintf(r->info.serial, sizeof(r->info.serial), "%s", sqlite3_column_text(st, 10));
	r->info.approvals = (unsigned)sqlite3_column_int(st, 12);
	r->info.needed = ca_roles_cfg(ca)->approvals;
	if ((r->info.roles = sqlite3_column_type(st, 13) != SQLITE_NULL)) {
		r->roles = strdup((const char *)sqlite3_column_text(st, 13));
		if (!r->roles) {
			sqlite3_finalize(st);
			return CVQ_CA_ERR_NOMEM;
		}
	}
	if (with_csr) {
		r->csr_len = (size_t)sqlite3_column_bytes(st, 11);
		r->csr = malloc(r->csr_len ? r->csr_len : 1);
		if (!r->csr) {
			sqlite3_finalize(st);
			return CVQ_CA_ERR_NOMEM;
		}
		memcpy(r->csr, sqlite3_column_blob(st, 11), r->csr_len);
	}
	sqlite3_finalize(st);
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_request_get(cvq_ca *ca, int64_t id, struct cvq_ca_request_info *out)
{
	struct row r;
	cvq_ca_err err;

	if (!ca || !out)
		return CVQ_CA_ERR_ARG;
	err = load_row(ca, id, &r, false);
	if (err == CVQ_CA_OK)
		*out = r.info;
	row_free(&r);
	return err;
}

static cvq_ca_err
set_state(cvq_ca *ca, int64_t id, enum cvq_ca_request_state s, const char *serial)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(ca->db, "UPDATE requests SET state = ?, serial = ? WHERE id = ?",
	                            -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, (int)s);
		sqlite3_bind_text(st, 2, serial ? serial : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, id);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "request update");
}

/* Issue the approved request: its own transactions (issue, then record). */
static cvq_ca_err
issue_approved(cvq_ca *ca, struct row *r, uint8_t **der, size_t *der_len)
{
	struct cvq_ca_issue_req req = {
		.profile = r->info.profile,
		.card_guid = r->has_card ? r->card : NULL,
		.subject = r->has_subject ? r->info.subject : NULL,
		.dns_name = r->has_dns ? r->dns : NULL,
		.days = r->days,
	};
	const unsigned char *p;
	char serial[67] = "", obj[32];
	X509 *x;
	cvq_ca_err err;

	ca->issuing_request = true;
	err = cvq_ca_issue_csr_der(ca, &req, r->csr, r->csr_len, der, der_len);
	ca->issuing_request = false;
	if (err != CVQ_CA_OK)
		return err;
	p = *der;
	x = d2i_X509(NULL, &p, (long)*der_len);
	if (x)
		cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
	X509_free(x);
	ERR_clear_error();
	snprintf(obj, sizeof(obj), "request:%lld", (long long)r->info.id);
	err = ca_tx_begin(ca);
	if (err == CVQ_CA_OK)
		err = set_state(ca, r->info.id, CVQ_CA_REQUEST_ISSUED, serial);
	if (err == CVQ_CA_OK)
		err = ca_audit_append(ca, "request.issued", obj, "serial=%s approvals=%u",
		                      serial, r->info.approvals);
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	/* The certificate is in the store and audited either way. */
	return err;
}

/* Put the approved roles in force: pinned in the store, on record. */
static cvq_ca_err
roles_approved(cvq_ca *ca, struct row *r)
{
	char *now = ca_roles_canon(ca->cfg), obj[32];
	cvq_ca_err err;

	if (!now)
		return CVQ_CA_ERR_NOMEM;
	snprintf(obj, sizeof(obj), "request:%lld", (long long)r->info.id);
	/* ca.conf changed again since the request: nothing approved blindly. */
	if (strcmp(now, r->roles) != 0) {
		free(now);
		return refuse(ca, CVQ_CA_ERR_POLICY, "request.approve", r->info.id,
		              "the roles in the configuration changed since request %lld: ask again",
		              (long long)r->info.id);
	}
	free(now);
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = ca_roles_pin_set(ca, r->roles);
	if (err == CVQ_CA_OK)
		err = set_state(ca, r->info.id, CVQ_CA_REQUEST_ISSUED, NULL);
	if (err == CVQ_CA_OK)
		err = ca_audit_append(ca, "roles.change", obj, "approvals=%u: %.200s", r->info.approvals,
		                      r->roles);
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	/* In force for the caller too (the handle dropped the old roles). */
	if (err == CVQ_CA_OK)
		caller_refresh(ca);
	return err;
}

cvq_ca_err
cvq_ca_request_roles(cvq_ca *ca, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	char *now, obj[32];
	cvq_ca_err err;
	int rc;

	if (!ca || !id)
		return CVQ_CA_ERR_ARG;
	*id = 0;
	if (!is_officer(ca))
		return refuse(ca, CVQ_CA_ERR_DENIED, "request.submit", 0,
		              "%s is not a CA officer of the approved roles", ca->actor);
	if (!ca->roles_old)
		return ca_fail(ca, CVQ_CA_ERR_ARG, "the roles in the configuration are the approved ones");
	now = ca_roles_canon(ca->cfg);
	if (!now)
		return CVQ_CA_ERR_NOMEM;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		goto out;
	err = ensure_tables(ca);
	if (err != CVQ_CA_OK)
		goto done;
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO requests (created, requester, requester_uid, profile, "
	                        "csr, roles) VALUES (?, ?, ?, -1, x'', ?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ca_now());
		sqlite3_bind_text(st, 2, ca->actor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, uid_column(ca));
		sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "request insert");
		goto done;
	}
	*id = sqlite3_last_insert_rowid(ca->db);
	snprintf(obj, sizeof(obj), "request:%lld", (long long)*id);
	err = ca_audit_append(ca, "request.submit", obj, "roles needs=%u: %.200s",
	                      ca_roles_cfg(ca)->approvals, now);
done:
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
out:
	free(now);
	if (err != CVQ_CA_OK)
		*id = 0;
	return err;
}

cvq_ca_err
cvq_ca_request_approve(cvq_ca *ca, int64_t id, uint8_t **der, size_t *der_len)
{
	struct row r;
	sqlite3_stmt *st = NULL;
	char obj[32], who[80], req_who[80];
	cvq_ca_err err;
	int rc;

	if (!ca || !der || !der_len)
		return CVQ_CA_ERR_ARG;
	*der = NULL;
	*der_len = 0;
	if (!is_officer(ca))
		return refuse(ca, CVQ_CA_ERR_DENIED, "request.approve", id,
		              "%s is not a CA officer: only officers approve", ca->actor);
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = load_row(ca, id, &r, true);
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	if (r.info.state != CVQ_CA_REQUEST_PENDING) {
		ca_tx_rollback(ca);
		row_free(&r);
		return refuse(ca, CVQ_CA_ERR_POLICY, "request.approve", id, "request %lld is %s", (long long)id,
		              r.info.state == CVQ_CA_REQUEST_ISSUED ? "already issued" : "rejected");
	}
	caller_id(ca, who);
	requester_id(r.requester_uid, r.info.requester, req_who);
	if (strcmp(who, req_who) == 0) {
		ca_tx_rollback(ca);
		row_free(&r);
		return refuse(ca, CVQ_CA_ERR_DENIED, "request.approve", id,
		              "%s asked for request %lld: another officer must approve it", ca->actor,
		              (long long)id);
	}
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO approvals_by (request_id, who, approver, ts) "
	                        "VALUES (?,?,?,?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ca->actor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, ca_now());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT) {
		ca_tx_rollback(ca);
		row_free(&r);
		return refuse(ca, CVQ_CA_ERR_EXISTS, "request.approve", id,
		              "%s has already approved request %lld", ca->actor, (long long)id);
	}
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "approval insert");
		ca_tx_rollback(ca);
		row_free(&r);
		return err;
	}
	r.info.approvals++;
	snprintf(obj, sizeof(obj), "request:%lld", (long long)id);
	err = ca_audit_append(ca, "request.approve", obj, "profile=%s approvals=%u/%u%s",
	                      r.roles ? "roles" : cvq_ca_profile_name(r.info.profile),
	                      r.info.approvals, r.info.needed,
	                      ca->via_agent ? " via=agent" : "");
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	if (err == CVQ_CA_OK && r.info.approvals >= r.info.needed)
		err = r.roles ? roles_approved(ca, &r) : issue_approved(ca, &r, der, der_len);
	row_free(&r);
	return err;
}

cvq_ca_err
cvq_ca_request_reject(cvq_ca *ca, int64_t id)
{
	struct row r;
	char obj[32];
	cvq_ca_err err;

	if (!ca)
		return CVQ_CA_ERR_ARG;
	if (!is_officer(ca))
		return refuse(ca, CVQ_CA_ERR_DENIED, "request.reject", id,
		              "%s is not a CA officer", ca->actor);
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = load_row(ca, id, &r, false);
	if (err == CVQ_CA_OK && r.info.state != CVQ_CA_REQUEST_PENDING)
		err = ca_fail(ca, CVQ_CA_ERR_POLICY, "request %lld is not pending", (long long)id);
	if (err == CVQ_CA_OK)
		err = set_state(ca, id, CVQ_CA_REQUEST_REJECTED, NULL);
	snprintf(obj, sizeof(obj), "request:%lld", (long long)id);
	if (err == CVQ_CA_OK)
		err = ca_audit_append(ca, "request.reject", obj, "profile=%s",
		                      cvq_ca_profile_name(r.info.profile));
	row_free(&r);
	if (err == CVQ_CA_OK)
		return ca_tx_commit(ca);
	ca_tx_rollback(ca);
	return err;
}

cvq_ca_err
cvq_ca_request_list(cvq_ca *ca, cvq_ca_request_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	cvq_ca_err err;
	int64_t ids[4096];
	size_t n = 0, i;
	int rc;

	if (!ca || !cb)
		return CVQ_CA_ERR_ARG;
	err = ensure_tables(ca);
	if (err != CVQ_CA_OK)
		return err;
	rc = sqlite3_prepare_v2(ca->db, "SELECT id FROM requests ORDER BY id DESC LIMIT 4096", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "request list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ca_sql_fail(ca, rc, "request list");
	for (i = n; i-- > 0;) {
		struct cvq_ca_request_info info;

		err = cvq_ca_request_get(ca, ids[i], &info);
		if (err != CVQ_CA_OK)
			return err;
		if (cb(ctx, &info))
			break;
	}
	return CVQ_CA_OK;
}
