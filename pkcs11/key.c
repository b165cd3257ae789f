/* Finding a private key by URI through libp11; its EVP_PKEY, public key, cert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "p11_int.h"
#include "uri_int.h"

/*
 * The key's object handle and CKA_ALWAYS_AUTHENTICATE, read raw: libp11
 * keeps both to itself.
 */
static bool find_raw(cvq_p11_ctx *ctx, CK_SLOT_ID slot, cvq_p11_key *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, key->id, key->id_len },
	};
	CK_BBOOL aa = CK_FALSE;
	CK_ATTRIBUTE attr = { CKA_ALWAYS_AUTHENTICATE, &aa, sizeof(aa) };
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	CK_ULONG n = 0;

	if (p11_session(ctx, slot, &h) != CVQ_P11_OK)
		return false;
	if (key->id_len == 0 && key->label != NULL) {
		tmpl[1].type = CKA_LABEL;
		tmpl[1].pValue = key->label;
		tmpl[1].ulValueLen = strlen(key->label);
	}
	if (ctx->fl->C_FindObjectsInit(h, tmpl, 2) != CKR_OK)
		return false;
	if (ctx->fl->C_FindObjects(h, &obj, 1, &n) != CKR_OK)
		n = 0;
	ctx->fl->C_FindObjectsFinal(h);
	if (n != 1)
		return false;
	key->obj = obj;
	if (ctx->fl->C_GetAttributeValue(h, obj, &attr, 1) == CKR_OK)
		key->always_auth = aa == CK_TRUE;
	return true;
}

static void key_release(cvq_p11_key *key);

static cvq_p11_key *key_new(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                            const CK_TOKEN_INFO *ti)
{
	cvq_p11_key *key = calloc(1, sizeof(*key));

	if (key == NULL)
		return NULL;
	key->ctx = ctx;
	key->slot_id = slot;
	key->token_flags = ti->flags;
	p11_copy_trim(key->token_label, sizeof(key->token_label), ti->label,
	              sizeof(ti->label));
	p11_copy_trim(key->token_serial, sizeof(key->token_serial),
	              ti->serialNumber, sizeof(ti->serialNumber));
	return key;
}

/*
 * A plain software copy of the public half, detached from the token (libp11
 * fills n/e or the EC point from the token's objects), so that using it
 * never touches the token and it outlives the libp11 objects.
 */
static EVP_PKEY *public_copy(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len = i2d_PUBKEY(pkey, &der);

	if (len > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, len);
	}
	OPENSSL_free(der);
	return pub;
}

static PKCS11_SLOT *libp11_slot(cvq_p11_ctx *ctx, CK_SLOT_ID slot)
{
	unsigned int i;

	for (i = 0; i < ctx->nslots; i++)
		if (ctx->slots[i].token != NULL &&
		    PKCS11_get_slotid_from_slot(&ctx->slots[i]) == slot)
			return &ctx->slots[i];
	return NULL;
}

/*
 * libp11's view of the slot, re-enumerated when asked (a token came, or
 * private objects appeared or their handles died with a login change).
 * The old list is retired, not released (see p11_int.h).
 */
static PKCS11_SLOT *libp11_slot_fresh(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                                      bool refresh)
{
	PKCS11_SLOT *s = refresh ? NULL : libp11_slot(ctx, slot);
	struct p11_slot_list *r;

	if (s != NULL)
		return s;
	if (ctx->slots != NULL) {
		r = realloc(ctx->retired, (ctx->nretired + 1) * sizeof(*r));
		if (r == NULL)
			return NULL;
		ctx->retired = r;
		r[ctx->nretired].slots = ctx->slots;
		r[ctx->nretired].n = ctx->nslots;
		ctx->nretired++;
		ctx->slots = NULL;
		ctx->nslots = 0;
	}
	if (PKCS11_enumerate_slots(ctx->p11, &ctx->slots, &ctx->nslots) != 0) {
		ctx->slots = NULL;
		ctx->nslots = 0;
		return NULL;
	}
	return libp11_slot(ctx, slot);
}

