/*
 * libcvqca — the OCSP core (RFC 6960): DER request in, signed DER response
 * out, from the store through a pool of read-only WAL connections, so
 * answering never waits for issuance and sees each commit at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "ca_int.h"
#include "ca_ocsp_int.h"

struct reader {
	sqlite3 *db;
	sqlite3_stmt *st;
	bool busy;
};

/* Cache capacity: twice the certificates in the store, within these. */
#define CACHE_MIN 4096
#define CACHE_MAX ((size_t)1 << 20)
/* Serials read from the store at a time when pre-signing. */
#define CHUNK 256
#define CHUNK_S "256"

struct cvq_ca_ocsp {
	X509 *ca_cert;
	X509 *signer;           /* delegated signer, or the CA itself */
	EVP_PKEY *key;
	struct ca_keyref keyref;  /* owns key */
	bool serial_sign;       /* a token key: one signature at a time */
	pthread_mutex_t sign_mu;
	unsigned long sign_flags;
	OCSP_CERTID *issuer_sha1, *issuer_sha256; /* issuer part only */
	unsigned minutes;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct reader *r;
	unsigned n;
	/* Signed answers to nonce-less requests (ca_ocsp_int.h), re-signed
	 * after half their validity; the store's generation (ca_ocsp_gen.c)
	 * is read for every request. */
	struct ocsp_gen *gen;
	struct ocsp_cache *cache;
	EVP_MD *sha256;         /* fetched once: no implicit fetch per request */
	time_t refresh_after;   /* seconds: half of nextUpdate - thisUpdate */
	char *db_path;
};

void
cvq_ca_ocsp_free(cvq_ca_ocsp *o)
{
	unsigned i;

	if (!o)
		return;
	for (i = 0; o->r && i < o->n; i++) {
		sqlite3_finalize(o->r[i].st);
		sqlite3_close(o->r[i].db);
	}
	free(o->r);
	ocsp_cache_free(o->cache);
	EVP_MD_free(o->sha256);
	free(o->db_path);
	ocsp_gen_free(o->gen);
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	OCSP_CERTID_free(o->issuer_sha1);
	OCSP_CERTID_free(o->issuer_sha256);
	X509_free(o->ca_cert);
	X509_free(o->signer);
	ca_keyref_free(&o->keyref);
	pthread_mutex_destroy(&o->sign_mu);
	free(o);
}

/* Room for every certificate's answer, twice over, within bounds. */
static size_t
cache_capacity(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM certs", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	n *= 2;
	return n < CACHE_MIN ? CACHE_MIN : n > CACHE_MAX ? CACHE_MAX : n;
}

