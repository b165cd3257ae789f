/* Login: the PIN from the URI, a pin-source file or the caller's callback. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <cvq/util.h>

#include "p11_int.h"

bool p11_logged_in(cvq_p11_ctx *ctx, CK_SLOT_ID slot)
{
	CK_SESSION_INFO info;

	if (p11_session_info(ctx, slot, NULL, &info) != CVQ_P11_OK)
		return false;
	return info.state == CKS_RO_USER_FUNCTIONS ||
	       info.state == CKS_RW_USER_FUNCTIONS;
}

/*
 * RFC 7512's pin-source is a file; through cvq_secret_read it may also be
 * "fd:N", "pinentry:PROG" or "tty". A bare path means a file. Files that
 * group or others may read or write are refused.
 */
static cvq_p11_err pin_from_source(const char *src, const char *label,
                                   char *pin, size_t cap)
{
	char spec[4096 + 6], prompt[64];
	cvq_util_err e;

	snprintf(prompt, sizeof(prompt), "PIN (%s):", label);

	if (strncmp(src, "file:", 5) == 0 || strncmp(src, "fd:", 3) == 0 ||
	    strncmp(src, "pinentry:", 9) == 0 || strcmp(src, "tty") == 0)
		e = cvq_secret_read(src, prompt, pin, cap);
	else if ((size_t)snprintf(spec, sizeof(spec), "file:%s", src) >= sizeof(spec))
		return CVQ_P11_ERR_PIN_SOURCE;
	else
		e = cvq_secret_read(spec, prompt, pin, cap);
	switch (e) {
	case CVQ_UTIL_OK:
		return CVQ_P11_OK;
	case CVQ_UTIL_ERR_CANCELLED:
	case CVQ_UTIL_ERR_TIMEOUT:
		return CVQ_P11_ERR_PIN_CANCELLED;
	case CVQ_UTIL_ERR_TOO_LONG:
	case CVQ_UTIL_ERR_EMPTY:
		return CVQ_P11_ERR_PIN_LEN;
	default:
		return CVQ_P11_ERR_PIN_SOURCE;
	}
}

cvq_p11_err p11_get_pin(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                        const char *label, char *pin, size_t cap)
{
	const char *v;
	size_t len;

	pin[0] = '\0';
	/*
	 * RFC 7512 allows the PIN itself in the URI, but our URIs come from
	 * command lines and configuration files: a PIN there sits in argv,
	 * shell histories and backups. Parsed (so other tools' URIs read) but
	 * never used: pin-source names a 0600 file instead.
	 */
	if (cvq_p11_uri_get(u, CVQ_P11_URI_PIN_VALUE, &len) != NULL)
		return CVQ_P11_ERR_PIN_SOURCE;
	v = cvq_p11_uri_get(u, CVQ_P11_URI_PIN_SOURCE, NULL);
	if (v != NULL)
		return pin_from_source(v, label, pin, cap);
	if (ctx->pin_fn == NULL)
		return CVQ_P11_ERR_NOT_LOGGED_IN;
	if (ctx->pin_fn(ctx->pin_ctx, label, pin, cap) != 0) {
		OPENSSL_cleanse(pin, cap);
		return CVQ_P11_ERR_PIN_CANCELLED;
	}
	pin[cap - 1] = '\0';
	if (pin[0] == '\0')
		return CVQ_P11_ERR_PIN_CANCELLED;
	return CVQ_P11_OK;
}

