/*
 * libcvqca — CSRs for batches: PEM or DER in, subject + public key +
 * SubjectPublicKeyInfo out, the signature (proof of possession) checked.
 *
 * EC P-256/P-384 CSRs signed with ECDSA take a path of our own: the DER is
 * walked here and the key built with EVP_PKEY_fromdata(). OpenSSL 3.0's
 * d2i_X509_REQ builds a decoder context for every public key, which costs
 * more than verifying and signing together. Anything else goes through
 * OpenSSL as usual.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca_csr.h"
#include "ca_der.h"

static const uint8_t oid_ec_pub[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t oid_p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_ecdsa_sha[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03}; /* + 2/3/4 */

struct tlv {
	const uint8_t *start, *c;
	size_t len, full;
	uint8_t tag;
};

static bool
next(const uint8_t **p, const uint8_t *end, struct tlv *t)
{
	t->start = *p;
	if (!ca_der_next(p, end, &t->tag, &t->c, &t->len))
		return false;
	t->full = (size_t)(*p - t->start);
	return true;
}

static bool
oid_is(const struct tlv *t, const uint8_t *oid, size_t n)
{
	return t->tag == 0x06 && t->len == n && memcmp(t->c, oid, n) == 0;
}

/* 1: done; 0: not for the fast path (OpenSSL will judge); -1: bad key or signature. */
static const char *const group_names[2] = {"P-256", "P-384"};

EVP_PKEY *
ca_csr_group_key(int i)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)group_names[i], 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		ERR_clear_error();
	EVP_PKEY_CTX_free(pc);
	return k;
}

/* The public key: a copy of the group key with the point set (checked on
 * the curve by OpenSSL), else built from the group's name. With own, that
 * copy is kept and only its point changes for the next CSR: EVP_PKEY_dup()
 * and EVP_PKEY_free() cost 2.5 % of a batch certificate. */