static cvq_p11_err copy_identity(cvq_p11_key *key, const PKCS11_KEY *k)
{
	key->label = strdup(k->label != NULL ? k->label : "");
	if (key->label == NULL)
		return CVQ_P11_ERR_NOMEM;
	if (k->id_len > 0) {
		key->id = malloc(k->id_len);
		if (key->id == NULL)
			return CVQ_P11_ERR_NOMEM;
		memcpy(key->id, k->id, k->id_len);
		key->id_len = k->id_len;
	}
	return CVQ_P11_OK;
}

cvq_p11_err p11_key_load(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                         CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                         bool refresh, cvq_p11_key **out)
{
	cvq_p11_key *key;
	PKCS11_SLOT *s;
	PKCS11_KEY *keys = NULL, *k = NULL;
	PKCS11_CERT *c;
	unsigned int nkeys = 0, i, found = 0;
	cvq_p11_err err = CVQ_P11_ERR_NOMEM;

	*out = NULL;
	key = key_new(ctx, slot, ti);
	if (key == NULL)
		return CVQ_P11_ERR_NOMEM;
	ERR_clear_error();
	/*
	 * Nothing from libp11's key arrays is kept past this function (they
	 * are reallocated on re-enumeration): only the EVP_PKEY and X509
	 * references taken below.
	 */
	err = CVQ_P11_ERR_NO_TOKEN;
	s = libp11_slot_fresh(ctx, slot, refresh);
	if (s == NULL)
		goto fail;
	err = CVQ_P11_ERR_NO_KEY;
	if (PKCS11_enumerate_keys(s->token, &keys, &nkeys) != 0)
		goto fail;
	for (i = 0; i < nkeys; i++) {
		if (cvq_p11_uri_match_object(u, keys[i].label, keys[i].id,
		                             keys[i].id_len)) {
			if (found++ == 0)
				k = &keys[i];
		}
	}
	if (found != 1) {
		err = found == 0 ? CVQ_P11_ERR_NO_KEY : CVQ_P11_ERR_AMBIGUOUS;
		goto fail;
	}
	err = copy_identity(key, k);
	if (err != CVQ_P11_OK)
		goto fail;
	err = CVQ_P11_ERR_NO_KEY;
	key->pkey = PKCS11_get_private_key(k);
	if (key->pkey == NULL)
		goto fail;
	c = PKCS11_find_certificate(k);
	if (c != NULL && c->x509 != NULL && X509_up_ref(c->x509))
		key->cert = c->x509;
	key->pub = public_copy(key->pkey);
	if (key->pub == NULL && key->cert != NULL)
		key->pub = X509_get_pubkey(key->cert);
	if (key->pub == NULL)
		key->pub = PKCS11_get_public_key(k);
	ERR_clear_error();
	err = CVQ_P11_ERR_NO_KEY;
	if (!find_raw(ctx, slot, key))
		goto fail;
	key->loaded = true;
	*out = key;
	return CVQ_P11_OK;
fail:
	ctx->last_rv = p11_take_ckr();
	key_release(key);
	return err;
}

/*
 * A key the token hides until login, named by id=, whose certificate is
 * visible: keep the certificate and defer the private key to the first
 * signature. That signature then asks ONE PIN for the user login and, for
 * an always-authenticate key (PIV 9C), its context-specific login; finding
 * the key first by logging in would cost two prompts for one signature.
 */
static cvq_p11_err key_lazy(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                            CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                            cvq_p11_key **out)
{
	size_t id_len;
	const char *id = cvq_p11_uri_get(u, CVQ_P11_URI_ID, &id_len);
	PKCS11_SLOT *s;
	PKCS11_CERT *certs = NULL, *c = NULL;
	unsigned int n = 0, i, found = 0;
	cvq_p11_key *key;

	if (id == NULL || id_len == 0 ||
	    cvq_p11_uri_get(u, CVQ_P11_URI_OBJECT, NULL) != NULL)
		return CVQ_P11_ERR_NO_KEY;
	s = libp11_slot_fresh(ctx, slot, false);
	if (s == NULL || PKCS11_enumerate_certs(s->token, &certs, &n) != 0) {
		ERR_clear_error();
		return CVQ_P11_ERR_NO_KEY;
	}
	for (i = 0; i < n; i++) {
		if (certs[i].id_len == id_len && certs[i].x509 != NULL &&
		    memcmp(certs[i].id, id, id_len) == 0 && found++ == 0)
			c = &certs[i];
	}
	if (found != 1)
		return CVQ_P11_ERR_NO_KEY;
	key = key_new(ctx, slot, ti);
	if (key == NULL)
		return CVQ_P11_ERR_NOMEM;
	key->label = strdup("");
	key->id = malloc(id_len);
	if (key->label == NULL || key->id == NULL || !X509_up_ref(c->x509)) {
		key_release(key);
		return CVQ_P11_ERR_NOMEM;
	}
	memcpy(key->id, id, id_len);
	key->id_len = id_len;
	key->cert = c->x509;
	key->pub = X509_get_pubkey(key->cert);
	*out = key;
	return CVQ_P11_OK;
}