cvq_p11_err p11_login_slot(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                           CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                           char *keep_pin, size_t keep_cap)
{
	char label[33], pin[P11_PIN_MAX];
	CK_SESSION_HANDLE h;
	cvq_p11_err err;
	CK_RV rv;

	err = p11_session(ctx, slot, &h);
	if (err != CVQ_P11_OK)
		return err;
	if (p11_logged_in(ctx, slot) || !(ti->flags & CKF_LOGIN_REQUIRED))
		return CVQ_P11_OK;
	if (ti->flags & CKF_USER_PIN_LOCKED)
		return CVQ_P11_ERR_PIN_LOCKED;
	p11_copy_trim(label, sizeof(label), ti->label, sizeof(ti->label));
	if (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		if (ctx->pin_fn != NULL)
			(void)ctx->pin_fn(ctx->pin_ctx, label, NULL, 0);
		rv = ctx->fl->C_Login(h, CKU_USER, NULL, 0);
	} else {
		err = p11_get_pin(ctx, u, label, pin, sizeof(pin));
		if (err != CVQ_P11_OK)
			goto out;
		rv = ctx->fl->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin,
		                      (CK_ULONG)strlen(pin));
		if (rv == CKR_OK && keep_pin != NULL && strlen(pin) < keep_cap)
			memcpy(keep_pin, pin, strlen(pin) + 1);
	}
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv != CKR_OK)
		ctx->last_rv = rv;
	err = p11_map_rv(rv);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	return err;
}

static cvq_p11_err login_uri(cvq_p11_ctx *ctx, const char *uri, bool in)
{
	cvq_p11_uri *u = NULL;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h;
	cvq_p11_err err;
	CK_RV rv;

	if (ctx == NULL)
		return CVQ_P11_ERR_ARG;
	err = cvq_p11_uri_parse(uri, &u);
	if (err != CVQ_P11_OK)
		return err;
	pthread_mutex_lock(&ctx->lock);
	err = p11_select_token(ctx, u, &slot, &ti);
	if (err == CVQ_P11_OK && in)
		err = p11_login_slot(ctx, u, slot, &ti, NULL, 0);
	if (err == CVQ_P11_OK && !in) {
		err = p11_session(ctx, slot, &h);
		if (err == CVQ_P11_OK) {
			rv = ctx->fl->C_Logout(h);
			if (rv != CKR_OK && rv != CKR_USER_NOT_LOGGED_IN) {
				ctx->last_rv = rv;
				err = p11_map_rv(rv);
			}
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	cvq_p11_uri_free(u);
	return err;
}

cvq_p11_err cvq_p11_login(cvq_p11_ctx *ctx, const char *uri)
{
	return login_uri(ctx, uri, true);
}

cvq_p11_err cvq_p11_logout(cvq_p11_ctx *ctx, const char *uri)
{
	return login_uri(ctx, uri, false);
}

/*
 * libp11 asks its UI for the context-specific PIN of an always-authenticate
 * key inside the signature. Serve the PIN cvq_p11_sign() already asked for
 * (same thread), else ask the caller's callback.
 */
static int ui_read(UI *ui, UI_STRING *uis)
{
	cvq_p11_ctx *ctx = UI_get0_user_data(ui);
	char pin[P11_PIN_MAX];
	int ok = 0;

	if (UI_get_string_type(uis) != UIT_PROMPT &&
	    UI_get_string_type(uis) != UIT_VERIFY)
		return 1;
	if (ctx == NULL)
		return 0;
	pin[0] = '\0';
	if (ctx->has_pending && pthread_equal(ctx->pending_owner, pthread_self())) {
		memcpy(pin, ctx->pending_pin, sizeof(pin));
		OPENSSL_cleanse(ctx->pending_pin, sizeof(ctx->pending_pin));
		ctx->has_pending = false;
	} else if (ctx->pin_fn == NULL ||
	           ctx->pin_fn(ctx->pin_ctx, ctx->ui_label, pin, sizeof(pin)) != 0) {
		goto out;
	}
	pin[sizeof(pin) - 1] = '\0';
	ok = pin[0] != '\0' && UI_set_result(ui, uis, pin) >= 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	return ok;
}

UI_METHOD *p11_ui_method(void)
{
	UI_METHOD *m = UI_create_method("cvq-p11");

	if (m != NULL && UI_method_set_reader(m, ui_read) != 0) {
		UI_destroy_method(m);
		return NULL;
	}
	return m;
}
