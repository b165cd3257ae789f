/* libcvqca — opening and closing the CA, and making a new one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cvq/util.h>

#include "ca_int.h"

void
cvq_ca_set_actor(cvq_ca *ca, const char *actor)
{
	if (ca)
		snprintf(ca->actor, sizeof(ca->actor), "%s", actor && *actor ? actor : "cvq");
}

X509 *
cvq_ca_cert(const cvq_ca *ca)
{
	return ca ? ca->cert : NULL;
}

cvq_ca_err
cvq_ca_open(const struct cvq_ca_config *cfg, const char *pass, unsigned flags, cvq_ca **out)
{
	return cvq_ca_open2(cfg, pass, flags, out, NULL, 0);
}

cvq_ca_err
cvq_ca_open2(const struct cvq_ca_config *cfg, const char *pass, unsigned flags,
             cvq_ca **out, char *why, size_t why_len)
{
	char *db = NULL, *key = NULL, *cert = NULL;
	cvq_ca *ca;
	cvq_ca_err err;
	bool ro = (flags & CVQ_CA_OPEN_READONLY) != 0;

	if (!cfg || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return CVQ_CA_ERR_NOMEM;
	ca->cfg = cfg;
	/* The kernel's word on who runs us, never $USER (any caller sets it). */
	cvq_ca_set_caller(ca, (unsigned)getuid());
	if (!cfg->db || !cfg->cert || (!ro && !(flags & CVQ_CA_OPEN_NOKEY) && !cfg->key)) {
		err = ca_fail(ca, CVQ_CA_ERR_CONFIG, "the configuration needs db, cert and key");
		goto fail;
	}
	db = cvq_ca_config_path(cfg, cfg->db);
	cert = cvq_ca_config_path(cfg, cfg->cert);
	key = cvq_ca_config_path(cfg, cfg->key);
	if (!db || !cert || (cfg->key && !key)) {
		err = CVQ_CA_ERR_NOMEM;
		goto fail;
	}
	err = ca_cert_load(cert, &ca->cert);
	if (err != CVQ_CA_OK) {
		ca_fail(ca, err, "cannot read the CA certificate %s", cert);
		goto fail;
	}
	if (!ro && !(flags & CVQ_CA_OPEN_NOKEY)) {
		err = ca_key_load(key, pass ? pass : cfg->pass, &ca->keyref, ca->errmsg,
		                  sizeof(ca->errmsg));
		if (err != CVQ_CA_OK)
			goto fail;
		ca->key = ca->keyref.pkey;
		if (X509_check_private_key(ca->cert, ca->key) != 1) {
			ERR_clear_error();
			err = ca_fail(ca, CVQ_CA_ERR_KEY, "the key does not match the CA certificate");
			goto fail;
		}
	}
	/* Only when asked (--fix-mode); ca_store_open_sync refuses otherwise. */
	if ((flags & CVQ_CA_OPEN_FIX_MODE) &&
	    cvq_util_db_prepare(db, CA_STORE_MODE, CA_STORE_MODE_MAX, false, true, ca->errmsg,
	                        sizeof(ca->errmsg)) != CVQ_UTIL_OK) {
		err = CVQ_CA_ERR_PERM;
		goto fail;
	}
	err = ca_store_open_sync(db, ro, false, !cfg->sync_normal, &ca->db, ca->errmsg,
	                         sizeof(ca->errmsg));
	if (err != CVQ_CA_OK)
		goto fail;
	/* The roles in force are the approved ones (ca_roles_pin.c). */
	if (!ro) {
		err = ca_roles_pin_load(ca);
		if (err != CVQ_CA_OK)
			goto fail;
		cvq_ca_set_caller(ca, ca->caller_uid);
	}
	free(db);
	free(key);
	free(cert);
	*out = ca;
	return CVQ_CA_OK;
fail:
	free(db);
	free(key);
	free(cert);
	if (why && why_len)
		snprintf(why, why_len, "%s", ca->errmsg[0] ? ca->errmsg : cvq_ca_strerror(err));
	cvq_ca_close(ca);
	return err;
}

void
cvq_ca_close(cvq_ca *ca)
{
	if (!ca)
		return;
	for (int i = 0; i < CA_STMT__COUNT; i++)
		sqlite3_finalize(ca->st[i]);
	ca_profile_free(ca);
	cvq_ca_config_free(ca->roles_old);
	sqlite3_close(ca->db);
	X509_free(ca->cert);
	if (ca->keyref.pkey)
		ca_keyref_free(&ca->keyref);
	else
		EVP_PKEY_free(ca->key);
	OPENSSL_cleanse(ca->chal, sizeof(ca->chal));
	free(ca);
}