cvq_p11_err p11_key_ensure(cvq_p11_ctx *ctx, cvq_p11_key *key)
{
	CK_TOKEN_INFO ti;
	cvq_p11_err err;

	if (key->loaded)
		return CVQ_P11_OK;
	if (p11_token_info(ctx, key->slot_id, &ti) != CVQ_P11_OK)
		return CVQ_P11_ERR_TOKEN_REMOVED;
	err = p11_login_slot(ctx, NULL, key->slot_id, &ti, NULL, 0);
	if (err == CVQ_P11_OK)
		err = p11_key_reload(ctx, key);
	return err;
}

cvq_p11_err cvq_p11_key_find(cvq_p11_ctx *ctx, const char *uri,
                             cvq_p11_key **out)
{
	cvq_p11_uri *u = NULL;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	cvq_p11_err err;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return CVQ_P11_ERR_ARG;
	err = cvq_p11_uri_parse(uri, &u);
	if (err != CVQ_P11_OK)
		return err;
	if (cvq_p11_uri_get_type(u) != CVQ_P11_URI_TYPE_ANY &&
	    cvq_p11_uri_get_type(u) != CVQ_P11_URI_TYPE_PRIVATE) {
		cvq_p11_uri_free(u);
		return CVQ_P11_ERR_URI;
	}
	pthread_mutex_lock(&ctx->lock);
	err = p11_select_token(ctx, u, &slot, &ti);
	if (err != CVQ_P11_OK)
		goto out;
	/*
	 * Look before logging in: cards show their private keys without a
	 * login, and an always-authenticate key then costs one PIN prompt at
	 * signature time instead of two. HSMs hide them until login.
	 */
	err = p11_key_load(ctx, u, slot, &ti, false, out);
	if (err == CVQ_P11_ERR_NO_KEY && (ti.flags & CKF_LOGIN_REQUIRED) &&
	    !p11_logged_in(ctx, slot) &&
	    cvq_p11_uri_get(u, CVQ_P11_URI_PIN_VALUE, NULL) == NULL &&
	    cvq_p11_uri_get(u, CVQ_P11_URI_PIN_SOURCE, NULL) == NULL)
		err = key_lazy(ctx, u, slot, &ti, out);
	if (err == CVQ_P11_ERR_NO_KEY && (ti.flags & CKF_LOGIN_REQUIRED) &&
	    !p11_logged_in(ctx, slot)) {
		err = p11_login_slot(ctx, u, slot, &ti, NULL, 0);
		/* private objects appear with the login: libp11's cache is stale */
		if (err == CVQ_P11_OK)
			err = p11_key_load(ctx, u, slot, &ti, true, out);
	}
	if (err == CVQ_P11_OK && (*out)->always_auth)
		memcpy(ctx->ui_label, (*out)->token_label, sizeof(ctx->ui_label));
out:
	pthread_mutex_unlock(&ctx->lock);
	cvq_p11_uri_free(u);
	return err;
}

/* With the ctx's lock held. */
static void key_release(cvq_p11_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_CTX_free(key->pctx);
	EVP_PKEY_free(key->pkey);
	EVP_PKEY_free(key->pub);
	X509_free(key->cert);
	free(key->label);
	free(key->id);
	free(key);
}

/*
 * Find the same key again (same slot, CKA_ID and label) and take the new
 * libp11 objects: object handles die with a logout on some modules.
 * The key's EVP_PKEY changes; with the ctx's lock held.
 */
