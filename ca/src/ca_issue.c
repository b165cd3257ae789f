/*
 * libcvqca — issuance: from a CSR, from a card's public key with a signed
 * challenge, in batches. The row (and its audit entry) is committed before
 * any certificate is handed to the caller.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "ca_csr.h"
#include "ca_int.h"

#define SERIAL_TRIES 4
#define BATCH_TX 1024
#define BATCH_THREADS 8

/* The input policy (ca_policy.c), then a usable point: log NULL in threads.
 * point_ok: our CSR parser saw the decoder check the point (ca_csr.h). */
static cvq_ca_err
key_allowed(cvq_ca *ca, cvq_ca *log, EVP_PKEY *pub, const X509_PUBKEY *spki, bool point_ok)
{
	EVP_PKEY_CTX *pc;
	cvq_ca_err err;
	int ok;

	err = ca_policy_key(ca->cfg, log, pub, spki);
	if (err != CVQ_CA_OK || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC || point_ok)
		return err;
	/*
	 * OpenSSL takes the point at infinity (encoded 00) as a public key,
	 * and ECDSA then verifies signatures anyone can forge: the CSR's
	 * "proof of possession" included. Refuse it (and points off the
	 * curve) before signing a certificate for it.
	 */
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	ok = pc && EVP_PKEY_public_check_quick(pc) == 1;
	EVP_PKEY_CTX_free(pc);
	if (ok)
		return CVQ_CA_OK;
	ERR_clear_error();
	return ca_fail(log, CVQ_CA_ERR_POLICY, "not a usable EC public key (point at infinity?)");
}

static bool
citizen_profile(enum cvq_ca_profile p)
{
	return p == CVQ_CA_PROFILE_CITIZEN_AUTH || p == CVQ_CA_PROFILE_CITIZEN_SIGN;
}

/*
 * A refusal leaves a trace: its own transaction (the issuing one was
 * rolled back), best effort — the caller's error is what counts.
 */
static void
audit_refusal(cvq_ca *ca, const struct cvq_ca_issue_req *req, cvq_ca_err err)
{
	char msg[sizeof(ca->errmsg)];

	if (err == CVQ_CA_ERR_STORE || err == CVQ_CA_ERR_FULL || err == CVQ_CA_ERR_READONLY ||
	    err == CVQ_CA_ERR_NOMEM || err == CVQ_CA_ERR_AUDIT)
		return;
	memcpy(msg, ca->errmsg, sizeof(msg));
	if (ca_tx_begin(ca) != CVQ_CA_OK)
		goto out;
	if (ca_audit_append(ca, "cert.refuse", req->card_guid ? req->card_guid : "",
	                    "profile=%s err=%s: %.150s%s", cvq_ca_profile_name(req->profile),
	                    cvq_ca_strerror(err), msg[0] ? msg : cvq_ca_strerror(err),
	                    ca->via_agent ? " via=agent" : "") == CVQ_CA_OK)
		ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
out:
	memcpy(ca->errmsg, msg, sizeof(msg));
}

