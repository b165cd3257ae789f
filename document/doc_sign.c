/*
 * A new revision carrying one empty signature: an invisible widget on the
 * first page, the field in the catalog's /AcroForm, and its /V dictionary
 * with a /Contents hole of fixed size. The hole is filled once the CMS
 * over everything else exists; nothing else moves, so the /ByteRange
 * written before signing stays true.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "doc_int.h"

struct cvq_doc_pdf_sign {
	struct doc_pdf pdf;
	uint8_t *src; /* our copy of the input: qpdf reads from it */
	struct doc_update u;
	size_t contents_at;  /* offset of '<' */
	size_t contents_end; /* offset after '>' */
	size_t contents_max;
	bool done;
};

/* "/ByteRange [0 a b c]" with room for ten digits each, patched later. */
#define BR_PLACEHOLDER "[0 0000000000 0000000000 0000000000]"

static bool name_taken(qpdf_data q, qpdf_oh fields, const char *name)
{
	int n = qpdf_oh_get_array_n_items(q, fields);
	for (int i = 0; i < n; i++) {
		qpdf_oh f = qpdf_oh_get_array_item(q, fields, i);
		if (!qpdf_oh_is_dictionary(q, f))
			continue;
		qpdf_oh t = qpdf_oh_get_key(q, f, "/T");
		if (qpdf_oh_is_string(q, t)) {
			const char *v = qpdf_oh_get_utf8_value(q, t);
			if (v && strcmp(v, name) == 0)
				return true;
		}
	}
	return false;
}

static void pdf_date(time_t when, char out[32])
{
	struct tm tm;
	gmtime_r(&when, &tm);
	strftime(out, 32, "D:%Y%m%d%H%M%SZ", &tm);
}

/* The form: /AcroForm with /SigFlags 3 and our field appended. */
static cvq_doc_err add_field(struct cvq_doc_pdf_sign *s, qpdf_oh root, qpdf_oh widget,
                             const char *want, char name[64])
{
	qpdf_data q = s->pdf.q;
	cvq_doc_err err;
	qpdf_oh form = qpdf_oh_get_key(q, root, "/AcroForm");
	if (!qpdf_oh_is_dictionary(q, form)) {
		form = qpdf_oh_new_dictionary(q);
		qpdf_oh_replace_key(q, root, "/AcroForm", form);
		if ((err = doc_update_dirty(&s->u, root)))
			return err;
	} else if ((err = doc_update_touch(&s->u, root, form))) {
		return err;
	}
	qpdf_oh fields = qpdf_oh_get_key(q, form, "/Fields");
	if (!qpdf_oh_is_array(q, fields)) {
		fields = qpdf_oh_new_array(q);
		qpdf_oh_replace_key(q, form, "/Fields", fields);
	} else if ((err = doc_update_touch(&s->u, qpdf_oh_is_indirect(q, form) ? form : root,
	                                   fields))) {
		return err;
	}
	if (want) {
		if (strlen(want) >= 64 || !*want)
			return CVQ_DOC_ERR_ARG;
		if (name_taken(q, fields, want))
			return CVQ_DOC_ERR_ARG;
		snprintf(name, 64, "%s", want);
	} else {
		for (int i = 1;; i++) {
			snprintf(name, 64, "Signature%d", i);
			if (!name_taken(q, fields, name))
				break;
			if (i > 10000)
				return CVQ_DOC_ERR_PDF_UNSUPPORTED;
		}
	}
	qpdf_oh_append_item(q, fields, widget);
	qpdf_oh_replace_key(q, form, "/SigFlags", qpdf_oh_new_integer(q, 3));
	return doc_pdf_failed(&s->pdf) ? CVQ_DOC_ERR_PDF_PARSE : CVQ_DOC_OK;
}

static cvq_doc_err add_annot(struct cvq_doc_pdf_sign *s, qpdf_oh page, qpdf_oh widget)
{
	qpdf_data q = s->pdf.q;
	cvq_doc_err err;
	qpdf_oh annots = qpdf_oh_get_key(q, page, "/Annots");
	if (!qpdf_oh_is_array(q, annots)) {
		annots = qpdf_oh_new_array(q);
		qpdf_oh_replace_key(q, page, "/Annots", annots);
		if ((err = doc_update_dirty(&s->u, page)))
			return err;
	} else if ((err = doc_update_touch(&s->u, page, annots))) {
		return err;
	}
	qpdf_oh_append_item(q, annots, widget);
	return doc_pdf_failed(&s->pdf) ? CVQ_DOC_ERR_PDF_PARSE : CVQ_DOC_OK;
}

