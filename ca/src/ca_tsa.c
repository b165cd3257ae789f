/*
 * libcvqca — the timestamp authority's core (RFC 3161): OpenSSL's
 * TS_RESP_CTX makes the response (its checks of imprint algorithm and
 * length, policy and extensions are those `openssl ts -reply` applies),
 * after our strict parse; a granted token is committed to the audit chain
 * before it is handed back. Entries are group-committed: while one thread
 * commits, the tokens made meanwhile queue up and the next committer
 * writes them all in one transaction, so concurrent clients share the
 * fsync instead of waiting for one each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ts.h>

#include <cvq/ca_tsa.h>

#include "ca_int.h"

/* One audit entry waiting for its commit. */
struct stamp_job {
	char serial[67];
	char detail[400];       /* cut to the audit's 255 bytes: the policy goes last */
	cvq_ca_err err;
	bool done;
	struct stamp_job *next;
};

struct cvq_ca_tsa {
	cvq_ca *ca;                 /* the store, read-write, no CA key: audit entries */
	X509 *cert;                 /* the TSA certificate */
	STACK_OF(X509) *chain;      /* the CA certificate, sent with certReq */
	struct ca_keyref keyref;
	ASN1_OBJECT *policy;
	char policy_txt[128];
	unsigned accuracy_ms;
	bool serial_sign;           /* a token key: one signature at a time */
	pthread_mutex_t audit_mu, sign_mu;
	pthread_cond_t audit_cv;
	struct stamp_job *queue, **queue_tail;  /* under audit_mu */
	bool committing;                        /* a thread is in a transaction */
};

#define WHY(...) do { if (why && why_len) snprintf(why, why_len, __VA_ARGS__); } while (0)

cvq_ca_err
cvq_ca_tsa_check_request(const uint8_t *der, size_t len, char *why, size_t why_len)
{
	const unsigned char *p = der;
	TS_REQ *req = NULL;
	TS_MSG_IMPRINT *mi;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *m;
	const EVP_MD *md;
	cvq_ca_err err = CVQ_CA_ERR_REQUEST;

	if (!der || len == 0 || len > 16384) {
		WHY("empty or too large");
		return CVQ_CA_ERR_REQUEST;
	}
	req = d2i_TS_REQ(NULL, &p, (long)len);
	if (!req || p != der + len) {
		WHY("not one DER TimeStampReq");
		goto out;
	}
	if (TS_REQ_get_version(req) != 1) {
		WHY("version %ld", TS_REQ_get_version(req));
		goto out;
	}
	if (TS_REQ_get_exts(req) && sk_X509_EXTENSION_num(TS_REQ_get_exts(req)) > 0) {
		WHY("extensions");
		goto out;
	}
	mi = TS_REQ_get_msg_imprint(req);
	alg = mi ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
	m = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
	switch (alg ? OBJ_obj2nid(alg->algorithm) : NID_undef) {
	case NID_sha256: md = EVP_sha256(); break;
	case NID_sha384: md = EVP_sha384(); break;
	case NID_sha512: md = EVP_sha512(); break;
	default:
		WHY("imprint algorithm not SHA-256/384/512");
		goto out;
	}
	if (!m || ASN1_STRING_length(m) != EVP_MD_get_size(md)) {
		WHY("imprint of %d bytes", m ? ASN1_STRING_length(m) : -1);
		goto out;
	}
	err = CVQ_CA_OK;
out:
	TS_REQ_free(req);
	ERR_clear_error();
	return err;
}

void
cvq_ca_tsa_free(cvq_ca_tsa *t)
{
	if (!t)
		return;
	cvq_ca_close(t->ca);
	X509_free(t->cert);
	sk_X509_pop_free(t->chain, X509_free);
	ca_keyref_free(&t->keyref);
	ASN1_OBJECT_free(t->policy);
	pthread_mutex_destroy(&t->audit_mu);
	pthread_mutex_destroy(&t->sign_mu);
	pthread_cond_destroy(&t->audit_cv);
	free(t);
}

