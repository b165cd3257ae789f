/* libcvqdoc internals: a growing buffer, the qpdf view of a document and
 * the incremental-update writer shared by signing and the DSS. */
#ifndef CVQ_DOC_INT_H
#define CVQ_DOC_INT_H

#include <qpdf/qpdf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvq/doc.h"

struct doc_buf {
	uint8_t *p;
	size_t len, cap;
};
bool doc_buf_add(struct doc_buf *b, const void *data, size_t len);
bool doc_buf_str(struct doc_buf *b, const char *s);
bool doc_buf_printf(struct doc_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void doc_buf_free(struct doc_buf *b);

/* One document as qpdf reads it, plus what qpdf does not tell: where the
 * last cross-reference section starts and whether it is a stream. */
struct doc_pdf {
	qpdf_data q;
	const uint8_t *bytes; /* not owned; must outlive the struct */
	size_t len;
	size_t prev_xref;
	bool prev_is_stream;
	long long size; /* the newest trailer's /Size */
};
cvq_doc_err doc_pdf_open(struct doc_pdf *d, const uint8_t *bytes, size_t len);
void doc_pdf_close(struct doc_pdf *d);
/* A fresh indirect object number (qpdf reserves it; we write its body). */
qpdf_oh doc_pdf_new_indirect(struct doc_pdf *d);
bool doc_pdf_failed(struct doc_pdf *d);

/* The indirect objects a revision rewrites (modified in qpdf's memory
 * and written with unparse_resolved) and the new ones we write by hand. */
#define DOC_UPDATE_MAX_OBJS 4096
struct doc_update {
	struct doc_pdf *pdf;
	struct doc_buf out; /* the whole new file: old bytes, then the update */
	struct { int num, gen; size_t off; } obj[DOC_UPDATE_MAX_OBJS];
	size_t nobj;
	qpdf_oh dirty[64];
	size_t ndirty;
};
cvq_doc_err doc_update_init(struct doc_update *u, struct doc_pdf *pdf);
/* Remember that indirect object `oh` changed and must be written again. */
cvq_doc_err doc_update_dirty(struct doc_update *u, qpdf_oh oh);
/* The object that owns a value at `value` inside `owner`: the value itself
 * when it is indirect, the owner otherwise. */
cvq_doc_err doc_update_touch(struct doc_update *u, qpdf_oh owner, qpdf_oh value);
/* Start "num gen obj"; the caller writes the body; then doc_update_end_obj. */
cvq_doc_err doc_update_begin_obj(struct doc_update *u, int num, int gen);
cvq_doc_err doc_update_end_obj(struct doc_update *u);
/* A stream object holding `data` as is (no filter). */
cvq_doc_err doc_update_stream(struct doc_update *u, qpdf_oh oh, const uint8_t *data,
                              size_t len);
/* Write the dirty objects, the cross-reference section (a table or a
 * stream, as the previous one) and the trailer. The file is u->out. */
cvq_doc_err doc_update_finish(struct doc_update *u);
void doc_update_free(struct doc_update *u);

/* Add (or extend) the catalog's /DSS in the revision u is writing. */
cvq_doc_err doc_dss_add(struct doc_update *u, const struct cvq_doc_dss *dss);

/* A PDF string for UTF-8 text, as qpdf encodes it (PDFDocEncoding or
 * UTF-16BE), appended to b. */
cvq_doc_err doc_pdf_text(struct doc_pdf *d, struct doc_buf *b, const char *utf8);

#endif