static cvq_ca_err
self_sign(EVP_PKEY *key, X509_NAME *subject, unsigned days, X509 **out)
{
	ASN1_INTEGER *serial = NULL;
	X509 *x = X509_new();
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;

	if (!x)
		return CVQ_CA_ERR_NOMEM;
	if (ca_random_serial(&serial) != CVQ_CA_OK)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_serialNumber(x, serial) ||
	    !X509_set_issuer_name(x, subject) || !X509_set_subject_name(x, subject) ||
	    !X509_set_pubkey(x, key) || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400))
		goto out;
	if (ca_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
	    ca_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
	    ca_add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    ca_add_ext(x, x, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (!X509_sign(x, key, ca_key_md(key)))
		goto out;
	*out = x;
	x = NULL;
	err = CVQ_CA_OK;
out:
	ERR_clear_error();
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return err;
}

cvq_ca_err
ca_issue_own(cvq_ca *ca, const struct cvq_ca_issue_req *req, X509_NAME *name, EVP_PKEY *key,
             const char *cert_path)
{
	X509 *cert = NULL;
	cvq_ca_err err = ca_tx_begin(ca);

	if (err != CVQ_CA_OK)
		return err;
	/* Recorded like any certificate: it can be listed and revoked too. */
	err = ca_cert_make(ca, ca, req, name, key, NULL, &cert);
	if (err == CVQ_CA_OK)
		err = ca_cert_insert(ca, cert, 0, req->profile);
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	if (err == CVQ_CA_OK)
		err = ca_cert_save(cert, cert_path);
	X509_free(cert);
	return err;
}

static cvq_ca_err
make_ocsp_signer(cvq_ca *ca, const struct cvq_ca_config *cfg, const char *passphrase)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_OCSP_SIGNER};
	char *key_path = cvq_ca_config_path(cfg, cfg->ocsp_key);
	char *cert_path = cvq_ca_config_path(cfg, cfg->ocsp_cert);
	X509_NAME *name = NULL;
	EVP_PKEY *key = NULL;
	cvq_ca_err err;
	char cn[256];

	if (!key_path || !cert_path) {
		err = CVQ_CA_ERR_CONFIG;
		goto out;
	}
	err = ca_key_generate("ec-p256", &key);
	if (err != CVQ_CA_OK)
		goto out;
	name = X509_NAME_dup(X509_get_subject_name(ca->cert));
	if (!name) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	{
		int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);

		if (i >= 0)
			X509_NAME_ENTRY_free(X509_NAME_delete_entry(name, i));
	}
	snprintf(cn, sizeof(cn), "OCSP responder");
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (unsigned char *)cn, -1, -1, 0);
	err = ca_key_save(key, key_path, passphrase);
	if (err != CVQ_CA_OK)
		goto out;
	err = ca_issue_own(ca, &req, name, key, cert_path);
out:
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	free(key_path);
	free(cert_path);
	return err;
}

