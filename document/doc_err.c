#include "cvq/doc.h"
#include "cvq/doc_version.h"

const char *cvq_doc_strerror(cvq_doc_err err)
{
	switch (err) {
	case CVQ_DOC_OK: return "success";
	case CVQ_DOC_ERR_ARG: return "invalid argument";
	case CVQ_DOC_ERR_NOMEM: return "out of memory";
	case CVQ_DOC_ERR_TOO_LARGE: return "document too large";
	case CVQ_DOC_ERR_PDF_PARSE: return "not a well-formed PDF";
	case CVQ_DOC_ERR_PDF_ENCRYPTED: return "encrypted PDF refused";
	case CVQ_DOC_ERR_PDF_UNSUPPORTED: return "PDF structure not supported";
	case CVQ_DOC_ERR_SIG_TOO_LARGE: return "signature larger than the space reserved";
	case CVQ_DOC_ERR_SIG_LAYOUT: return "signature byte range does not cover the document as one gap";
	case CVQ_DOC_ERR_STATE: return "call out of order";
	case CVQ_DOC_ERR_KEY: return "the seal key cannot be opened";
	case CVQ_DOC_ERR_SEAL: return "the signature or its timestamp could not be made";
	}
	return "unknown error";
}

const char *cvq_doc_version(void)
{
	return "0.1.0";
}
