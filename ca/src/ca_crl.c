/*
 * libcvqca — full CRLs: every revoked certificate, expired or not, a
 * strictly increasing CRL number (the crls table's key), AKI, reasons and
 * invalidity dates as entry extensions.
 *
 * Revoked certificates stay after they expire, and the CRL says so with
 * X.509's expiredCertsOnCRL (2.5.29.60) dated from the CA's own notBefore:
 * a receipt is judged years after its certificate expired, and an entry
 * that left the CRL would make a lost card's receipt good again.
 *
 * The header (version, signature algorithm, issuer, times, CRL number, AKI)
 * comes from OpenSSL, from an empty CRL it signs; the entries are written
 * as DER straight from the store rows and spliced in, and the result is
 * signed once. Building 100,000 X509_REVOKED objects through OpenSSL's
 * ASN.1 layer would cost many times more than the signature itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/crypto.h>

#include "ca_der.h"
#include "ca_int.h"

/* A small fixed buffer for one entry: no allocation per row. */
struct ebuf {
	uint8_t b[192];
	size_t n;
	bool fail;
};

static void
e_put(struct ebuf *e, const void *d, size_t n)
{
	if (e->fail || e->n + n > sizeof(e->b)) {
		e->fail = true;
		return;
	}
	memcpy(e->b + e->n, d, n);
	e->n += n;
}

static void
e_tlv(struct ebuf *e, uint8_t tag, const void *d, size_t n)
{
	uint8_t h[3] = {tag, (uint8_t)n, 0};

	if (n < 0x80) {
		e_put(e, h, 2);
	} else if (n <= 0xff) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		e_put(e, h, 3);
	} else {
		e->fail = true;
		return;
	}
	e_put(e, d, n);
}

static void
digits2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* Time encodings of one instant, cached: entries often share a second. */
struct tcache {
	int64_t t;
	uint8_t der[17];
	size_t len;
	bool gen;          /* always GeneralizedTime (invalidityDate) */
};

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
static const uint8_t *
enc_time(struct tcache *c, int64_t t, size_t *len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char *s = (char *)c->der + 2;
	int y;

	if (c->len && c->t == t) {
		*len = c->len;
		return c->der;
	}
	gmtime_r(&tt, &tm);
	y = tm.tm_year + 1900;
	if (!c->gen && y < 2050) {
		c->der[0] = 0x17;
		c->der[1] = 13;
		digits2(s, y % 100);
		s += 2;
	} else {
		c->der[0] = 0x18;
		c->der[1] = 15;
		digits2(s, y / 100);
		digits2(s + 2, y % 100);
		s += 4;
	}
	digits2(s, tm.tm_mon + 1);
	digits2(s + 2, tm.tm_mday);
	digits2(s + 4, tm.tm_hour);
	digits2(s + 6, tm.tm_min);
	digits2(s + 8, tm.tm_sec);
	s[10] = 'Z';
	c->t = t;
	c->len = 2u + c->der[1];
	*len = c->len;
	return c->der;
}

