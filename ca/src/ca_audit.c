/*
 * libcvqca — the hash-chained audit log.
 *
 * hash(n) = SHA-256(hash(n-1) || seq || ts || actor || action || object ||
 * detail), integers big-endian 64-bit, strings prefixed by a 32-bit length,
 * hash(0) = 32 zero bytes. From time to time the CA key signs
 * ("cvq-audit-head" || seq || hash), so that rewriting the whole chain,
 * or cutting its tail before a signed head, is found too.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "ca_int.h"

static const char head_label[] = "cvq-audit-head";

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Everything an entry's hash covers, at most (each string shorter than its field). */
#define ENTRY_MAX (32 + 16 + 4 * 4 + sizeof(((struct cvq_ca_audit_entry *)0)->actor) + \
                   sizeof(((struct cvq_ca_audit_entry *)0)->action) + \
                   sizeof(((struct cvq_ca_audit_entry *)0)->object) + \
                   sizeof(((struct cvq_ca_audit_entry *)0)->detail))

/* What snprintf(dst, cap, "%s", s) gives (cut to cap - 1), for less. */
static void
copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A 32-bit length, then the string: at most cap - 1 bytes, as stored. */
static size_t
put_str(uint8_t *p, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap - 1);

	put_be(p, n, 4);
	memcpy(p + 4, s, n);
	return 4 + n;
}

/*
 * The bytes laid out once and hashed in one call: ten EVP_DigestUpdate()
 * calls and an EVP_sha256() fetched by every EVP_DigestInit_ex() cost
 * more than the hashing. md: SHA-256 fetched once (a batch's), or NULL.
 */
static cvq_ca_err
entry_hash(const EVP_MD *md, const uint8_t prev[32], const struct cvq_ca_audit_entry *e,
           uint8_t out[32])
{
	uint8_t b[ENTRY_MAX];
	size_t n = 0;

	memcpy(b, prev, 32);
	put_be(b + 32, (uint64_t)e->seq, 8);
	put_be(b + 40, (uint64_t)e->ts, 8);
	n = 48;
	n += put_str(b + n, e->actor, sizeof(e->actor));
	n += put_str(b + n, e->action, sizeof(e->action));
	n += put_str(b + n, e->object, sizeof(e->object));
	n += put_str(b + n, e->detail, sizeof(e->detail));
	if (!EVP_Digest(b, n, out, NULL, md ? md : EVP_sha256(), NULL)) {
		ERR_clear_error();
		return CVQ_CA_ERR_CRYPTO;
	}
	return CVQ_CA_OK;
}

static void
head_tbs(int64_t seq, const uint8_t hash[32], uint8_t tbs[sizeof(head_label) - 1 + 8 + 32])
{
	memcpy(tbs, head_label, sizeof(head_label) - 1);
	put_be(tbs + sizeof(head_label) - 1, (uint64_t)seq, 8);
	memcpy(tbs + sizeof(head_label) - 1 + 8, hash, 32);
}

static cvq_ca_err
sign_head(cvq_ca *ca, int64_t seq, const uint8_t hash[32])
{
	uint8_t tbs[sizeof(head_label) - 1 + 8 + 32], *sig = NULL;
	EVP_MD_CTX *md = NULL;
	sqlite3_stmt *st = NULL;
	size_t sig_len = 0;
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;
	int rc;

	head_tbs(seq, hash, tbs);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, ca_key_md(ca->key), NULL, ca->key) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, tbs, sizeof(tbs)) != 1)
		goto out;
	sig = OPENSSL_malloc(sig_len);
	if (!sig || EVP_DigestSign(md, sig, &sig_len, tbs, sizeof(tbs)) != 1)
		goto out;
	rc = sqlite3_prepare_v2(ca->db, "INSERT OR REPLACE INTO audit_heads(seq, hash, ts, sig)"
	                        " VALUES (?, ?, ?, ?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ca_now());
		sqlite3_bind_blob(st, 4, sig, (int)sig_len, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	err = rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "audit head");
out:
	if (err == CVQ_CA_ERR_CRYPTO)
		ERR_clear_error();
	sqlite3_finalize(st);
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	return err;
}

static cvq_ca_err
last_entry(cvq_ca *ca, int64_t *seq, uint8_t hash[32])
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* Appended by us in this very transaction: nobody else could since. */
	if (ca->audit_tail.valid && !sqlite3_get_autocommit(ca->db)) {
		*seq = ca->audit_tail.seq;
		memcpy(hash, ca->audit_tail.hash, 32);
		return CVQ_CA_OK;
	}
	*seq = 0;
	memset(hash, 0, 32);
	st = ca_stmt(ca, CA_STMT_AUDIT_LAST);
	if (!st)
		return CVQ_CA_ERR_STORE;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == 32)
			memcpy(hash, sqlite3_column_blob(st, 1), 32);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "audit");
}