static cvq_doc_err write_value(struct cvq_doc_pdf_sign *s, qpdf_oh v,
                               const struct cvq_doc_pdf_sign_opts *opts)
{
	struct doc_buf *o = &s->u.out;
	qpdf_data q = s->pdf.q;
	cvq_doc_err err = doc_update_begin_obj(&s->u, qpdf_oh_get_object_id(q, v), 0);
	if (err)
		return err;
	char date[32];
	pdf_date(opts->when ? opts->when : time(NULL), date);
	if (!doc_buf_printf(o, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached"
	                       " /M (%s)", date))
		return CVQ_DOC_ERR_NOMEM;
	const char *keys[] = { "/Name", "/Reason", "/Location" };
	const char *vals[] = { opts->signer_name, opts->reason, opts->location };
	for (int i = 0; i < 3; i++) {
		if (!vals[i])
			continue;
		if (strlen(vals[i]) > 1024)
			return CVQ_DOC_ERR_ARG;
		if (!doc_buf_printf(o, " %s ", keys[i]) || (err = doc_pdf_text(&s->pdf, o, vals[i])))
			return err ? err : CVQ_DOC_ERR_NOMEM;
	}
	if (!doc_buf_str(o, " /ByteRange " BR_PLACEHOLDER " /Contents "))
		return CVQ_DOC_ERR_NOMEM;
	s->contents_at = o->len;
	if (!doc_buf_str(o, "<"))
		return CVQ_DOC_ERR_NOMEM;
	for (size_t i = 0; i < s->contents_max; i++)
		if (!doc_buf_str(o, "00"))
			return CVQ_DOC_ERR_NOMEM;
	if (!doc_buf_str(o, ">"))
		return CVQ_DOC_ERR_NOMEM;
	s->contents_end = o->len;
	if (!doc_buf_str(o, " >>"))
		return CVQ_DOC_ERR_NOMEM;
	return doc_update_end_obj(&s->u);
}

/* Write the final /ByteRange over the placeholder, padded with spaces. */
static cvq_doc_err patch_byte_range(struct cvq_doc_pdf_sign *s)
{
	struct doc_buf *o = &s->u.out;
	const char *ph = BR_PLACEHOLDER;
	size_t phl = strlen(ph);
	/* The placeholder sits just before " /Contents <". */
	size_t at = s->contents_at - strlen(" /Contents ") - phl;
	if (s->contents_at < strlen(" /Contents ") + phl || memcmp(o->p + at, ph, phl) != 0)
		return CVQ_DOC_ERR_STATE;
	char br[64];
	int n = snprintf(br, sizeof br, "[0 %zu %zu %zu]", s->contents_at, s->contents_end,
	                 o->len - s->contents_end);
	if (n < 0 || (size_t)n > phl)
		return CVQ_DOC_ERR_TOO_LARGE;
	memset(o->p + at, ' ', phl);
	memcpy(o->p + at, br, (size_t)n);
	return CVQ_DOC_OK;
}