/* A positive INTEGER from the stored hex serial. */
static bool
put_serial(struct ebuf *e, const char *hex)
{
	uint8_t v[34];
	size_t n = hex ? strlen(hex) : 0, i, k = 0;
	int hi, lo;

	if (n == 0 || n > 64)
		return false;
	v[k++] = 0;
	if (n % 2) {
		lo = OPENSSL_hexchar2int((unsigned char)hex[0]);
		if (lo < 0)
			return false;
		v[k++] = (uint8_t)lo;
	}
	for (i = n % 2; i < n; i += 2) {
		hi = OPENSSL_hexchar2int((unsigned char)hex[i]);
		lo = OPENSSL_hexchar2int((unsigned char)hex[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		v[k++] = (uint8_t)(hi << 4 | lo);
	}
	/* Minimal encoding: drop leading zeros but keep one before a high bit. */
	i = 0;
	while (i + 1 < k && v[i] == 0 && !(v[i + 1] & 0x80))
		i++;
	e_tlv(e, 0x02, v + i, k - i);
	return true;
}

struct times {
	struct tcache revoked, invalidity;
};

/* One revokedCertificates entry. */
static bool
put_entry(struct ca_dbuf *out, struct times *tc, const char *serial, int64_t revoked_at,
          int reason, int64_t invalidity)
{
	/* reasonCode (id-ce 21) = ENUMERATED in an OCTET STRING */
	static const uint8_t reason_ext[] = {0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
	                                     0x04, 0x03, 0x0a, 0x01};
	/* invalidityDate (id-ce 24) = GeneralizedTime in an OCTET STRING */
	static const uint8_t inv_ext[] = {0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11};
	struct ebuf e = {.n = 0}, x = {.n = 0};
	const uint8_t *t;
	uint8_t r;
	size_t tl;

	if (!put_serial(&e, serial))
		return false;
	t = enc_time(&tc->revoked, revoked_at, &tl);
	e_put(&e, t, tl);
	/* reasonCode is omitted when unspecified (RFC 5280 5.3.1). */
	if (reason > 0 && reason <= 10) {
		r = (uint8_t)reason;
		e_put(&x, reason_ext, sizeof(reason_ext));
		e_put(&x, &r, 1);
	}
	if (invalidity > 0) {
		tc->invalidity.gen = true;
		t = enc_time(&tc->invalidity, invalidity, &tl);
		e_put(&x, inv_ext, sizeof(inv_ext));
		e_put(&x, t, tl);
	}
	if (x.n)
		e_tlv(&e, 0x30, x.b, x.n);
	if (e.fail || x.fail)
		return false;
	ca_dbuf_tlv(out, 0x30, e.b, e.n);
	return !out->fail;
}

/* expiredCertsOnCRL: every certificate of this CA since its notBefore. */
static int
add_expired_certs_on_crl(X509_CRL *crl, X509 *ca_cert)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("2.5.29.60", 1);
	ASN1_GENERALIZEDTIME *since = ASN1_TIME_to_generalizedtime(X509_get0_notBefore(ca_cert), NULL);
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int n = 0, ok = 0;

	if (oid && since && val && (n = i2d_ASN1_GENERALIZEDTIME(since, &der)) > 0 &&
	    ASN1_OCTET_STRING_set(val, der, n) &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, val)) != NULL)
		ok = X509_CRL_add_ext(crl, ext, -1);
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(val);
	ASN1_GENERALIZEDTIME_free(since);
	ASN1_OBJECT_free(oid);
	return ok;
}

/* An empty CRL with every header field, signed by OpenSSL. */
static cvq_ca_err
template_crl(cvq_ca *ca, int64_t number, int64_t now, int64_t next, uint8_t **der, int *len)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *this_t = ASN1_TIME_set(NULL, (time_t)now);
	ASN1_TIME *next_t = ASN1_TIME_set(NULL, (time_t)next);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;

	*der = NULL;
	if (!crl || !this_t || !next_t || !num || !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
	    !X509_CRL_set1_lastUpdate(crl, this_t) || !X509_CRL_set1_nextUpdate(crl, next_t) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto out;
	X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1) || !add_expired_certs_on_crl(crl, ca->cert) ||
	    !X509_CRL_sign(crl, ca->key, ca_key_md(ca->key)))
		goto out;
	*len = i2d_X509_CRL(crl, der);
	if (*len > 0)
		err = CVQ_CA_OK;
out:
	ERR_clear_error();
	X509_EXTENSION_free(aki);
	X509_CRL_free(crl);
	ASN1_TIME_free(this_t);
	ASN1_TIME_free(next_t);
	ASN1_INTEGER_free(num);
	return err;
}

/*
 * template: SEQ { tbs SEQ { version, sigalg, issuer, this, next, [0] exts },
 * sigalg, sig }. Out: the same with `entries` (a revokedCertificates
 * content) between nextUpdate and the extensions, signed anew.
 */
