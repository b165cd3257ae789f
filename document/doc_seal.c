/*
 * Sealing in one call: the PDF hole (doc_sign.c), the CAdES signature
 * around the caller's key (libcvqcades), the TSA's token, the DSS. The
 * space reserved for /Contents is sized from what will go in it, so a
 * long chain or a large token never makes a second pass necessary.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "doc_int.h"

static size_t cert_len(X509 *x)
{
	int n = i2d_X509(x, NULL);
	return n > 0 ? (size_t)n : 0;
}

/* Signer and chain, a SignerInfo (~1 KiB with RSA-4096), a token with
 * the TSA's chain (~8 KiB), and slack. */
static size_t contents_needed(const struct cvq_doc_seal_params *p)
{
	size_t n = cert_len(p->signer) + 4096;
	for (int i = 0; p->chain && i < sk_X509_num(p->chain); i++)
		n += cert_len(sk_X509_value(p->chain, i));
	if (p->tsa)
		n += 12288;
	return n > CVQ_DOC_CONTENTS_MAX ? CVQ_DOC_CONTENTS_MAX : n;
}

/* The B-B (or B-T) CMS over `content`. */
static cvq_doc_err make_cms(const struct cvq_doc_seal_params *p, const uint8_t *content,
                            size_t len, unsigned flags, uint8_t **cms, size_t *cms_len,
                            struct cvq_doc_seal_info *info)
{
	struct cvq_cades_sign_params sp = {
		.content = content, .content_len = len, .signer = p->signer, .certs = p->chain,
		.signing_time = p->when ? p->when : time(NULL), .sign = p->sign, .arg = p->arg,
		.flags = CVQ_CADES_DETACHED | flags,
	};
	uint8_t *bb = NULL;
	size_t bb_len = 0;
	cvq_cades_err ce = cvq_cades_sign(&sp, &bb, &bb_len);
	if (ce != CVQ_CADES_OK) {
		info->cades_err = ce;
		return CVQ_DOC_ERR_SEAL;
	}
	info->level = CVQ_DOC_LEVEL_B_B;
	if (!p->tsa) {
		*cms = bb;
		*cms_len = bb_len;
		return CVQ_DOC_OK;
	}
	ce = cvq_cades_timestamp(bb, bb_len, p->tsa, cms, cms_len, &info->timestamp);
	free(bb);
	if (ce != CVQ_CADES_OK) {
		info->cades_err = ce;
		return CVQ_DOC_ERR_SEAL;
	}
	info->level = CVQ_DOC_LEVEL_B_T;
	return CVQ_DOC_OK;
}

static cvq_doc_err push_cert(X509 *x, struct cvq_doc_blob *b, size_t *n, size_t cap)
{
	unsigned char *d = NULL;
	int len;
	if (!x || *n == cap)
		return CVQ_DOC_OK;
	if ((len = i2d_X509(x, &d)) <= 0)
		return CVQ_DOC_ERR_NOMEM;
	b[*n].der = d;
	b[*n].len = (size_t)len;
	(*n)++;
	return CVQ_DOC_OK;
}

/* The certificates of the path for the /DSS: signer, chain, extra ones. */
static cvq_doc_err dss_certs(const struct cvq_doc_seal_params *p, struct cvq_doc_blob **out,
                             size_t *n)
{
	size_t cap = 1 + (p->chain ? (size_t)sk_X509_num(p->chain) : 0) +
	             (p->dss_certs ? (size_t)sk_X509_num(p->dss_certs) : 0);
	cvq_doc_err err;
	*n = 0;
	if (!(*out = calloc(cap, sizeof **out)))
		return CVQ_DOC_ERR_NOMEM;
	if ((err = push_cert(p->signer, *out, n, cap)))
		return err;
	for (int i = 0; p->chain && i < sk_X509_num(p->chain); i++)
		if ((err = push_cert(sk_X509_value(p->chain, i), *out, n, cap)))
			return err;
	for (int i = 0; p->dss_certs && i < sk_X509_num(p->dss_certs); i++)
		if ((err = push_cert(sk_X509_value(p->dss_certs, i), *out, n, cap)))
			return err;
	return CVQ_DOC_OK;
}

cvq_doc_err cvq_doc_seal_pdf(const struct cvq_doc_seal_params *p, const uint8_t *pdf, size_t len,
                             uint8_t **out, size_t *out_len, struct cvq_doc_seal_info *info)
{
	struct cvq_doc_seal_info dummy;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof *info);
	if (!p || !p->signer || !p->sign || !pdf || !out || !out_len)
		return CVQ_DOC_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	struct cvq_doc_pdf_sign_opts o = {
		.reason = p->reason, .location = p->location, .signer_name = p->signer_name,
		.when = p->when, .contents_max = contents_needed(p),
	};
	struct cvq_doc_dss dss = { .crls = p->crls, .ncrls = p->ncrls, .ocsps = p->ocsps,
	                           .nocsps = p->nocsps };
	struct cvq_doc_blob *certs = NULL;
	size_t ncerts = 0;
	cvq_doc_pdf_sign *s = NULL;
	uint8_t *content = NULL, *cms = NULL;
	size_t cms_len = 0;
	cvq_doc_err err = CVQ_DOC_OK;
	bool lt = p->ncrls || p->nocsps;
	if (lt) {
		if ((err = dss_certs(p, &certs, &ncerts)))
			goto out;
		dss.certs = certs;
		dss.ncerts = ncerts;
		o.dss = &dss;
	}
	if ((err = cvq_doc_pdf_sign_begin(pdf, len, &o, &s)))
		goto out;
	const uint8_t *r1, *r2;
	size_t l1, l2;
	cvq_doc_pdf_sign_ranges(s, &r1, &l1, &r2, &l2);
	/* libcvqcades hashes a contiguous buffer: the two ranges side by side. */
	if (!(content = malloc(l1 + l2))) {
		err = CVQ_DOC_ERR_NOMEM;
		goto out;
	}
	memcpy(content, r1, l1);
	memcpy(content + l1, r2, l2);
	if ((err = make_cms(p, content, l1 + l2, CVQ_CADES_NO_SIGNING_TIME, &cms, &cms_len, info)))
		goto out;
	if ((err = cvq_doc_pdf_sign_finish(s, cms, cms_len, out, out_len)))
		goto out;
	/* B-LT: a timestamp and the data to validate without the network. */
	if (lt && info->level == CVQ_DOC_LEVEL_B_T)
		info->level = CVQ_DOC_LEVEL_B_LT;
out:
	for (size_t i = 0; i < ncerts; i++)
		OPENSSL_free((void *)certs[i].der);
	free(certs);
	if (err && *out) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
	free(content);
	free(cms);
	cvq_doc_pdf_sign_free(s);
	return err;
}

cvq_doc_err cvq_doc_seal_detached(const struct cvq_doc_seal_params *p, const uint8_t *doc,
                                  size_t len, uint8_t **p7s, size_t *p7s_len,
                                  struct cvq_doc_seal_info *info)
{
	struct cvq_doc_seal_info dummy;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof *info);
	if (!p || !p->signer || !p->sign || (!doc && len) || !p7s || !p7s_len)
		return CVQ_DOC_ERR_ARG;
	if (len > CVQ_DOC_PDF_MAX)
		return CVQ_DOC_ERR_TOO_LARGE;
	return make_cms(p, doc ? doc : (const uint8_t *)"", len, 0, p7s, p7s_len, info);
}
