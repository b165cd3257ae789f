/*
 * Incremental updates (ISO 32000-1 §7.5.6): the original bytes untouched,
 * then the changed and new objects, a cross-reference section for them
 * only, and a trailer whose /Prev names the previous section. When the
 * previous section is a cross-reference stream we write a stream too:
 * a reader that follows /Prev from a table into a stream-only file is
 * allowed to give up.
 */
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"

cvq_doc_err doc_update_init(struct doc_update *u, struct doc_pdf *pdf)
{
	memset(u, 0, sizeof *u);
	u->pdf = pdf;
	if (!doc_buf_add(&u->out, pdf->bytes, pdf->len))
		return CVQ_DOC_ERR_NOMEM;
	/* The update starts on a line of its own even when %%EOF ended the
	 * file without one. */
	if (pdf->bytes[pdf->len - 1] != '\n' && !doc_buf_str(&u->out, "\n"))
		return CVQ_DOC_ERR_NOMEM;
	return CVQ_DOC_OK;
}

cvq_doc_err doc_update_dirty(struct doc_update *u, qpdf_oh oh)
{
	qpdf_data q = u->pdf->q;
	if (!qpdf_oh_is_indirect(q, oh))
		return CVQ_DOC_ERR_ARG;
	int num = qpdf_oh_get_object_id(q, oh), gen = qpdf_oh_get_generation(q, oh);
	for (size_t i = 0; i < u->ndirty; i++)
		if (qpdf_oh_get_object_id(q, u->dirty[i]) == num &&
		    qpdf_oh_get_generation(q, u->dirty[i]) == gen)
			return CVQ_DOC_OK;
	if (u->ndirty == sizeof u->dirty / sizeof u->dirty[0])
		return CVQ_DOC_ERR_PDF_UNSUPPORTED;
	u->dirty[u->ndirty++] = oh;
	return CVQ_DOC_OK;
}

cvq_doc_err doc_update_touch(struct doc_update *u, qpdf_oh owner, qpdf_oh value)
{
	return doc_update_dirty(u, qpdf_oh_is_indirect(u->pdf->q, value) ? value : owner);
}

cvq_doc_err doc_update_begin_obj(struct doc_update *u, int num, int gen)
{
	if (u->nobj == DOC_UPDATE_MAX_OBJS)
		return CVQ_DOC_ERR_PDF_UNSUPPORTED;
	if (num < 1 || gen < 0 || gen > 65535)
		return CVQ_DOC_ERR_ARG;
	u->obj[u->nobj].num = num;
	u->obj[u->nobj].gen = gen;
	u->obj[u->nobj].off = u->out.len;
	u->nobj++;
	return doc_buf_printf(&u->out, "%d %d obj\n", num, gen) ? CVQ_DOC_OK : CVQ_DOC_ERR_NOMEM;
}

cvq_doc_err doc_update_end_obj(struct doc_update *u)
{
	return doc_buf_str(&u->out, "\nendobj\n") ? CVQ_DOC_OK : CVQ_DOC_ERR_NOMEM;
}

cvq_doc_err doc_update_stream(struct doc_update *u, qpdf_oh oh, const uint8_t *data,
                              size_t len)
{
	qpdf_data q = u->pdf->q;
	cvq_doc_err err = doc_update_begin_obj(u, qpdf_oh_get_object_id(q, oh),
	                                       qpdf_oh_get_generation(q, oh));
	if (err)
		return err;
	if (!doc_buf_printf(&u->out, "<< /Length %zu >>\nstream\n", len) ||
	    !doc_buf_add(&u->out, data, len) || !doc_buf_str(&u->out, "\nendstream"))
		return CVQ_DOC_ERR_NOMEM;
	return doc_update_end_obj(u);
}

static int cmp_obj(const void *a, const void *b)
{
	const int *x = a, *y = b;
	return (*x > *y) - (*x < *y);
}

/* The trailer keys that every revision repeats. /Encrypt never: we refuse
 * encrypted documents before getting here. */
static cvq_doc_err trailer_keys(struct doc_update *u, struct doc_buf *b)
{
	qpdf_data q = u->pdf->q;
	qpdf_oh t = qpdf_get_trailer(q);
	static const char *keys[] = { "/Root", "/Info", "/ID" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (!qpdf_oh_has_key(q, t, keys[i]))
			continue;
		const char *v = qpdf_oh_unparse(q, qpdf_oh_get_key(q, t, keys[i]));
		if (doc_pdf_failed(u->pdf) || !v)
			return CVQ_DOC_ERR_PDF_PARSE;
		if (!doc_buf_printf(b, " %s %s", keys[i], v))
			return CVQ_DOC_ERR_NOMEM;
	}
	return CVQ_DOC_OK;
}