cvq_ca_err
ca_audit_append(cvq_ca *ca, const char *action, const char *object, const char *fmt, ...)
{
	struct cvq_ca_audit_entry e = {0};
	uint8_t prev[32];
	sqlite3_stmt *st = NULL;
	cvq_ca_err err;
	va_list ap;
	int rc;

	err = last_entry(ca, &e.seq, prev);
	if (err != CVQ_CA_OK)
		return err;
	e.seq++;
	e.ts = ca_now();
	copy_str(e.actor, sizeof(e.actor), ca->actor);
	copy_str(e.action, sizeof(e.action), action);
	copy_str(e.object, sizeof(e.object), object ? object : "");
	va_start(ap, fmt);
	vsnprintf(e.detail, sizeof(e.detail), fmt, ap);
	va_end(ap);
	err = entry_hash(ca->batch.sha256, prev, &e, e.hash);
	if (err != CVQ_CA_OK)
		return err;
	st = ca_stmt(ca, CA_STMT_AUDIT_INSERT);
	rc = st ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, e.seq);
		sqlite3_bind_int64(st, 2, e.ts);
		sqlite3_bind_text(st, 3, e.actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e.action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, e.object, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, e.detail, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 7, prev, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, e.hash, 32, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (rc != SQLITE_DONE) {
		ca->audit_tail.valid = false;
		return ca_sql_fail(ca, rc, "audit append");
	}
	/* In a transaction, the tail the next append chains to. */
	ca->audit_tail.valid = !sqlite3_get_autocommit(ca->db);
	ca->audit_tail.seq = e.seq;
	memcpy(ca->audit_tail.hash, e.hash, 32);
	if (ca->key && ca->cfg->audit_sign_every &&
	    e.seq % (int64_t)ca->cfg->audit_sign_every == 0)
		return sign_head(ca, e.seq, e.hash);
	return CVQ_CA_OK;
}

cvq_ca_err
ca_audit_sign_tx(cvq_ca *ca)
{
	uint8_t hash[32];
	int64_t seq;
	cvq_ca_err err;

	if (!ca->key)
		return CVQ_CA_OK;
	err = last_entry(ca, &seq, hash);
	if (err == CVQ_CA_OK && seq > 0)
		err = sign_head(ca, seq, hash);
	return err;
}

cvq_ca_err
cvq_ca_audit_sign_head(cvq_ca *ca)
{
	uint8_t hash[32];
	int64_t seq;
	cvq_ca_err err;

	if (!ca || !ca->key)
		return CVQ_CA_ERR_KEY;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = last_entry(ca, &seq, hash);
	if (err == CVQ_CA_OK && seq > 0)
		err = sign_head(ca, seq, hash);
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	return ca_tx_commit(ca);
}

static void
copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Columns 0..5: seq, ts, actor, action, object, detail. */
static void
read_entry(sqlite3_stmt *st, struct cvq_ca_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(st, 0);
	e->ts = sqlite3_column_int64(st, 1);
	copy_col(e->actor, sizeof(e->actor), st, 2);
	copy_col(e->action, sizeof(e->action), st, 3);
	copy_col(e->object, sizeof(e->object), st, 4);
	copy_col(e->detail, sizeof(e->detail), st, 5);
}