cvq_ca_err
cvq_ca_init(const struct cvq_ca_config *cfg, const char *pass,
            const struct cvq_ca_init_opts *opts)
{
	char *db = NULL, *key_path = NULL, *cert_path = NULL, msg[256] = "";
	char passphrase[1024];
	struct stat st;
	X509_NAME *subject = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	cvq_ca *ca = NULL;
	cvq_ca_err err;
	struct ca_keyref kr = {0};
	bool key_written = false, token, ask, pickup;

	if (!cfg || !opts || !opts->subject)
		return CVQ_CA_ERR_ARG;
	/* An issuing CA is a sub-CA certificate of its parent: two-person
	 * control there (ca_key_request.c). First the key and the request,
	 * then, once approved, the certificate picked up and the store made. */
	ask = opts->parent && !opts->finish_request;
	pickup = opts->parent && opts->finish_request > 0;
	if ((ask && !opts->request_id) || (opts->finish_request && !pickup))
		return CVQ_CA_ERR_ARG;
	if (ask)
		*opts->request_id = 0;
	if (!cfg->db || !cfg->key || !cfg->cert || (opts->ocsp_signer && (!cfg->ocsp_key || !cfg->ocsp_cert)))
		return CVQ_CA_ERR_CONFIG;
	/* A token key exists already (pkcs11-tool) or is made now (token_generate). */
	token = strncmp(cfg->key, "pkcs11:", 7) == 0;
	if (opts->token_generate && (!token || pickup))
		return CVQ_CA_ERR_ARG;
	db = cvq_ca_config_path(cfg, cfg->db);
	key_path = cvq_ca_config_path(cfg, cfg->key);
	cert_path = cvq_ca_config_path(cfg, cfg->cert);
	subject = ca_name_parse(opts->subject);
	if (!db || !key_path || !cert_path) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	if (!subject) {
		err = CVQ_CA_ERR_ARG;
		goto out;
	}
	if (stat(db, &st) == 0 || (!token && !pickup && stat(key_path, &st) == 0) ||
	    stat(cert_path, &st) == 0) {
		err = CVQ_CA_ERR_EXISTS;
		goto out;
	}
	if (pickup && !token && stat(key_path, &st) != 0) {
		snprintf(msg, sizeof(msg), "no key %s: ca init --parent makes it and the request first",
		         key_path);
		err = CVQ_CA_ERR_NOT_FOUND;
		goto out;
	}
	err = ca_secret_read(pass ? pass : cfg->pass, pickup ? "CA key passphrase:" :
	                     "New CA key passphrase:", passphrase, sizeof(passphrase));
	if (err != CVQ_CA_OK)
		goto out;
	if (token) {
		err = opts->token_generate ?
		      ca_key_generate_token(cfg->key, opts->alg, pass ? pass : cfg->pass, &kr, msg, sizeof(msg)) :
		      ca_key_load(cfg->key, pass ? pass : cfg->pass, &kr, msg, sizeof(msg));
		key = kr.pkey;
	} else if (pickup) {
		err = ca_key_load_file_pass(key_path, passphrase, &key, msg, sizeof(msg));
	} else {
		err = ca_key_generate(opts->alg, &key);
	}
	if (err != CVQ_CA_OK)
		goto out;
	if (ask) {
		/* The key stays here; only its CSR goes to the parent's store. */
		err = token ? CVQ_CA_OK : ca_key_save(key, key_path, passphrase);
		if (err != CVQ_CA_OK)
			goto out;
		err = ca_key_request(opts->parent, key, subject, CVQ_CA_PROFILE_SUBCA, opts->days,
		                     opts->request_id);
		if (err != CVQ_CA_OK && !token)
			unlink(key_path); /* no request: no key left waiting for one */
		goto out;
	}
	if (pickup)
		err = ca_key_pickup(opts->parent, opts->finish_request, CVQ_CA_PROFILE_SUBCA, key, &cert);
	else
		err = self_sign(key, subject, opts->days ? opts->days : 3650, &cert);
	if (err != CVQ_CA_OK)
		goto out;
	err = token || pickup ? CVQ_CA_OK : ca_key_save(key, key_path, passphrase);
	if (err != CVQ_CA_OK)
		goto out;
	key_written = true;
	err = ca_cert_save(cert, cert_path);
	if (err != CVQ_CA_OK)
		goto out;
	{
		sqlite3 *h = NULL;

		err = ca_store_open(db, false, true, &h, msg, sizeof(msg));
		sqlite3_close(h);
		if (err != CVQ_CA_OK)
			goto out;
	}
	/* Reopen as a CA to write the first audit entry and the signer. */
	ca = calloc(1, sizeof(*ca));
	if (!ca) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	ca->cfg = cfg;
	/* The kernel's word on who runs us, never $USER (any caller sets it). */
	cvq_ca_set_caller(ca, (unsigned)getuid());
	ca->cert = cert;
	ca->key = key;
	if (token) {
		ca->keyref = kr;
		memset(&kr, 0, sizeof(kr));
	}
	cert = NULL;
	key = NULL;
	err = ca_store_open(db, false, false, &ca->db, msg, sizeof(msg));
	if (err != CVQ_CA_OK)
		goto out;
	err = ca_tx_begin(ca);
	if (err != CVQ_CA_OK)
		goto out;
	{
		char serial[67];
		char sub[256];

		cvq_ca_serial_hex(X509_get0_serialNumber(ca->cert), serial);
		X509_NAME_oneline(X509_get_subject_name(ca->cert), sub, sizeof(sub));
		if (pickup)
			err = ca_audit_append(ca, "ca.init", serial, "issuing %s (request %lld of the parent)",
			                      sub, (long long)opts->finish_request);
		else
			err = ca_audit_append(ca, "ca.init", serial, "root %s", sub);
	}
	if (err == CVQ_CA_OK)
		err = ca_tx_commit(ca);
	else
		ca_tx_rollback(ca);
	if (err == CVQ_CA_OK && opts->ocsp_signer)
		err = make_ocsp_signer(ca, cfg, passphrase);
	if (err == CVQ_CA_OK)
		err = cvq_ca_audit_sign_head(ca);
out:
	if (err != CVQ_CA_OK && opts->why && opts->why_len)
		snprintf(opts->why, opts->why_len, "%s", ca && ca->errmsg[0] ? ca->errmsg :
		         opts->parent && opts->parent->errmsg[0] ? opts->parent->errmsg :
		         msg[0] ? msg : cvq_ca_strerror(err));
	if (err != CVQ_CA_OK && key_written && err != CVQ_CA_ERR_EXISTS) {
		/* Nothing half-made: a failed init leaves no CA behind. */
		if (!token && !pickup)
			unlink(key_path); /* a picked-up key waits for a second try */
		unlink(cert_path);
		unlink(db);
	}
	OPENSSL_cleanse(passphrase, sizeof(passphrase));
	cvq_ca_close(ca);
	X509_NAME_free(subject);
	X509_free(cert);
	if (token)
		ca_keyref_free(&kr);
	else
		EVP_PKEY_free(key);
	free(db);
	free(key_path);
	free(cert_path);
	return err;
}