cvq_ca_err
cvq_ca_ocsp_new(const struct cvq_ca_config *cfg, const char *pass, unsigned readers,
                cvq_ca_ocsp **out)
{
	char *db = NULL, *ca_cert = NULL, *key = NULL, *cert = NULL, msg[256];
	const char *src;
	cvq_ca_ocsp *o;
	cvq_ca_err err;
	unsigned i;

	if (!cfg || !out || !cfg->db || !cfg->cert)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return CVQ_CA_ERR_NOMEM;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	pthread_mutex_init(&o->sign_mu, NULL);
	o->minutes = cfg->ocsp_minutes;
	o->refresh_after = (time_t)o->minutes * 30;
	db = cvq_ca_config_path(cfg, cfg->db);
	ca_cert = cvq_ca_config_path(cfg, cfg->cert);
	key = cvq_ca_config_path(cfg, cfg->ocsp_key ? cfg->ocsp_key : cfg->key);
	cert = cvq_ca_config_path(cfg, cfg->ocsp_key ? cfg->ocsp_cert : cfg->cert);
	err = CVQ_CA_ERR_NOMEM;
	if (!db || !ca_cert || !key || !cert)
		goto fail;
	err = ca_cert_load(ca_cert, &o->ca_cert);
	if (err == CVQ_CA_OK)
		err = ca_cert_load(cert, &o->signer);
	if (err != CVQ_CA_OK)
		goto fail;
	src = pass ? pass : (cfg->ocsp_key && cfg->ocsp_pass ? cfg->ocsp_pass : cfg->pass);
	err = ca_key_load(key, src, &o->keyref, msg, sizeof(msg));
	if (err != CVQ_CA_OK)
		goto fail;
	o->key = o->keyref.pkey;
	/* libcvqp11 keys must not sign from two threads at once. */
	o->serial_sign = o->keyref.p11 != NULL;
	err = CVQ_CA_ERR_KEY;
	if (X509_check_private_key(o->signer, o->key) != 1)
		goto fail;
	if (X509_cmp(o->signer, o->ca_cert) == 0)
		o->sign_flags = OCSP_NOCERTS;
	err = CVQ_CA_ERR_CRYPTO;
	o->issuer_sha1 = OCSP_cert_to_id(EVP_sha1(), NULL, o->ca_cert);
	o->issuer_sha256 = OCSP_cert_to_id(EVP_sha256(), NULL, o->ca_cert);
	if (!o->issuer_sha1 || !o->issuer_sha256)
		goto fail;
	o->n = readers ? readers : 4;
	o->r = calloc(o->n, sizeof(*o->r));
	err = CVQ_CA_ERR_NOMEM;
	if (!o->r)
		goto fail;
	for (i = 0; i < o->n; i++) {
		/* Read-write open but query_only: a WAL reader needs the -shm. */
		err = ca_store_open(db, false, false, &o->r[i].db, msg, sizeof(msg));
		if (err != CVQ_CA_OK)
			goto fail;
		sqlite3_exec(o->r[i].db, "PRAGMA query_only=1", NULL, NULL, NULL);
		if (sqlite3_prepare_v3(o->r[i].db, "SELECT status, revoked_at, reason, invalidity FROM certs"
		                       " WHERE serial = ?", -1, SQLITE_PREPARE_PERSISTENT,
		                       &o->r[i].st, NULL) != SQLITE_OK) {
			err = CVQ_CA_ERR_STORE;
			goto fail;
		}
	}
	err = ocsp_gen_open(db, &o->gen);
	if (err != CVQ_CA_OK)
		goto fail;
	o->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	o->cache = ocsp_cache_new(cache_capacity(o->r[0].db));
	err = CVQ_CA_ERR_NOMEM;
	if (!o->sha256 || !o->cache)
		goto fail;
	o->db_path = db;
	db = NULL;
	free(db);
	free(ca_cert);
	free(key);
	free(cert);
	*out = o;
	return CVQ_CA_OK;
fail:
	ERR_clear_error();
	free(db);
	free(ca_cert);
	free(key);
	free(cert);
	cvq_ca_ocsp_free(o);
	return err;
}

static struct reader *
reader_get(cvq_ca_ocsp *o)
{
	struct reader *r = NULL;
	unsigned i;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		for (i = 0; i < o->n; i++) {
			if (!o->r[i].busy) {
				r = &o->r[i];
				r->busy = true;
				break;
			}
		}
		if (r)
			break;
		pthread_cond_wait(&o->cv, &o->mu);
	}
	pthread_mutex_unlock(&o->mu);
	return r;
}

