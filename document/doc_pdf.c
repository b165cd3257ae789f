/* Reading a document through qpdf, refusing what an update cannot extend
 * safely: damaged files (qpdf would repair them in memory, and our
 * offsets would then describe a file that does not exist), encryption. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"

bool doc_pdf_failed(struct doc_pdf *d)
{
	if (!qpdf_has_error(d->q))
		return false;
	(void)qpdf_get_error(d->q); /* consume it: the next check starts clean */
	return true;
}

/* The offset after the last "startxref" in the file's tail, and what it
 * points at. A file qpdf reads but whose tail we cannot follow is refused:
 * our /Prev must name the section every reader starts from. */
static cvq_doc_err find_prev_xref(struct doc_pdf *d)
{
	const uint8_t *b = d->bytes;
	size_t tail = d->len < 2048 ? 0 : d->len - 2048;
	static const char kw[] = "startxref";
	size_t kl = sizeof kw - 1;
	size_t at = SIZE_MAX;
	for (size_t i = d->len >= kl ? d->len - kl + 1 : 0; i-- > tail;) {
		if (memcmp(b + i, kw, kl) == 0) {
			at = i + kl;
			break;
		}
	}
	if (at == SIZE_MAX)
		return CVQ_DOC_ERR_PDF_PARSE;
	while (at < d->len && isspace(b[at]))
		at++;
	size_t off = 0, digits = 0;
	while (at < d->len && isdigit(b[at]) && digits < 12) {
		off = off * 10 + (size_t)(b[at++] - '0');
		digits++;
	}
	if (!digits || off >= d->len)
		return CVQ_DOC_ERR_PDF_PARSE;
	d->prev_xref = off;
	if (d->len - off >= 4 && memcmp(b + off, "xref", 4) == 0) {
		d->prev_is_stream = false;
		return CVQ_DOC_OK;
	}
	/* "N G obj" then a dictionary of /Type /XRef: a cross-reference stream. */
	size_t i = off;
	for (int field = 0; field < 2; field++) {
		if (i >= d->len || !isdigit(b[i]))
			return CVQ_DOC_ERR_PDF_PARSE;
		while (i < d->len && isdigit(b[i]))
			i++;
		while (i < d->len && isspace(b[i]))
			i++;
	}
	if (d->len - i < 3 || memcmp(b + i, "obj", 3) != 0)
		return CVQ_DOC_ERR_PDF_PARSE;
	d->prev_is_stream = true;
	return CVQ_DOC_OK;
}

cvq_doc_err doc_pdf_open(struct doc_pdf *d, const uint8_t *bytes, size_t len)
{
	memset(d, 0, sizeof *d);
	if (!bytes || len < 8)
		return CVQ_DOC_ERR_ARG;
	if (len > CVQ_DOC_PDF_MAX)
		return CVQ_DOC_ERR_TOO_LARGE;
	if (memcmp(bytes, "%PDF-", 5) != 0)
		return CVQ_DOC_ERR_PDF_PARSE;
	d->bytes = bytes;
	d->len = len;
	cvq_doc_err err = find_prev_xref(d);
	if (err)
		return err;
	if (!(d->q = qpdf_init()))
		return CVQ_DOC_ERR_NOMEM;
	qpdf_silence_errors(d->q);
	qpdf_set_suppress_warnings(d->q, QPDF_TRUE);
	qpdf_set_attempt_recovery(d->q, QPDF_FALSE);
	if (qpdf_read_memory(d->q, "document", (const char *)bytes, len, NULL) & QPDF_ERRORS) {
		(void)qpdf_get_error(d->q);
		err = CVQ_DOC_ERR_PDF_PARSE;
		goto fail;
	}
	if (qpdf_is_encrypted(d->q)) {
		err = CVQ_DOC_ERR_PDF_ENCRYPTED;
		goto fail;
	}
	qpdf_oh trailer = qpdf_get_trailer(d->q);
	qpdf_oh size = qpdf_oh_get_key(d->q, trailer, "/Size");
	if (doc_pdf_failed(d) || !qpdf_oh_is_integer(d->q, size) ||
	    (d->size = qpdf_oh_get_int_value(d->q, size)) < 1 || d->size > 8388607) {
		err = CVQ_DOC_ERR_PDF_PARSE;
		goto fail;
	}
	qpdf_oh root = qpdf_get_root(d->q);
	if (doc_pdf_failed(d) || !qpdf_oh_is_dictionary(d->q, root) ||
	    !qpdf_oh_is_indirect(d->q, root)) {
		err = CVQ_DOC_ERR_PDF_PARSE;
		goto fail;
	}
	return CVQ_DOC_OK;
fail:
	doc_pdf_close(d);
	return err;
}

void doc_pdf_close(struct doc_pdf *d)
{
	if (d->q)
		qpdf_cleanup(&d->q);
	d->q = NULL;
}

qpdf_oh doc_pdf_new_indirect(struct doc_pdf *d)
{
	return qpdf_make_indirect_object(d->q, qpdf_oh_new_null(d->q));
}

cvq_doc_err doc_pdf_text(struct doc_pdf *d, struct doc_buf *b, const char *utf8)
{
	qpdf_oh s = qpdf_oh_new_unicode_string(d->q, utf8);
	const char *txt = qpdf_oh_unparse(d->q, s);
	if (doc_pdf_failed(d) || !txt)
		return CVQ_DOC_ERR_ARG;
	return doc_buf_str(b, txt) ? CVQ_DOC_OK : CVQ_DOC_ERR_NOMEM;
}
