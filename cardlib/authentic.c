/*
 * Is this card one the city issued? CHUID signature, Security Object
 * hashes, and a challenge signed by the card authentication key (9E).
 * The first two prove the objects are the issuer's; only the third proves
 * they are on the issuer's chip (a copy onto a blank card has no 9E key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "card_internal.h"
#include "cvq/piv_authentic.h"

static const char *const reason_names[CVQ_PIV_AUTH__COUNT] = {
	"ok", "no-chuid", "chuid-unsigned", "chuid-signature", "signer-untrusted",
	"signer-not-content-signing", "expired", "no-security-object",
	"security-object-signature", "security-object-incomplete", "hash-mismatch",
	"no-card-auth-certificate", "card-auth-untrusted", "card-auth-failed",
};

static const char *const reason_texts[CVQ_PIV_AUTH__COUNT] = {
	"the card is genuine: signed objects and card authentication key verified",
	"the card has no CHUID",
	"the CHUID carries no issuer signature",
	"the CHUID signature does not verify",
	"the CHUID signer is not certified by a trusted issuer",
	"the CHUID signer is not a PIV content signer",
	"the card has expired (CHUID expiry date)",
	"the card has no Security Object",
	"the Security Object signature does not verify",
	"the Security Object does not cover the CHUID and card authentication certificate",
	"a data object differs from what the issuer signed",
	"the card has no card authentication (9E) certificate",
	"the card authentication certificate is not from a trusted issuer",
	"the card could not prove it holds the card authentication key (copied card?)",
};

const char *
cvq_piv_auth_reason_name(cvq_piv_auth_reason r)
{
	return (unsigned)r < CVQ_PIV_AUTH__COUNT ? reason_names[r] : "unknown";
}

const char *
cvq_piv_auth_reason_text(cvq_piv_auth_reason r)
{
	return (unsigned)r < CVQ_PIV_AUTH__COUNT ? reason_texts[r] : "unknown reason";
}

static bool
has_eku(X509 *x, const char *oid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
	bool ok = false;
	int i;

	for (i = 0; eku && want && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0)
			ok = true;
	EXTENDED_KEY_USAGE_free(eku);
	ASN1_OBJECT_free(want);
	return ok;
}

/* Chain to the trust store; any purpose (the EKU is checked by the caller). */
static bool
chains(X509_STORE *trust, X509 *x, STACK_OF(X509) *untrusted)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	if (ctx && X509_STORE_CTX_init(ctx, trust, x, untrusted) == 1) {
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	return ok;
}

static bool
content_type_is(CMS_ContentInfo *cms, const char *oid)
{
	ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
	const ASN1_OBJECT *got = CMS_get0_eContentType(cms);
	bool ok = want && got && OBJ_cmp(want, got) == 0;

	ASN1_OBJECT_free(want);
	return ok;
}

/*
 * Verify a CMS SignedData (signature only; the signer chain is checked by
 * the caller). certs: where to find the signer when the CMS has none.
 * detached: the content; else *content gets the encapsulated one.
 */
static bool
cms_check(const uint8_t *der, size_t len, const char *oid, STACK_OF(X509) *certs,
          const uint8_t *detached, size_t dlen, BIO **content, X509 **signer)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	STACK_OF(X509) *signers = NULL;
	BIO *dc = NULL, *out = NULL;
	bool ok = false;

	*signer = NULL;
	if (cms == NULL || p != der + len || !content_type_is(cms, oid))
		goto out;
	if (detached && (dc = BIO_new_mem_buf(detached, (int)dlen)) == NULL)
		goto out;
	if (content && (out = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (CMS_verify(cms, certs, NULL, dc, out, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1)
		goto out;
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) != 1)
		goto out;
	*signer = sk_X509_value(signers, 0);
	X509_up_ref(*signer);
	if (content) {
		*content = out;
		out = NULL;
	}
	ok = true;
out:
	sk_X509_free(signers);
	BIO_free(dc);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ok;
}

static bool
expired(const char expiry[9])
{
	char today[9];
	time_t now = time(NULL);
	struct tm tm;

	if (!expiry[0] || !gmtime_r(&now, &tm))
		return false;
	strftime(today, sizeof(today), "%Y%m%d", &tm);
	return strcmp(expiry, today) < 0;
}

struct check {
	cvq_card *card;
	X509_STORE *trust;
	cvq_piv_authenticity *out;
	X509 *signer;             /* content signer (from the CHUID) */
	uint8_t *cardauth_raw;
	size_t cardauth_len;
	X509 *cardauth;
};

static cvq_card_err
fail(struct check *c, cvq_piv_auth_reason r, const char *detail)
{
	if (c->out->reason == CVQ_PIV_AUTH_OK)
		c->out->reason = r;
	if (detail && !c->out->detail[0])
		snprintf(c->out->detail, sizeof(c->out->detail), "%s", detail);
	return CVQ_CARD_OK;
}

