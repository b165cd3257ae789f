/* cvqd — POST /v1/seal: the city's seal on a portal's documents (#14). */
#include "seal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/doc.h>

#include "b64.h"
#include "cvqd.h"
#include "journal.h"
#include "log.h"
#include "trust.h"

struct cvqd_seal {
	const cvqd_config *cfg;   /* the daemon's, read-only */
	cvq_doc_signer *signer;
	X509 *cert;
	STACK_OF(X509) *chain, *dss_certs;
	X509_STORE *tsa_trust;
	/* One token session: libcvqdoc's signer is for one thread at a time,
	 * and a PKCS#11 session is not shared. */
	pthread_mutex_t lock;
};

static void free_crls(struct cvq_doc_blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		OPENSSL_free((void *)b[i].der);
}

cvqd_seal *cvqd_seal_start(const cvqd_config *cfg, char *err, size_t errlen)
{
	cvqd_seal *s = calloc(1, sizeof *s);
	STACK_OF(X509) *certs = NULL;
	struct cvq_doc_blob crls[CVQD_MAX_PATHS];
	size_t ncrls = 0;
	cvq_doc_err e;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	pthread_mutex_init(&s->lock, NULL);
	if (!(certs = cvq_doc_read_certs(cfg->seal_cert)) || !(s->cert = sk_X509_shift(certs))) {
		snprintf(err, errlen, "no certificate in %s", cfg->seal_cert);
		goto fail;
	}
	if (cfg->seal_chain && cfg->seal_chain[0]) {
		if (!(s->chain = cvq_doc_read_certs(cfg->seal_chain))) {
			snprintf(err, errlen, "no certificate in %s", cfg->seal_chain);
			goto fail;
		}
		sk_X509_pop_free(certs, X509_free);
	} else {
		s->chain = certs;
	}
	certs = NULL;
	if (cfg->seal_dss_certs && cfg->seal_dss_certs[0] &&
	    !(s->dss_certs = cvq_doc_read_certs(cfg->seal_dss_certs))) {
		snprintf(err, errlen, "no certificate in %s", cfg->seal_dss_certs);
		goto fail;
	}
	if (cfg->seal_tsa_anchors && cfg->seal_tsa_anchors[0] &&
	    (!(s->tsa_trust = X509_STORE_new()) ||
	     X509_STORE_load_file(s->tsa_trust, cfg->seal_tsa_anchors) != 1)) {
		snprintf(err, errlen, "cannot read the TSA anchors %s", cfg->seal_tsa_anchors);
		goto fail;
	}
	/* Read again at each seal (the CA renews them); here only checked. */
	for (; ncrls < cfg->n_seal_crls; ncrls++)
		if (cvq_doc_read_crl(cfg->seal_crls[ncrls], &crls[ncrls]) != CVQ_DOC_OK) {
			snprintf(err, errlen, "no CRL in %s", cfg->seal_crls[ncrls]);
			goto fail;
		}
	free_crls(crls, ncrls);
	ncrls = 0;
	/* Like cvq-ocspd's TSA key: a wrong PIN stops the daemon now, not at
	 * the first citizen's document. */
	if ((e = cvq_doc_signer_open(cfg->seal_key,
	                             cfg->seal_pin && cfg->seal_pin[0] ? cfg->seal_pin : NULL,
	                             &s->signer)) != CVQ_DOC_OK) {
		snprintf(err, errlen, "seal key %s: %s", cfg->seal_key, cvq_doc_strerror(e));
		goto fail;
	}
	if (!cvq_doc_signer_matches(s->signer, s->cert)) {
		snprintf(err, errlen, "the seal key does not match the certificate in %s", cfg->seal_cert);
		goto fail;
	}
	ERR_clear_error();
	return s;
fail:
	free_crls(crls, ncrls);
	sk_X509_pop_free(certs, X509_free);
	cvqd_seal_free(s);
	ERR_clear_error();
	return NULL;
}

void cvqd_seal_free(cvqd_seal *s)
{
	if (!s)
		return;
	cvq_doc_signer_free(s->signer);
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	sk_X509_pop_free(s->dss_certs, X509_free);
	X509_STORE_free(s->tsa_trust);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

cvqd_err cvqd_seal_admit(const struct cvqd *d, const char *path, uid_t uid, gid_t gid,
                         size_t *max_body)
{
	const cvqd_config *c = &d->cfg;
	if (strcmp(path, "/v1/seal") != 0)
		return CVQD_OK;
	if (!d->seal)
		return CVQD_ERR_SEAL_OFF;
	if (!cvqd_ids_allow(c->seal_uids, c->n_seal_uids, c->seal_gids, c->n_seal_gids, uid, gid)) {
		cvqd_warn("seal: refused caller uid %u gid %u", (unsigned)uid, (unsigned)gid);
		return CVQD_ERR_FORBIDDEN;
	}
	/* The base64 of max_document, and room for the other members. */
	size_t need = 4 * ((c->seal_max_document + 2) / 3) + 4096;
	if (need > *max_body)
		*max_body = need;
	return CVQD_OK;
}

/* A short name a register knows: [a-z0-9-], 1..64, no leading '-'. */
static bool type_ok(const char *t)
{
	size_t n = strlen(t);
	if (!n || n > 64 || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '-'))
			return false;
	return true;
}

