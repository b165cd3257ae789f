/*
 * Finding the signatures a document carries and the bytes each covers.
 * The ranges are checked against the file itself, not only against the
 * dictionary: the gap must be exactly a hex string, the one qpdf reads as
 * that signature's /Contents, so a /ByteRange cannot point the verifier at
 * other bytes than those the signer's hole left out.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The DER length of the outermost TLV at p (definite lengths only). */
static size_t der_total(const uint8_t *p, size_t n)
{
	if (n < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80)
		return 2 + (size_t)p[1] <= n ? 2 + (size_t)p[1] : 0;
	size_t nb = p[1] & 0x7f, len = 0;
	if (nb == 0 || nb > 4 || 2 + nb > n)
		return 0;
	for (size_t i = 0; i < nb; i++)
		len = len << 8 | p[2 + i];
	return 2 + nb + len <= n ? 2 + nb + len : 0;
}

static cvq_doc_err check_one(struct doc_pdf *d, qpdf_oh field, qpdf_oh v,
                             struct cvq_doc_pdf_sig *sig)
{
	qpdf_data q = d->q;
	qpdf_oh br = qpdf_oh_get_key(q, v, "/ByteRange");
	if (!qpdf_oh_is_array(q, br) || qpdf_oh_get_array_n_items(q, br) != 4)
		return CVQ_DOC_ERR_SIG_LAYOUT;
	for (int i = 0; i < 4; i++) {
		qpdf_oh x = qpdf_oh_get_array_item(q, br, i);
		if (!qpdf_oh_is_integer(q, x))
			return CVQ_DOC_ERR_SIG_LAYOUT;
		long long val = qpdf_oh_get_int_value(q, x);
		if (val < 0 || (unsigned long long)val > d->len)
			return CVQ_DOC_ERR_SIG_LAYOUT;
		sig->range[i] = (size_t)val;
	}
	size_t *r = sig->range;
	if (r[0] != 0 || r[1] + 2 > r[2] || r[2] > d->len || r[3] > d->len - r[2])
		return CVQ_DOC_ERR_SIG_LAYOUT;
	const uint8_t *gap = d->bytes + r[1];
	size_t gap_len = r[2] - r[1];
	if (gap[0] != '<' || gap[gap_len - 1] != '>' || (gap_len - 2) % 2)
		return CVQ_DOC_ERR_SIG_LAYOUT;
	size_t n = (gap_len - 2) / 2;
	uint8_t *raw = malloc(n ? n : 1);
	if (!raw)
		return CVQ_DOC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(gap[1 + 2 * i]), lo = hexval(gap[2 + 2 * i]);
		if (hi < 0 || lo < 0) {
			free(raw);
			return CVQ_DOC_ERR_SIG_LAYOUT;
		}
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	/* What qpdf parsed as /Contents must be those very bytes. */
	qpdf_oh c = qpdf_oh_get_key(q, v, "/Contents");
	size_t clen = 0;
	const char *cv = qpdf_oh_is_string(q, c) ? qpdf_oh_get_binary_string_value(q, c, &clen) : NULL;
	if (!cv || clen != n || memcmp(cv, raw, n) != 0) {
		free(raw);
		return CVQ_DOC_ERR_SIG_LAYOUT;
	}
	size_t der = der_total(raw, n);
	for (size_t i = der; der && i < n; i++)
		if (raw[i]) {
			der = 0;
			break;
		}
	if (!der) {
		free(raw);
		return CVQ_DOC_ERR_SIG_LAYOUT;
	}
	sig->cms = raw;
	sig->cms_len = der;
	sig->revision_end = r[2] + r[3];
	/* Whole: nothing after the signed bytes but an end of line. */
	sig->whole_document = true;
	for (size_t i = sig->revision_end; i < d->len; i++)
		if (d->bytes[i] != '\n' && d->bytes[i] != '\r' && d->bytes[i] != ' ')
			sig->whole_document = false;
	qpdf_oh sf = qpdf_oh_get_key(q, v, "/SubFilter");
	const char *sfn = qpdf_oh_is_name(q, sf) ? qpdf_oh_get_name(q, sf) : "";
	sig->subfilter = strdup(sfn[0] == '/' ? sfn + 1 : sfn);
	qpdf_oh t = qpdf_oh_get_key(q, field, "/T");
	const char *tv = qpdf_oh_is_string(q, t) ? qpdf_oh_get_utf8_value(q, t) : "";
	sig->field = strdup(tv ? tv : "");
	return sig->subfilter && sig->field ? CVQ_DOC_OK : CVQ_DOC_ERR_NOMEM;
}

