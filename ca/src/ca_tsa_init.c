/*
 * libcvqca — making the timestamp authority: its key (a file or a token)
 * and its certificate of profile tsa, issued and recorded like any other
 * so that it can be listed, revoked and audited.
 *
 * A TSA signs in the city's name, so its certificate is under two-person
 * control (issue #13): init makes the key and submits a request of its
 * caller (ca_key_request.c); other officers approve it; finish takes the
 * issued certificate back for the key it was asked for. The key stays
 * with whoever made it; the CA's key is not needed on this side at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include <cvq/ca_tsa.h>

#include "ca_int.h"

#define WHY(...) do { if (opts->why && opts->why_len) snprintf(opts->why, opts->why_len, __VA_ARGS__); } while (0)

/* The CA's subject with its CN replaced by "<CN> TSA". */
static X509_NAME *
default_subject(X509 *ca_cert)
{
	X509_NAME *name = X509_NAME_dup(X509_get_subject_name(ca_cert));
	char cn[200] = "", full[256];
	int i;

	if (!name)
		return NULL;
	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i >= 0) {
		X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof(cn));
		X509_NAME_ENTRY_free(X509_NAME_delete_entry(name, i));
	}
	snprintf(full, sizeof(full), "%s%sTSA", cn, cn[0] ? " " : "");
	if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (unsigned char *)full,
	                                -1, -1, 0)) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/* The key and certificate paths of [tsa] (malloc'd), and whether a token. */
static cvq_ca_err
tsa_paths(const struct cvq_ca_config *cfg, char **key_path, char **cert_path, bool *token,
          char *why, size_t why_len)
{
	*key_path = *cert_path = NULL;
	if (!cfg->tsa_key || !cfg->tsa_cert) {
		if (why && why_len)
			snprintf(why, why_len, "the configuration has no [tsa] key and cert");
		return CVQ_CA_ERR_CONFIG;
	}
	*token = strncmp(cfg->tsa_key, "pkcs11:", 7) == 0;
	*key_path = cvq_ca_config_path(cfg, cfg->tsa_key);
	*cert_path = cvq_ca_config_path(cfg, cfg->tsa_cert);
	if (*key_path && *cert_path)
		return CVQ_CA_OK;
	free(*key_path);
	free(*cert_path);
	*key_path = *cert_path = NULL;
	return CVQ_CA_ERR_NOMEM;
}

cvq_ca_err
cvq_ca_tsa_init(cvq_ca *ca, const struct cvq_ca_config *cfg, const char *pass,
                const struct cvq_ca_tsa_init_opts *opts)
{
	const char *src;
	char *key_path = NULL, *cert_path = NULL, passphrase[1024], msg[256] = "";
	struct ca_keyref kr = {0};
	X509_NAME *name = NULL;
	struct stat st;
	int64_t id = 0;
	cvq_ca_err err;
	bool token = false, key_written = false;

	if (!ca || !cfg || !opts || !opts->request_id)
		return CVQ_CA_ERR_ARG;
	*opts->request_id = 0;
	passphrase[0] = '\0';
	err = tsa_paths(cfg, &key_path, &cert_path, &token, opts->why, opts->why_len);
	if (err != CVQ_CA_OK)
		return err;
	err = CVQ_CA_ERR_ARG;
	if (opts->token_generate && !token)
		goto out;
	src = pass ? pass : cfg->tsa_pass ? cfg->tsa_pass : cfg->pass;
	if ((!token && stat(key_path, &st) == 0) || stat(cert_path, &st) == 0) {
		WHY("%s exists already", stat(cert_path, &st) == 0 ? cert_path : key_path);
		err = CVQ_CA_ERR_EXISTS;
		goto out;
	}
	name = opts->subject ? ca_name_parse(opts->subject) : default_subject(ca->cert);
	if (!name) {
		WHY("bad subject");
		err = CVQ_CA_ERR_ARG;
		goto out;
	}
	if (token) {
		err = opts->token_generate ?
		      ca_key_generate_token(key_path, opts->alg, src, &kr, msg, sizeof(msg)) :
		      ca_key_load(key_path, src, &kr, msg, sizeof(msg));
	} else {
		err = ca_secret_read(src, "New TSA key passphrase:", passphrase, sizeof(passphrase));
		if (err == CVQ_CA_OK)
			err = ca_key_generate(opts->alg ? opts->alg : "ec-p256", &kr.pkey);
		if (err == CVQ_CA_OK)
			err = ca_key_save(kr.pkey, key_path, passphrase);
		key_written = err == CVQ_CA_OK;
	}
	if (err != CVQ_CA_OK) {
		WHY("TSA key %s: %s%s%s", key_path, cvq_ca_strerror(err), msg[0] ? ": " : "", msg);
		goto out;
	}
	err = ca_key_request(ca, kr.pkey, name, CVQ_CA_PROFILE_TSA, opts->days, &id);
	if (err != CVQ_CA_OK) {
		WHY("TSA certificate request: %s (%s)", cvq_ca_strerror(err), cvq_ca_errmsg(ca));
		/* Nothing half-made: no request, no key file (a token key stays,
		 * for a later init without --generate). */
		if (key_written)
			unlink(key_path);
		goto out;
	}
	*opts->request_id = id;
out:
	OPENSSL_cleanse(passphrase, sizeof(passphrase));
	X509_NAME_free(name);
	ca_keyref_free(&kr);
	free(key_path);
	free(cert_path);
	return err;
}