cvq_ca_err
ca_cert_insert_der(cvq_ca *ca, const struct ca_issued *c, int64_t card_id, enum cvq_ca_profile p)
{
	sqlite3_stmt *st;
	int rc;

	st = ca_stmt(ca, CA_STMT_CERT_INSERT);
	if (!st)
		return CVQ_CA_ERR_STORE;
	sqlite3_bind_text(st, 1, c->serial, -1, SQLITE_STATIC);
	if (card_id)
		sqlite3_bind_int64(st, 2, card_id);
	sqlite3_bind_int(st, 3, (int)p);
	sqlite3_bind_text(st, 4, c->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, c->not_before);
	sqlite3_bind_int64(st, 6, c->not_after);
	sqlite3_bind_int64(st, 7, ca_now());
	sqlite3_bind_blob(st, 8, c->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, c->der, (int)c->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ca_sql_fail(ca, rc, "certificate insert");
	return ca_audit_append(ca, "cert.issue", c->serial, "profile=%s card_id=%lld%s",
	                       cvq_ca_profile_name(p), (long long)card_id,
	                       ca->via_agent ? " via=agent" : "");
}

cvq_ca_err
ca_cert_insert(cvq_ca *ca, X509 *cert, int64_t card_id, enum cvq_ca_profile p)
{
	struct ca_issued c = {0};
	unsigned char *der = NULL;
	BIO *mem = NULL;
	cvq_ca_err err;
	int len;

	err = cvq_ca_serial_hex(X509_get0_serialNumber(cert), c.serial);
	if (err != CVQ_CA_OK)
		return err;
	len = i2d_X509(cert, &der);
	if (len <= 0)
		return CVQ_CA_ERR_CRYPTO;
	c.der = der;
	c.len = (size_t)len;
	EVP_Digest(der, (size_t)len, c.sha256, NULL, EVP_sha256(), NULL);
	mem = BIO_new(BIO_s_mem());
	if (mem && X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(mem, c.subject, sizeof(c.subject) - 1);
		c.subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(mem);
	c.not_before = (int64_t)ca_asn1_time(X509_get0_notBefore(cert));
	c.not_after = (int64_t)ca_asn1_time(X509_get0_notAfter(cert));
	err = ca_cert_insert_der(ca, &c, card_id, p);
	ca_issued_free(&c);
	return err;
}

static X509_NAME *
citizen_name(cvq_ca *ca, const char *ext_id)
{
	struct cvq_ca_citizen c;
	X509_NAME *n;
	char cn[300];

	if (cvq_ca_citizen_get(ca, ext_id, &c) != CVQ_CA_OK)
		return NULL;
	n = X509_NAME_new();
	if (!n)
		return NULL;
	snprintf(cn, sizeof(cn), "%s %s", c.given_name, c.family_name);
	/* Only what a relying party needs: the name and the subscription. */
	if ((ca->cfg->country && !X509_NAME_add_entry_by_NID(n, NID_countryName, MBSTRING_UTF8,
	        (const unsigned char *)ca->cfg->country, -1, -1, 0)) ||
	    (ca->cfg->org && !X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8,
	        (const unsigned char *)ca->cfg->org, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(n, NID_serialNumber, MBSTRING_UTF8,
	        (const unsigned char *)c.ext_id, -1, -1, 0)) {
		ERR_clear_error();
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* What a request resolves to, once per request (or per batch chunk). */
struct prep {
	int64_t card_id;
	X509_NAME *subject;     /* override; NULL: the CSR's subject */
	char email[256];        /* citizen-sign: the holder's e-mail (rfc822Name), or "" */
};

/* Inside the transaction: profile, card status, subject. */
static cvq_ca_err
prepare(cvq_ca *ca, const struct cvq_ca_issue_req *req, struct prep *p)
{
	enum cvq_ca_card_status status;
	char holder[64] = "";
	cvq_ca_err err;

	memset(p, 0, sizeof(*p));
	if ((unsigned)req->profile >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	if (ca->roles_old)
		return ca_fail(ca, CVQ_CA_ERR_POLICY, "the roles in the configuration are not the approved "
		               "ones: nothing is issued until officers approve the change "
		               "(cvq-admin ca request --roles)");
	if (cvq_ca_profile_dual(req->profile) && !ca->issuing_request)
		return ca_fail(ca, CVQ_CA_ERR_POLICY, "the %s profile needs two-person control "
		               "(cvq-admin ca request, then another officer's ca approve)",
		               cvq_ca_profile_name(req->profile));
	if (citizen_profile(req->profile) && !req->card_guid)
		return ca_fail(ca, CVQ_CA_ERR_ARG, "citizen certificates need a card");
	/* The citizen's name is the store's word, never the request's. */
	if (citizen_profile(req->profile) && req->subject)
		return ca_fail(ca, CVQ_CA_ERR_POLICY, "the subject of a citizen certificate comes "
		               "from the store, not from the request");
	if (req->card_guid) {
		err = ca_card_lookup(ca, req->card_guid, &p->card_id, &status, holder, sizeof(holder));
		if (err != CVQ_CA_OK)
			return err;
		if (status != CVQ_CA_CARD_ACTIVE)
			return ca_fail(ca, CVQ_CA_ERR_POLICY, "card %s is %s", req->card_guid,
			               cvq_ca_card_status_name(status));
		if (citizen_profile(req->profile) && !holder[0])
			return ca_fail(ca, CVQ_CA_ERR_POLICY, "card %s is tied to no citizen", req->card_guid);
	}
	if (req->subject) {
		p->subject = ca_name_parse(req->subject);
		if (!p->subject)
			return ca_fail(ca, CVQ_CA_ERR_ARG, "bad subject %s", req->subject);
	} else if (holder[0]) {
		p->subject = citizen_name(ca, holder);
		if (!p->subject)
			return ca_fail(ca, CVQ_CA_ERR_STORE, "cannot build the subject of %s", holder);
	}
	/* The signing certificate claims emailProtection: S/MIME peers
	 * (certtool --verify-email, mail clients) want the address in it. */
	if (req->profile == CVQ_CA_PROFILE_CITIZEN_SIGN && holder[0]) {
		struct cvq_ca_citizen c;

		if (cvq_ca_citizen_get(ca, holder, &c) == CVQ_CA_OK && ca_email_ok(c.email))
			snprintf(p->email, sizeof(p->email), "%s", c.email);
	}
	/* Once per request: what the store or the request names must pass the
	 * input policy too (a name with an ESC imported into the store). */
	if (p->subject)
		return ca_policy_subject(ca->cfg, ca, p->subject);
	return CVQ_CA_OK;
}

/* Build and sign for k (its key, SPKI and subject; only read); thread-safe
 * when log is NULL. */
static cvq_ca_err
make_one(cvq_ca *ca, cvq_ca *log, const struct cvq_ca_issue_req *req, const struct prep *p,
         const struct ca_csr *k, struct ca_issued *out)
{
	X509_NAME *subject = p->subject ? p->subject : k->subject;
	EVP_PKEY *pub = k->pub, *decoded = NULL;
	cvq_ca_err err;

	memset(out, 0, sizeof(*out));
	/* No pub: a batch thread's key, gone to its next CSR; OpenSSL decodes
	 * the SPKI again (only when a serial clashed, 2^-126). */
	if (!pub && k->spki) {
		unsigned char *der = NULL;
		const unsigned char *q;
		int n = i2d_X509_PUBKEY(k->spki, &der);

		q = der;
		pub = decoded = n > 0 ? d2i_PUBKEY(NULL, &q, n) : NULL;
		OPENSSL_free(der);
		ERR_clear_error();
	}
	if (!pub)
		return ca_fail(log, CVQ_CA_ERR_REQUEST, "the CSR has no usable public key");
	err = key_allowed(ca, log, pub, k->spki, k->pub ? k->point_ok : false);
	if (err == CVQ_CA_OK && (!subject || X509_NAME_entry_count(subject) == 0))
		err = ca_fail(log, CVQ_CA_ERR_REQUEST, "no usable subject");
	/* The override was checked once by prepare(); the CSR's each time. */
	if (err == CVQ_CA_OK && !p->subject)
		err = ca_policy_subject(ca->cfg, log, subject);
	if (err == CVQ_CA_OK)
		err = ca_cert_make_der(ca, log, req, subject, pub, k->spki,
		                       p->email[0] ? p->email : NULL, out);
	EVP_PKEY_free(decoded);
	return err;
}

/* Record *cert; on a serial clash (2^-126 per pair) re-sign with a new one. */
static cvq_ca_err
record(cvq_ca *ca, const struct cvq_ca_issue_req *req, const struct prep *p,
       const struct ca_csr *k, struct ca_issued *cert)
{
	cvq_ca_err err = CVQ_CA_OK;
	int i;

	for (i = 0; i < SERIAL_TRIES; i++) {
		err = ca_cert_insert_der(ca, cert, p->card_id, req->profile);
		if (err != CVQ_CA_ERR_EXISTS)
			break;
		ca_issued_free(cert);
		err = make_one(ca, ca, req, p, k, cert);
		if (err != CVQ_CA_OK)
			break;
	}
	return err;
}

/* One certificate in one transaction (row + audit entry: one commit, one fsync). */
static cvq_ca_err
issue_one(cvq_ca *ca, const struct cvq_ca_issue_req *req, const struct ca_csr *k,
          struct ca_issued *out)
{
	struct prep p = {0};
	cvq_ca_err err;

	memset(out, 0, sizeof(*out));
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		return err;
	err = prepare(ca, req, &p);
	/* Key provenance: the card's attestation, or the audited waiver; the
	 * card-authentication key too, or a clone could carry a software 9E. */
	if (err == CVQ_CA_OK && (citizen_profile(req->profile) || req->profile == CVQ_CA_PROFILE_CARD_AUTH))
		err = ca_attest_check(ca, req, k->pub);
	if (err == CVQ_CA_OK)
		err = make_one(ca, ca, req, &p, k, out);
	if (err == CVQ_CA_OK)
		err = record(ca, req, &p, k, out);
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	X509_NAME_free(p.subject);
	/* Not recorded, so never handed out. */
	if (err != CVQ_CA_OK) {
		ca_issued_free(out);
		audit_refusal(ca, req, err);
	}
	return err;
}

static cvq_ca_err
to_x509(struct ca_issued *c, X509 **out)
{
	const unsigned char *p = c->der;

	*out = d2i_X509(NULL, &p, (long)c->len);
	ca_issued_free(c);
	if (!*out) {
		ERR_clear_error();
		return CVQ_CA_ERR_CRYPTO;
	}
	return CVQ_CA_OK;
}

static cvq_ca_err
csr_check(cvq_ca *log, X509_REQ *csr, EVP_PKEY **pub)
{
	*pub = csr ? X509_REQ_get0_pubkey(csr) : NULL;
	if (!*pub)
		return ca_fail(log, CVQ_CA_ERR_REQUEST, "the CSR has no usable public key");
	if (X509_REQ_verify(csr, *pub) != 1) {
		ERR_clear_error();
		return ca_fail(log, CVQ_CA_ERR_POP, "the CSR's signature does not verify");
	}
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_issue_csr(cvq_ca *ca, const struct cvq_ca_issue_req *req, X509_REQ *csr, X509 **out)
{
	struct ca_issued c;
	EVP_PKEY *pub;
	cvq_ca_err err;

	if (!ca || !req || !csr || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	err = csr_check(ca, csr, &pub);
	if (err != CVQ_CA_OK) {
		audit_refusal(ca, req, err);
		return err;
	}
	{
		struct ca_csr k = {.pub = pub, .spki = X509_REQ_get_X509_PUBKEY(csr),
		                   .subject = X509_REQ_get_subject_name(csr)};

		err = issue_one(ca, req, &k, &c);
	}
	return err == CVQ_CA_OK ? to_x509(&c, out) : err;
}

cvq_ca_err
cvq_ca_issue_csr_der(cvq_ca *ca, const struct cvq_ca_issue_req *req, const uint8_t *csr,
                     size_t csr_len, uint8_t **der, size_t *der_len)
{
	struct ca_csr r;
	struct ca_issued c;
	cvq_ca_err err;

	if (!ca || !req || !csr || !der || !der_len)
		return CVQ_CA_ERR_ARG;
	*der = NULL;
	*der_len = 0;
	err = ca_csr_parse(csr, csr_len, &r);
	if (err != CVQ_CA_OK) {
		ca_fail(ca, err, err == CVQ_CA_ERR_POP ? "the CSR's signature does not verify"
		                                       : "not a CSR, or no usable public key");
		audit_refusal(ca, req, err);
		return err;
	}
	err = issue_one(ca, req, &r, &c);
	ca_csr_free(&r);
	if (err != CVQ_CA_OK)
		return err;
	*der = c.der;
	*der_len = c.len;
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_challenge(cvq_ca *ca, uint8_t out[CVQ_CA_CHALLENGE_LEN])
{
	struct ca_challenge *slot = NULL;
	int64_t now = ca_now();
	int i;

	if (!ca || !out)
		return CVQ_CA_ERR_ARG;
	for (i = 0; i < CA_MAX_CHALLENGES; i++) {
		struct ca_challenge *c = &ca->chal[i];

		if (c->t && now - c->t > CA_CHALLENGE_TTL)
			c->t = 0;
		if (!slot || (slot->t && (!c->t || c->t < slot->t)))
			slot = c;
	}
	if (RAND_bytes(slot->c, CVQ_CA_CHALLENGE_LEN) != 1)
		return CVQ_CA_ERR_CRYPTO;
	slot->t = now;
	memcpy(out, slot->c, CVQ_CA_CHALLENGE_LEN);
	return CVQ_CA_OK;
}

/* Find and burn the challenge: each one proves possession once. */
static bool
challenge_take(cvq_ca *ca, const uint8_t *chal, size_t len)
{
	int64_t now = ca_now();
	int i;

	if (len != CVQ_CA_CHALLENGE_LEN)
		return false;
	for (i = 0; i < CA_MAX_CHALLENGES; i++) {
		struct ca_challenge *c = &ca->chal[i];

		if (c->t && now - c->t <= CA_CHALLENGE_TTL &&
		    CRYPTO_memcmp(c->c, chal, len) == 0) {
			OPENSSL_cleanse(c, sizeof(*c));
			return true;
		}
	}
	return false;
}

cvq_ca_err
cvq_ca_issue_pubkey(cvq_ca *ca, const struct cvq_ca_issue_req *req, EVP_PKEY *pub,
                    const uint8_t *challenge, size_t challenge_len,
                    const uint8_t *sig, size_t sig_len, X509 **out)
{
	EVP_MD_CTX *md;
	int ok;

	if (!ca || !req || !pub || !challenge || !sig || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	if (!challenge_take(ca, challenge, challenge_len)) {
		ca_fail(ca, CVQ_CA_ERR_POP, "unknown, used or expired challenge");
		audit_refusal(ca, req, CVQ_CA_ERR_POP);
		return CVQ_CA_ERR_POP;
	}
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	     EVP_DigestVerify(md, sig, sig_len, challenge, challenge_len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok) {
		ERR_clear_error();
		ca_fail(ca, CVQ_CA_ERR_POP, "the challenge signature does not verify");
		audit_refusal(ca, req, CVQ_CA_ERR_POP);
		return CVQ_CA_ERR_POP;
	}
	{
		struct ca_issued c;
		struct ca_csr k = {.pub = pub};
		cvq_ca_err err = issue_one(ca, req, &k, &c);

		return err == CVQ_CA_OK ? to_x509(&c, out) : err;
	}
}

/* Where a batch's CSRs come from: one of the three. */
struct batch_src {
	X509_REQ *const *given;         /* parsed by the caller */
	const uint8_t *const *blobs;    /* encoded, in the caller's memory */
	const size_t *lens;
	cvq_ca_csr_load_cb load;        /* encoded, fetched by the threads */
	void *lctx;
};

struct batch_job {
	cvq_ca *ca;
	const struct cvq_ca_issue_req *req;
	const struct prep *p;
	const struct batch_src *src;
	size_t base;                    /* the chunk's first CSR in src */
	struct ca_csr *csrs;
	EVP_PKEY *const *keys;          /* group keys for ca_csr_parse2 */
	struct ca_issued *done;
	cvq_ca_err *errs;
	size_t n, first, step;
};

/* CSR `at` of a loaded batch into buf (this thread's), then parsed. */
static cvq_ca_err
batch_load_one(const struct batch_job *j, size_t at, uint8_t *buf, EVP_PKEY *own[2],
               struct ca_csr *c)
{
	size_t len;

	memset(c, 0, sizeof(*c));
	if (!buf)
		return CVQ_CA_ERR_NOMEM;
	len = j->src->load(j->src->lctx, at, buf, CVQ_CA_BATCH_CSR_MAX);
	if (len == 0 || len > CVQ_CA_BATCH_CSR_MAX)
		return CVQ_CA_ERR_IO;
	return ca_csr_parse2(buf, len, j->keys, own, c);
}

/* Parse, verify and sign on every CPU: the store work stays on the caller's thread. */
static void *
batch_worker(void *arg)
{
	struct batch_job *j = arg;
	const struct batch_src *s = j->src;
	EVP_PKEY *own[2] = {NULL, NULL};
	/* One buffer per thread and chunk: the parsed CSR keeps no pointer
	 * into it (d2i copies), so the next CSR may overwrite it. */
	uint8_t *buf = s->load ? malloc(CVQ_CA_BATCH_CSR_MAX) : NULL;
	struct ca_csr *c;
	size_t i, at;

	for (i = j->first; i < j->n; i += j->step) {
		c = &j->csrs[i];
		at = j->base + i;
		if (s->load) {
			j->errs[i] = batch_load_one(j, at, buf, own, c);
		} else if (s->blobs) {
			j->errs[i] = ca_csr_parse2(s->blobs[at], s->lens[at], j->keys, own, c);
		} else {
			/* Borrowed from the caller: never freed here. */
			j->errs[i] = csr_check(NULL, s->given[at], &c->pub);
			c->spki = X509_REQ_get_X509_PUBKEY(s->given[at]);
			c->subject = X509_REQ_get_subject_name(s->given[at]);
			c->point_ok = false;
			c->pub_borrowed = false;
		}
		if (j->errs[i] == CVQ_CA_OK)
			j->errs[i] = make_one(j->ca, NULL, j->req, j->p, c, &j->done[i]);
		/* The next CSR takes this key over. */
		if (c->pub_borrowed)
			c->pub = NULL;
	}
	EVP_PKEY_free(own[0]);
	EVP_PKEY_free(own[1]);
	free(buf);
	return NULL;
}

static unsigned
batch_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > BATCH_THREADS ? BATCH_THREADS : (unsigned)n;
}

/* Signing threads over one chunk, started and joined apart so the caller
 * can record the previous chunk meanwhile. */
struct signer {
	struct batch_job jobs[BATCH_THREADS];
	pthread_t th[BATCH_THREADS];
	bool started[BATCH_THREADS];
	unsigned nt;
	bool inline0;           /* job 0 runs on the caller's thread */
};

static void
sign_start(struct signer *s, const struct batch_job *proto, size_t k, bool use_caller)
{
	unsigned t, nt = batch_threads();

	/* A token key signs one at a time (libcvqp11's EVP_PKEY is not for
	 * concurrent use, and the module runs without locking). */
	if (k < 2 * nt || proto->ca->keyref.p11key)
		nt = 1;
	memset(s->started, 0, sizeof(s->started));
	s->nt = nt;
	s->inline0 = use_caller;
	for (t = 0; t < nt; t++) {
		s->jobs[t] = *proto;
		s->jobs[t].n = k;
		s->jobs[t].first = t;
		s->jobs[t].step = nt;
		if (t > 0 || !use_caller)
			s->started[t] = pthread_create(&s->th[t], NULL, batch_worker, &s->jobs[t]) == 0;
	}
	if (use_caller)
		batch_worker(&s->jobs[0]);
}

static void
sign_finish(struct signer *s)
{
	unsigned t;

	for (t = s->inline0 ? 1 : 0; t < s->nt; t++) {
		if (s->started[t])
			pthread_join(s->th[t], NULL);
		else
			batch_worker(&s->jobs[t]);
	}
	s->nt = 0;
}

/* Where a batch's certificates go: as X509 objects or as DER. */
struct deliver {
	cvq_ca_issued_cb x509;
	cvq_ca_issued_der_cb der;
	void *ctx;
};

static int
deliver(const struct deliver *d, size_t i, cvq_ca_err err, struct ca_issued *c)
{
	X509 *x = NULL;
	int stop;

	if (d->der)
		return d->der(d->ctx, i, err, err == CVQ_CA_OK ? c->der : NULL,
		              err == CVQ_CA_OK ? c->len : 0, err == CVQ_CA_OK ? c->serial : NULL);
	if (err == CVQ_CA_OK) {
		const unsigned char *p = c->der;

		x = d2i_X509(NULL, &p, (long)c->len);
		if (!x) {
			ERR_clear_error();
			err = CVQ_CA_ERR_CRYPTO;
		}
	}
	stop = d->x509(d->ctx, i, err, x);
	X509_free(x);
	return stop;
}

/* One chunk of a batch: its CSRs, certificates and errors. */
struct chunk {
	struct ca_csr csrs[BATCH_TX];
	struct ca_issued done[BATCH_TX];
	cvq_ca_err errs[BATCH_TX];
	struct prep p;
	size_t base, k;
};

static void
chunk_clear(struct chunk *c, bool parsed)
{
	size_t i;

	for (i = 0; i < c->k; i++) {
		if (parsed)
			ca_csr_free(&c->csrs[i]);
		ca_issued_free(&c->done[i]);
	}
	X509_NAME_free(c->p.subject);
	c->p.subject = NULL;
	c->k = 0;
}

/* Resolve the request (card status, subject) and make the subject safe to
 * share: encoded now, the threads then only read it. */
static cvq_ca_err
chunk_prepare(cvq_ca *ca, const struct cvq_ca_issue_req *req, struct chunk *c)
{
	cvq_ca_err err = prepare(ca, req, &c->p);

	/* One attestation proves one key: a batch of citizen keys can only be
	 * admitted by the waiver (audited per chunk). */
	if (err == CVQ_CA_OK && (citizen_profile(req->profile) || req->profile == CVQ_CA_PROFILE_CARD_AUTH)) {
		if (req->attest)
			err = ca_fail(ca, CVQ_CA_ERR_ARG, "an attestation is for one key, not a batch");
		else
			err = ca_attest_check(ca, req, NULL);
	}
	if (err == CVQ_CA_OK)
		err = ca_profile_warm(ca, req->profile);
	if (err == CVQ_CA_OK && c->p.subject && i2d_X509_NAME(c->p.subject, NULL) <= 0)
		err = CVQ_CA_ERR_NOMEM;
	return err;
}

static void
chunk_job(struct batch_job *job, cvq_ca *ca, const struct cvq_ca_issue_req *req,
          const struct batch_src *src, EVP_PKEY *const *keys, struct chunk *c)
{
	*job = (struct batch_job){ca, req, &c->p, src, c->base,
	                          c->csrs, keys, c->done, c->errs, c->k, 0, 1};
}

/*
 * A chunk signed ahead used what prepare() said before its transaction;
 * inside it, prepare() again: a card no longer active fails the chunk, a
 * subject that changed (a citizen renamed meanwhile) means signing again.
 */
static cvq_ca_err
chunk_recheck(cvq_ca *ca, const struct cvq_ca_issue_req *req, struct chunk *c, bool *resign)
{
	struct prep now = {0};
	cvq_ca_err err = prepare(ca, req, &now);

	*resign = false;
	if (err == CVQ_CA_OK && (now.card_id != c->p.card_id || !now.subject != !c->p.subject ||
	                         (now.subject && X509_NAME_cmp(now.subject, c->p.subject) != 0)))
		*resign = true;
	if (err == CVQ_CA_OK && *resign) {
		X509_NAME_free(c->p.subject);
		c->p = now;
		if (c->p.subject && i2d_X509_NAME(c->p.subject, NULL) <= 0)
			err = CVQ_CA_ERR_NOMEM;
	} else {
		X509_NAME_free(now.subject);
	}
	return err;
}

/*
 * Parse, verify and sign a chunk on every CPU while the caller's thread
 * records, commits and hands out the one before: the store work (one
 * writer) no longer leaves the other CPUs idle. Each chunk is one
 * transaction; its certificates leave only after its commit.
 */
static cvq_ca_err
batch_run(cvq_ca *ca, const struct cvq_ca_issue_req *req, const struct batch_src *src,
          size_t n, const struct deliver *dl)
{
	/* Parsed here (ours to free), or the caller's X509_REQ. */
	bool parsed = !src->given;
	struct chunk *cur = NULL, *next = NULL, *tmp;
	struct signer sg = {0};
	struct batch_job job;
	EVP_PKEY *keys[2] = {NULL, NULL};
	cvq_ca_err err = CVQ_CA_OK;
	size_t i;
	bool resign, in_tx = false;
	int stop = 0;

	cur = calloc(1, sizeof(*cur));
	next = calloc(1, sizeof(*next));
	if (!cur || !next) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	/* NULL is fine: each CSR's key is then built from the curve's name. */
	if (parsed && n > 1) {
		keys[0] = ca_csr_group_key(0);
		keys[1] = ca_csr_group_key(1);
	}
	if (n == 0)
		goto out;
	cur->base = 0;
	cur->k = n < BATCH_TX ? n : BATCH_TX;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		goto out;
	in_tx = true;
	err = chunk_prepare(ca, req, cur);
	if (err != CVQ_CA_OK)
		goto out;
	/* Before any thread starts: they only read it. */
	ca_tbs_batch_begin(ca);
	chunk_job(&job, ca, req, src, keys, cur);
	sign_start(&sg, &job, cur->k, true);
	sign_finish(&sg);
	for (;;) {
		/* Start signing the next chunk, with what prepare() says now. */
		next->base = cur->base + cur->k;
		next->k = n - next->base < BATCH_TX ? n - next->base : BATCH_TX;
		if (next->k) {
			err = chunk_prepare(ca, req, next);
			if (err != CVQ_CA_OK) {
				next->k = 0;
				goto out;
			}
			chunk_job(&job, ca, req, src, keys, next);
			/* With a token key, no signing beside the recording below
			 * (which signs audit heads): the next chunk first, inline. */
			sign_start(&sg, &job, next->k, ca->keyref.p11key != NULL);
		}
		for (i = 0; i < cur->k; i++) {
			if (cur->errs[i] != CVQ_CA_OK) {
				/* Each refused CSR leaves its trace, in the chunk's commit. */
				err = ca_audit_append(ca, "cert.refuse", req->card_guid ? req->card_guid : "",
				                      "profile=%s batch item %zu: %s",
				                      cvq_ca_profile_name(req->profile), cur->base + i,
				                      cvq_ca_strerror(cur->errs[i]));
				if (err != CVQ_CA_OK)
					goto out;
				continue;
			}
			cur->errs[i] = record(ca, req, &cur->p, &cur->csrs[i], &cur->done[i]);
			/* A store failure spoils the whole transaction. */
			if (cur->errs[i] != CVQ_CA_OK && cur->errs[i] != CVQ_CA_ERR_EXISTS) {
				err = cur->errs[i];
				goto out;
			}
		}
		err = ca_tx_commit(ca);
		in_tx = false;
		if (err != CVQ_CA_OK)
			goto out;
		/* Committed: now, and only now, the certificates may leave. */
		for (i = 0; i < cur->k && !stop; i++)
			stop = deliver(dl, cur->base + i, cur->errs[i], &cur->done[i]);
		chunk_clear(cur, parsed);
		if (sg.nt)
			sign_finish(&sg);
		if (!next->k || stop)
			break;
		tmp = cur;
		cur = next;
		next = tmp;
		err = ca_tx_begin(ca);
		if (err != CVQ_CA_OK)
			goto out;
		in_tx = true;
		err = chunk_recheck(ca, req, cur, &resign);
		if (err != CVQ_CA_OK)
			goto out;
		if (resign) {
			for (i = 0; i < cur->k; i++) {
				if (parsed)
					ca_csr_free(&cur->csrs[i]);
				ca_issued_free(&cur->done[i]);
			}
			chunk_job(&job, ca, req, src, keys, cur);
			sign_start(&sg, &job, cur->k, true);
			sign_finish(&sg);
		}
	}
out:
	if (sg.nt)
		sign_finish(&sg);
	ca_tbs_batch_end(ca);
	if (in_tx)
		ca_tx_rollback(ca);
	if (err != CVQ_CA_OK)
		audit_refusal(ca, req, err);
	/* Whatever was not committed is dropped, never handed out. */
	if (cur)
		chunk_clear(cur, parsed);
	if (next)
		chunk_clear(next, parsed);
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
	free(cur);
	free(next);
	return err;
}

cvq_ca_err
cvq_ca_issue_batch(cvq_ca *ca, const struct cvq_ca_issue_req *req, X509_REQ *const *csrs,
                   size_t n, cvq_ca_issued_cb cb, void *ctx)
{
	struct deliver d = {cb, NULL, ctx};
	struct batch_src src = {.given = csrs};

	if (!ca || !req || (!csrs && n) || !cb)
		return CVQ_CA_ERR_ARG;
	return batch_run(ca, req, &src, n, &d);
}

static cvq_ca_err
batch_encoded(cvq_ca *ca, const struct cvq_ca_issue_req *req, const uint8_t *const *csrs,
              const size_t *lens, size_t n, const struct deliver *d)
{
	struct batch_src src = {.blobs = csrs, .lens = lens};

	if (!ca || !req || ((!csrs || !lens) && n))
		return CVQ_CA_ERR_ARG;
	return batch_run(ca, req, &src, n, d);
}

cvq_ca_err
cvq_ca_issue_batch_encoded(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                           const uint8_t *const *csrs, const size_t *lens, size_t n,
                           cvq_ca_issued_cb cb, void *ctx)
{
	struct deliver d = {cb, NULL, ctx};

	return cb ? batch_encoded(ca, req, csrs, lens, n, &d) : CVQ_CA_ERR_ARG;
}

cvq_ca_err
cvq_ca_issue_batch_der(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                       const uint8_t *const *csrs, const size_t *lens, size_t n,
                       cvq_ca_issued_der_cb cb, void *ctx)
{
	struct deliver d = {NULL, cb, ctx};

	return cb ? batch_encoded(ca, req, csrs, lens, n, &d) : CVQ_CA_ERR_ARG;
}

cvq_ca_err
cvq_ca_issue_batch_load(cvq_ca *ca, const struct cvq_ca_issue_req *req, size_t n,
                        cvq_ca_csr_load_cb load, void *lctx, cvq_ca_issued_der_cb cb, void *ctx)
{
	struct deliver d = {NULL, cb, ctx};
	struct batch_src src = {.load = load, .lctx = lctx};

	if (!ca || !req || !load || !cb)
		return CVQ_CA_ERR_ARG;
	return batch_run(ca, req, &src, n, &d);
}