/* A file name for the journal: UTF-8 (jansson's), no control, no '/'. */
static bool filename_ok(const char *f)
{
	size_t n = strlen(f);
	if (!n || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f || f[i] == '/')
			return false;
	return true;
}

int cvqd_seal_request_parse(json_t *body, struct cvqd_seal_request *q,
                            const char **field, const char **reason)
{
	const char *k;
	json_t *v;
	memset(q, 0, sizeof *q);
	*field = *reason = NULL;
	if (!json_is_object(body)) {
		*field = "";
		*reason = "not_an_object";
		return -1;
	}
	json_object_foreach(body, k, v) {
		if (strcmp(k, "document") && strcmp(k, "type") && strcmp(k, "filename")) {
			*field = k;
			*reason = "unknown_field";
			return -1;
		}
	}
	json_t *doc = json_object_get(body, "document"), *type = json_object_get(body, "type");
	json_t *fn = json_object_get(body, "filename");
	if (!json_is_string(doc)) {
		*field = "document";
		*reason = doc ? "not_a_string" : "missing";
		return -1;
	}
	if (!json_is_string(type) || !type_ok(json_string_value(type))) {
		*field = "type";
		*reason = !type ? "missing" : "bad_type_name";
		return -1;
	}
	if (fn && (!json_is_string(fn) || !filename_ok(json_string_value(fn)))) {
		*field = "filename";
		*reason = "bad_filename";
		return -1;
	}
	q->document_b64 = json_string_value(doc);
	q->document_b64_len = json_string_length(doc);
	q->type = json_string_value(type);
	q->filename = fn ? json_string_value(fn) : NULL;
	return 0;
}

static const char *level_name(enum cvq_doc_level l)
{
	return l == CVQ_DOC_LEVEL_B_LT ? "B-LT" : l == CVQ_DOC_LEVEL_B_T ? "B-T" : "B-B";
}

