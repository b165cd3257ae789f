/* libcvqverify — the context: anchors, intermediates, CRLs and options. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "verify_int.h"

cvq_verify_ctx *cvq_verify_ctx_new(void)
{
	cvq_verify_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->require = true;
	c->anchors = sk_X509_new_null();
	c->intermediates = sk_X509_new_null();
	c->crls = sk_X509_CRL_new_null();
	c->store = X509_STORE_new();
	if (!c->anchors || !c->intermediates || !c->crls || !c->store ||
	    pthread_mutex_init(&c->lock, NULL) != 0) {
		sk_X509_free(c->anchors);
		sk_X509_free(c->intermediates);
		sk_X509_CRL_free(c->crls);
		X509_STORE_free(c->store);
		free(c);
		return NULL;
	}
	return c;
}

void cvq_verify_ctx_free(cvq_verify_ctx *c)
{
	if (!c)
		return;
	sk_X509_pop_free(c->anchors, X509_free);
	sk_X509_pop_free(c->intermediates, X509_free);
	sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
	X509_STORE_free(c->store);
	ASN1_OBJECT_free(c->policy);
	free(c->ocsp_url);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

cvq_verify_err cvq_verify_add_anchor(cvq_verify_ctx *c, X509 *x)
{
	if (!c || !x)
		return CVQ_VERIFY_ERR_ARG;
	if (!X509_STORE_add_cert(c->store, x)) {
		/* Already there is no error. */
		ERR_clear_error();
		return CVQ_VERIFY_OK;
	}
	if (!X509_up_ref(x))
		return CVQ_VERIFY_ERR_NOMEM;
	if (!sk_X509_push(c->anchors, x)) {
		X509_free(x);
		return CVQ_VERIFY_ERR_NOMEM;
	}
	return CVQ_VERIFY_OK;
}

cvq_verify_err cvq_verify_add_intermediate(cvq_verify_ctx *c, X509 *x)
{
	if (!c || !x)
		return CVQ_VERIFY_ERR_ARG;
	if (!X509_up_ref(x))
		return CVQ_VERIFY_ERR_NOMEM;
	if (!sk_X509_push(c->intermediates, x)) {
		X509_free(x);
		return CVQ_VERIFY_ERR_NOMEM;
	}
	return CVQ_VERIFY_OK;
}

static cvq_verify_err add_file(cvq_verify_ctx *c, const char *path,
                               cvq_verify_err (*add)(cvq_verify_ctx *, X509 *))
{
	cvq_verify_err e = CVQ_VERIFY_OK;
	FILE *f;
	X509 *x;
	int n = 0;

	if (!c || !path)
		return CVQ_VERIFY_ERR_ARG;
	if (!(f = fopen(path, "r")))
		return CVQ_VERIFY_ERR_IO;
	while (e == CVQ_VERIFY_OK && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		e = add(c, x);
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	fclose(f);
	return e != CVQ_VERIFY_OK ? e : n ? CVQ_VERIFY_OK : CVQ_VERIFY_ERR_IO;
}

cvq_verify_err cvq_verify_add_anchors_file(cvq_verify_ctx *c, const char *path)
{
	return add_file(c, path, cvq_verify_add_anchor);
}

cvq_verify_err cvq_verify_add_intermediates_file(cvq_verify_ctx *c, const char *path)
{
	return add_file(c, path, cvq_verify_add_intermediate);
}

cvq_verify_err cvq_verify_add_crl(cvq_verify_ctx *c, X509_CRL *crl)
{
	if (!c || !crl)
		return CVQ_VERIFY_ERR_ARG;
	if (!X509_CRL_up_ref(crl))
		return CVQ_VERIFY_ERR_NOMEM;
	if (!sk_X509_CRL_push(c->crls, crl)) {
		X509_CRL_free(crl);
		return CVQ_VERIFY_ERR_NOMEM;
	}
	return CVQ_VERIFY_OK;
}

cvq_verify_err cvq_verify_add_crl_file(cvq_verify_ctx *c, const char *path)
{
	cvq_verify_err e;
	X509_CRL *crl;
	FILE *f;

	if (!c || !path)
		return CVQ_VERIFY_ERR_ARG;
	if (!(f = fopen(path, "r")))
		return CVQ_VERIFY_ERR_IO;
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	if (!crl) {
		rewind(f);
		crl = d2i_X509_CRL_fp(f, NULL);
	}
	ERR_clear_error();
	fclose(f);
	if (!crl)
		return CVQ_VERIFY_ERR_IO;
	e = cvq_verify_add_crl(c, crl);
	X509_CRL_free(crl);
	return e;
}

void cvq_verify_set_require_revocation(cvq_verify_ctx *c, bool require)
{
	if (c)
		c->require = require;
}

cvq_verify_err cvq_verify_set_policy(cvq_verify_ctx *c, const char *oid)
{
	ASN1_OBJECT *o = NULL;

	if (!c)
		return CVQ_VERIFY_ERR_ARG;
	if (oid && oid[0] && !(o = OBJ_txt2obj(oid, 1))) {
		ERR_clear_error();
		return CVQ_VERIFY_ERR_ARG;
	}
	ASN1_OBJECT_free(c->policy);
	c->policy = o;
	return CVQ_VERIFY_OK;
}

cvq_verify_err cvq_verify_set_ocsp(cvq_verify_ctx *c, const char *url, unsigned timeout_s,
                                   unsigned cache_s)
{
	char *u;

	if (!c)
		return CVQ_VERIFY_ERR_ARG;
	if (!(u = strdup(url ? url : "")))
		return CVQ_VERIFY_ERR_NOMEM;
	free(c->ocsp_url);
	c->ocsp_url = u;
	c->ocsp = true;
	c->ocsp_timeout = timeout_s ? timeout_s : 5;
	c->ocsp_cache = cache_s;
	return CVQ_VERIFY_OK;
}
