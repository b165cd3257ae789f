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

static cvq_doc_err blob_of(X509 *x, struct cvq_doc_blob *b, uint8_t **keep)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	if (n <= 0)
		return CVQ_DOC_ERR_NOMEM;
	*keep = d;
	b->der = d;
	b->len = (size_t)n;
	return CVQ_DOC_OK;
}

/* B-LT: every certificate of the path (the seal's and the TSA's, as the
 * CMS carries them) and the revocation data the caller gathered. */
static cvq_doc_err add_dss(const struct cvq_doc_seal_params *p, const uint8_t *cms,
                           size_t cms_len, uint8_t **pdf, size_t *pdf_len)
{
	cvq_doc_err err = CVQ_DOC_ERR_NOMEM;
	const unsigned char *q = cms;
	CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, (long)cms_len);
	STACK_OF(X509) *certs = ci ? CMS_get1_certs(ci) : NULL;
	int n = certs ? sk_X509_num(certs) : 0;
	struct cvq_doc_blob *blobs = calloc((size_t)n + 1, sizeof *blobs);
	uint8_t **keep = calloc((size_t)n + 1, sizeof *keep);
	int nb = 0;
	if (!blobs || !keep)
		goto out;
	for (int i = 0; i < n; i++)
		if ((err = blob_of(sk_X509_value(certs, i), &blobs[nb], &keep[nb])) == CVQ_DOC_OK)
			nb++;
		else
			goto out;
	/* The token's own certificates live inside it; CMS_get1_certs sees
	 * only the outer SignedData. The TSA's chain is added by the caller's
	 * anchors: a partner has the city CA already. */
	struct cvq_doc_dss dss = { .certs = blobs, .ncerts = (size_t)nb, .crls = p->crls,
	                           .ncrls = p->ncrls, .ocsps = p->ocsps, .nocsps = p->nocsps };
	uint8_t *out = NULL;
	size_t out_len = 0;
	if ((err = cvq_doc_pdf_add_dss(*pdf, *pdf_len, &dss, &out, &out_len)))
		goto out;
	free(*pdf);
	*pdf = out;
	*pdf_len = out_len;
out:
	for (int i = 0; keep && i < nb; i++)
		OPENSSL_free(keep[i]);
	free(keep);
	free(blobs);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(ci);
	return err;
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
	cvq_doc_pdf_sign *s = NULL;
	uint8_t *content = NULL, *cms = NULL;
	size_t cms_len = 0;
	cvq_doc_err err = cvq_doc_pdf_sign_begin(pdf, len, &o, &s);
	if (err)
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
	if (p->ncrls || p->nocsps) {
		if ((err = add_dss(p, cms, cms_len, out, out_len)))
			goto out;
		info->level = CVQ_DOC_LEVEL_B_LT;
	}
out:
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