static bool is_pdf(const uint8_t *b, size_t n)
{
	return n >= 5 && memcmp(b, "%PDF-", 5) == 0;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The seal itself, under the lock: CRLs read now, libcvqdoc called. */
static cvqd_err seal_locked(cvqd_seal *s, const uint8_t *in, size_t len, bool pdf,
                            uint8_t **out, size_t *out_len, struct cvq_doc_seal_info *info,
                            char *why, size_t whylen)
{
	const cvqd_config *c = s->cfg;
	struct cvq_doc_blob crls[CVQD_MAX_PATHS];
	struct cvq_cades_tsa tsa = { .url = c->seal_tsa_url, .timeout_s = c->seal_tsa_timeout,
	                             .trust = s->tsa_trust };
	struct cvq_doc_seal_params p = {
		.signer = s->cert, .chain = s->chain, .sign = cvq_doc_signer_sign,
		.arg = s->signer, .tsa = c->seal_tsa_url && c->seal_tsa_url[0] ? &tsa : NULL,
		.dss_certs = s->dss_certs, .crls = crls,
		.reason = c->seal_reason, .location = c->seal_location, .signer_name = c->seal_name,
	};
	cvqd_err rc = CVQD_OK;
	cvq_doc_err e;
	size_t n = 0;

	for (; n < c->n_seal_crls; n++)
		if (cvq_doc_read_crl(c->seal_crls[n], &crls[n]) != CVQ_DOC_OK) {
			snprintf(why, whylen, "the CRL %s cannot be read: no B-LT seal", c->seal_crls[n]);
			free_crls(crls, n);
			return CVQD_ERR_SEAL_FAILED;
		}
	p.ncrls = n;
	pthread_mutex_lock(&s->lock);
	e = pdf ? cvq_doc_seal_pdf(&p, in, len, out, out_len, info)
	        : cvq_doc_seal_detached(&p, in, len, out, out_len, info);
	pthread_mutex_unlock(&s->lock);
	free_crls(crls, n);
	ERR_clear_error();
	if (e == CVQ_DOC_OK)
		return CVQD_OK;
	if (e == CVQ_DOC_ERR_PDF_PARSE || e == CVQ_DOC_ERR_PDF_ENCRYPTED ||
	    e == CVQ_DOC_ERR_PDF_UNSUPPORTED || e == CVQ_DOC_ERR_TOO_LARGE ||
	    e == CVQ_DOC_ERR_SIG_LAYOUT) {
		snprintf(why, whylen, "the PDF cannot be sealed: %s", cvq_doc_strerror(e));
		rc = CVQD_ERR_DOCUMENT;
	} else if (e == CVQ_DOC_ERR_SEAL && info->cades_err >= CVQ_CADES_ERR_NET) {
		snprintf(why, whylen, "no timestamp from the city's TSA: %s: no seal",
		         cvq_cades_strerror(info->cades_err));
		rc = CVQD_ERR_TSA_UNAVAILABLE;
	} else {
		snprintf(why, whylen, "%s%s%s", cvq_doc_strerror(e), e == CVQ_DOC_ERR_SEAL ? ": " : "",
		         e == CVQ_DOC_ERR_SEAL ? cvq_cades_strerror(info->cades_err) : "");
		rc = e == CVQ_DOC_ERR_NOMEM ? CVQD_ERR_NOMEM : CVQD_ERR_SEAL_FAILED;
	}
	return rc;
}

void cvqd_api_seal(cvqd_req *r)
{
	struct cvqd *d = r->d;
	struct cvqd_seal_request q;
	const char *field, *reason;
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	uint8_t in_md[32], out_md[32];
	char in_hex[65], out_hex[65], why[200] = "", when[32];
	struct cvq_doc_seal_info info = { 0 };
	cvqd_err e;

	if (!d->seal) {
		cvqd_reply_error(r, CVQD_ERR_SEAL_OFF, NULL);
		return;
	}
	if (cvqd_seal_request_parse(r->body, &q, &field, &reason) != 0) {
		char f[48], msg[120];
		snprintf(f, sizeof f, "%.40s", field);
		snprintf(msg, sizeof msg, "%s: %s", f, reason);
		cvqd_reply_refusal(r, f, reason, msg);
		return;
	}
	if (!(in = cvqd_b64_decode(q.document_b64, q.document_b64_len, &in_len)) || !in_len) {
		free(in);
		cvqd_reply_refusal(r, "document", "not_base64", "document: not base64 of a non-empty file");
		return;
	}
	if (in_len > d->cfg.seal_max_document) {
		free(in);
		cvqd_reply_error(r, CVQD_ERR_BODY_TOO_LARGE, "the document exceeds [seal] max_document");
		return;
	}
	bool pdf = is_pdf(in, in_len);
	const char *format = pdf ? "pades" : "cades-detached";
	EVP_Digest(in, in_len, in_md, NULL, EVP_sha256(), NULL);
	hex(in_md, 32, in_hex);

	e = seal_locked(d->seal, in, in_len, pdf, &out, &out_len, &info, why, sizeof why);
	if (e == CVQD_OK)
		EVP_Digest(out, out_len, out_md, NULL, EVP_sha256(), NULL);
	cvqd_journal_seal row = {
		.uid = r->uid, .pid = r->pid, .type = q.type, .filename = q.filename,
		.format = format, .level = e == CVQD_OK ? level_name(info.level) : NULL,
		.in_sha256 = in_md, .out_sha256 = e == CVQD_OK ? out_md : NULL,
		.result = e == CVQD_OK ? "ok" : cvqd_err_code(e),
	};
	/* A seal the journal cannot record is not handed out. */
	if (cvqd_journal_add_seal(d->journal, &row) != 0 && e == CVQD_OK) {
		e = CVQD_ERR_JOURNAL;
		snprintf(why, sizeof why, "the journal cannot record the seal: not handed out");
	}
	if (e != CVQD_OK) {
		cvqd_warn("seal: uid %u pid %d type %s %s sha256 %s refused: %s", (unsigned)r->uid,
		          (int)r->pid, q.type, format, in_hex, why);
		cvqd_reply_error(r, e, why[0] ? why : NULL);
		goto out;
	}
	hex(out_md, 32, out_hex);
	cvqd_info("seal: uid %u pid %d type %s %s %s sha256 %s -> %s", (unsigned)r->uid, (int)r->pid,
	          q.type, format, level_name(info.level), in_hex, out_hex);
	char *b64 = cvqd_b64_encode(out, out_len);
	if (!b64) {
		cvqd_reply_error(r, CVQD_ERR_NOMEM, NULL);
		goto out;
	}
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", pdf ? "document" : "signature", b64,
	                      "format", format, "level", level_name(info.level),
	                      "sha256", out_hex, "document_sha256", in_hex);
	free(b64);
	if (j && info.timestamp) {
		cvqd_time_rfc3339(info.timestamp, when, sizeof when);
		json_object_set_new(j, "timestamp", json_string(when));
	} else if (j) {
		json_object_set_new(j, "timestamp", json_null());
	}
	if (!j)
		cvqd_reply_error(r, CVQD_ERR_NOMEM, NULL);
	else
		cvqd_reply_json(r, 200, j);
out:
	free(in);
	free(out);
}