static cvq_card_err
check_chuid(struct check *c)
{
	const uint8_t *sig;
	size_t clen, slen;
	cvq_card_chuid ch;
	cvq_card_err err;

	err = card_read_chuid_raw(c->card, &ch);
	if (err == CVQ_CARD_ERR_NOT_FOUND || err == CVQ_CARD_ERR_BAD_DATA ||
	    err == CVQ_CARD_ERR_TLV)
		return fail(c, CVQ_PIV_AUTH_NO_CHUID, NULL);
	if (err)
		return err;
	if (!c->card->chuid_raw ||
	    cvq_piv_chuid_split(c->card->chuid_raw, c->card->chuid_raw_len, &clen, &sig,
	                        &slen) != CVQ_CARD_OK)
		return fail(c, CVQ_PIV_AUTH_NO_CHUID, NULL);
	if (slen == 0)
		return fail(c, CVQ_PIV_AUTH_CHUID_UNSIGNED, NULL);
	if (!cms_check(sig, slen, CVQ_PIV_OID_CHUID_SECOBJ, NULL, c->card->chuid_raw, clen, NULL,
	               &c->signer))
		return fail(c, CVQ_PIV_AUTH_CHUID_SIGNATURE, NULL);
	X509_NAME_oneline(X509_get_subject_name(c->signer), c->out->signer,
	                  (int)sizeof(c->out->signer));
	if (!chains(c->trust, c->signer, NULL))
		return fail(c, CVQ_PIV_AUTH_SIGNER_UNTRUSTED, c->out->signer);
	if (!has_eku(c->signer, CVQ_PIV_OID_CONTENT_SIGNING))
		return fail(c, CVQ_PIV_AUTH_SIGNER_NOT_CONTENT, c->out->signer);
	if (expired(ch.expiry))
		return fail(c, CVQ_PIV_AUTH_EXPIRED, ch.expiry);
	c->out->chuid_signed = true;
	return CVQ_CARD_OK;
}

/* The 9E certificate as stored (for its hash) and parsed; cached. */
static cvq_card_err
read_cardauth(struct check *c)
{
	int i = card_cert_index(CVQ_CARD_SLOT_CARDAUTH);
	cvq_card *k = c->card;
	cvq_card_err err;

	/* Read already this insertion (cvqd's probe does): no APDU. */
	if (k->cert_c[i].known && k->cert_c[i].err == CVQ_CARD_OK && k->cert_raw[i] &&
	    k->cert[i] && (c->cardauth_raw = malloc(k->cert_raw_len[i])) != NULL) {
		memcpy(c->cardauth_raw, k->cert_raw[i], k->cert_raw_len[i]);
		c->cardauth_len = k->cert_raw_len[i];
		if (X509_up_ref(k->cert[i]))
			c->cardauth = k->cert[i];
		return CVQ_CARD_OK;
	}
	if (k->cert_c[i].known && k->cert_c[i].err == CVQ_CARD_ERR_NOT_FOUND)
		return CVQ_CARD_OK;
	err = card_get_data(c->card, CVQ_CARD_OBJ_CARDAUTH, &c->cardauth_raw, &c->cardauth_len);
	if (err == CVQ_CARD_ERR_NOT_FOUND)
		return CVQ_CARD_OK;
	if (err)
		return err;
	if (cvq_card_cert_parse(c->cardauth_raw, c->cardauth_len, &c->cardauth) != CVQ_CARD_OK)
		return CVQ_CARD_OK;
	if (!k->cert_c[i].known) {
		uint8_t *copy = malloc(c->cardauth_len);

		if (copy != NULL && X509_up_ref(c->cardauth)) {
			memcpy(copy, c->cardauth_raw, c->cardauth_len);
			free(k->cert_raw[i]);
			k->cert_raw[i] = copy;
			k->cert_raw_len[i] = c->cardauth_len;
			X509_free(k->cert[i]);
			k->cert[i] = c->cardauth;
			k->cert_c[i].known = true;
			k->cert_c[i].err = CVQ_CARD_OK;
		} else {
			free(copy);
		}
	}
	return CVQ_CARD_OK;
}

