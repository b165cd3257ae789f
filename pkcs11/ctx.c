/* Loading a PKCS#11 module: libp11 for keys, the raw function list beside it. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "p11_int.h"

/*
 * Load and initialise the module ourselves, before libp11 does (its own
 * C_Initialize then gets CKR_CRYPTOKI_ALREADY_INITIALIZED, which it
 * accepts). Without locking arguments: the module does no locking of its
 * own and we serialize every call (see the header). With OS locking,
 * OpenSC 0.23 deadlocks inside C_Sign when the card is pulled out.
 */
static cvq_p11_err raw_attach(cvq_p11_ctx *ctx, const char *path)
{
	CK_C_GetFunctionList get;
	CK_RV rv;

	ctx->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (ctx->dl == NULL)
		return CVQ_P11_ERR_MODULE;
	*(void **)&get = dlsym(ctx->dl, "C_GetFunctionList");
	if (get == NULL)
		return CVQ_P11_ERR_MODULE;
	rv = get(&ctx->fl);
	if (rv != CKR_OK || ctx->fl == NULL) {
		ctx->fl = NULL;
		ctx->last_rv = rv;
		return CVQ_P11_ERR_MODULE;
	}
	rv = ctx->fl->C_Initialize(NULL);
	if (rv != CKR_OK) {
		/* ALREADY_INITIALIZED: another user in this process (see header) */
		ctx->last_rv = rv;
		ctx->fl = NULL;
		return CVQ_P11_ERR_MODULE;
	}
	return CVQ_P11_OK;
}

cvq_p11_err cvq_p11_open(const char *module_path, cvq_p11_ctx **out)
{
	cvq_p11_ctx *ctx = NULL;
	cvq_p11_err err;

	if (out != NULL)
		*out = NULL;
	if (module_path == NULL || *module_path == '\0' || out == NULL)
		return CVQ_P11_ERR_ARG;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return CVQ_P11_ERR_NOMEM;
	if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
		free(ctx);
		return CVQ_P11_ERR_NOMEM;
	}
	err = CVQ_P11_ERR_NOMEM;
	ctx->p11 = PKCS11_CTX_new();
	ctx->ui = p11_ui_method();
	if (ctx->p11 == NULL || ctx->ui == NULL)
		goto out;
	err = raw_attach(ctx, module_path);
	if (err != CVQ_P11_OK)
		goto out;
	err = CVQ_P11_ERR_MODULE;
	if (PKCS11_CTX_load(ctx->p11, module_path) != 0) {
		ctx->last_rv = p11_take_ckr();
		PKCS11_CTX_free(ctx->p11);
		ctx->p11 = NULL;
		goto out;
	}
	ctx->p11_loaded = true;
	/* the context-specific PIN of always-authenticate keys comes through here */
	if (PKCS11_set_ui_method(ctx->p11, ctx->ui, ctx) != 0)
		goto out;
	/* events are reported from the moment the module is open */
	p11_wait_init(ctx);
	*out = ctx;
	return CVQ_P11_OK;
out:
	ERR_clear_error();
	cvq_p11_close(ctx);
	return err;
}

/*
 * RFC 7512's module-name: "NAME" is found as NAME.so or libNAME.so in
 * p11-kit's module directory, then in the library directory above it.
 */
static bool module_by_name(const char *name, char *buf, size_t cap)
{
	static const char *const dirs[] = { CVQ_P11_MODULE_DIR, CVQ_P11_MODULE_DIR "/.." };
	static const char *const prefixes[] = { "", "lib" };
	size_t d, f;
	int n;

	if (*name == '\0' || strchr(name, '/') != NULL)
		return false;
	for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		for (f = 0; f < sizeof(prefixes) / sizeof(prefixes[0]); f++) {
			n = snprintf(buf, cap, "%s/%s%s.so", dirs[d], prefixes[f], name);
			if (n > 0 && (size_t)n < cap && access(buf, R_OK) == 0)
				return true;
		}
	}
	return false;
}

cvq_p11_err cvq_p11_open_uri(const char *uri, cvq_p11_ctx **out)
{
	cvq_p11_uri *u = NULL;
	const char *path, *name;
	char buf[4096];
	cvq_p11_err err;

	if (out != NULL)
		*out = NULL;
	err = cvq_p11_uri_parse(uri, &u);
	if (err != CVQ_P11_OK)
		return err;
	path = cvq_p11_uri_get(u, CVQ_P11_URI_MODULE_PATH, NULL);
	if (path != NULL)
		err = cvq_p11_open(path, out);
	else if ((name = cvq_p11_uri_get(u, CVQ_P11_URI_MODULE_NAME, NULL)) != NULL)
		err = module_by_name(name, buf, sizeof(buf)) ? cvq_p11_open(buf, out)
		                                             : CVQ_P11_ERR_MODULE;
	else
		err = CVQ_P11_ERR_URI;
	cvq_p11_uri_free(u);
	return err;
}

void cvq_p11_close(cvq_p11_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	if (ctx->fl != NULL)
		for (i = 0; i < ctx->nsess; i++)
			ctx->fl->C_CloseSession(ctx->sess[i].h);
	/* libp11's unload finalises the module; without it, we do */
	if (ctx->fl != NULL && !ctx->p11_loaded)
		ctx->fl->C_Finalize(NULL);
	if (ctx->p11 != NULL) {
		if (ctx->slots != NULL)
			PKCS11_release_all_slots(ctx->p11, ctx->slots, ctx->nslots);
		for (i = 0; i < ctx->nretired; i++)
			PKCS11_release_all_slots(ctx->p11, ctx->retired[i].slots,
			                         ctx->retired[i].n);
		PKCS11_CTX_unload(ctx->p11);
		PKCS11_CTX_free(ctx->p11);
	}
	if (ctx->dl != NULL)
		dlclose(ctx->dl);
	free(ctx->retired);
	if (ctx->ui != NULL)
		UI_destroy_method(ctx->ui);
	pthread_mutex_destroy(&ctx->lock);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
	free(ctx);
}

void cvq_p11_set_pin_callback(cvq_p11_ctx *ctx, cvq_p11_pin_fn fn, void *fn_ctx)
{
	if (ctx == NULL)
		return;
	pthread_mutex_lock(&ctx->lock);
	ctx->pin_fn = fn;
	ctx->pin_ctx = fn_ctx;
	pthread_mutex_unlock(&ctx->lock);
}

unsigned long cvq_p11_last_rv(const cvq_p11_ctx *ctx)
{
	return ctx != NULL ? ctx->last_rv : 0;
}
