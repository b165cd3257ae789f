/*
 * libcvqdoc — documents signed by the city: PAdES (ETSI EN 319 142)
 * signatures on existing PDFs, as incremental updates.
 *
 * This library knows PDF structure only. It never builds or checks CMS:
 * the caller asks for the bytes a signature covers (the /ByteRange),
 * makes the CAdES signature with libcvqcades (or any CMS producer), and
 * hands the DER back to be placed into /Contents. Verification goes the
 * other way: cvq_doc_pdf_signatures() lists each signature with the
 * ranges it covers, for libcvqverify to check.
 *
 * Parsing is libqpdf's (docs/dependencies.md): we read objects through
 * it and write only what an incremental update adds, so earlier
 * revisions — and their signatures — stay byte for byte as they were.
 */
#ifndef CVQ_DOC_H
#define CVQ_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cvq/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_doc_err {
	CVQ_DOC_OK = 0,
	CVQ_DOC_ERR_ARG,           /* a NULL or out-of-range argument */
	CVQ_DOC_ERR_NOMEM,
	CVQ_DOC_ERR_TOO_LARGE,     /* the document exceeds CVQ_DOC_PDF_MAX */
	CVQ_DOC_ERR_PDF_PARSE,     /* not a PDF qpdf reads without repairing it */
	CVQ_DOC_ERR_PDF_ENCRYPTED, /* encrypted PDFs are refused, not decrypted */
	CVQ_DOC_ERR_PDF_UNSUPPORTED, /* a structure we will not update (no pages…) */
	CVQ_DOC_ERR_SIG_TOO_LARGE, /* the CMS does not fit the reserved /Contents */
	CVQ_DOC_ERR_SIG_LAYOUT,    /* a signature whose /ByteRange is not one gap */
	CVQ_DOC_ERR_STATE,         /* a call out of order (finish before begin…) */
	CVQ_DOC_ERR_SEAL,          /* the CAdES signature or its timestamp failed (info->cades_err) */
	CVQ_DOC_ERR_KEY,           /* the seal key cannot be opened (file, token, PIN) */
} cvq_doc_err;

CVQ_EXPORT const char *cvq_doc_strerror(cvq_doc_err err);

/* Largest document read or written: 256 MiB (a scanned register is a few). */
#define CVQ_DOC_PDF_MAX ((size_t)256 << 20)
/* Default and largest space reserved for the CMS in /Contents. */
#define CVQ_DOC_CONTENTS_DEFAULT 16384u
#define CVQ_DOC_CONTENTS_MAX 262144u

/* Validation data for the Document Security Store (PAdES B-LT). */
struct cvq_doc_blob {
	const uint8_t *der;
	size_t len;
};
struct cvq_doc_dss {
	const struct cvq_doc_blob *certs;
	size_t ncerts;
	const struct cvq_doc_blob *crls;
	size_t ncrls;
	const struct cvq_doc_blob *ocsps; /* DER OCSPResponse */
	size_t nocsps;
};

struct cvq_doc_pdf_sign_opts {
	const char *field_name;  /* NULL: "Signature<n>", unique in the form */
	const char *reason;      /* optional, UTF-8 */
	const char *location;    /* optional, UTF-8 */
	const char *signer_name; /* optional, UTF-8 */
	time_t when;             /* /M; 0: now */
	size_t contents_max;     /* bytes of DER reserved; 0: the default */
	/* Validation data put in the signed revision itself (a /DSS the
	 * signature covers), or NULL. */
	const struct cvq_doc_dss *dss;
};

typedef struct cvq_doc_pdf_sign cvq_doc_pdf_sign;

/*
 * Prepare a new revision of `pdf` with an empty signature (a signature
 * field on the first page, invisible, and its /V dictionary with a
 * reserved /Contents). `pdf` is copied. Returns CVQ_DOC_ERR_PDF_* for a
 * document that cannot be updated safely.
 */
