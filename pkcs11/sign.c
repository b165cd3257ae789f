/* cvq_p11_sign: login and PIN policy around the raw signature (sign_raw.c). */
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

/*
 * The key's EVP_PKEY_CTX, set up for (alg, md) once and reused: a fresh
 * EVP_DigestSignInit per signature costs more than the layer may.
 */
static cvq_p11_err sign_ctx(cvq_p11_key *key, cvq_p11_sig alg, const EVP_MD *md)
{
	EVP_PKEY_CTX *pctx;

	if (key->pctx != NULL && key->pctx_alg == alg && key->pctx_md == md)
		return CVQ_P11_OK;
	EVP_PKEY_CTX_free(key->pctx);
	key->pctx = NULL;
	pctx = EVP_PKEY_CTX_new(key->pkey, NULL);
	if (pctx == NULL)
		return CVQ_P11_ERR_NOMEM;
	if (EVP_PKEY_sign_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0)
		goto bad;
	if (alg == CVQ_P11_SIG_RSA_PKCS1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto bad;
	if (alg == CVQ_P11_SIG_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
		goto bad;
	key->pctx = pctx;
	key->pctx_alg = alg;
	key->pctx_md = md;
	return CVQ_P11_OK;
bad:
	EVP_PKEY_CTX_free(pctx);
	return CVQ_P11_ERR_MECHANISM;
}

/* Through libp11's EVP_PKEY: the fallback for PSS without CKM_RSA_PKCS_PSS. */
static cvq_p11_err evp_sign(cvq_p11_key *key, cvq_p11_sig alg,
                            const EVP_MD *md, const unsigned char *dig,
                            size_t dig_len, unsigned char *sig,
                            size_t *sig_len)
{
	size_t len = *sig_len;
	cvq_p11_err err;
	CK_RV rv;

	ERR_clear_error();
	err = sign_ctx(key, alg, md);
	if (err != CVQ_P11_OK)
		return err;
	if (EVP_PKEY_sign(key->pctx, sig, &len, dig, dig_len) <= 0) {
		rv = p11_take_ckr();
		key->ctx->last_rv = rv;
		err = rv != CKR_OK ? p11_map_rv(rv) : CVQ_P11_ERR_SIGN;
		if (err == CVQ_P11_ERR_PKCS11 || err == CVQ_P11_ERR_DEVICE)
			err = CVQ_P11_ERR_SIGN;
		return err;
	}
	*sig_len = len;
	return CVQ_P11_OK;
}

/*
 * A deferred key's first signature (key_lazy) and every signature of an
 * always-authenticate key: ONE PIN, used for the user login when the token
 * is not logged in yet, then (always-authenticate) for the
 * context-specific login right before C_Sign.
 */
static cvq_p11_err sign_with_login(cvq_p11_ctx *ctx, cvq_p11_key *key,
                                   cvq_p11_sig alg, const EVP_MD *md,
                                   const unsigned char *dig, size_t dig_len,
                                   unsigned char *sig, size_t *sig_len)
{
	bool secure = (key->token_flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
	size_t cap = *sig_len;
	char pin[P11_PIN_MAX];
	CK_TOKEN_INFO ti;
	cvq_p11_err err = CVQ_P11_OK;

	pin[0] = '\0';
	if (!key->loaded || ((key->token_flags & CKF_LOGIN_REQUIRED) &&
	                     !p11_logged_in(ctx, key->slot_id))) {
		/* fresh flags: the PIN may have been blocked meanwhile */
		if (p11_token_info(ctx, key->slot_id, &ti) != CVQ_P11_OK)
			return CVQ_P11_ERR_TOKEN_REMOVED;
		err = p11_login_slot(ctx, NULL, key->slot_id, &ti,
		                     secure ? NULL : pin, sizeof(pin));
		if (err == CVQ_P11_OK && !key->loaded)
			err = p11_key_reload(ctx, key);
	}
	if (err == CVQ_P11_OK && key->always_auth && !secure && pin[0] == '\0')
		err = p11_get_pin(ctx, NULL, key->token_label, pin, sizeof(pin));
	if (err == CVQ_P11_OK)
		err = p11_raw_sign(ctx, key, alg, md, dig, dig_len,
		                   key->always_auth && !secure ? pin : NULL,
		                   sig, sig_len);
	if (err == CVQ_P11_ERR_MECHANISM && alg == CVQ_P11_SIG_RSA_PSS) {
		/* no CKM_RSA_PKCS_PSS: libp11 pads and signs raw; the PIN waits for it */
		if (key->always_auth && !secure) {
			memcpy(ctx->pending_pin, pin, sizeof(pin));
			ctx->has_pending = true;
			ctx->pending_owner = pthread_self();
		}
		*sig_len = cap;
		err = evp_sign(key, alg, md, dig, dig_len, sig, sig_len);
		/* evp_sign may fail before libp11 asks for the PIN: never
		 * leave it waiting in the context. */
		OPENSSL_cleanse(ctx->pending_pin, sizeof(ctx->pending_pin));
		ctx->has_pending = false;
	}
	OPENSSL_cleanse(pin, sizeof(pin));
	return err;
}

static cvq_p11_err sign_plain(cvq_p11_ctx *ctx, cvq_p11_key *key,
                              cvq_p11_sig alg, const EVP_MD *md,
                              const unsigned char *dig, size_t dig_len,
                              unsigned char *sig, size_t *sig_len)
{
	size_t cap = *sig_len;
	CK_TOKEN_INFO ti;
	cvq_p11_err err;

	/*
	 * Optimistic: no look at the login state before signing. A token
	 * logged out meanwhile says NOT_LOGGED_IN (or, like SoftHSM2, that
	 * the handle is invalid): log in, find the key again, retry once.
	 */
	err = p11_raw_sign(ctx, key, alg, md, dig, dig_len, NULL, sig, sig_len);
	if (err == CVQ_P11_ERR_NOT_LOGGED_IN) {
		if (p11_token_info(ctx, key->slot_id, &ti) != CVQ_P11_OK)
			return CVQ_P11_ERR_TOKEN_REMOVED;
		err = p11_login_slot(ctx, NULL, key->slot_id, &ti, NULL, 0);
		if (err == CVQ_P11_OK)
			err = p11_key_reload(ctx, key);
		*sig_len = cap;
		if (err == CVQ_P11_OK)
			err = p11_raw_sign(ctx, key, alg, md, dig, dig_len, NULL,
			                   sig, sig_len);
	}
	if (err == CVQ_P11_ERR_MECHANISM && alg == CVQ_P11_SIG_RSA_PSS) {
		*sig_len = cap;
		err = evp_sign(key, alg, md, dig, dig_len, sig, sig_len);
	}
	return err;
}

cvq_p11_err cvq_p11_sign(cvq_p11_key *key, cvq_p11_sig alg, const EVP_MD *md,
                         const unsigned char *msg, size_t msg_len,
                         unsigned char *sig, size_t *sig_len)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int dig_len = 0;
	EVP_PKEY *ref;
	cvq_p11_ctx *ctx;
	size_t need;
	cvq_p11_err err;

	/* a deferred key has only its public half so far: same type and size */
	ref = key != NULL ? (key->pkey != NULL ? key->pkey : key->pub) : NULL;
	if (ref == NULL || sig_len == NULL || (msg == NULL && msg_len > 0))
		return CVQ_P11_ERR_ARG;
	err = check_alg(ref, alg);
	if (err != CVQ_P11_OK)
		return err;
	if (md == NULL)
		md = EVP_sha256();
	need = (size_t)EVP_PKEY_get_size(ref);
	if (sig == NULL) {
		*sig_len = need;
		return CVQ_P11_OK;
	}
	if (*sig_len < need)
		return CVQ_P11_ERR_TOO_SMALL;
	if (!EVP_Digest(msg, msg_len, dig, &dig_len, md, NULL))
		return CVQ_P11_ERR_MECHANISM;
	ctx = key->ctx;
	pthread_mutex_lock(&ctx->lock);
	/*
	 * No C_GetTokenInfo on the way: some modules (SoftHSM2) reread their
	 * token files for it, which costs more than the signature.
	 */
	if (!key->loaded || key->always_auth)
		err = sign_with_login(ctx, key, alg, md, dig, dig_len, sig, sig_len);
	else
		err = sign_plain(ctx, key, alg, md, dig, dig_len, sig, sig_len);
	/* a token pulled out mid-signature shows up as many different errors */
	if (err != CVQ_P11_OK && err != CVQ_P11_ERR_PIN_INCORRECT &&
	    err != CVQ_P11_ERR_PIN_LOCKED && err != CVQ_P11_ERR_PIN_CANCELLED &&
	    p11_token_gone_settled(ctx, key->slot_id))
		err = CVQ_P11_ERR_TOKEN_REMOVED;
	OPENSSL_cleanse(ctx->pending_pin, sizeof(ctx->pending_pin));
	ctx->has_pending = false;
	pthread_mutex_unlock(&ctx->lock);
	return err;
}