/* Depth-first over /Fields and their /Kids, bounded: a form is a tree,
 * but a hostile file may make it a cycle. */
static cvq_doc_err walk(struct doc_pdf *d, qpdf_oh fields, int depth,
                        struct cvq_doc_pdf_sig **sigs, size_t *n, size_t *cap)
{
	qpdf_data q = d->q;
	if (depth > 16)
		return CVQ_DOC_ERR_PDF_UNSUPPORTED;
	int count = qpdf_oh_get_array_n_items(q, fields);
	if (count > 10000)
		return CVQ_DOC_ERR_PDF_UNSUPPORTED;
	for (int i = 0; i < count; i++) {
		qpdf_oh f = qpdf_oh_get_array_item(q, fields, i);
		if (!qpdf_oh_is_dictionary(q, f))
			continue;
		qpdf_oh kids = qpdf_oh_get_key(q, f, "/Kids");
		if (qpdf_oh_is_array(q, kids)) {
			cvq_doc_err err = walk(d, kids, depth + 1, sigs, n, cap);
			if (err)
				return err;
		}
		qpdf_oh ft = qpdf_oh_get_key(q, f, "/FT");
		qpdf_oh v = qpdf_oh_get_key(q, f, "/V");
		if (!qpdf_oh_is_name_and_equals(q, ft, "/Sig") || !qpdf_oh_is_dictionary(q, v))
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 4;
			struct cvq_doc_pdf_sig *ns = realloc(*sigs, nc * sizeof *ns);
			if (!ns)
				return CVQ_DOC_ERR_NOMEM;
			*sigs = ns;
			*cap = nc;
		}
		memset(&(*sigs)[*n], 0, sizeof **sigs);
		(*n)++;
		cvq_doc_err err = check_one(d, f, v, &(*sigs)[*n - 1]);
		if (err)
			return err;
	}
	return CVQ_DOC_OK;
}

cvq_doc_err cvq_doc_pdf_signatures(const uint8_t *pdf, size_t len, struct cvq_doc_pdf_sig **out,
                                   size_t *n_out)
{
	if (!pdf || !out || !n_out)
		return CVQ_DOC_ERR_ARG;
	*out = NULL;
	*n_out = 0;
	struct doc_pdf d;
	cvq_doc_err err = doc_pdf_open(&d, pdf, len);
	if (err)
		return err;
	qpdf_data q = d.q;
	struct cvq_doc_pdf_sig *sigs = NULL;
	size_t n = 0, cap = 0;
	qpdf_oh root = qpdf_get_root(q);
	qpdf_oh form = qpdf_oh_get_key(q, root, "/AcroForm");
	qpdf_oh fields = qpdf_oh_is_dictionary(q, form) ? qpdf_oh_get_key(q, form, "/Fields")
	                                                : qpdf_oh_new_null(q);
	if (qpdf_oh_is_array(q, fields))
		err = walk(&d, fields, 0, &sigs, &n, &cap);
	if (!err && doc_pdf_failed(&d))
		err = CVQ_DOC_ERR_PDF_PARSE;
	size_t dss_items = 0;
	qpdf_oh dss = qpdf_oh_get_key(q, root, "/DSS");
	if (!err && qpdf_oh_is_dictionary(q, dss)) {
		const char *keys[] = { "/Certs", "/CRLs", "/OCSPs" };
		for (int i = 0; i < 3; i++) {
			qpdf_oh a = qpdf_oh_get_key(q, dss, keys[i]);
			if (qpdf_oh_is_array(q, a))
				dss_items += (size_t)qpdf_oh_get_array_n_items(q, a);
		}
	}
	doc_pdf_close(&d);
	if (err) {
		cvq_doc_pdf_signatures_free(sigs, n);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		sigs[i].dss_after = dss_items;
	*out = sigs;
	*n_out = n;
	return CVQ_DOC_OK;
}

void cvq_doc_pdf_signatures_free(struct cvq_doc_pdf_sig *sigs, size_t n)
{
	if (!sigs)
		return;
	for (size_t i = 0; i < n; i++) {
		free(sigs[i].field);
		free(sigs[i].subfilter);
		free(sigs[i].cms);
	}
	free(sigs);
}