cvq_ca_err
cvq_ca_tsa_new(const struct cvq_ca_config *cfg, const char *pass, cvq_ca_tsa **out,
               char *why, size_t why_len)
{
	char *key = NULL, *cert = NULL, msg[256] = "";
	const char *pol;
	cvq_ca_tsa *t;
	cvq_ca_err err;
	X509 *ca_cert;

	if (!cfg || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	if (!cfg->tsa_key || !cfg->tsa_cert) {
		WHY("no [tsa] key and cert in the CA configuration");
		return CVQ_CA_ERR_CONFIG;
	}
	pol = cfg->tsa_policy ? cfg->tsa_policy : cfg->policy_oid;
	if (!pol) {
		WHY("no TSA policy: set [tsa] policy or policy_oid");
		return CVQ_CA_ERR_CONFIG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return CVQ_CA_ERR_NOMEM;
	pthread_mutex_init(&t->audit_mu, NULL);
	pthread_mutex_init(&t->sign_mu, NULL);
	pthread_cond_init(&t->audit_cv, NULL);
	t->queue_tail = &t->queue;
	t->accuracy_ms = cfg->tsa_accuracy_ms;
	snprintf(t->policy_txt, sizeof(t->policy_txt), "%s", pol);
	t->policy = OBJ_txt2obj(pol, 1);
	if (!t->policy) {
		WHY("bad TSA policy OID %s", pol);
		err = CVQ_CA_ERR_CONFIG;
		goto fail;
	}
	err = cvq_ca_open2(cfg, NULL, CVQ_CA_OPEN_NOKEY, &t->ca, msg, sizeof(msg));
	if (err != CVQ_CA_OK) {
		WHY("store: %s", msg[0] ? msg : cvq_ca_strerror(err));
		goto fail;
	}
	cvq_ca_set_actor(t->ca, "tsa");
	key = cvq_ca_config_path(cfg, cfg->tsa_key);
	cert = cvq_ca_config_path(cfg, cfg->tsa_cert);
	err = CVQ_CA_ERR_NOMEM;
	if (!key || !cert)
		goto fail;
	err = ca_cert_load(cert, &t->cert);
	if (err != CVQ_CA_OK) {
		WHY("cannot read the TSA certificate %s", cert);
		goto fail;
	}
	err = ca_key_load(key, pass ? pass : cfg->tsa_pass ? cfg->tsa_pass : cfg->pass,
	                  &t->keyref, msg, sizeof(msg));
	if (err != CVQ_CA_OK) {
		WHY("TSA key %s: %s%s%s", key, cvq_ca_strerror(err), msg[0] ? ": " : "", msg);
		goto fail;
	}
	t->serial_sign = t->keyref.p11 != NULL;
	err = CVQ_CA_ERR_KEY;
	if (X509_check_private_key(t->cert, t->keyref.pkey) != 1) {
		WHY("the TSA key does not match %s", cert);
		goto fail;
	}
	/* OpenSSL's own rule for a TSA certificate: the only, critical EKU. */
	err = CVQ_CA_ERR_POLICY;
	if (X509_check_purpose(t->cert, X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
		WHY("%s is not a TSA certificate (critical EKU timeStamping)", cert);
		goto fail;
	}
	ca_cert = cvq_ca_cert(t->ca);
	err = CVQ_CA_ERR_NOMEM;
	if (!(t->chain = sk_X509_new_null()) || !X509_up_ref(ca_cert))
		goto fail;
	if (!sk_X509_push(t->chain, ca_cert)) {
		X509_free(ca_cert);
		goto fail;
	}
	free(key);
	free(cert);
	ERR_clear_error();
	*out = t;
	return CVQ_CA_OK;
fail:
	free(key);
	free(cert);
	ERR_clear_error();
	cvq_ca_tsa_free(t);
	return err;
}

static ASN1_INTEGER *
serial_cb(TS_RESP_CTX *ctx, void *data)
{
	ASN1_INTEGER *s = NULL;

	(void)data;
	if (ca_random_serial(&s) != CVQ_CA_OK) {
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "Error during serial number generation.");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
		return NULL;
	}
	return s;
}

static TS_RESP *
make_response(cvq_ca_tsa *t, const uint8_t *req, size_t len, bool well_formed)
{
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	TS_RESP *resp = NULL;
	/* A request our strict parse refused goes in as nothing: OpenSSL
	 * answers it as it answers garbage (rejection, badDataFormat). */
	BIO *in = BIO_new_mem_buf(well_formed ? req : (const uint8_t *)"", well_formed ? (int)len : 0);
	unsigned ms = t->accuracy_ms;

	if (!ctx || !in ||
	    !TS_RESP_CTX_set_signer_cert(ctx, t->cert) ||
	    !TS_RESP_CTX_set_signer_key(ctx, t->keyref.pkey) ||
	    !TS_RESP_CTX_set_certs(ctx, t->chain) ||
	    !TS_RESP_CTX_set_def_policy(ctx, t->policy) ||
	    !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) ||
	    /* ESSCertIDv2 with SHA-256, not SHA-1's signingCertificate */
	    !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha384()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha512()) ||
	    !TS_RESP_CTX_set_accuracy(ctx, (int)(ms / 1000), (int)(ms % 1000), 0) ||
	    !TS_RESP_CTX_set_clock_precision_digits(ctx, ms < 1000 ? 3 : 0))
		goto out;
	TS_RESP_CTX_set_serial_cb(ctx, serial_cb, NULL);
	if (t->serial_sign)
		pthread_mutex_lock(&t->sign_mu);
	resp = TS_RESP_create_response(ctx, in);
	if (t->serial_sign)
		pthread_mutex_unlock(&t->sign_mu);
out:
	BIO_free(in);
	TS_RESP_CTX_free(ctx);
	return resp;
}