static cvq_card_err
check_secobj(struct check *c, unsigned flags)
{
	cvq_piv_secobj so;
	uint8_t *raw = NULL, *data, (*hashes)[32] = NULL, md[32];
	const uint8_t *d;
	STACK_OF(X509) *certs = NULL;
	BIO *content = NULL;
	X509 *signer = NULL;
	char *lds;
	long lds_len;
	size_t len = 0, i, dlen;
	bool chuid = false, cardauth = false;
	cvq_card_err err;
	char what[48];

	err = card_get_data(c->card, CVQ_CARD_OBJ_SECOBJ, &raw, &len);
	if (err == CVQ_CARD_ERR_NOT_FOUND)
		return fail(c, CVQ_PIV_AUTH_NO_SECOBJ, NULL);
	if (err)
		return err;
	if (cvq_piv_secobj_parse(raw, len, &so) != CVQ_CARD_OK) {
		err = fail(c, CVQ_PIV_AUTH_SECOBJ_SIGNATURE, "malformed");
		goto out;
	}
	certs = sk_X509_new_null();
	if (certs == NULL || !sk_X509_push(certs, c->signer)) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	/* Signed by the same content signer as the CHUID: a Security Object
	 * from another issuer cannot vouch for this CHUID. */
	if (!cms_check(so.cms, so.cms_len, CVQ_PIV_OID_LDS_SECOBJ, certs, NULL, 0, &content,
	               &signer) || X509_cmp(signer, c->signer) != 0) {
		err = fail(c, CVQ_PIV_AUTH_SECOBJ_SIGNATURE, NULL);
		goto out;
	}
	lds_len = BIO_get_mem_data(content, &lds);
	hashes = calloc(so.n ? so.n : 1, sizeof(*hashes));
	if (hashes == NULL) {
		err = CVQ_CARD_ERR_NOMEM;
		goto out;
	}
	if (lds_len <= 0 || cvq_piv_lds_parse((const uint8_t *)lds, (size_t)lds_len, &so,
	                                      hashes) != CVQ_CARD_OK) {
		err = fail(c, CVQ_PIV_AUTH_SECOBJ_SIGNATURE, "bad LDS security object");
		goto out;
	}
	for (i = 0; i < so.n; i++) {
		chuid |= so.map[i].tag == CVQ_CARD_OBJ_CHUID;
		cardauth |= so.map[i].tag == CVQ_CARD_OBJ_CARDAUTH;
	}
	if (!chuid || !cardauth) {
		err = fail(c, CVQ_PIV_AUTH_SECOBJ_INCOMPLETE, NULL);
		goto out;
	}
	for (i = 0; i < so.n; i++) {
		uint32_t tag = so.map[i].tag;

		data = NULL;
		if (tag == CVQ_CARD_OBJ_CHUID) {
			d = c->card->chuid_raw;
			dlen = c->card->chuid_raw_len;
		} else if (tag == CVQ_CARD_OBJ_CARDAUTH) {
			d = c->cardauth_raw;
			dlen = c->cardauth_len;
		} else if ((flags & CVQ_PIV_AUTH_QUICK) || tag == 0) {
			c->out->objects_skipped++;
			continue;
		} else {
			err = card_get_data(c->card, tag, &data, &dlen);
			if (err == CVQ_CARD_ERR_SECURITY || err == CVQ_CARD_ERR_NOT_VERIFIED) {
				/* Printed information and biometrics need the PIN. */
				c->out->objects_skipped++;
				continue;
			}
			if (err && err != CVQ_CARD_ERR_NOT_FOUND)
				goto out;
			d = data;
		}
		snprintf(what, sizeof(what), "object %06X (container %04X)", (unsigned)tag,
		         (unsigned)so.map[i].container);
		if (d == NULL || EVP_Digest(d, dlen, md, NULL, EVP_sha256(), NULL) != 1 ||
		    CRYPTO_memcmp(md, hashes[i], 32) != 0) {
			free(data);
			err = fail(c, CVQ_PIV_AUTH_HASH_MISMATCH, what);
			goto out;
		}
		free(data);
		c->out->objects_hashed++;
	}
	c->out->secobj_ok = true;
	err = CVQ_CARD_OK;
out:
	free(hashes);
	BIO_free(content);
	X509_free(signer);
	sk_X509_free(certs);
	free(raw);
	return err;
}