cvq_ca_err
cvq_ca_tsa_finish(cvq_ca *ca, const struct cvq_ca_config *cfg, const char *pass, int64_t request_id,
                  char *why, size_t why_len)
{
	char *key_path = NULL, *cert_path = NULL, msg[256] = "", serial[67] = "", obj[80];
	struct ca_keyref kr = {0};
	X509 *x = NULL;
	struct stat st;
	cvq_ca_err err;
	bool token = false;
	char dummy[1];

	/* Emptied first: the reason below is only written when none is yet. */
	if (!why || !why_len)
		why = dummy, why_len = sizeof(dummy);
	why[0] = '\0';
	if (!ca || !cfg || request_id <= 0)
		return CVQ_CA_ERR_ARG;
	err = tsa_paths(cfg, &key_path, &cert_path, &token, why, why_len);
	if (err != CVQ_CA_OK)
		return err;
	if (stat(cert_path, &st) == 0) {
		snprintf(why, why_len, "%s exists already", cert_path);
		err = CVQ_CA_ERR_EXISTS;
		goto out;
	}
	/* The key it was asked for, unlocked: the certificate must be its. */
	err = ca_key_load(key_path, pass ? pass : cfg->tsa_pass ? cfg->tsa_pass : cfg->pass, &kr, msg,
	                  sizeof(msg));
	if (err != CVQ_CA_OK) {
		snprintf(why, why_len, "TSA key %s: %s%s%s", key_path, cvq_ca_strerror(err),
		         msg[0] ? ": " : "", msg);
		goto out;
	}
	err = ca_key_pickup(ca, request_id, CVQ_CA_PROFILE_TSA, kr.pkey, &x);
	if (err == CVQ_CA_OK)
		err = ca_cert_save(x, cert_path);
	if (err == CVQ_CA_OK) {
		cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
		snprintf(obj, sizeof(obj), "request:%lld", (long long)request_id);
		err = ca_tx_begin(ca);
		if (err == CVQ_CA_OK)
			err = ca_audit_append(ca, "tsa.init", obj, "serial=%s cert=%.100s", serial,
			                      cfg->tsa_cert);
		if (err == CVQ_CA_OK)
			err = ca_tx_commit(ca);
		else
			ca_tx_rollback(ca);
	}
	if (err != CVQ_CA_OK && !why[0])
		snprintf(why, why_len, "TSA certificate: %s (%s)", cvq_ca_strerror(err), cvq_ca_errmsg(ca));
out:
	X509_free(x);
	ca_keyref_free(&kr);
	free(key_path);
	free(cert_path);
	return err;
}