CVQ_EXPORT cvq_doc_err cvq_doc_pdf_sign_begin(const uint8_t *pdf, size_t len,
                                              const struct cvq_doc_pdf_sign_opts *opts,
                                              cvq_doc_pdf_sign **out);

/*
 * The two byte ranges the signature covers (everything but /Contents'
 * hex string), in order; valid until cvq_doc_pdf_sign_free().
 */
CVQ_EXPORT void cvq_doc_pdf_sign_ranges(const cvq_doc_pdf_sign *s,
                                        const uint8_t **r1, size_t *r1_len,
                                        const uint8_t **r2, size_t *r2_len);

/*
 * Put the DER CMS into /Contents and return the signed document (malloc'd,
 * the caller frees). CVQ_DOC_ERR_SIG_TOO_LARGE when it does not fit: begin
 * again with a larger contents_max.
 */
CVQ_EXPORT cvq_doc_err cvq_doc_pdf_sign_finish(cvq_doc_pdf_sign *s,
                                               const uint8_t *cms, size_t cms_len,
                                               uint8_t **out, size_t *out_len);

CVQ_EXPORT void cvq_doc_pdf_sign_free(cvq_doc_pdf_sign *s);


/*
 * Append a revision that adds (or extends) the catalog's /DSS with the
 * given certificates, CRLs and OCSP responses. Earlier signatures stay
 * valid: this revision is outside their byte ranges, as EN 319 142 allows.
 */
CVQ_EXPORT cvq_doc_err cvq_doc_pdf_add_dss(const uint8_t *pdf, size_t len,
                                           const struct cvq_doc_dss *dss,
                                           uint8_t **out, size_t *out_len);

/* One signature found in a document, for its verifier. */
struct cvq_doc_pdf_sig {
	char *field;        /* the field's /T, UTF-8 */
	char *subfilter;    /* e.g. "ETSI.CAdES.detached" */
	uint8_t *cms;       /* /Contents without the trailing zero padding */
	size_t cms_len;
	size_t range[4];    /* /ByteRange */
	size_t revision_end; /* range[2] + range[3] */
	bool whole_document; /* the ranges reach the end of the file */
	size_t dss_after;   /* number of /DSS entries (certs+crls+ocsps) in the document */
};

/*
 * Every signature field with a value, in the order of the form. A
 * signature whose ranges do not start at 0 and leave exactly its own
 * /Contents out is reported with CVQ_DOC_ERR_SIG_LAYOUT for the whole
 * call: such a document is refused, not half-checked.
 */
CVQ_EXPORT cvq_doc_err cvq_doc_pdf_signatures(const uint8_t *pdf, size_t len,
                                              struct cvq_doc_pdf_sig **out, size_t *n);
CVQ_EXPORT void cvq_doc_pdf_signatures_free(struct cvq_doc_pdf_sig *sigs, size_t n);

/* ---- sealing: the PDF revision, CAdES, timestamp and DSS in one call ---- */

#include <cvq/cades.h>

enum cvq_doc_level {
	CVQ_DOC_LEVEL_B_B = 0, /* signature only */
	CVQ_DOC_LEVEL_B_T,     /* + the city TSA's signature timestamp */
	CVQ_DOC_LEVEL_B_LT,    /* + certificates, CRLs, OCSP answers in the DSS */
};

struct cvq_doc_seal_params {
	X509 *signer;              /* the seal certificate */
	STACK_OF(X509) *chain;     /* up to (not necessarily including) the anchor */
	cvq_cades_sign_fn sign;    /* signs with the seal key (token or file) */
	void *arg;
	const struct cvq_cades_tsa *tsa; /* NULL: B-B */
	/* Validation data for B-LT (PDF only), put in the /DSS of the signed
	 * revision with the signer's certificate, the chain and dss_certs
	 * (the TSA's, say): the signature covers it, and a partner checks the
	 * seal offline. With no CRL nor OCSP answer, no /DSS. */
	STACK_OF(X509) *dss_certs;
	const struct cvq_doc_blob *crls;
	size_t ncrls;
	const struct cvq_doc_blob *ocsps;
	size_t nocsps;
	const char *reason, *location, *signer_name; /* the PDF's /Reason… */
	time_t when;               /* 0: now */
};