cvq_p11_err p11_key_reload(cvq_p11_ctx *ctx, cvq_p11_key *key)
{
	cvq_p11_uri want;
	CK_TOKEN_INFO ti;
	cvq_p11_key *fresh = NULL, tmp;
	cvq_p11_err err;

	if (p11_token_info(ctx, key->slot_id, &ti) != CVQ_P11_OK)
		return CVQ_P11_ERR_TOKEN_REMOVED;
	memset(&want, 0, sizeof(want));
	want.val[CVQ_P11_URI_ID] = (char *)key->id;
	want.len[CVQ_P11_URI_ID] = key->id_len;
	if (key->label[0] != '\0') {
		want.val[CVQ_P11_URI_OBJECT] = key->label;
		want.len[CVQ_P11_URI_OBJECT] = strlen(key->label);
	}
	if (key->id == NULL)
		want.val[CVQ_P11_URI_ID] = (char *)"";
	err = p11_key_load(ctx, &want, key->slot_id, &ti, true, &fresh);
	if (err != CVQ_P11_OK)
		return err;
	tmp = *key;
	*key = *fresh;
	*fresh = tmp;
	key_release(fresh);
	return CVQ_P11_OK;
}

void cvq_p11_key_free(cvq_p11_key *key)
{
	cvq_p11_ctx *ctx;

	if (key == NULL)
		return;
	ctx = key->ctx;
	pthread_mutex_lock(&ctx->lock);
	key_release(key);
	pthread_mutex_unlock(&ctx->lock);
}

EVP_PKEY *cvq_p11_key_pkey(cvq_p11_key *key)
{
	cvq_p11_err err;

	if (key == NULL)
		return NULL;
	pthread_mutex_lock(&key->ctx->lock);
	err = p11_key_ensure(key->ctx, key);
	pthread_mutex_unlock(&key->ctx->lock);
	return err == CVQ_P11_OK ? key->pkey : NULL;
}

EVP_PKEY *cvq_p11_key_public(const cvq_p11_key *key)
{
	return key != NULL ? key->pub : NULL;
}

X509 *cvq_p11_key_cert(const cvq_p11_key *key)
{
	return key != NULL ? key->cert : NULL;
}

const char *cvq_p11_key_label(const cvq_p11_key *key)
{
	return key != NULL ? key->label : NULL;
}

const unsigned char *cvq_p11_key_id(const cvq_p11_key *key, size_t *len)
{
	if (len != NULL)
		*len = key != NULL ? key->id_len : 0;
	return key != NULL ? key->id : NULL;
}

unsigned long cvq_p11_key_slot_id(const cvq_p11_key *key)
{
	return key != NULL ? key->slot_id : 0;
}

bool cvq_p11_key_always_authenticate(const cvq_p11_key *key)
{
	return key != NULL && key->always_auth;
}

cvq_p11_err cvq_p11_key_uri(const cvq_p11_key *key, char *buf, size_t cap)
{
	cvq_p11_uri u;
	cvq_p11_err err;

	if (key == NULL)
		return CVQ_P11_ERR_ARG;
	memset(&u, 0, sizeof(u));
	u.val[CVQ_P11_URI_TOKEN] = (char *)key->token_label;
	u.len[CVQ_P11_URI_TOKEN] = strlen(key->token_label);
	u.val[CVQ_P11_URI_SERIAL] = (char *)key->token_serial;
	u.len[CVQ_P11_URI_SERIAL] = strlen(key->token_serial);
	if (key->label[0] != '\0') {   /* empty until a deferred key is loaded */
		u.val[CVQ_P11_URI_OBJECT] = key->label;
		u.len[CVQ_P11_URI_OBJECT] = strlen(key->label);
	}
	if (key->id_len > 0) {
		u.val[CVQ_P11_URI_ID] = (char *)key->id;
		u.len[CVQ_P11_URI_ID] = key->id_len;
	}
	u.val[CVQ_P11_URI_TYPE] = (char *)"private";
	u.len[CVQ_P11_URI_TYPE] = 7;
	err = cvq_p11_uri_format(&u, buf, cap);
	return err;
}
