/* Signing on the token through the key's EVP_PKEY (libp11's RSA/EC methods). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "p11_int.h"

static cvq_p11_err check_alg(EVP_PKEY *pkey, cvq_p11_sig alg)
{
	int id = EVP_PKEY_get_base_id(pkey);

	switch (alg) {
	case CVQ_P11_SIG_ECDSA:
		return id == EVP_PKEY_EC ? CVQ_P11_OK : CVQ_P11_ERR_MECHANISM;
	case CVQ_P11_SIG_RSA_PKCS1:
	case CVQ_P11_SIG_RSA_PSS:
		return id == EVP_PKEY_RSA ? CVQ_P11_OK : CVQ_P11_ERR_MECHANISM;
	default:
		return CVQ_P11_ERR_ARG;
	}
}

static cvq_p11_err evp_sign(cvq_p11_key *key, cvq_p11_sig alg,
                            const EVP_MD *md, const unsigned char *msg,
                            size_t msg_len, unsigned char *sig,
                            size_t *sig_len)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	cvq_p11_err err = CVQ_P11_ERR_NOMEM;
	size_t len = *sig_len;

	if (mctx == NULL)
		return err;
	err = CVQ_P11_ERR_MECHANISM;
	if (EVP_DigestSignInit(mctx, &pctx, md, NULL, key->pkey) <= 0)
		goto out;
	if (alg == CVQ_P11_SIG_RSA_PKCS1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (alg == CVQ_P11_SIG_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
		goto out;
	if (EVP_DigestSign(mctx, sig, &len, msg, msg_len) <= 0) {
		CK_RV rv = p11_take_ckr();
		key->ctx->last_rv = rv;
		err = rv != CKR_OK ? p11_map_rv(rv) : CVQ_P11_ERR_SIGN;
		if (err == CVQ_P11_ERR_PKCS11 || err == CVQ_P11_ERR_DEVICE)
			err = CVQ_P11_ERR_SIGN;
		goto out;
	}
	*sig_len = len;
	err = CVQ_P11_OK;
out:
	EVP_MD_CTX_free(mctx);
	return err;
}

/*
 * Log in if needed and stage the context-specific PIN: an always-authenticate
 * key gets ONE prompt, used for the user login when the token needs it and
 * for the context-specific login libp11 does inside the signature.
 */
static cvq_p11_err prepare_auth(cvq_p11_ctx *ctx, cvq_p11_key *key,
                                const CK_TOKEN_INFO *ti)
{
	bool secure = (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
	cvq_p11_err err;

	if ((ti->flags & CKF_LOGIN_REQUIRED) && !p11_logged_in(ctx, key->slot_id)) {
		err = p11_login_slot(ctx, NULL, key->slot_id, ti,
		                     key->always_auth && !secure ? ctx->pending_pin : NULL,
		                     sizeof(ctx->pending_pin));
		if (err != CVQ_P11_OK)
			return err;
		if (key->always_auth && !secure && ctx->pending_pin[0] != '\0') {
			ctx->has_pending = true;
			ctx->pending_owner = pthread_self();
		}
		return CVQ_P11_OK;
	}
	if (key->always_auth && !secure) {
		err = p11_get_pin(ctx, NULL, key->token_label, ctx->pending_pin,
		                  sizeof(ctx->pending_pin));
		if (err != CVQ_P11_OK) {
			OPENSSL_cleanse(ctx->pending_pin, sizeof(ctx->pending_pin));
			return err;
		}
		ctx->has_pending = true;
		ctx->pending_owner = pthread_self();
	}
	return CVQ_P11_OK;
}

cvq_p11_err cvq_p11_sign(cvq_p11_key *key, cvq_p11_sig alg, const EVP_MD *md,
                         const unsigned char *msg, size_t msg_len,
                         unsigned char *sig, size_t *sig_len)
{
	cvq_p11_ctx *ctx;
	CK_TOKEN_INFO ti;
	size_t need;
	cvq_p11_err err;
	CK_RV rv;

	if (key == NULL || key->pkey == NULL || sig_len == NULL ||
	    (msg == NULL && msg_len > 0))
		return CVQ_P11_ERR_ARG;
	err = check_alg(key->pkey, alg);
	if (err != CVQ_P11_OK)
		return err;
	if (md == NULL)
		md = EVP_sha256();
	need = (size_t)EVP_PKEY_get_size(key->pkey);
	if (sig == NULL) {
		*sig_len = need;
		return CVQ_P11_OK;
	}
	if (*sig_len < need)
		return CVQ_P11_ERR_TOO_SMALL;
	ctx = key->ctx;
	pthread_mutex_lock(&ctx->lock);
	ERR_clear_error();
	rv = ctx->fl->C_GetTokenInfo(key->slot_id, &ti);
	if (rv != CKR_OK) {
		ctx->last_rv = rv;
		err = p11_map_rv(rv);
		if (err == CVQ_P11_ERR_PKCS11 || err == CVQ_P11_ERR_DEVICE)
			err = CVQ_P11_ERR_TOKEN_REMOVED;
		goto out;
	}
	err = prepare_auth(ctx, key, &ti);
	if (err == CVQ_P11_OK)
		err = evp_sign(key, alg, md, msg, msg_len, sig, sig_len);
	/* a token pulled out mid-signature shows up as many different errors */
	if (err != CVQ_P11_OK && err != CVQ_P11_ERR_PIN_INCORRECT &&
	    ctx->fl->C_GetTokenInfo(key->slot_id, &ti) != CKR_OK)
		err = CVQ_P11_ERR_TOKEN_REMOVED;
out:
	OPENSSL_cleanse(ctx->pending_pin, sizeof(ctx->pending_pin));
	ctx->has_pending = false;
	pthread_mutex_unlock(&ctx->lock);
	return err;
}