static cvq_ca_err
splice_sign(cvq_ca *ca, const uint8_t *tpl, size_t tpl_len, const struct ca_dbuf *entries,
            struct ca_dbuf *out)
{
	const uint8_t *p = tpl, *end = tpl + tpl_len, *c, *tbs, *q, *tend, *f;
	const uint8_t *alg = NULL, *exts = NULL;
	size_t len, tbs_len, alg_len = 0, exts_len = 0, head_len, sig_len = 0;
	struct ca_dbuf t = {0};
	EVP_MD_CTX *md = NULL;
	uint8_t tag, *sig = NULL;
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;
	int i;

	if (!ca_der_next(&p, end, &tag, &c, &len) || tag != 0x30)
		return CVQ_CA_ERR_CRYPTO;
	p = c;
	end = c + len;
	q = p;
	if (!ca_der_next(&p, end, &tag, &tbs, &tbs_len) || tag != 0x30)
		return CVQ_CA_ERR_CRYPTO;
	f = p;
	if (!ca_der_next(&p, end, &tag, &c, &len) || tag != 0x30)
		return CVQ_CA_ERR_CRYPTO;
	alg = f;
	alg_len = (size_t)(p - f);
	(void)q;
	/* Walk the TBS: five fields, then [0] extensions. */
	q = tbs;
	tend = tbs + tbs_len;
	for (i = 0; i < 5; i++)
		if (!ca_der_next(&q, tend, &tag, &c, &len))
			return CVQ_CA_ERR_CRYPTO;
	head_len = (size_t)(q - tbs);
	exts = q;
	if (!ca_der_next(&q, tend, &tag, &c, &len) || tag != 0xa0 || q != tend)
		return CVQ_CA_ERR_CRYPTO;
	exts_len = (size_t)(q - exts);
	/* The new TBS. */
	len = head_len + exts_len;
	if (entries->len)
		len += ca_der_hdr_len(entries->len) + entries->len;
	ca_dbuf_hdr(&t, 0x30, len);
	ca_dbuf_put(&t, tbs, head_len);
	if (entries->len)
		ca_dbuf_tlv(&t, 0x30, entries->p, entries->len);
	ca_dbuf_put(&t, exts, exts_len);
	if (t.fail) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, ca_key_md(ca->key), NULL, ca->key) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, t.p, t.len) != 1)
		goto out;
	sig = OPENSSL_malloc(sig_len + 1);
	if (!sig || EVP_DigestSign(md, sig + 1, &sig_len, t.p, t.len) != 1)
		goto out;
	sig[0] = 0; /* no unused bits */
	len = t.len + alg_len + ca_der_hdr_len(sig_len + 1) + sig_len + 1;
	ca_dbuf_hdr(out, 0x30, len);
	ca_dbuf_put(out, t.p, t.len);
	ca_dbuf_put(out, alg, alg_len);
	ca_dbuf_tlv(out, 0x03, sig, sig_len + 1);
	err = out->fail ? CVQ_CA_ERR_NOMEM : CVQ_CA_OK;
out:
	ERR_clear_error();
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	ca_dbuf_free(&t);
	return err;
}