static void
hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* One transaction for a batch: all committed, or none (and no token sent). */
static cvq_ca_err
commit_batch(cvq_ca_tsa *t, struct stamp_job *batch)
{
	struct stamp_job *j;
	cvq_ca_err err = ca_tx_begin(t->ca);

	for (j = batch; err == CVQ_CA_OK && j; j = j->next)
		err = ca_audit_append(t->ca, "tsa.stamp", j->serial, "%s", j->detail);
	if (err == CVQ_CA_OK)
		return ca_tx_commit(t->ca);
	ca_tx_rollback(t->ca);
	return err;
}

/* Queue j and return once it is committed (or failed), committing the
 * queue ourselves when no one else is. */
static cvq_ca_err
audit_commit(cvq_ca_tsa *t, struct stamp_job *j)
{
	struct stamp_job *batch, *k;
	cvq_ca_err err;

	pthread_mutex_lock(&t->audit_mu);
	*t->queue_tail = j;
	t->queue_tail = &j->next;
	while (!j->done) {
		if (t->committing) {
			pthread_cond_wait(&t->audit_cv, &t->audit_mu);
			continue;
		}
		t->committing = true;
		batch = t->queue;
		t->queue = NULL;
		t->queue_tail = &t->queue;
		pthread_mutex_unlock(&t->audit_mu);
		err = commit_batch(t, batch);
		pthread_mutex_lock(&t->audit_mu);
		for (k = batch; k; k = k->next) {
			k->err = err;
			k->done = true;
		}
		t->committing = false;
		pthread_cond_broadcast(&t->audit_cv);
	}
	err = j->err;
	pthread_mutex_unlock(&t->audit_mu);
	return err;
}

/*
 * The audit entry of a granted token, committed before the token leaves:
 * its serial, the SHA-256 of the token as it will appear in a receipt,
 * genTime, the imprint (its first 32 bytes) and the policy.
 */
static cvq_ca_err
audit_token(cvq_ca_tsa *t, TS_RESP *resp, struct cvq_ca_tsa_answer *a)
{
	TS_TST_INFO *ti = TS_RESP_get_tst_info(resp);
	TS_MSG_IMPRINT *mi = ti ? TS_TST_INFO_get_msg_imprint(ti) : NULL;
	ASN1_OCTET_STRING *m = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
	const ASN1_GENERALIZEDTIME *g = ti ? TS_TST_INFO_get_time(ti) : NULL;
	unsigned char *tok = NULL, th[32];
	char toks[65], imps[65], gen[40], alg[16];
	struct stamp_job job = {0};
	int n, ilen;

	if (!ti || !m || !g || cvq_ca_serial_hex(TS_TST_INFO_get_serial(ti), a->serial) != CVQ_CA_OK)
		return CVQ_CA_ERR_CRYPTO;
	a->gen_time = ca_asn1_time(g);
	n = i2d_PKCS7(TS_RESP_get_token(resp), &tok);
	if (n <= 0 || !EVP_Digest(tok, (size_t)n, th, NULL, EVP_sha256(), NULL)) {
		OPENSSL_free(tok);
		return CVQ_CA_ERR_CRYPTO;
	}
	OPENSSL_free(tok);
	hex(th, 32, toks);
	ilen = ASN1_STRING_length(m) > 32 ? 32 : ASN1_STRING_length(m);
	hex(ASN1_STRING_get0_data(m), (size_t)ilen, imps);
	snprintf(gen, sizeof(gen), "%.*s", ASN1_STRING_length(g), (const char *)ASN1_STRING_get0_data(g));
	snprintf(alg, sizeof(alg), "%s", OBJ_nid2sn(OBJ_obj2nid(TS_MSG_IMPRINT_get_algo(mi)->algorithm)));
	snprintf(job.serial, sizeof(job.serial), "%s", a->serial);
	snprintf(job.detail, sizeof(job.detail), "token=sha256:%s gen=%s imprint=%s:%s policy=%s",
	         toks, gen, alg, imps, t->policy_txt);
	return audit_commit(t, &job);
}

cvq_ca_err
cvq_ca_tsa_respond(cvq_ca_tsa *t, const uint8_t *req, size_t req_len, uint8_t **out,
                   size_t *out_len, struct cvq_ca_tsa_answer *ans)
{
	struct cvq_ca_tsa_answer a = {.status = TS_STATUS_REJECTION};
	TS_RESP *resp = NULL;
	unsigned char *d = NULL;
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;
	int n;

	if (!t || (!req && req_len) || !out || !out_len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	resp = make_response(t, req, req_len,
	                     cvq_ca_tsa_check_request(req, req_len, NULL, 0) == CVQ_CA_OK);
	if (!resp)
		goto out;
	a.status = (int)ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
	if (a.status == TS_STATUS_GRANTED || a.status == TS_STATUS_GRANTED_WITH_MODS) {
		err = audit_token(t, resp, &a);
		if (err != CVQ_CA_OK)
			goto out;
	}
	err = CVQ_CA_ERR_CRYPTO;
	n = i2d_TS_RESP(resp, &d);
	if (n <= 0)
		goto out;
	*out = d;
	*out_len = (size_t)n;
	err = CVQ_CA_OK;
	if (ans)
		*ans = a;
out:
	TS_RESP_free(resp);
	ERR_clear_error();
	return err;
}