static void
reader_put(cvq_ca_ocsp *o, struct reader *r)
{
	pthread_mutex_lock(&o->mu);
	r->busy = false;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

static cvq_ca_err
lookup(cvq_ca_ocsp *o, const char *hex, struct ocsp_status *s)
{
	struct reader *r;
	int rc;

	s->status = V_OCSP_CERTSTATUS_UNKNOWN;
	s->reason = -1;
	s->revoked_at = 0;
	s->invalidity = 0;
	r = reader_get(o);
	sqlite3_bind_text(r->st, 1, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(r->st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(r->st, 0)) {
			s->status = V_OCSP_CERTSTATUS_REVOKED;
			s->revoked_at = sqlite3_column_int64(r->st, 1);
			s->reason = sqlite3_column_int(r->st, 2);
			s->invalidity = sqlite3_column_int64(r->st, 3);
		} else {
			s->status = V_OCSP_CERTSTATUS_GOOD;
		}
	}
	sqlite3_reset(r->st);
	sqlite3_clear_bindings(r->st);
	reader_put(o, r);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CVQ_CA_OK : CVQ_CA_ERR_STORE;
}

static int64_t
generation(cvq_ca_ocsp *o)
{
	return ocsp_gen_now(o->gen);
}

static cvq_ca_err
encode(OCSP_RESPONSE *resp, const struct cvq_ca_ocsp_answer *ans, struct ocsp_resp **out)
{
	unsigned char *der = NULL;
	int len = i2d_OCSP_RESPONSE(resp, &der);

	if (len <= 0)
		return CVQ_CA_ERR_CRYPTO;
	*out = ocsp_resp_new(der, (size_t)len, ans);
	OPENSSL_free(der);
	return *out ? CVQ_CA_OK : CVQ_CA_ERR_NOMEM;
}

static cvq_ca_err
error_response(int status, struct ocsp_resp **out)
{
	struct cvq_ca_ocsp_answer ans = {.status = status};
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	cvq_ca_err err;

	if (!resp)
		return CVQ_CA_ERR_NOMEM;
	err = encode(resp, &ans, out);
	OCSP_RESPONSE_free(resp);
	return err;
}

static bool
ours(cvq_ca_ocsp *o, OCSP_CERTID *cid)
{
	return OCSP_id_issuer_cmp(o->issuer_sha1, cid) == 0 ||
	       OCSP_id_issuer_cmp(o->issuer_sha256, cid) == 0;
}

static bool
same_status(const struct ocsp_status *a, const struct ocsp_status *b)
{
	return a->status == b->status && a->reason == b->reason && a->revoked_at == b->revoked_at &&
	       a->invalidity == b->invalidity;
}

/*
 * The cached answer to exactly these request bytes, if it is still right:
 * young enough, and either confirmed in the current generation or its
 * certificate's status unchanged in the store.
 */
static struct ocsp_resp *
cached(cvq_ca_ocsp *o, const uint8_t key[32], time_t now)
{
	struct ocsp_status st;
	struct ocsp_hit hit;
	int64_t g;

	if (!ocsp_cache_get(o->cache, key, &hit))
		return NULL;
	if (now - hit.resp->ans.this_update >= o->refresh_after ||
	    now >= hit.resp->ans.next_update)
		goto miss;
	g = generation(o);
	if (g == hit.gen)
		return hit.resp;
	if (g < 0 || lookup(o, hit.serial, &st) != CVQ_CA_OK || !same_status(&st, &hit.st))
		goto miss;
	ocsp_cache_confirm(o->cache, key, hit.resp, g);
	return hit.resp;
miss:
	ocsp_resp_put(hit.resp);
	return NULL;
}

/* Sign a fresh answer to a parsed request of n CertIDs, all ours. */
static cvq_ca_err
sign(cvq_ca_ocsp *o, OCSP_REQUEST *req, int n, time_t now, char hex[67], struct ocsp_status *s,
     struct cvq_ca_ocsp_answer *ans, struct ocsp_resp **out)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *this_t = NULL, *next_t = NULL, *rev_t = NULL;
	ASN1_INTEGER *serial;
	OCSP_CERTID *cid;
	OCSP_SINGLERESP *single;
	cvq_ca_err err = CVQ_CA_ERR_NOMEM;
	int i, ok;

	bs = OCSP_BASICRESP_new();
	this_t = ASN1_TIME_set(NULL, now);
	next_t = ASN1_TIME_set(NULL, now + (time_t)o->minutes * 60);
	if (!bs || !this_t || !next_t)
		goto out;
	ans->this_update = now;
	ans->next_update = now + (time_t)o->minutes * 60;
	for (i = 0; i < n; i++) {
		cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		serial = NULL;
		OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid);
		/* A serial we could never have issued is simply unknown. */
		if (cvq_ca_serial_hex(serial, hex) != CVQ_CA_OK) {
			hex[0] = '\0';
			*s = (struct ocsp_status){V_OCSP_CERTSTATUS_UNKNOWN, -1, 0, 0};
		} else {
			err = lookup(o, hex, s);
			if (err != CVQ_CA_OK)
				goto out;
		}
		ASN1_TIME_free(rev_t);
		rev_t = s->status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, (time_t)s->revoked_at) : NULL;
		err = CVQ_CA_ERR_CRYPTO;
		single = OCSP_basic_add1_status(bs, cid, s->status, s->reason > 0 ? s->reason : -1, rev_t,
		                                this_t, next_t);
		if (!single)
			goto out;
		/* A lost card: since when its key may sign for someone else (RFC 5280 5.3.2). */
		if (s->status == V_OCSP_CERTSTATUS_REVOKED && s->invalidity > 0) {
			ASN1_GENERALIZEDTIME *inv = ASN1_GENERALIZEDTIME_set(NULL, (time_t)s->invalidity);
			int added = inv && OCSP_SINGLERESP_add1_ext_i2d(single, NID_invalidity_date, inv, 0, 0);
			ASN1_GENERALIZEDTIME_free(inv);
			if (!added)
				goto out;
		}
	}
	err = CVQ_CA_ERR_CRYPTO;
	if (OCSP_copy_nonce(bs, req) <= 0)
		goto out;
	if (o->serial_sign)
		pthread_mutex_lock(&o->sign_mu);
	ok = OCSP_basic_sign(bs, o->signer, o->key, ca_key_md(o->key), NULL, o->sign_flags);
	if (o->serial_sign)
		pthread_mutex_unlock(&o->sign_mu);
	if (!ok)
		goto out;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	if (!resp)
		goto out;
	ans->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	err = encode(resp, ans, out);