static cvq_card_err
check_cardauth(struct check *c)
{
	uint8_t challenge[32], md[32], *sig = NULL;
	size_t sig_len = 0;
	EVP_PKEY *pub;
	EVP_PKEY_CTX *vctx = NULL;
	cvq_card_sign_req req = {.slot = CVQ_CARD_SLOT_CARDAUTH, .md = EVP_sha256(),
	                         .padding = CVQ_CARD_PAD_PKCS1, .digest = md,
	                         .digest_len = sizeof(md)};
	cvq_card_err err;
	int tries = -1;
	bool ok;

	if (c->cardauth == NULL)
		return fail(c, CVQ_PIV_AUTH_NO_CARDAUTH, NULL);
	if (!chains(c->trust, c->cardauth, NULL) ||
	    !has_eku(c->cardauth, CVQ_PIV_OID_CARD_AUTH))
		return fail(c, CVQ_PIV_AUTH_CARDAUTH_UNTRUSTED, NULL);
	pub = X509_get0_pubkey(c->cardauth);
	if (pub == NULL || RAND_bytes(challenge, sizeof(challenge)) != 1 ||
	    EVP_Digest(challenge, sizeof(challenge), md, NULL, EVP_sha256(), NULL) != 1)
		return CVQ_CARD_ERR_CRYPTO;
	req.pub = pub;
	if (EVP_PKEY_base_id(pub) == EVP_PKEY_EC)
		req.padding = CVQ_CARD_PAD_NONE;
	err = cvq_card_sign(c->card, &req, &sig, &sig_len, &tries);
	if (err == CVQ_CARD_ERR_CARD_REMOVED || err == CVQ_CARD_ERR_COMM ||
	    err == CVQ_CARD_ERR_NO_SERVICE || err == CVQ_CARD_ERR_PCSC ||
	    err == CVQ_CARD_ERR_BUSY || err == CVQ_CARD_ERR_CARD_CHANGED ||
	    err == CVQ_CARD_ERR_NOMEM)
		return err;
	if (err)
		return fail(c, CVQ_PIV_AUTH_CARDAUTH_FAILED, cvq_card_strerror(err));
	vctx = EVP_PKEY_CTX_new(pub, NULL);
	ok = vctx && EVP_PKEY_verify_init(vctx) == 1 &&
	     EVP_PKEY_CTX_set_signature_md(vctx, EVP_sha256()) == 1 &&
	     (EVP_PKEY_base_id(pub) != EVP_PKEY_RSA ||
	      EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) == 1) &&
	     EVP_PKEY_verify(vctx, sig, sig_len, md, sizeof(md)) == 1;
	EVP_PKEY_CTX_free(vctx);
	free(sig);
	ERR_clear_error();
	if (!ok)
		return fail(c, CVQ_PIV_AUTH_CARDAUTH_FAILED, "wrong signature");
	c->out->cardauth_ok = true;
	return CVQ_CARD_OK;
}

cvq_card_err
cvq_piv_authenticate(cvq_card *card, X509_STORE *trust, unsigned flags,
                     cvq_piv_authenticity *out)
{
	struct check c = {.card = card, .trust = trust, .out = out};
	cvq_card_err err;

	if (card == NULL || trust == NULL || out == NULL)
		return CVQ_CARD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	err = cvq_card_begin(card);
	if (err)
		return err;
	/* Every check runs even after one failed, so that the report says
	 * all that is wrong; the verdict is the first failure. */
	err = check_chuid(&c);
	if (!err)
		err = read_cardauth(&c);
	if (!err && c.signer)
		err = check_secobj(&c, flags);
	else if (!err && out->reason == CVQ_PIV_AUTH_OK)
		err = fail(&c, CVQ_PIV_AUTH_CHUID_SIGNATURE, NULL);
	if (!err)
		err = check_cardauth(&c);
	cvq_card_end(card, false);
	out->authentic = !err && out->reason == CVQ_PIV_AUTH_OK && out->chuid_signed &&
	                 out->secobj_ok && out->cardauth_ok;
	X509_free(c.signer);
	X509_free(c.cardauth);
	free(c.cardauth_raw);
	return err;
}

cvq_card_err
cvq_piv_attest(cvq_card *card, uint8_t slot, X509 **cert)
{
	cvq_card_apdu a = {0x00, 0xF9, slot, 0x00, NULL, 0, true, false};
	const unsigned char *p;
	uint8_t *rsp = NULL;
	size_t len = 0;
	uint16_t sw = 0;
	cvq_card_err err;

	if (card == NULL || cert == NULL)
		return CVQ_CARD_ERR_ARG;
	*cert = NULL;
	err = cvq_card_begin(card);
	if (err)
		return err;
	err = card_piv_cmd(card, &a, &rsp, &len, &sw);
	cvq_card_end(card, false);
	if (err)
		goto out;
	if (sw == 0x6D00 || sw == 0x6E00) {
		err = CVQ_CARD_ERR_UNSUPPORTED;
		goto out;
	}
	if (sw == 0x6A88 || sw == 0x6A80 || sw == 0x6A82) {
		err = CVQ_CARD_ERR_NOT_FOUND;
		goto out;
	}
	if (sw != 0x9000) {
		err = cvq_card_sw_to_err(sw, NULL);
		goto out;
	}
	p = rsp;
	*cert = rsp && len ? d2i_X509(NULL, &p, (long)len) : NULL;
	if (*cert == NULL || p != rsp + len) {
		X509_free(*cert);
		*cert = NULL;
		err = CVQ_CARD_ERR_BAD_DATA;
	}
out:
	ERR_clear_error();
	free(rsp);
	return err;
}
