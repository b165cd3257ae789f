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
#include <cvq/ca_ocsp.h>

struct reader {
	sqlite3 *db;
	sqlite3_stmt *st;
	bool busy;
};

#define CACHE_SLOTS 4096
#define CACHE_FRESH 60

struct cache_slot {
	uint8_t key[32];          /* SHA-256 of the request */
	uint8_t *resp;
	size_t len;
	time_t this_update, next_update;
};

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
	/* Signed answers to nonce-less requests, reused until the store
	 * changes (PRAGMA data_version of a connection of our own) or they
	 * are CACHE_FRESH seconds old: a revocation is seen at once. */
	pthread_mutex_t cache_mu;
	sqlite3 *gen_db;
	sqlite3_stmt *gen_st;
	int64_t gen;
	struct cache_slot *cache;
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
	for (i = 0; o->cache && i < CACHE_SLOTS; i++)
		OPENSSL_free(o->cache[i].resp);
	free(o->cache);
	sqlite3_finalize(o->gen_st);
	sqlite3_close(o->gen_db);
	pthread_mutex_destroy(&o->cache_mu);
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
	pthread_mutex_init(&o->cache_mu, NULL);
	o->minutes = cfg->ocsp_minutes;
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
		if (sqlite3_prepare_v3(o->r[i].db, "SELECT status, revoked_at, reason FROM certs"
		                       " WHERE serial = ?", -1, SQLITE_PREPARE_PERSISTENT,
		                       &o->r[i].st, NULL) != SQLITE_OK) {
			err = CVQ_CA_ERR_STORE;
			goto fail;
		}
	}
	o->cache = calloc(CACHE_SLOTS, sizeof(*o->cache));
	err = CVQ_CA_ERR_NOMEM;
	if (!o->cache)
		goto fail;
	err = ca_store_open(db, false, false, &o->gen_db, msg, sizeof(msg));
	if (err != CVQ_CA_OK)
		goto fail;
	sqlite3_exec(o->gen_db, "PRAGMA query_only=1", NULL, NULL, NULL);
	if (sqlite3_prepare_v3(o->gen_db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
	                       &o->gen_st, NULL) != SQLITE_OK) {
		err = CVQ_CA_ERR_STORE;
		goto fail;
	}
	o->gen = -1;
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

struct status {
	int status;          /* V_OCSP_CERTSTATUS_* */
	int reason;
	int64_t revoked_at;
};

static cvq_ca_err
lookup(cvq_ca_ocsp *o, const ASN1_INTEGER *serial, struct status *s)
{
	struct reader *r;
	char hex[67];
	int rc;

	s->status = V_OCSP_CERTSTATUS_UNKNOWN;
	s->reason = -1;
	s->revoked_at = 0;
	/* A serial we could never have issued is simply unknown. */
	if (cvq_ca_serial_hex(serial, hex) != CVQ_CA_OK)
		return CVQ_CA_OK;
	r = reader_get(o);
	sqlite3_bind_text(r->st, 1, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(r->st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(r->st, 0)) {
			s->status = V_OCSP_CERTSTATUS_REVOKED;
			s->revoked_at = sqlite3_column_int64(r->st, 1);
			s->reason = sqlite3_column_int(r->st, 2);
		} else {
			s->status = V_OCSP_CERTSTATUS_GOOD;
		}
	}
	sqlite3_reset(r->st);
	sqlite3_clear_bindings(r->st);
	reader_put(o, r);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CVQ_CA_OK : CVQ_CA_ERR_STORE;
}

static cvq_ca_err
encode(OCSP_RESPONSE *resp, uint8_t **out, size_t *out_len)
{
	unsigned char *der = NULL;
	int len = i2d_OCSP_RESPONSE(resp, &der);

	if (len <= 0)
		return CVQ_CA_ERR_CRYPTO;
	*out = der;
	*out_len = (size_t)len;
	return CVQ_CA_OK;
}

static cvq_ca_err
error_response(int status, uint8_t **out, size_t *out_len, struct cvq_ca_ocsp_answer *ans)
{
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	cvq_ca_err err;

	if (!resp)
		return CVQ_CA_ERR_NOMEM;
	err = encode(resp, out, out_len);
	OCSP_RESPONSE_free(resp);
	ans->status = status;
	return err;
}

static bool
ours(cvq_ca_ocsp *o, OCSP_CERTID *cid)
{
	return OCSP_id_issuer_cmp(o->issuer_sha1, cid) == 0 ||
	       OCSP_id_issuer_cmp(o->issuer_sha256, cid) == 0;
}

/* Under cache_mu: flush everything when another connection committed. */
static void
cache_check_gen(cvq_ca_ocsp *o)
{
	int64_t g = -2;
	unsigned i;

	if (sqlite3_step(o->gen_st) == SQLITE_ROW)
		g = sqlite3_column_int64(o->gen_st, 0);
	sqlite3_reset(o->gen_st);
	if (g != o->gen || g == -2) {
		for (i = 0; i < CACHE_SLOTS; i++) {
			OPENSSL_free(o->cache[i].resp);
			o->cache[i].resp = NULL;
		}
		o->gen = g;
	}
}

static bool
cache_get(cvq_ca_ocsp *o, const uint8_t key[32], uint8_t **resp, size_t *len,
          struct cvq_ca_ocsp_answer *ans)
{
	struct cache_slot *c = &o->cache[(key[0] | key[1] << 8) % CACHE_SLOTS];
	time_t now = time(NULL);
	bool hit = false;