out:
	ASN1_TIME_free(rev_t);
	ASN1_TIME_free(this_t);
	ASN1_TIME_free(next_t);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	return err;
}

cvq_ca_err
ocsp_respond_shared(cvq_ca_ocsp *o, const uint8_t *req_der, size_t req_len, bool keep,
                    struct ocsp_resp **out)
{
	struct cvq_ca_ocsp_answer ans = {0};
	const unsigned char *p = req_der;
	OCSP_REQUEST *req = NULL;
	struct ocsp_status s;
	cvq_ca_err err;
	time_t now = time(NULL);
	uint8_t key[32];
	char hex[67];
	int64_t gen = -3;
	int i, n;

	*out = NULL;
	if (req_len > 65536 || req_len == 0)
		return error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out);
	/* The same bytes were a valid nonce-less request when first answered. */
	if (!EVP_Digest(req_der, req_len, key, NULL, o->sha256, NULL))
		return error_response(OCSP_RESPONSE_STATUS_INTERNALERROR, out);
	*out = cached(o, key, now);
	if (*out)
		return CVQ_CA_OK;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	n = req ? OCSP_request_onereq_count(req) : 0;
	if (!req || p != req_der + req_len || n <= 0 || n > 32) {
		ERR_clear_error();
		OCSP_REQUEST_free(req);
		return error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out);
	}
	for (i = 0; i < n; i++) {
		if (!ours(o, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)))) {
			OCSP_REQUEST_free(req);
			return error_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED, out);
		}
	}
	ans.has_nonce = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) >= 0;
	/* Read before the lookup: the answer is right at least in this one. */
	if (keep && !ans.has_nonce && n == 1)
		gen = generation(o);
	err = sign(o, req, n, now, hex, &s, &ans, out);
	if (err == CVQ_CA_OK && gen >= 0 && hex[0])
		ocsp_cache_put(o->cache, key, *out, hex, &s, gen);
	ERR_clear_error();
	OCSP_REQUEST_free(req);
	if (err != CVQ_CA_OK)
		return error_response(OCSP_RESPONSE_STATUS_INTERNALERROR, out);
	return CVQ_CA_OK;
}

/* The answer copied out (OPENSSL_malloc). */
static cvq_ca_err
respond_copy(cvq_ca_ocsp *o, const uint8_t *req_der, size_t req_len, bool keep, uint8_t **out,
             size_t *out_len, struct cvq_ca_ocsp_answer *ans)
{
	struct ocsp_resp *r;
	cvq_ca_err err;

	*out = NULL;
	*out_len = 0;
	if (ans)
		memset(ans, 0, sizeof(*ans));
	err = ocsp_respond_shared(o, req_der, req_len, keep, &r);
	if (err != CVQ_CA_OK)
		return err;
	*out = OPENSSL_memdup(r->der, r->len);
	if (*out) {
		*out_len = r->len;
		if (ans)
			*ans = r->ans;
	}
	ocsp_resp_put(r);
	return *out ? CVQ_CA_OK : CVQ_CA_ERR_NOMEM;
}

cvq_ca_err
cvq_ca_ocsp_respond(cvq_ca_ocsp *o, const uint8_t *req_der, size_t req_len,
                    uint8_t **out, size_t *out_len, struct cvq_ca_ocsp_answer *ans)
{
	if (!o || !out || !out_len || (!req_der && req_len))
		return CVQ_CA_ERR_ARG;
	return respond_copy(o, req_der, req_len, true, out, out_len, ans);
}

/* The RFC 5019 request for one serial: one SHA-1 CertID, no nonce, as
 * RFC 5019 clients (and openssl ocsp) send it. */
static cvq_ca_err
rfc5019_request(cvq_ca_ocsp *o, const char *serial_hex, unsigned char **der, size_t *len)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	cvq_ca_err err = CVQ_CA_ERR_ARG;
	int n;

	*der = NULL;
	if (!BN_hex2bn(&bn, serial_hex))
		goto out;
	err = CVQ_CA_ERR_CRYPTO;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	id = serial ? OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(o->ca_cert),
	                               X509_get0_pubkey_bitstr(o->ca_cert), serial) : NULL;
	req = OCSP_REQUEST_new();
	if (!id || !req || !OCSP_request_add0_id(req, id))
		goto out;
	id = NULL;
	n = i2d_OCSP_REQUEST(req, der);
	if (n <= 0)
		goto out;
	*len = (size_t)n;
	err = CVQ_CA_OK;
