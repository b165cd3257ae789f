/*
 * libcvqca — a certificate written as DER from its profile's template and
 * signed: no X509 object is built. The constant parts (issuer, signature
 * algorithm, the profile's extensions) are encoded once per handle by
 * ca_profile_warm(); per certificate only the serial, the validity, the
 * subject, the public key, the SAN and the SKI are written. Building the
 * same through OpenSSL's X509 API and ASN.1 encoder cost more than the
 * signature itself (docs/bench-ca.md).
 *
 * TBSCertificate (RFC 5280 4.1): [0] v3, serialNumber, signature, issuer,
 * validity, subject, subjectPublicKeyInfo, [3] extensions — in the order
 * the X509 path wrote them: the profile's leading extensions, SAN, SKI,
 * then AKI, policy, CRL DP, AIA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_der.h"
#include "ca_int.h"

#define SERIAL_LEN 16

static const uint8_t version_v3[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
/* Extension{ subjectKeyIdentifier, OCTET STRING { OCTET STRING (20) } } */
static const uint8_t ski_head[] = {0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e,
                                   0x04, 0x16, 0x04, 0x14};

void
ca_issued_free(struct ca_issued *c)
{
	OPENSSL_free(c->der);
	memset(c, 0, sizeof(*c));
}

/* 16 bytes from the CSPRNG, top bit cleared (positive), the next one set
 * (always 16 bytes): 126 random bits, far above the 64 of the CA/B rules. */
static cvq_ca_err
random_serial(uint8_t b[SERIAL_LEN], char hex[67])
{
	static const char digits[] = "0123456789ABCDEF";
	int i;

	if (RAND_bytes(b, SERIAL_LEN) != 1)
		return CVQ_CA_ERR_CRYPTO;
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
	/* As BN_bn2hex writes it (cvq_ca_serial_hex): no leading zero byte here. */
	for (i = 0; i < SERIAL_LEN; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * SERIAL_LEN] = '\0';
	return CVQ_CA_OK;
}

/* The BIT STRING of a SubjectPublicKeyInfo (without its unused-bits byte). */
static bool
spki_bits(const uint8_t *der, size_t len, const uint8_t **bits, size_t *bits_len)
{
	const uint8_t *p = der, *end = der + len, *c, *q, *qe;
	size_t n;
	uint8_t tag;

	if (!ca_der_next(&p, end, &tag, &c, &n) || tag != 0x30 || p != end)
		return false;
	q = c;
	qe = c + n;
	if (!ca_der_next(&q, qe, &tag, &c, &n) || tag != 0x30 ||
	    !ca_der_next(&q, qe, &tag, &c, &n) || tag != 0x03 || q != qe || n < 2 || c[0] != 0)
		return false;
	*bits = c + 1;
	*bits_len = n - 1;
	return true;
}

static void
subject_text(X509_NAME *name, char out[256])
{
	BIO *mem = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (mem && X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_read(mem, out, 255);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(mem);
}

void
ca_tbs_batch_begin(cvq_ca *ca)
{
	ca_tbs_batch_end(ca);
	ca->batch.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	ca->batch.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	/* A token key signs through libcvqp11 as it always did. */
	if (ca->key && !ca->keyref.p11key) {
		ca->batch.sign = EVP_MD_CTX_new();
		if (ca->batch.sign &&
		    EVP_DigestSignInit(ca->batch.sign, NULL, ca_key_md(ca->key), NULL, ca->key) != 1) {
			EVP_MD_CTX_free(ca->batch.sign);
			ca->batch.sign = NULL;
		}
	}
	ERR_clear_error();
}

void
ca_tbs_batch_end(cvq_ca *ca)
{
	EVP_MD_CTX_free(ca->batch.sign);
	EVP_MD_free(ca->batch.sha1);
	EVP_MD_free(ca->batch.sha256);
	memset(&ca->batch, 0, sizeof(ca->batch));
}

/* A DigestSign context for one signature: a copy of the batch's template
 * (EVP_DigestSignInit costs ~10 % of an ECDSA signature: fetches, a new
 * provider context), else initialised here. */
static EVP_MD_CTX *
sign_ctx(cvq_ca *ca)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md)
		return NULL;
	if (ca->batch.sign ? EVP_MD_CTX_copy_ex(md, ca->batch.sign) != 1
	                  : EVP_DigestSignInit(md, NULL, ca_key_md(ca->key), NULL, ca->key) != 1) {
		EVP_MD_CTX_free(md);
		return NULL;
	}
	/* One signature per context: no copy of it kept for another final. */
	EVP_MD_CTX_set_flags(md, EVP_MD_CTX_FLAG_FINALISE);
	return md;
}

