/* The Document Security Store (ETSI EN 319 142-1 §5.4.2): certificates,
 * CRLs and OCSP responses in the catalog, so a partner checks a seal years
 * later without asking the city anything. */
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"

static cvq_doc_err add_list(struct doc_update *u, qpdf_oh dss, qpdf_oh dss_owner,
                            const char *key, const struct cvq_doc_blob *items, size_t n)
{
	qpdf_data q = u->pdf->q;
	cvq_doc_err err;
	if (!n)
		return CVQ_DOC_OK;
	if (!items)
		return CVQ_DOC_ERR_ARG;
	qpdf_oh arr = qpdf_oh_get_key(q, dss, key);
	if (!qpdf_oh_is_array(q, arr)) {
		arr = qpdf_oh_new_array(q);
		qpdf_oh_replace_key(q, dss, key, arr);
	} else if ((err = doc_update_touch(u, dss_owner, arr))) {
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		if (!items[i].der || !items[i].len || items[i].len > CVQ_DOC_PDF_MAX / 4)
			return CVQ_DOC_ERR_ARG;
		qpdf_oh st = doc_pdf_new_indirect(u->pdf);
		if (doc_pdf_failed(u->pdf))
			return CVQ_DOC_ERR_PDF_PARSE;
		if ((err = doc_update_stream(u, st, items[i].der, items[i].len)))
			return err;
		qpdf_oh_append_item(q, arr, st);
	}
	return doc_pdf_failed(u->pdf) ? CVQ_DOC_ERR_PDF_PARSE : CVQ_DOC_OK;
}

cvq_doc_err doc_dss_add(struct doc_update *u, const struct cvq_doc_dss *dss)
{
	qpdf_data q = u->pdf->q;
	cvq_doc_err err;
	qpdf_oh root = qpdf_get_root(q);
	qpdf_oh store = qpdf_oh_get_key(q, root, "/DSS");
	qpdf_oh owner;
	if (!qpdf_oh_is_dictionary(q, store)) {
		store = qpdf_oh_new_dictionary(q);
		qpdf_oh_replace_key(q, root, "/DSS", store);
		owner = root;
	} else {
		owner = qpdf_oh_is_indirect(q, store) ? store : root;
	}
	if ((err = doc_update_dirty(u, owner)))
		return err;
	if ((err = add_list(u, store, owner, "/Certs", dss->certs, dss->ncerts)) ||
	    (err = add_list(u, store, owner, "/CRLs", dss->crls, dss->ncrls)) ||
	    (err = add_list(u, store, owner, "/OCSPs", dss->ocsps, dss->nocsps)))
		return err;
	return CVQ_DOC_OK;
}

cvq_doc_err cvq_doc_pdf_add_dss(const uint8_t *pdf, size_t len, const struct cvq_doc_dss *dss,
                                uint8_t **out, size_t *out_len)
{
	if (!pdf || !dss || !out || !out_len)
		return CVQ_DOC_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	struct doc_pdf d;
	struct doc_update u;
	memset(&u, 0, sizeof u);
	cvq_doc_err err = doc_pdf_open(&d, pdf, len);
	if (err)
		return err;
	if ((err = doc_update_init(&u, &d)))
		goto out;
	if ((err = doc_dss_add(&u, dss)) || (err = doc_update_finish(&u)))
		goto out;
	*out = u.out.p;
	*out_len = u.out.len;
	u.out.p = NULL;
out:
	doc_update_free(&u);
	doc_pdf_close(&d);
	return err;
}

/* Each stream of one /DSS array, raw (we write them unfiltered; a filtered
 * one from another producer is decoded by qpdf). */
static cvq_doc_err read_list(struct doc_pdf *d, qpdf_oh dss, const char *key,
                             struct cvq_doc_blob **out, size_t *n)
{
	qpdf_data q = d->q;
	qpdf_oh arr = qpdf_oh_get_key(q, dss, key);
	*out = NULL;
	*n = 0;
	if (!qpdf_oh_is_array(q, arr))
		return CVQ_DOC_OK;
	int count = qpdf_oh_get_array_n_items(q, arr);
	if (count > 4096)
		return CVQ_DOC_ERR_PDF_UNSUPPORTED;
	if (count <= 0)
		return CVQ_DOC_OK;
	if (!(*out = calloc((size_t)count, sizeof **out)))
		return CVQ_DOC_ERR_NOMEM;
	for (int i = 0; i < count; i++) {
		qpdf_oh st = qpdf_oh_get_array_item(q, arr, i);
		unsigned char *buf = NULL;
		size_t len = 0;
		if (!qpdf_oh_is_stream(q, st) ||
		    (qpdf_oh_get_stream_data(q, st, qpdf_dl_generalized, NULL, &buf, &len) & QPDF_ERRORS)) {
			doc_pdf_failed(d);
			free(buf);
			continue; /* a broken entry is no evidence: the verifier goes without it */
		}
		if (!buf || !len || len > (16u << 20)) {
			free(buf);
			continue;
		}
		(*out)[*n].der = buf;
		(*out)[*n].len = len;
		(*n)++;
	}
	return CVQ_DOC_OK;
}

cvq_doc_err cvq_doc_pdf_dss_read(const uint8_t *pdf, size_t len, struct cvq_doc_dss_data *out)
{
	if (!pdf || !out)
		return CVQ_DOC_ERR_ARG;
	memset(out, 0, sizeof *out);
	struct doc_pdf d;
	cvq_doc_err err = doc_pdf_open(&d, pdf, len);
	if (err)
		return err;
	qpdf_oh dss = qpdf_oh_get_key(d.q, qpdf_get_root(d.q), "/DSS");
	if (qpdf_oh_is_dictionary(d.q, dss) &&
	    ((err = read_list(&d, dss, "/Certs", &out->certs, &out->ncerts)) ||
	     (err = read_list(&d, dss, "/CRLs", &out->crls, &out->ncrls)) ||
	     (err = read_list(&d, dss, "/OCSPs", &out->ocsps, &out->nocsps))))
		cvq_doc_pdf_dss_free(out);
	doc_pdf_close(&d);
	return err;
}

static void free_list(struct cvq_doc_blob *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		free((void *)b[i].der);
	free(b);
}

void cvq_doc_pdf_dss_free(struct cvq_doc_dss_data *d)
{
	if (!d)
		return;
	free_list(d->certs, d->ncerts);
	free_list(d->crls, d->ncrls);
	free_list(d->ocsps, d->nocsps);
	memset(d, 0, sizeof *d);
}