cvq_doc_err cvq_doc_pdf_sign_begin(const uint8_t *pdf, size_t len,
                                   const struct cvq_doc_pdf_sign_opts *opts,
                                   cvq_doc_pdf_sign **out)
{
	static const struct cvq_doc_pdf_sign_opts none = { 0 };
	if (!pdf || !out)
		return CVQ_DOC_ERR_ARG;
	*out = NULL;
	if (!opts)
		opts = &none;
	if (len > CVQ_DOC_PDF_MAX)
		return CVQ_DOC_ERR_TOO_LARGE;
	if (opts->contents_max > CVQ_DOC_CONTENTS_MAX)
		return CVQ_DOC_ERR_ARG;
	cvq_doc_pdf_sign *s = calloc(1, sizeof *s);
	if (!s)
		return CVQ_DOC_ERR_NOMEM;
	cvq_doc_err err = CVQ_DOC_ERR_NOMEM;
	s->contents_max = opts->contents_max ? opts->contents_max : CVQ_DOC_CONTENTS_DEFAULT;
	if (!(s->src = malloc(len ? len : 1)))
		goto fail;
	memcpy(s->src, pdf, len);
	if ((err = doc_pdf_open(&s->pdf, s->src, len)))
		goto fail;
	if ((err = doc_update_init(&s->u, &s->pdf)))
		goto fail;
	qpdf_data q = s->pdf.q;
	if (qpdf_get_num_pages(q) < 1 || doc_pdf_failed(&s->pdf)) {
		err = CVQ_DOC_ERR_PDF_UNSUPPORTED;
		goto fail;
	}
	qpdf_oh page = qpdf_get_page_n(q, 0);
	qpdf_oh root = qpdf_get_root(q);
	if (!qpdf_oh_is_indirect(q, page) || doc_pdf_failed(&s->pdf)) {
		err = CVQ_DOC_ERR_PDF_UNSUPPORTED;
		goto fail;
	}
	qpdf_oh value = doc_pdf_new_indirect(&s->pdf);
	qpdf_oh widget = doc_pdf_new_indirect(&s->pdf);
	if (doc_pdf_failed(&s->pdf)) {
		err = CVQ_DOC_ERR_PDF_PARSE;
		goto fail;
	}
	char name[64];
	if ((err = add_field(s, root, widget, opts->field_name, name)) ||
	    (err = add_annot(s, page, widget)))
		goto fail;
	if (opts->dss && (err = doc_dss_add(&s->u, opts->dss)))
		goto fail;
	if ((err = write_value(s, value, opts)))
		goto fail;
	/* The widget: invisible (/Rect of zero size, /F 132 = print + locked),
	 * pointing at its page and its value. */
	struct doc_buf *o = &s->u.out;
	if ((err = doc_update_begin_obj(&s->u, qpdf_oh_get_object_id(q, widget), 0)))
		goto fail;
	if (!doc_buf_str(o, "<< /Type /Annot /Subtype /Widget /FT /Sig /F 132 /Rect [0 0 0 0] /T ") ||
	    (err = doc_pdf_text(&s->pdf, o, name)) ||
	    !doc_buf_printf(o, " /V %d 0 R /P %d %d R >>", qpdf_oh_get_object_id(q, value),
	                    qpdf_oh_get_object_id(q, page), qpdf_oh_get_generation(q, page))) {
		err = err ? err : CVQ_DOC_ERR_NOMEM;
		goto fail;
	}
	if ((err = doc_update_end_obj(&s->u)) || (err = doc_update_finish(&s->u)) ||
	    (err = patch_byte_range(s)))
		goto fail;
	*out = s;
	return CVQ_DOC_OK;
fail:
	cvq_doc_pdf_sign_free(s);
	return err;
}

void cvq_doc_pdf_sign_ranges(const cvq_doc_pdf_sign *s, const uint8_t **r1, size_t *r1_len,
                             const uint8_t **r2, size_t *r2_len)
{
	*r1 = s->u.out.p;
	*r1_len = s->contents_at;
	*r2 = s->u.out.p + s->contents_end;
	*r2_len = s->u.out.len - s->contents_end;
}

cvq_doc_err cvq_doc_pdf_sign_finish(cvq_doc_pdf_sign *s, const uint8_t *cms, size_t cms_len,
                                    uint8_t **out, size_t *out_len)
{
	if (!s || !cms || !out || !out_len)
		return CVQ_DOC_ERR_ARG;
	if (s->done)
		return CVQ_DOC_ERR_STATE;
	if (cms_len > s->contents_max)
		return CVQ_DOC_ERR_SIG_TOO_LARGE;
	static const char hex[] = "0123456789abcdef";
	uint8_t *h = s->u.out.p + s->contents_at + 1;
	for (size_t i = 0; i < cms_len; i++) {
		h[2 * i] = (uint8_t)hex[cms[i] >> 4];
		h[2 * i + 1] = (uint8_t)hex[cms[i] & 15];
	}
	*out = s->u.out.p;
	*out_len = s->u.out.len;
	s->u.out.p = NULL;
	s->u.out.len = s->u.out.cap = 0;
	s->done = true;
	return CVQ_DOC_OK;
}

void cvq_doc_pdf_sign_free(cvq_doc_pdf_sign *s)
{
	if (!s)
		return;
	doc_update_free(&s->u);
	doc_pdf_close(&s->pdf);
	free(s->src);
	free(s);
}