static bool
make_pub(EVP_PKEY *group_key, EVP_PKEY **own, const char *group, const uint8_t *pt, size_t len,
         EVP_PKEY **out)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pc;
	bool ok;

	if (group_key && own) {
		if (!*own && !(*own = EVP_PKEY_dup(group_key)))
			return false;
		*out = *own;
		if (EVP_PKEY_set1_encoded_public_key(*own, pt, len) == 1)
			return true;
		/* What a failed set leaves is not ours to guess: a new copy next time. */
		EVP_PKEY_free(*own);
		*own = NULL;
		*out = NULL;
		return false;
	}
	if (group_key) {
		*out = EVP_PKEY_dup(group_key);
		return *out && EVP_PKEY_set1_encoded_public_key(*out, pt, len) == 1;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	ok = pc && EVP_PKEY_fromdata_init(pc) == 1 &&
	     EVP_PKEY_fromdata(pc, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static int
fast_parse(const uint8_t *der, size_t len, EVP_PKEY *const keys[2], EVP_PKEY *own[2],
           struct ca_csr *out, cvq_ca_err *err)
{
	const uint8_t *p = der, *end = der + len, *q, *qe;
	struct tlv outer, info, ver, subj, spki, alg, aoid, curve, bits, salg, soid, sig;
	const EVP_MD *md;
	int curve_nid, ok, gi;
	EVP_MD_CTX *mc = NULL;
	const uint8_t *np;
	uint8_t *point = NULL;

	if (!next(&p, end, &outer) || outer.tag != 0x30 || p != end)
		return 0;
	q = outer.c;
	qe = outer.c + outer.len;
	if (!next(&q, qe, &info) || info.tag != 0x30 || !next(&q, qe, &salg) || salg.tag != 0x30 ||
	    !next(&q, qe, &sig) || sig.tag != 0x03 || q != qe || sig.len < 2 || sig.c[0] != 0)
		return 0;
	/* signatureAlgorithm: ecdsa-with-SHA256/384/512, no parameters */
	q = salg.c;
	qe = salg.c + salg.len;
	if (!next(&q, qe, &soid) || q != qe || soid.tag != 0x06 || soid.len != sizeof(oid_ecdsa_sha) + 1 ||
	    memcmp(soid.c, oid_ecdsa_sha, sizeof(oid_ecdsa_sha)) != 0)
		return 0;
	switch (soid.c[sizeof(oid_ecdsa_sha)]) {
	case 2: md = EVP_sha256(); break;
	case 3: md = EVP_sha384(); break;
	case 4: md = EVP_sha512(); break;
	default: return 0;
	}
	/* CertificationRequestInfo: version 0, subject, SPKI, [0] attributes */
	q = info.c;
	qe = info.c + info.len;
	if (!next(&q, qe, &ver) || ver.tag != 0x02 || ver.len != 1 || ver.c[0] != 0 ||
	    !next(&q, qe, &subj) || subj.tag != 0x30 || !next(&q, qe, &spki) || spki.tag != 0x30)
		return 0;
	q = spki.c;
	qe = spki.c + spki.len;
	if (!next(&q, qe, &alg) || alg.tag != 0x30 || !next(&q, qe, &bits) || bits.tag != 0x03 ||
	    q != qe || bits.len < 2 || bits.c[0] != 0)
		return 0;
	q = alg.c;
	qe = alg.c + alg.len;
	if (!next(&q, qe, &aoid) || !oid_is(&aoid, oid_ec_pub, sizeof(oid_ec_pub)))
		return 0;
	if (!next(&q, qe, &curve) || q != qe)
		return 0;
	if (oid_is(&curve, oid_p256, sizeof(oid_p256))) {
		gi = 0;
		curve_nid = NID_X9_62_prime256v1;
	} else if (oid_is(&curve, oid_p384, sizeof(oid_p384))) {
		gi = 1;
		curve_nid = NID_secp384r1;
	} else {
		return 0;
	}
	*err = CVQ_CA_ERR_REQUEST;
	out->pub_borrowed = keys && keys[gi] && own;
	if (!make_pub(keys ? keys[gi] : NULL, out->pub_borrowed ? &own[gi] : NULL, group_names[gi],
	              bits.c + 1, bits.len - 1, &out->pub))
		goto fail;
	/*
	 * EC_POINT_oct2point() took the encoding: a compressed, uncompressed
	 * or hybrid point of exactly the field's length, x and y below p and
	 * on the curve (else it failed) — or 00, the point at infinity, which
	 * it takes. Anything but 00 is then what EVP_PKEY_public_check_quick()
	 * accepts (not infinity, in range, on the curve), without the new
	 * EVP_PKEY_CTX and the affine conversion it costs (4 % of a batch
	 * certificate). 00 is left to that check, which refuses it.
	 */
	out->point_ok = bits.len - 1 > 1 && bits.c[1] != 0x00;
	np = subj.start;
	out->subject = d2i_X509_NAME(NULL, &np, (long)subj.full);
	if (!out->subject || np != subj.start + subj.full)
		goto fail;
	out->spki = X509_PUBKEY_new();
	point = OPENSSL_memdup(bits.c + 1, bits.len - 1);
	if (!out->spki || !point ||
	    !X509_PUBKEY_set0_param(out->spki, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	                            OBJ_nid2obj(curve_nid), point, (int)(bits.len - 1)))
		goto fail;
	point = NULL;
	/* The proof of possession: the signature over the info. */
	mc = EVP_MD_CTX_new();
	ok = mc && EVP_DigestVerifyInit(mc, NULL, md, NULL, out->pub) == 1 &&
	     EVP_DigestVerify(mc, sig.c + 1, sig.len - 1, info.start, info.full) == 1;
	EVP_MD_CTX_free(mc);
	if (!ok) {
		*err = CVQ_CA_ERR_POP;
		ca_csr_free(out);
		ERR_clear_error();
		return -1;
	}
	*err = CVQ_CA_OK;
	return 1;
fail:
	OPENSSL_free(point);
	ca_csr_free(out);
	ERR_clear_error();
	return -1;
}

void
ca_csr_free(struct ca_csr *c)
{
	if (c->req) {
		X509_REQ_free(c->req);
	} else {
		if (!c->pub_borrowed)
			EVP_PKEY_free(c->pub);
		X509_PUBKEY_free(c->spki);
		X509_NAME_free(c->subject);
	}
	memset(c, 0, sizeof(*c));
}

cvq_ca_err
ca_csr_parse(const uint8_t *b, size_t len, struct ca_csr *out)
{
	return ca_csr_parse2(b, len, NULL, NULL, out);
}

/* A base64 digit's value, -1 for anything else. */
static int
b64(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Whether [p, end) starts with the NUL-terminated s. */
static bool
starts(const uint8_t *p, const uint8_t *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/*
 * The strict PEM of RFC 7468 (3.), the common case, decoded here: the
 * first "-----BEGIN " line (text before it skipped, as PEM_read_bio()
 * does) labels a CSR, then base64 lines (no headers), '=' padding only at
 * the end, the matching END line. PEM_read_bio() costs 1.5 % of a batch
 * certificate (BIO lines, allocations). Returns 1 with *der
 * (OPENSSL_malloc'd), 0 when the input is not that strict form (OpenSSL
 * then judges it), -1 when the first block is not a CSR.
 */
static int
pem_strict(const uint8_t *b, size_t len, uint8_t **der, size_t *der_len)
{
	static const char *const labels[] = {"CERTIFICATE REQUEST-----", "NEW CERTIFICATE REQUEST-----"};
	const uint8_t *p = b, *end = b + len;
	const char *label = NULL;
	uint8_t *out;
	size_t n = 0, i;
	uint32_t acc = 0;
	int q = 0, pad = 0, v;

	/* The first line that starts with -----BEGIN */
	while (p < end && !starts(p, end, "-----BEGIN ")) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return 0;
		p++;
	}
	if (p >= end)
		return 0;
	p += strlen("-----BEGIN ");
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (starts(p, end, labels[i]) && !label)
			label = labels[i];
	if (!label)
		return -1;
	p += strlen(label);
	if (p < end && *p == '\r')
		p++;
	if (p >= end || *p++ != '\n')
		return 0;
	out = OPENSSL_malloc((size_t)(end - p) / 4 * 3 + 3);
	if (!out)
		return 0;
	for (; p < end; p++) {
		if (*p == '\n' || *p == '\r')
			continue;
		if (*p == '-')
			break;
		if (*p == '=' && q >= 2 && pad < 2) {
			pad++;
			q++;
		} else if (pad || (v = b64(*p)) < 0) {
			goto no; /* a character after '=', or not base64 */
		} else {
			acc = acc << 6 | (uint32_t)v;
			q++;
		}
		if (q == 4) {
			acc <<= 6 * pad;
			out[n++] = (uint8_t)(acc >> 16);
			if (pad < 2)
				out[n++] = (uint8_t)(acc >> 8);
			if (pad < 1)
				out[n++] = (uint8_t)acc;
			acc = 0;
			q = 0;
		}
	}
	/* Whole quantums, then -----END <label>, a line of its own. */
	if (q != 0 || n == 0 || p >= end || (p[-1] != '\n') || !starts(p, end, "-----END ") ||
	    !starts(p + strlen("-----END "), end, label))
		goto no;
	*der = out;
	*der_len = n;
	return 1;
no:
	OPENSSL_free(out);
	return 0;
}

cvq_ca_err
ca_csr_parse2(const uint8_t *b, size_t len, EVP_PKEY *const keys[2], EVP_PKEY *own[2],
              struct ca_csr *out)
{
	unsigned char *data = NULL;
	const unsigned char *p;
	char *name = NULL, *hdr = NULL;
	long dlen = 0;
	size_t n = 0;
	cvq_ca_err err = CVQ_CA_ERR_REQUEST;
	BIO *bio;
	int r;

	memset(out, 0, sizeof(*out));
	if (!b || len == 0 || len > 1 << 20)
		return CVQ_CA_ERR_REQUEST;
	/* Not DER: PEM, perhaps after some text (openssl req -text). */
	if (b[0] != 0x30 && (r = pem_strict(b, len, &data, &n)) != 0) {
		if (r < 0)
			goto out;
		b = data;
		len = n;
	} else if (b[0] != 0x30) {
		bio = BIO_new_mem_buf(b, (int)len);
		r = bio ? PEM_read_bio(bio, &name, &hdr, &data, &dlen) : 0;
		BIO_free(bio);
		if (!r || (strcmp(name, "CERTIFICATE REQUEST") != 0 &&
		           strcmp(name, "NEW CERTIFICATE REQUEST") != 0)) {
			err = CVQ_CA_ERR_REQUEST;
			goto out;
		}
		b = data;
		len = (size_t)dlen;
	}
	r = fast_parse(b, len, keys, own, out, &err);
	if (r != 0)
		goto out;
	/* Not ours to shortcut: OpenSSL parses and verifies. */
	p = b;
	out->req = d2i_X509_REQ(NULL, &p, (long)len);
	if (!out->req || p != b + len) {
		err = CVQ_CA_ERR_REQUEST;
		ca_csr_free(out);
		goto out;
	}
	out->pub = X509_REQ_get0_pubkey(out->req);
	out->spki = X509_REQ_get_X509_PUBKEY(out->req);
	out->subject = X509_REQ_get_subject_name(out->req);
	if (!out->pub) {
		err = CVQ_CA_ERR_REQUEST;
		ca_csr_free(out);
	} else if (X509_REQ_verify(out->req, out->pub) != 1) {
		err = CVQ_CA_ERR_POP;
		ca_csr_free(out);
	} else {
		err = CVQ_CA_OK;
	}
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(data);
	return err;
}
