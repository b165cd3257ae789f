/*
 * libcvqdoc on hostile PDFs: listing signatures must never crash or read
 * outside the input, and whatever we can begin to sign must come back, once
 * signed, as a document whose signature we find with the right ranges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvq_doc_pdf_sig *sigs = NULL;
	size_t n = 0;
	if (cvq_doc_pdf_signatures(data, size, &sigs, &n) == CVQ_DOC_OK) {
		for (size_t i = 0; i < n; i++)
			if (sigs[i].revision_end > size || sigs[i].range[1] >= sigs[i].range[2])
				abort();
		cvq_doc_pdf_signatures_free(sigs, n);
	}
	cvq_doc_pdf_sign *s = NULL;
	struct cvq_doc_pdf_sign_opts o = { .contents_max = 64, .when = 1 };
	if (cvq_doc_pdf_sign_begin(data, size, &o, &s) != CVQ_DOC_OK)
		return 0;
	/* A stand-in "CMS": one DER SEQUENCE, enough for the layout checks. */
	static const uint8_t fake[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	uint8_t *out = NULL;
	size_t out_len = 0;
	if (cvq_doc_pdf_sign_finish(s, fake, sizeof fake, &out, &out_len) != CVQ_DOC_OK)
		abort();
	cvq_doc_pdf_sign_free(s);
	sigs = NULL;
	n = 0;
	cvq_doc_err e = cvq_doc_pdf_signatures(out, out_len, &sigs, &n);
	/* Our own revision must read back, its signature last and whole. */
	if (e == CVQ_DOC_OK) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			if (sigs[i].whole_document && sigs[i].cms_len == sizeof fake &&
			    memcmp(sigs[i].cms, fake, sizeof fake) == 0)
				found = true;
		if (!found)
			abort();
	}
	cvq_doc_pdf_signatures_free(sigs, n);
	free(out);
	return 0;
}