	pthread_mutex_lock(&o->cache_mu);
	cache_check_gen(o);
	if (c->resp && memcmp(c->key, key, 32) == 0 && now - c->this_update < CACHE_FRESH &&
	    now < c->next_update) {
		*resp = OPENSSL_memdup(c->resp, c->len);
		if (*resp) {
			*len = c->len;
			ans->this_update = c->this_update;
			ans->next_update = c->next_update;
			ans->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
			hit = true;
		}
	}
	pthread_mutex_unlock(&o->cache_mu);
	return hit;
}

static void
cache_put(cvq_ca_ocsp *o, const uint8_t key[32], int64_t gen, const uint8_t *resp, size_t len,
          const struct cvq_ca_ocsp_answer *ans)
{
	struct cache_slot *c = &o->cache[(key[0] | key[1] << 8) % CACHE_SLOTS];
	uint8_t *copy = OPENSSL_memdup(resp, len);

	if (!copy)
		return;
	pthread_mutex_lock(&o->cache_mu);
	/* Only an answer read from the generation still current is kept. */
	if (gen == o->gen) {
		OPENSSL_free(c->resp);
		memcpy(c->key, key, 32);
		c->resp = copy;
		c->len = len;
		c->this_update = ans->this_update;
		c->next_update = ans->next_update;
		copy = NULL;
	}
	pthread_mutex_unlock(&o->cache_mu);
	OPENSSL_free(copy);
}

cvq_ca_err
cvq_ca_ocsp_respond(cvq_ca_ocsp *o, const uint8_t *req_der, size_t req_len,
                    uint8_t **out, size_t *out_len, struct cvq_ca_ocsp_answer *ans)
{
	struct cvq_ca_ocsp_answer tmp;
	const unsigned char *p = req_der;
	OCSP_REQUEST *req = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *this_t = NULL, *next_t = NULL, *rev_t = NULL;
	ASN1_INTEGER *serial;
	OCSP_CERTID *cid;
	struct status s;
	cvq_ca_err err;
	time_t now = time(NULL);
	uint8_t ckey[32];
	int64_t gen = -3;
	int i, n, ok;

	if (!o || !out || !out_len || (!req_der && req_len))
		return CVQ_CA_ERR_ARG;
	if (!ans)
		ans = &tmp;
	memset(ans, 0, sizeof(*ans));
	*out = NULL;
	*out_len = 0;
	if (req_len > 65536 || req_len == 0)
		return error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out, out_len, ans);
	req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	n = req ? OCSP_request_onereq_count(req) : 0;
	if (!req || p != req_der + req_len || n <= 0 || n > 32) {
		ERR_clear_error();
		OCSP_REQUEST_free(req);
		return error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, out, out_len, ans);
	}
	for (i = 0; i < n; i++) {
		if (!ours(o, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)))) {
			OCSP_REQUEST_free(req);
			return error_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED, out, out_len, ans);
		}
	}
	ans->has_nonce = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) >= 0;
	if (!ans->has_nonce) {
		EVP_Digest(req_der, req_len, ckey, NULL, EVP_sha256(), NULL);
		if (cache_get(o, ckey, out, out_len, ans)) {
			OCSP_REQUEST_free(req);
			return CVQ_CA_OK;
		}
		pthread_mutex_lock(&o->cache_mu);
		gen = o->gen;
		pthread_mutex_unlock(&o->cache_mu);
	}
	err = CVQ_CA_ERR_NOMEM;
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
		err = lookup(o, serial, &s);
		if (err != CVQ_CA_OK)
			goto out;
		ASN1_TIME_free(rev_t);
		rev_t = s.status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, (time_t)s.revoked_at) : NULL;
		err = CVQ_CA_ERR_CRYPTO;
		if (!OCSP_basic_add1_status(bs, cid, s.status, s.reason > 0 ? s.reason : -1, rev_t,
		                            this_t, next_t))
			goto out;
	}
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
	err = encode(resp, out, out_len);
	ans->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	if (err == CVQ_CA_OK && !ans->has_nonce)
		cache_put(o, ckey, gen, *out, *out_len, ans);
out:
	ERR_clear_error();
	ASN1_TIME_free(rev_t);
	ASN1_TIME_free(this_t);
	ASN1_TIME_free(next_t);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
	if (err != CVQ_CA_OK)
		return error_response(OCSP_RESPONSE_STATUS_INTERNALERROR, out, out_len, ans);
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_ocsp_presign(cvq_ca_ocsp *o, const char *serial_hex, uint8_t **req_out, size_t *req_len,
                    uint8_t **resp, size_t *resp_len)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	unsigned char *der = NULL;
	cvq_ca_err err = CVQ_CA_ERR_ARG;
	int len;

	if (!o || !serial_hex || !req_out || !req_len || !resp || !resp_len)
		return CVQ_CA_ERR_ARG;
	*req_out = NULL;
	if (!BN_hex2bn(&bn, serial_hex))
		goto out;
	err = CVQ_CA_ERR_CRYPTO;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	/* SHA-1 CertIDs: what RFC 5019 clients (and openssl ocsp) send. */
	id = serial ? OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(o->ca_cert),
	                               X509_get0_pubkey_bitstr(o->ca_cert), serial) : NULL;
	req = OCSP_REQUEST_new();
	if (!id || !req || !OCSP_request_add0_id(req, id))
		goto out;
	id = NULL;
	len = i2d_OCSP_REQUEST(req, &der);
	if (len <= 0)
		goto out;
	err = cvq_ca_ocsp_respond(o, der, (size_t)len, resp, resp_len, NULL);
	if (err == CVQ_CA_OK) {
		*req_out = der;
		*req_len = (size_t)len;
		der = NULL;
	}
out:
	ERR_clear_error();
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return err;
}
