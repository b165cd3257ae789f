/*
 * libcvqca — role changes under two-person control (issue #13).
 *
 * The roles live in ca.conf, which whoever may write it could change
 * alone. So the store keeps the last approved [roles] and [dual] sections
 * (their canonical text, table roles_pin). When ca.conf says something
 * else, the CA goes on with the approved roles — nothing is issued — until
 * an officer of the approved set asks for the change (cvq-admin ca request
 * --roles) and approvals other officers of that same set approve it.
 *
 * The first roles a store sees are pinned as they are ("roles.init"): a CA
 * made before roles existed has only its owner as officer, who could never
 * be approved by a second one. Until then nothing is pinned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_int.h"

static const char *const keys[] = {
	"roles.officer", "roles.operator", "roles.auditor", "roles.service",
	"roles.officer_profiles", "roles.operator_profiles", "roles.auditor_profiles",
	"roles.service_profiles",
};

char *
ca_roles_canon(const struct cvq_ca_config *c)
{
	const char *v[8] = {
		c->roles[0], c->roles[1], c->roles[2], c->roles[3],
		c->role_profiles[0], c->role_profiles[1], c->role_profiles[2], c->role_profiles[3],
	};
	size_t n = 32, i, k = 0;
	char *out;

	for (i = 0; i < 8; i++)
		n += strlen(keys[i]) + 2 + (v[i] ? strlen(v[i]) : 0);
	out = malloc(n);
	if (!out)
		return NULL;
	for (i = 0; i < 8; i++)
		k += (size_t)snprintf(out + k, n - k, "%s=%s\n", keys[i], v[i] ? v[i] : "");
	snprintf(out + k, n - k, "dual.approvals=%u\n", c->approvals);
	return out;
}

/* The roles part of a configuration, back from its text. */
static struct cvq_ca_config *
from_text(const char *text)
{
	struct cvq_ca_config *c = cvq_ca_config_new();
	char *dup = strdup(text), *line, *save = NULL;

	if (!c || !dup)
		goto fail;
	for (line = strtok_r(dup, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			goto fail;
		*eq = '\0';
		if (cvq_ca_config_set(c, line, eq + 1) != CVQ_CA_OK)
			goto fail;
	}
	free(dup);
	return c;
fail:
	free(dup);
	cvq_ca_config_free(c);
	return NULL;
}

static cvq_ca_err
ensure(cvq_ca *ca)
{
	int rc = sqlite3_exec(ca->db, "CREATE TABLE IF NOT EXISTS roles_pin ("
	                      "  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, text TEXT NOT NULL);",
	                      NULL, NULL, NULL);

	return rc == SQLITE_OK ? CVQ_CA_OK : ca_sql_fail(ca, rc, "roles table");
}

/* Inside a transaction. */
cvq_ca_err
ca_roles_pin_set(cvq_ca *ca, const char *text)
{
	sqlite3_stmt *st = NULL;
	cvq_ca_err err = ensure(ca);
	int rc;

	if (err != CVQ_CA_OK)
		return err;
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO roles_pin (ts, text) VALUES (?, ?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ca_now());
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ca_sql_fail(ca, rc, "roles pin");
	cvq_ca_config_free(ca->roles_old);
	ca->roles_old = NULL;
	return CVQ_CA_OK;
}

cvq_ca_err
ca_roles_pin_load(cvq_ca *ca)
{
	sqlite3_stmt *st = NULL;
	char *now = ca_roles_canon(ca->cfg), *pinned = NULL;
	cvq_ca_err err;
	int rc;

	if (!now)
		return CVQ_CA_ERR_NOMEM;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		goto out;
	err = ensure(ca);
	if (err != CVQ_CA_OK)
		goto rollback;
	rc = sqlite3_prepare_v2(ca->db, "SELECT text FROM roles_pin ORDER BY seq DESC LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = ca_sql_fail(ca, rc, "roles pin");
		goto rollback;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		pinned = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "roles pin");
		goto rollback;
	}
	if (rc == SQLITE_ROW && !pinned) {
		err = CVQ_CA_ERR_NOMEM;
		goto rollback;
	}
	if (!pinned && !ca->cfg->roles[0] && !ca->cfg->roles[1] && !ca->cfg->roles[2] &&
	    !ca->cfg->roles[3]) {
		ca_tx_rollback(ca); /* no roles yet, none pinned: the owner-only default */
		goto out;
	}
	if (!pinned) {
		/* First sight of roles: pinned as they are, on record. */
		err = ca_roles_pin_set(ca, now);
		if (err == CVQ_CA_OK)
			err = ca_audit_append(ca, "roles.init", "roles", "%.200s", now);
		if (err != CVQ_CA_OK)
			goto rollback;
		err = ca_tx_commit(ca);
		goto out;
	}
	ca_tx_rollback(ca);
	if (strcmp(pinned, now) != 0) {
		ca->roles_old = from_text(pinned);
		if (!ca->roles_old)
			err = ca_fail(ca, CVQ_CA_ERR_STORE, "the approved roles in the store do not parse");
	}
	goto out;
rollback:
	ca_tx_rollback(ca);
out:
	free(now);
	free(pinned);
	return err;
}

const struct cvq_ca_config *
ca_roles_cfg(const cvq_ca *ca)
{
	return ca->roles_old ? ca->roles_old : ca->cfg;
}