/* SEQ { tbs, sigalg, BIT STRING sig } */
static cvq_ca_err
sign_tbs(cvq_ca *ca, const struct ca_dbuf *tbs, struct ca_issued *out)
{
	uint8_t sig[1 + 1024];
	size_t sig_len = sizeof(sig) - 1, len;
	struct ca_dbuf b = {0};
	EVP_MD_CTX *md = sign_ctx(ca);
	int ok;

	/* With a file key one call: sig holds the signature of any key up to
	 * 8192 bits (the provider refuses a short buffer, never overruns it);
	 * a token key is asked for the size first, as before. */
	ok = md && (ca->batch.sign || (EVP_DigestSign(md, NULL, &sig_len, tbs->p, tbs->len) == 1 &&
	                              sig_len <= sizeof(sig) - 1)) &&
	     EVP_DigestSign(md, sig + 1, &sig_len, tbs->p, tbs->len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return CVQ_CA_ERR_CRYPTO;
	sig[0] = 0; /* no unused bits */
	len = tbs->len + ca->sigalg_len + ca_der_hdr_len(sig_len + 1) + sig_len + 1;
	ca_dbuf_hdr(&b, 0x30, len);
	ca_dbuf_put(&b, tbs->p, tbs->len);
	ca_dbuf_put(&b, ca->sigalg_der, ca->sigalg_len);
	ca_dbuf_tlv(&b, 0x03, sig, sig_len + 1);
	if (b.fail) {
		ca_dbuf_free(&b);
		return CVQ_CA_ERR_NOMEM;
	}
	/* Handed out with OPENSSL_free() semantics, like i2d_X509's. */
	out->der = OPENSSL_memdup(b.p, b.len);
	out->len = b.len;
	ca_dbuf_free(&b);
	if (!out->der)
		return CVQ_CA_ERR_NOMEM;
	EVP_Digest(out->der, out->len, out->sha256, NULL,
	           ca->batch.sha256 ? ca->batch.sha256 : EVP_sha256(), NULL);
	return CVQ_CA_OK;
}

cvq_ca_err
ca_cert_make_der(cvq_ca *ca, cvq_ca *log, const struct cvq_ca_issue_req *req, X509_NAME *subject,
                 EVP_PKEY *pub, const X509_PUBKEY *spki, const char *email,
                 struct ca_issued *out)
{
	uint8_t serial[SERIAL_LEN], t1[17], t2[17], ski[20];
	unsigned char *pk = NULL, *subj = NULL;
	uint8_t *san = NULL;
	const uint8_t *bits;
	size_t bits_len, san_len = 0, n1, n2, exts_len, tbs_len;
	struct ca_dbuf tbs = {0};
	cvq_ca_err err;
	time_t now = time(NULL), end, ca_end;
	unsigned days;
	int pk_len, subj_len, rsa;

	memset(out, 0, sizeof(*out));
	if (!ca->key)
		return ca_fail(log, CVQ_CA_ERR_KEY, "the CA was opened without its key");
	if ((unsigned)req->profile >= CVQ_CA_PROFILE__COUNT)
		return CVQ_CA_ERR_ARG;
	rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
	/* Built by the calling thread when not yet there; batch threads find
	 * them built (ca_profile_warm() before they start). */
	if (!ca->tmpl[req->profile][rsa].post || !ca->issuer_der) {
		if (!log)
			return CVQ_CA_ERR_ARG;
		err = ca_profile_warm(ca, req->profile);
		if (err != CVQ_CA_OK)
			return err;
	}
	days = req->days ? req->days : ca->cfg->days[req->profile];
	end = now + (time_t)days * 86400;
	/* Never beyond the CA: a certificate outliving its issuer. */
	ca_end = ca_asn1_time(X509_get0_notAfter(ca->cert));
	if (ca_end && end > ca_end)
		end = ca_end;
	if (end <= now)
		return ca_fail(log, CVQ_CA_ERR_POLICY, "the CA certificate has expired");
	if (req->dns_name || email) {
		err = ca_san_names_der(ca->cert, req->dns_name, email, &san, &san_len);
		if (err != CVQ_CA_OK)
			return ca_fail(log, err, "bad DNS name or e-mail address");
	}
	err = CVQ_CA_ERR_CRYPTO;
	pk_len = spki ? i2d_X509_PUBKEY(spki, &pk) : i2d_PUBKEY(pub, &pk);
	subj_len = i2d_X509_NAME(subject, &subj);
	if (pk_len <= 0 || subj_len <= 0 || !spki_bits(pk, (size_t)pk_len, &bits, &bits_len))
		goto out;
	/* SKI: SHA-1 of the public key bits (RFC 5280 4.2.1.2 method 1). */
	if (!EVP_Digest(bits, bits_len, ski, NULL, ca->batch.sha1 ? ca->batch.sha1 : EVP_sha1(), NULL))
		goto out;
	err = random_serial(serial, out->serial);
	if (err != CVQ_CA_OK)
		goto out;
	n1 = ca_der_time(now, false, t1);
	n2 = ca_der_time(end, false, t2);
	exts_len = ca->tmpl[req->profile][rsa].pre_len + san_len + sizeof(ski_head) + sizeof(ski) +
	           ca->tmpl[req->profile][rsa].post_len;
	tbs_len = sizeof(version_v3) + 2 + SERIAL_LEN + ca->sigalg_len + ca->issuer_len +
	          ca_der_hdr_len(n1 + n2) + n1 + n2 + (size_t)subj_len + (size_t)pk_len +
	          ca_der_hdr_len(ca_der_hdr_len(exts_len) + exts_len) +
	          ca_der_hdr_len(exts_len) + exts_len;
	ca_dbuf_hdr(&tbs, 0x30, tbs_len);
	ca_dbuf_put(&tbs, version_v3, sizeof(version_v3));
	ca_dbuf_tlv(&tbs, 0x02, serial, SERIAL_LEN);
	ca_dbuf_put(&tbs, ca->sigalg_der, ca->sigalg_len);
	ca_dbuf_put(&tbs, ca->issuer_der, ca->issuer_len);
	ca_dbuf_hdr(&tbs, 0x30, n1 + n2);
	ca_dbuf_put(&tbs, t1, n1);
	ca_dbuf_put(&tbs, t2, n2);
	ca_dbuf_put(&tbs, subj, (size_t)subj_len);
	ca_dbuf_put(&tbs, pk, (size_t)pk_len);
	ca_dbuf_hdr(&tbs, 0xa3, ca_der_hdr_len(exts_len) + exts_len);
	ca_dbuf_hdr(&tbs, 0x30, exts_len);
	ca_dbuf_put(&tbs, ca->tmpl[req->profile][rsa].pre, ca->tmpl[req->profile][rsa].pre_len);
	ca_dbuf_put(&tbs, san, san_len);
	ca_dbuf_put(&tbs, ski_head, sizeof(ski_head));
	ca_dbuf_put(&tbs, ski, sizeof(ski));
	ca_dbuf_put(&tbs, ca->tmpl[req->profile][rsa].post, ca->tmpl[req->profile][rsa].post_len);
	if (tbs.fail) {
		err = CVQ_CA_ERR_NOMEM;
		goto out;
	}
	/* Our profile checker on what is about to be signed: nothing it
	 * refuses ever carries the CA's signature. */
	{
		char why[160];

		err = ca_check_tbs_der(ca, req->profile, tbs.p, tbs.len, why, sizeof(why));
		if (err != CVQ_CA_OK) {
			ca_fail(log, err, "profile checker before signing: %s", why);
			goto out;
		}
	}
	err = sign_tbs(ca, &tbs, out);
	if (err != CVQ_CA_OK) {
		ca_fail(log, err, "signing the certificate failed");
		goto out;
	}
	out->not_before = (int64_t)now;
	out->not_after = (int64_t)end;
	subject_text(subject, out->subject);
out:
	ERR_clear_error();
	ca_dbuf_free(&tbs);
	OPENSSL_free(pk);
	OPENSSL_free(subj);
	OPENSSL_free(san);
	if (err != CVQ_CA_OK)
		ca_issued_free(out);
	return err;
}
