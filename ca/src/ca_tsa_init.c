/*
 * libcvqca — making the timestamp authority: its key (a file or a token)
 * and its certificate of profile tsa, issued and recorded like any other
 * so that it can be listed, revoked and audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

cvq_ca_err
cvq_ca_tsa_init(cvq_ca *ca, const struct cvq_ca_config *cfg, const char *pass,
                const struct cvq_ca_tsa_init_opts *opts)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_TSA};
	const char *src;
	char *key_path = NULL, *cert_path = NULL, passphrase[1024], msg[256] = "";
	struct ca_keyref kr = {0};
	X509_NAME *name = NULL;
	struct stat st;
	cvq_ca_err err;
	bool token;

	if (!ca || !cfg || !opts || !ca->key)
		return CVQ_CA_ERR_ARG;
	passphrase[0] = '\0';
	if (!cfg->tsa_key || !cfg->tsa_cert) {
		WHY("the configuration has no [tsa] key and cert");
		return CVQ_CA_ERR_CONFIG;
	}
	token = strncmp(cfg->tsa_key, "pkcs11:", 7) == 0;
	if (opts->token_generate && !token)
		return CVQ_CA_ERR_ARG;
	src = pass ? pass : cfg->tsa_pass ? cfg->tsa_pass : cfg->pass;
	key_path = cvq_ca_config_path(cfg, cfg->tsa_key);
	cert_path = cvq_ca_config_path(cfg, cfg->tsa_cert);
	err = CVQ_CA_ERR_NOMEM;
	if (!key_path || !cert_path)
		goto out;
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
	}
	if (err != CVQ_CA_OK) {
		WHY("TSA key %s: %s%s%s", key_path, cvq_ca_strerror(err), msg[0] ? ": " : "", msg);
		goto out;
	}
	req.days = opts->days;
	err = ca_issue_own(ca, &req, name, kr.pkey, cert_path);
	if (err != CVQ_CA_OK)
		WHY("TSA certificate: %s (%s)", cvq_ca_strerror(err), cvq_ca_errmsg(ca));
out:
	OPENSSL_cleanse(passphrase, sizeof(passphrase));
	X509_NAME_free(name);
	ca_keyref_free(&kr);
	free(key_path);
	free(cert_path);
	return err;
}