out:
	ERR_clear_error();
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return err;
}

cvq_ca_err
cvq_ca_ocsp_presign(cvq_ca_ocsp *o, const char *serial_hex, uint8_t **req_out, size_t *req_len,
                    uint8_t **resp, size_t *resp_len)
{
	unsigned char *der = NULL;
	size_t len = 0;
	cvq_ca_err err;

	if (!o || !serial_hex || !req_out || !req_len || !resp || !resp_len)
		return CVQ_CA_ERR_ARG;
	*req_out = NULL;
	err = rfc5019_request(o, serial_hex, &der, &len);
	/* For `publish`: every certificate once, nothing worth keeping. */
	if (err == CVQ_CA_OK)
		err = respond_copy(o, der, len, false, resp, resp_len, NULL);
	if (err == CVQ_CA_OK) {
		*req_out = der;
		*req_len = len;
		der = NULL;
	}
	OPENSSL_free(der);
	return err;
}

/* Sign (into the cache) the RFC 5019 answer for one serial unless the
 * cached one stays young enough until the next pass. */
static bool
refresh_one(cvq_ca_ocsp *o, const char *hex, time_t margin)
{
	struct ocsp_resp *r = NULL;
	struct ocsp_hit hit;
	unsigned char *der = NULL;
	uint8_t key[32];
	size_t len;
	bool fresh, done = false;

	if (rfc5019_request(o, hex, &der, &len) != CVQ_CA_OK ||
	    !EVP_Digest(der, len, key, NULL, o->sha256, NULL))
		goto out;
	if (ocsp_cache_get(o->cache, key, &hit)) {
		fresh = time(NULL) + margin - hit.resp->ans.this_update < o->refresh_after;
		ocsp_resp_put(hit.resp);
		if (fresh)
			goto out;
		/* Forget it, so that respond signs anew. */
		ocsp_cache_forget(o->cache, key);
	}
	done = ocsp_respond_shared(o, der, len, true, &r) == CVQ_CA_OK;
	ocsp_resp_put(r);
out:
	OPENSSL_free(der);
	return done;
}

cvq_ca_err
ocsp_refresh(cvq_ca_ocsp *o, time_t margin, const atomic_bool *stop, size_t *nsigned)
{
	char msg[256], hex[CHUNK][67];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 last = 0;
	size_t total = 0, want = ocsp_cache_capacity(o->cache) / 2, n, i;
	cvq_ca_err err;
	int rc;

	if (nsigned)
		*nsigned = 0;
	err = ca_store_open(o->db_path, false, false, &db, msg, sizeof(msg));
	if (err != CVQ_CA_OK)
		return err;
	sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(db, "SELECT id, serial FROM certs WHERE id > ? AND not_after > ?"
	                       " ORDER BY id LIMIT " CHUNK_S, -1, &st, NULL) != SQLITE_OK) {
		err = CVQ_CA_ERR_STORE;
		goto out;
	}
	/* In chunks, so that no read transaction stays open while signing. */
	while (total < want && !(stop && atomic_load(stop))) {
		sqlite3_bind_int64(st, 1, last);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
		for (n = 0; n < CHUNK && (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
			last = sqlite3_column_int64(st, 0);
			snprintf(hex[n], sizeof(hex[n]), "%s", (const char *)sqlite3_column_text(st, 1));
		}
		sqlite3_reset(st);
		if (n == 0)
			break;
		for (i = 0; i < n && !(stop && atomic_load(stop)); i++) {
			if (refresh_one(o, hex[i], margin) && nsigned)
				(*nsigned)++;
		}
		total += n;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return err;
}

cvq_ca_err
cvq_ca_ocsp_refresh(cvq_ca_ocsp *o, size_t *nsigned)
{
	if (!o)
		return CVQ_CA_ERR_ARG;
	return ocsp_refresh(o, 0, NULL, nsigned);
}

time_t
ocsp_refresh_period(const cvq_ca_ocsp *o)
{
	time_t p = o->refresh_after / 4;

	return p < 1 ? 1 : p > 300 ? 300 : p;
}