cvq_ca_err
cvq_ca_audit_list(cvq_ca *ca, int64_t from_seq, cvq_ca_audit_cb cb, void *ctx)
{
	struct cvq_ca_audit_entry e;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!ca || !cb)
		return CVQ_CA_ERR_ARG;
	rc = sqlite3_prepare_v2(ca->db,
	        "SELECT a.seq, a.ts, a.actor, a.action, a.object, a.detail, a.hash,"
	        " h.seq IS NOT NULL FROM audit a LEFT JOIN audit_heads h ON h.seq = a.seq"
	        " WHERE a.seq >= ? ORDER BY a.seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "audit list");
	sqlite3_bind_int64(st, 1, from_seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_entry(st, &e);
		if (sqlite3_column_bytes(st, 6) == 32)
			memcpy(e.hash, sqlite3_column_blob(st, 6), 32);
		e.signed_head = sqlite3_column_int(st, 7) != 0;
		if (cb(ctx, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CVQ_CA_OK : ca_sql_fail(ca, rc, "audit list");
}

static cvq_ca_err
verify_heads(cvq_ca *ca, int64_t last_seq, int64_t *bad_seq, uint64_t *heads)
{
	uint8_t tbs[sizeof(head_label) - 1 + 8 + 32], hash[32];
	sqlite3_stmt *st = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(ca->cert);
	EVP_MD_CTX *md = NULL;
	cvq_ca_err err = CVQ_CA_OK;
	int64_t seq;
	int rc, ok;

	rc = sqlite3_prepare_v2(ca->db, "SELECT h.seq, h.hash, h.sig, a.hash FROM audit_heads h"
	                        " LEFT JOIN audit a ON a.seq = h.seq ORDER BY h.seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "audit heads");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		/* A signed head beyond the last entry: the tail was cut. */
		if (seq > last_seq || sqlite3_column_bytes(st, 1) != 32 ||
		    sqlite3_column_bytes(st, 3) != 32 ||
		    memcmp(sqlite3_column_blob(st, 1), sqlite3_column_blob(st, 3), 32) != 0) {
			*bad_seq = seq > last_seq ? last_seq + 1 : seq;
			err = ca_fail(ca, CVQ_CA_ERR_AUDIT, "signed head %lld does not match the chain",
			              (long long)seq);
			break;
		}
		memcpy(hash, sqlite3_column_blob(st, 1), 32);
		head_tbs(seq, hash, tbs);
		md = EVP_MD_CTX_new();
		ok = md && EVP_DigestVerifyInit(md, NULL, ca_key_md(pub), NULL, pub) == 1 &&
		     EVP_DigestVerify(md, sqlite3_column_blob(st, 2),
		                      (size_t)sqlite3_column_bytes(st, 2), tbs, sizeof(tbs)) == 1;
		EVP_MD_CTX_free(md);
		if (!ok) {
			ERR_clear_error();
			*bad_seq = seq;
			err = ca_fail(ca, CVQ_CA_ERR_AUDIT, "bad signature on head %lld", (long long)seq);
			break;
		}
		if (heads)
			(*heads)++;
	}
	sqlite3_finalize(st);
	if (err == CVQ_CA_OK && rc != SQLITE_DONE)
		err = ca_sql_fail(ca, rc, "audit heads");
	return err;
}

cvq_ca_err
cvq_ca_audit_verify(cvq_ca *ca, int64_t *bad_seq, uint64_t *entries, uint64_t *heads)
{
	struct cvq_ca_audit_entry e;
	uint8_t prev[32] = {0}, h[32];
	sqlite3_stmt *st = NULL;
	cvq_ca_err err = CVQ_CA_OK;
	int64_t expect = 1, dummy;
	int rc;

	if (!ca)
		return CVQ_CA_ERR_ARG;
	if (!bad_seq)
		bad_seq = &dummy;
	*bad_seq = 0;
	if (entries)
		*entries = 0;
	if (heads)
		*heads = 0;
	rc = sqlite3_prepare_v2(ca->db, "SELECT seq, ts, actor, action, object, detail, prev, hash"
	                        " FROM audit ORDER BY seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "audit verify");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_entry(st, &e);
		if (e.seq != expect || sqlite3_column_bytes(st, 6) != 32 ||
		    memcmp(sqlite3_column_blob(st, 6), prev, 32) != 0) {
			*bad_seq = e.seq != expect && e.seq > expect ? expect : e.seq;
			err = ca_fail(ca, CVQ_CA_ERR_AUDIT, "entry %lld: missing, moved or relinked",
			              (long long)*bad_seq);
			break;
		}
		err = entry_hash(NULL, prev, &e, h);
		if (err != CVQ_CA_OK)
			break;
		if (sqlite3_column_bytes(st, 7) != 32 ||
		    memcmp(sqlite3_column_blob(st, 7), h, 32) != 0) {
			*bad_seq = e.seq;
			err = ca_fail(ca, CVQ_CA_ERR_AUDIT, "entry %lld was changed", (long long)e.seq);
			break;
		}
		memcpy(prev, h, 32);
		expect++;
		if (entries)
			(*entries)++;
	}
	sqlite3_finalize(st);
	if (err == CVQ_CA_OK && rc != SQLITE_DONE)
		return ca_sql_fail(ca, rc, "audit verify");
	if (err != CVQ_CA_OK)
		return err;
	return verify_heads(ca, expect - 1, bad_seq, heads);
}

cvq_ca_err
cvq_ca_audit_record(cvq_ca *ca, const char *action, const char *object,
                    const char *detail)
{
	const char *p;
	cvq_ca_err err;

	if (ca == NULL || action == NULL || action[0] == '\0' ||
	    strlen(action) >= sizeof(((struct cvq_ca_audit_entry *)0)->action))
		return CVQ_CA_ERR_ARG;
	/* Entries are read by people and tools: no control characters. */
	for (p = action; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			return CVQ_CA_ERR_ARG;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = ca_audit_append(ca, action, object, "%s", detail ? detail : "");
	if (err != CVQ_CA_OK) {
		ca_tx_rollback(ca);
		return err;
	}
	return ca_tx_commit(ca);
}