static cvq_doc_err write_table(struct doc_update *u, long long size)
{
	struct doc_buf *o = &u->out;
	size_t xref_at = o->len;
	if (!doc_buf_str(o, "xref\n"))
		return CVQ_DOC_ERR_NOMEM;
	for (size_t i = 0; i < u->nobj;) {
		size_t j = i + 1;
		while (j < u->nobj && u->obj[j].num == u->obj[j - 1].num + 1)
			j++;
		if (!doc_buf_printf(o, "%d %zu\n", u->obj[i].num, j - i))
			return CVQ_DOC_ERR_NOMEM;
		for (; i < j; i++)
			if (!doc_buf_printf(o, "%010zu %05d n\r\n", u->obj[i].off, u->obj[i].gen))
				return CVQ_DOC_ERR_NOMEM;
	}
	if (!doc_buf_printf(o, "trailer\n<< /Size %lld /Prev %zu", size, u->pdf->prev_xref))
		return CVQ_DOC_ERR_NOMEM;
	cvq_doc_err err = trailer_keys(u, o);
	if (err)
		return err;
	return doc_buf_printf(o, " >>\nstartxref\n%zu\n%%%%EOF\n", xref_at) ? CVQ_DOC_OK
	                                                                     : CVQ_DOC_ERR_NOMEM;
}

static cvq_doc_err write_stream(struct doc_update *u, long long size)
{
	struct doc_buf *o = &u->out;
	/* The stream describes itself too: it is the last object, numbered
	 * /Size - 1. */
	int self = (int)size - 1;
	size_t self_at = o->len;
	u->obj[u->nobj].num = self;
	u->obj[u->nobj].gen = 0;
	u->obj[u->nobj].off = self_at;
	u->nobj++;
	struct doc_buf index = { 0 }, rows = { 0 };
	cvq_doc_err err = CVQ_DOC_ERR_NOMEM;
	for (size_t i = 0; i < u->nobj;) {
		size_t j = i + 1;
		while (j < u->nobj && u->obj[j].num == u->obj[j - 1].num + 1)
			j++;
		if (!doc_buf_printf(&index, "%s%d %zu", i ? " " : "", u->obj[i].num, j - i))
			goto out;
		for (; i < j; i++) {
			uint8_t row[7] = { 1, (uint8_t)(u->obj[i].off >> 24), (uint8_t)(u->obj[i].off >> 16),
			                   (uint8_t)(u->obj[i].off >> 8), (uint8_t)u->obj[i].off,
			                   (uint8_t)(u->obj[i].gen >> 8), (uint8_t)u->obj[i].gen };
			if (u->obj[i].off > 0xffffffffu || !doc_buf_add(&rows, row, sizeof row))
				goto out;
		}
	}
	if (!doc_buf_printf(o, "%d 0 obj\n<< /Type /XRef /Size %lld /Prev %zu /W [1 4 2] /Index [",
	                    self, size, u->pdf->prev_xref) ||
	    !doc_buf_add(o, index.p, index.len) ||
	    !doc_buf_printf(o, "] /Length %zu", rows.len))
		goto out;
	if ((err = trailer_keys(u, o)))
		goto out;
	err = CVQ_DOC_ERR_NOMEM;
	if (!doc_buf_str(o, " >>\nstream\n") || !doc_buf_add(o, rows.p, rows.len) ||
	    !doc_buf_printf(o, "\nendstream\nendobj\nstartxref\n%zu\n%%%%EOF\n", self_at))
		goto out;
	err = CVQ_DOC_OK;
out:
	doc_buf_free(&index);
	doc_buf_free(&rows);
	return err;
}

cvq_doc_err doc_update_finish(struct doc_update *u)
{
	qpdf_data q = u->pdf->q;
	cvq_doc_err err;
	for (size_t i = 0; i < u->ndirty; i++) {
		const char *body = qpdf_oh_unparse_resolved(q, u->dirty[i]);
		if (doc_pdf_failed(u->pdf) || !body)
			return CVQ_DOC_ERR_PDF_PARSE;
		/* unparse's buffer lives until the next qpdf call: copy first. */
		char *copy = strdup(body);
		if (!copy)
			return CVQ_DOC_ERR_NOMEM;
		err = doc_update_begin_obj(u, qpdf_oh_get_object_id(q, u->dirty[i]),
		                           qpdf_oh_get_generation(q, u->dirty[i]));
		if (!err && !doc_buf_str(&u->out, copy))
			err = CVQ_DOC_ERR_NOMEM;
		free(copy);
		if (err || (err = doc_update_end_obj(u)))
			return err;
	}
	if (u->nobj + 1 >= DOC_UPDATE_MAX_OBJS)
		return CVQ_DOC_ERR_PDF_UNSUPPORTED;
	/* Sorted by number, each number once: an entry written twice in one
	 * section would be ambiguous. */
	qsort(u->obj, u->nobj, sizeof u->obj[0], cmp_obj);
	long long size = u->pdf->size;
	for (size_t i = 0; i < u->nobj; i++) {
		if (i && u->obj[i].num == u->obj[i - 1].num)
			return CVQ_DOC_ERR_STATE;
		if (u->obj[i].num >= size)
			size = u->obj[i].num + 1;
	}
	if (u->pdf->prev_is_stream)
		return write_stream(u, size + 1);
	return write_table(u, size);
}

void doc_update_free(struct doc_update *u)
{
	doc_buf_free(&u->out);
}
