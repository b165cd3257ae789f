/*
 * Key pair generation on the token. libp11 0.4.12 only generates RSA keys
 * (through a deprecated call), so this is raw C_GenerateKeyPair; the new key
 * is then found through libp11 like any other.
 */
#include <stdlib.h>
#include <string.h>

#include "p11_int.h"
#include "uri_int.h"

/* DER OIDs for CKA_EC_PARAMS (namedCurve) */
static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const CK_BYTE rsa_e[] = { 0x01, 0x00, 0x01 };

static cvq_p11_err generate(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                            cvq_p11_keytype type, const char *label,
                            const unsigned char *id, size_t id_len)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG bits = 0;
	CK_KEY_TYPE kt = CKK_EC;
	CK_ATTRIBUTE pub[8], priv[10];
	CK_ULONG np = 0, nv = 0;
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_SESSION_HANDLE h;
	CK_RV rv;

	switch (type) {
	case CVQ_P11_KEY_EC_P256:
	case CVQ_P11_KEY_EC_P384:
		break;
	case CVQ_P11_KEY_RSA_2048:
		bits = 2048;
		break;
	case CVQ_P11_KEY_RSA_3072:
		bits = 3072;
		break;
	case CVQ_P11_KEY_RSA_4096:
		bits = 4096;
		break;
	default:
		return CVQ_P11_ERR_ARG;
	}
	if (bits != 0) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		kt = CKK_RSA;
		pub[np++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
		pub[np++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)rsa_e, sizeof(rsa_e) };
	} else if (type == CVQ_P11_KEY_EC_P256) {
		pub[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) };
	} else {
		pub[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)oid_p384, sizeof(oid_p384) };
	}
	pub[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	pub[np++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };

	priv[nv++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &no, sizeof(no) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };

	/* a read-write session of its own; the kept session holds the login */
	rv = ctx->fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	                            NULL, NULL, &h);
	if (rv == CKR_OK) {
		rv = ctx->fl->C_GenerateKeyPair(h, &mech, pub, np, priv, nv,
		                                &hpub, &hpriv);
		ctx->fl->C_CloseSession(h);
	}
	if (rv != CKR_OK) {
		cvq_p11_err err = p11_map_rv(rv);
		ctx->last_rv = rv;
		return err == CVQ_P11_ERR_PKCS11 || err == CVQ_P11_ERR_DEVICE ?
		       CVQ_P11_ERR_KEYGEN : err;
	}
	return CVQ_P11_OK;
}

cvq_p11_err cvq_p11_keygen(cvq_p11_ctx *ctx, const char *token_uri,
                           cvq_p11_keytype type, const char *label,
                           const unsigned char *id, size_t id_len,
                           cvq_p11_key **out)
{
	cvq_p11_uri *u = NULL;
	cvq_p11_uri want;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	cvq_p11_err err;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || label == NULL || id == NULL || id_len == 0 ||
	    strlen(label) > 255 || id_len > 255)
		return CVQ_P11_ERR_ARG;
	err = cvq_p11_uri_parse(token_uri, &u);
	if (err != CVQ_P11_OK)
		return err;
	pthread_mutex_lock(&ctx->lock);
	err = p11_select_token(ctx, u, &slot, &ti);
	if (err == CVQ_P11_OK)
		err = p11_login_slot(ctx, u, slot, &ti, NULL, 0);
	if (err == CVQ_P11_OK)
		err = generate(ctx, slot, type, label, id, id_len);
	if (err == CVQ_P11_OK && out != NULL) {
		memset(&want, 0, sizeof(want));
		want.val[CVQ_P11_URI_ID] = (char *)id;
		want.len[CVQ_P11_URI_ID] = id_len;
		want.val[CVQ_P11_URI_OBJECT] = (char *)label;
		want.len[CVQ_P11_URI_OBJECT] = strlen(label);
		err = p11_key_load(ctx, &want, slot, &ti, true, out);
	}
	pthread_mutex_unlock(&ctx->lock);
	cvq_p11_uri_free(u);
	return err;
}