cvq_ca_err
cvq_ca_crl_issue_der(cvq_ca *ca, uint8_t **der_out, size_t *der_len, uint64_t *number_out)
{
	struct ca_dbuf entries = {0}, crl = {0};
	struct times tc;
	sqlite3_stmt *st = NULL;
	uint8_t *tpl = NULL;
	cvq_ca_err err;
	int64_t number = 1, now = ca_now(), next, n = 0;
	int rc, tpl_len = 0;
	char nstr[24];

	if (!ca || !der_out || !der_len)
		return CVQ_CA_ERR_ARG;
	memset(&tc, 0, sizeof(tc));
	*der_out = NULL;
	*der_len = 0;
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
	/* Expired certificates stay (expiredCertsOnCRL, above). */
	rc = sqlite3_prepare_v2(ca->db, "SELECT serial, revoked_at, reason, invalidity FROM certs"
	                        " WHERE status = 1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = ca_sql_fail(ca, rc, "crl");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!put_entry(&entries, &tc, (const char *)sqlite3_column_text(st, 0),
		               sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2),
		               sqlite3_column_int64(st, 3))) {
			err = ca_fail(ca, entries.fail ? CVQ_CA_ERR_NOMEM : CVQ_CA_ERR_STORE,
			              "bad revoked entry %s", (const char *)sqlite3_column_text(st, 0));
			goto out;
		}
		n++;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "crl");
		goto out;
	}
	err = template_crl(ca, number, now, next, &tpl, &tpl_len);
	if (err == CVQ_CA_OK)
		err = splice_sign(ca, tpl, (size_t)tpl_len, &entries, &crl);
	if (err != CVQ_CA_OK) {
		ca_fail(ca, err, "signing the CRL failed");
		goto out;
	}
	rc = sqlite3_prepare_v2(ca->db, "INSERT INTO crls(number, this_update, next_update, entries, der)"
	                        " VALUES (?,?,?,?,?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, number);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, next);
		sqlite3_bind_int64(st, 4, n);
		sqlite3_bind_blob(st, 5, crl.p, (int)crl.len, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		err = ca_sql_fail(ca, rc, "crl insert");
		goto out;
	}
	snprintf(nstr, sizeof(nstr), "%lld", (long long)number);
	err = ca_audit_append(ca, "crl.issue", nstr, "entries=%lld", (long long)n);
	/* Each CRL also seals the audit log up to here. */
	if (err == CVQ_CA_OK)
		err = ca_audit_sign_tx(ca);
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	if (err == CVQ_CA_OK) {
		*der_out = crl.p;
		*der_len = crl.len;
		crl.p = NULL;
		if (number_out)
			*number_out = (uint64_t)number;
	}
out:
	if (err != CVQ_CA_OK)
		ca_tx_rollback(ca);
	sqlite3_finalize(st);
	OPENSSL_free(tpl);
	ca_dbuf_free(&entries);
	ca_dbuf_free(&crl);
	return err;
}

static cvq_ca_err
to_crl(uint8_t *der, size_t len, X509_CRL **out)
{
	const unsigned char *p = der;

	*out = d2i_X509_CRL(NULL, &p, (long)len);
	free(der);
	if (!*out) {
		ERR_clear_error();
		return CVQ_CA_ERR_CRYPTO;
	}
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_crl_issue(cvq_ca *ca, X509_CRL **out, uint64_t *number)
{
	uint8_t *der;
	size_t len;
	cvq_ca_err err;

	if (!out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	err = cvq_ca_crl_issue_der(ca, &der, &len, number);
	return err == CVQ_CA_OK ? to_crl(der, len, out) : err;
}

cvq_ca_err
cvq_ca_crl_latest_der(cvq_ca *ca, uint8_t **der, size_t *len)
{
	sqlite3_stmt *st = NULL;
	cvq_ca_err err = CVQ_CA_OK;
	int rc, n;

	if (!ca || !der || !len)
		return CVQ_CA_ERR_ARG;
	*der = NULL;
	rc = sqlite3_prepare_v2(ca->db, "SELECT der FROM crls ORDER BY number DESC LIMIT 1",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return ca_sql_fail(ca, rc, "crl");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		n = sqlite3_column_bytes(st, 0);
		*der = malloc(n > 0 ? (size_t)n : 1);
		if (!*der) {
			err = CVQ_CA_ERR_NOMEM;
		} else {
			memcpy(*der, sqlite3_column_blob(st, 0), (size_t)n);
			*len = (size_t)n;
		}
	} else if (rc == SQLITE_DONE) {
		err = ca_fail(ca, CVQ_CA_ERR_NOT_FOUND, "no CRL issued yet");
	} else {
		err = ca_sql_fail(ca, rc, "crl");
	}
	sqlite3_finalize(st);
	return err;
}

cvq_ca_err
cvq_ca_crl_latest(cvq_ca *ca, X509_CRL **out)
{
	uint8_t *der;
	size_t len;
	cvq_ca_err err;

	if (!out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	err = cvq_ca_crl_latest_der(ca, &der, &len);
	return err == CVQ_CA_OK ? to_crl(der, len, out) : err;
}