struct cvq_doc_seal_info {
	enum cvq_doc_level level;
	time_t timestamp;          /* the token's genTime (B-T and up), else 0 */
	cvq_cades_err cades_err;   /* when CVQ_DOC_ERR_SEAL: what libcvqcades said */
};

/*
 * Seal a PDF: a new revision signed with an ETSI.CAdES.detached signature
 * (signingCertificateV2, no signingTime: the claimed time is /M), then
 * the TSA's token, then the DSS revision. Earlier revisions and their
 * signatures are kept. *out is malloc'd.
 */
CVQ_EXPORT cvq_doc_err cvq_doc_seal_pdf(const struct cvq_doc_seal_params *p,
                                        const uint8_t *pdf, size_t len,
                                        uint8_t **out, size_t *out_len,
                                        struct cvq_doc_seal_info *info);

/* Any other document: a detached CAdES signature (a .p7s) over its bytes,
 * with signingTime and, when p->tsa, its timestamp. */
CVQ_EXPORT cvq_doc_err cvq_doc_seal_detached(const struct cvq_doc_seal_params *p,
                                             const uint8_t *doc, size_t len,
                                             uint8_t **p7s, size_t *p7s_len,
                                             struct cvq_doc_seal_info *info);

/* ---- the files a sealer is configured with ---- */

/* Every PEM certificate of a file (the seal's, its chain, the TSA's), in
 * order; NULL when it cannot be read or holds none. */
CVQ_EXPORT STACK_OF(X509) *cvq_doc_read_certs(const char *path);
/* A CRL file, PEM or DER, as DER for the DSS; OPENSSL_free() b->der. */
CVQ_EXPORT cvq_doc_err cvq_doc_read_crl(const char *path, struct cvq_doc_blob *b);

/* ---- the seal key: a file or a PKCS#11 token ---- */

typedef struct cvq_doc_signer cvq_doc_signer;

/*
 * Open the seal key: "pkcs11:…" (RFC 7512, PIN from `secret_source`:
 * "file:PATH", "fd:N", "pinentry", as every cvq secret) or a PEM/PKCS#8
 * file (passphrase from `secret_source`, NULL for an unencrypted key).
 * Thread-safe to use from one thread at a time (a token session).
 */
CVQ_EXPORT cvq_doc_err cvq_doc_signer_open(const char *key, const char *secret_source,
                                           cvq_doc_signer **out);
CVQ_EXPORT void cvq_doc_signer_free(cvq_doc_signer *s);
/* The callback for cvq_doc_seal_params.sign / libcvqcades, arg = the signer. */
CVQ_EXPORT int cvq_doc_signer_sign(void *signer, const uint8_t *tbs, size_t tbs_len,
                                   const uint8_t *digest, size_t digest_len,
                                   uint8_t *sig, size_t *siglen);
/* Whether `cert` carries this key's public key. */
CVQ_EXPORT bool cvq_doc_signer_matches(const cvq_doc_signer *s, X509 *cert);

/* ---- what a document's Document Security Store holds ---- */

struct cvq_doc_dss_data {
	struct cvq_doc_blob *certs, *crls, *ocsps; /* der points into malloc'd copies */
	size_t ncerts, ncrls, nocsps;
};
CVQ_EXPORT cvq_doc_err cvq_doc_pdf_dss_read(const uint8_t *pdf, size_t len,
                                            struct cvq_doc_dss_data *out);
CVQ_EXPORT void cvq_doc_pdf_dss_free(struct cvq_doc_dss_data *d);

#ifdef __cplusplus
}
#endif
#endif /* CVQ_DOC_H */
