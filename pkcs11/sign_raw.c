/*
 * cvq_p11_sign's own path to the token: C_SignInit / C_Sign on the ctx's
 * session with the key's object handle. Compared with going through
 * libp11's EVP_PKEY it gives the exact CK_RV of every step (a wrong PIN at
 * the context-specific login is CKR_PIN_INCORRECT, not "sign failed"), one
 * PIN prompt for user + context-specific login, and no layer overhead.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include "p11_int.h"

struct md_info {
	int nid;
	CK_MECHANISM_TYPE hash;
	CK_RSA_PKCS_MGF_TYPE mgf;
	const unsigned char *prefix;   /* DER DigestInfo up to the digest */
	size_t prefix_len;
};

#define PFX(...) (const unsigned char[]){ __VA_ARGS__ }, sizeof((const unsigned char[]){ __VA_ARGS__ })

static const struct md_info mds[] = {
	{ NID_sha256, CKM_SHA256, CKG_MGF1_SHA256,
	  PFX(0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	      0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20) },
	{ NID_sha384, CKM_SHA384, CKG_MGF1_SHA384,
	  PFX(0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	      0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30) },
	{ NID_sha512, CKM_SHA512, CKG_MGF1_SHA512,
	  PFX(0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	      0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40) },
	{ NID_sha224, CKM_SHA224, CKG_MGF1_SHA224,
	  PFX(0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	      0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c) },
};

static const struct md_info *md_find(const EVP_MD *md)
{
	size_t i;

	for (i = 0; i < sizeof(mds) / sizeof(mds[0]); i++)
		if (mds[i].nid == EVP_MD_get_type(md))
			return &mds[i];
	return NULL;
}

/* PKCS#11 gives r‖s; X.509, CMS and openssl want DER SEQUENCE{r, s}. */
static cvq_p11_err ecdsa_der(const unsigned char *raw, size_t n,
                             unsigned char *sig, size_t *sig_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(n / 2), NULL);
	BIGNUM *s = BN_bin2bn(raw + n / 2, (int)(n / 2), NULL);
	unsigned char *p = sig;
	cvq_p11_err err = CVQ_P11_ERR_NOMEM;
	int len;

	if (es == NULL || r == NULL || s == NULL || n % 2 != 0)
		goto out;
	ECDSA_SIG_set0(es, r, s);
	r = s = NULL;
	len = i2d_ECDSA_SIG(es, NULL);
	err = CVQ_P11_ERR_TOO_SMALL;
	if (len <= 0 || (size_t)len > *sig_len)
		goto out;
	*sig_len = (size_t)i2d_ECDSA_SIG(es, &p);
	err = CVQ_P11_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return err;
}

cvq_p11_err p11_raw_sign(cvq_p11_ctx *ctx, cvq_p11_key *key, cvq_p11_sig alg,
                         const EVP_MD *md, const unsigned char *dig,
                         size_t dig_len, const char *pin,
                         unsigned char *sig, size_t *sig_len)
{
	const struct md_info *mi = md_find(md);
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	unsigned char in[128], out[1024];
	CK_ULONG in_len = 0, out_len = sizeof(out);
	CK_SESSION_HANDLE h, own = CK_INVALID_HANDLE;
	bool ctx_login = key->always_auth;
	cvq_p11_err err;
	CK_RV rv;

	if (mi == NULL || dig_len > 64)
		return CVQ_P11_ERR_MECHANISM;
	switch (alg) {
	case CVQ_P11_SIG_ECDSA:
		memcpy(in, dig, dig_len);
		in_len = dig_len;
		break;
	case CVQ_P11_SIG_RSA_PKCS1:
		mech.mechanism = CKM_RSA_PKCS;
		memcpy(in, mi->prefix, mi->prefix_len);
		memcpy(in + mi->prefix_len, dig, dig_len);
		in_len = mi->prefix_len + dig_len;
		break;
	case CVQ_P11_SIG_RSA_PSS:
		pss.hashAlg = mi->hash;
		pss.mgf = mi->mgf;
		pss.sLen = dig_len;
		mech.mechanism = CKM_RSA_PKCS_PSS;
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
		memcpy(in, dig, dig_len);
		in_len = dig_len;
		break;
	default:
		return CVQ_P11_ERR_ARG;
	}
	/*
	 * An always-authenticate key signs in a session of its own: if the
	 * context-specific login fails, the pending operation dies with that
	 * session and the kept one (holding the user login) stays clean.
	 */
	if (ctx_login) {
		rv = ctx->fl->C_OpenSession(key->slot_id, CKF_SERIAL_SESSION, NULL,
		                            NULL, &own);
		if (rv != CKR_OK)
			goto fail;
		h = own;
	} else {
		/* unchecked: a dead session shows up as the error below */
		err = p11_session_cached(ctx, key->slot_id, &h);
		if (err != CVQ_P11_OK)
			return err;
	}
	rv = ctx->fl->C_SignInit(h, &mech, key->obj);
	if (rv == CKR_OK && ctx_login) {
		if (pin != NULL)
			rv = ctx->fl->C_Login(h, CKU_CONTEXT_SPECIFIC,
			                      (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
		else   /* PIN pad */
			rv = ctx->fl->C_Login(h, CKU_CONTEXT_SPECIFIC, NULL, 0);
		if (rv == CKR_USER_ALREADY_LOGGED_IN)
			rv = CKR_OK;
	}
	if (rv == CKR_OK)
		rv = ctx->fl->C_Sign(h, in, in_len, out, &out_len);
	if (own != CK_INVALID_HANDLE)
		ctx->fl->C_CloseSession(own);
	if (rv != CKR_OK)
		goto fail;
	OPENSSL_cleanse(in, sizeof(in));
	if (alg == CVQ_P11_SIG_ECDSA)
		return ecdsa_der(out, out_len, sig, sig_len);
	if (out_len > *sig_len)
		return CVQ_P11_ERR_TOO_SMALL;
	memcpy(sig, out, out_len);
	*sig_len = out_len;
	return CVQ_P11_OK;
fail:
	ctx->last_rv = rv;
	err = p11_map_rv(rv);
	if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) {
		err = CVQ_P11_ERR_NOT_LOGGED_IN;   /* handles die with a logout */
	} else if (!ctx_login && (rv == CKR_SESSION_HANDLE_INVALID ||
	                          rv == CKR_SESSION_CLOSED)) {
		/* our session was closed under us: start over with a new one */
		p11_session_drop(ctx, key->slot_id);
		err = CVQ_P11_ERR_NOT_LOGGED_IN;
	}
	else if (err == CVQ_P11_ERR_PKCS11 || err == CVQ_P11_ERR_DEVICE)
		err = CVQ_P11_ERR_SIGN;
	return err;
}
