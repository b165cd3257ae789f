/*
 * cvq-admin document — documents sealed by the city (issue #14).
 *
 *   sign:   a PDF gets a PAdES revision (ETSI.CAdES.detached with
 *           signingCertificateV2, the city TSA's timestamp, the DSS with
 *           the CRLs given); any other file a detached CAdES .p7s.
 *   verify: what a partner (the water company) runs: each signature
 *           checked by libcvqverify against the anchors at the time its
 *           timestamp proves, revocation from the document's own DSS (and
 *           --crl), the seal's profile required; a French verdict.
 *
 * Exit codes: 0 done / valid, 6 refused (modified, not a city seal,
 * revoked…), 1 failed or undecided, 2 usage, 3 wrong PIN.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/doc.h>
#include <cvq/verify.h>

#include "ca_common.h"
#include "out_file.h"

static void
document_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin document sign --key KEY [--pin-source SRC] --cert CERT [--chain FILE]\n"
	"                 [--tsa URL [--tsa-anchors FILE] [--tsa-timeout S]] [--crl FILE]...\n"
	"                 [--dss-certs FILE] [--reason TEXT] [--location TEXT] [--name TEXT]\n"
	"                 [--detached] --out FILE IN\n"
	"       cvq-admin [--json] document verify --anchors FILE [--crl FILE]... [--policy OID]\n"
	"                 [--signature P7S] [--no-require-revocation] IN\n"
	"KEY is pkcs11:… (the seal's token; PIN from --pin-source) or a PEM key file\n"
	"(passphrase from --pin-source). A PDF gets a new signed revision (PAdES);\n"
	"any other file, or --detached, a CAdES .p7s written to --out. With --crl the\n"
	"PDF's signed revision carries a /DSS (certificates, CRLs; --dss-certs adds the\n"
	"TSA's): PAdES B-LT, checked offline.\n"
	"verify checks every signature of a PDF (or IN against --signature P7S).\n"
	"Exit codes: 0 valid/done, 6 refused, 1 failed or undecided, 2 usage, 3 wrong PIN.\n");
}

/* A whole file, up to the largest document we seal. */
static uint8_t *
read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0, k;
	uint8_t *b = NULL, *nb;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap || !b) {
			if (b && cap >= CVQ_DOC_PDF_MAX + 1)
				break;
			if (b)
				cap *= 2;
			if (!(nb = realloc(b, cap)))
				break;
			b = nb;
		}
		k = fread(b + n, 1, cap - n, f);
		if (!k)
			break;
		n += k;
	}
	if (f != stdin)
		fclose(f);
	if (b && n > CVQ_DOC_PDF_MAX) {
		free(b);
		errno = EFBIG;
		return NULL;
	}
	*len = n;
	return b;
}

static bool
is_pdf(const uint8_t *b, size_t n)
{
	return n >= 5 && memcmp(b, "%PDF-", 5) == 0;
}

static int
write_out(const char *path, const uint8_t *b, size_t n)
{
	struct cvq_admin_out o;

	if (cvq_admin_out_open(&o, path) != 0)
		return 0;
	if (fwrite(b, 1, n, o.f) != n) {
		cvq_admin_out_abort(&o);
		return 0;
	}
	return cvq_admin_out_commit(&o) == 0;
}

static const char *
level_name(enum cvq_doc_level l)
{
	return l == CVQ_DOC_LEVEL_B_LT ? "B-LT" : l == CVQ_DOC_LEVEL_B_T ? "B-T" : "B-B";
}

#define MAX_CRLS 16

static int
document_sign(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, 'k'}, {"pin-source", required_argument, NULL, 'p'},
		{"cert", required_argument, NULL, 'c'}, {"chain", required_argument, NULL, 'C'},
		{"tsa", required_argument, NULL, 't'}, {"tsa-anchors", required_argument, NULL, 'A'},
		{"tsa-timeout", required_argument, NULL, 'T'}, {"crl", required_argument, NULL, 'r'},
		{"reason", required_argument, NULL, 'R'}, {"location", required_argument, NULL, 'L'},
		{"name", required_argument, NULL, 'N'}, {"detached", no_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'}, {"dss-certs", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL, *pin = NULL, *cert_path = NULL, *chain_path = NULL, *out = NULL;
	const char *crl_paths[MAX_CRLS];
	size_t ncrl = 0;
	struct cvq_cades_tsa tsa = {0};
	const char *tsa_anchors = NULL;
	bool detached = false, have_tsa = false;
	struct cvq_doc_seal_params sp = {0};
	struct cvq_doc_seal_info info;
	struct cvq_doc_blob crls[MAX_CRLS];
	cvq_doc_signer *signer = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL, *certs = NULL, *extra = NULL;
	const char *extra_path = NULL;
	uint8_t *in = NULL, *signed_doc = NULL;
	size_t in_len = 0, signed_len = 0, i;
	long n;
	int c, rc = CVQ_ADMIN_EXIT_USAGE;
	cvq_doc_err e;

	memset(crls, 0, sizeof(crls));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'p': pin = optarg; break;
		case 'c': cert_path = optarg; break;
		case 'C': chain_path = optarg; break;
		case 't': tsa.url = optarg; have_tsa = true; break;
		case 'A': tsa_anchors = optarg; break;
		case 'T':
			if ((n = cvq_admin_number(optarg)) <= 0 || n > 600)
				goto usage;
			tsa.timeout_s = (unsigned)n;
			break;
		case 'r':
			if (ncrl == MAX_CRLS)
				goto usage;
			crl_paths[ncrl++] = optarg;
			break;
		case 'R': sp.reason = optarg; break;
		case 'L': sp.location = optarg; break;
		case 'N': sp.signer_name = optarg; break;
		case 'd': detached = true; break;
		case 'o': out = optarg; break;
		case 'D': extra_path = optarg; break;
		case 'h': document_usage(stdout); return CVQ_ADMIN_EXIT_OK;
		default: goto usage;
		}
	}
	if (!key || !cert_path || !out || optind != argc - 1)
		goto usage;
	rc = CVQ_ADMIN_EXIT_FAIL;
	if (!(in = read_all(argv[optind], &in_len))) {
		cvq_admin_error("cannot read %s", argv[optind]);
		goto out;
	}
	if (!(certs = cvq_doc_read_certs(cert_path)) || !(cert = sk_X509_shift(certs))) {
		cvq_admin_error("no certificate in %s", cert_path);
		goto out;
	}
	/* The seal certificate's file may hold its chain too. */
	chain = chain_path ? cvq_doc_read_certs(chain_path) : certs;
	if (chain_path && !chain) {
		cvq_admin_error("no certificate in %s", chain_path);
		goto out;
	}
	if (have_tsa && tsa_anchors) {
		if (!(tsa.trust = X509_STORE_new()) ||
		    X509_STORE_load_file(tsa.trust, tsa_anchors) != 1) {
			cvq_admin_error("cannot read the TSA anchors %s", tsa_anchors);
			goto out;
		}
	}
	if (extra_path && !(extra = cvq_doc_read_certs(extra_path))) {
		cvq_admin_error("no certificate in %s", extra_path);
		goto out;
	}
	for (i = 0; i < ncrl; i++)
		if (cvq_doc_read_crl(crl_paths[i], &crls[i]) != CVQ_DOC_OK) {
			cvq_admin_error("no CRL in %s", crl_paths[i]);
			goto out;
		}
	if ((e = cvq_doc_signer_open(key, pin, &signer)) != CVQ_DOC_OK) {
		cvq_admin_error("seal key %s: %s", key, cvq_doc_strerror(e));
		rc = CVQ_ADMIN_EXIT_PIN;
		goto out;
	}
	if (!cvq_doc_signer_matches(signer, cert)) {
		cvq_admin_error("the key does not match the certificate in %s", cert_path);
		goto out;
	}
	sp.signer = cert;
	sp.chain = chain;
	sp.sign = cvq_doc_signer_sign;
	sp.arg = signer;
	sp.tsa = have_tsa ? &tsa : NULL;
	sp.crls = crls;
	sp.dss_certs = extra;
	sp.ncrls = ncrl;
	if (!detached && is_pdf(in, in_len))
		e = cvq_doc_seal_pdf(&sp, in, in_len, &signed_doc, &signed_len, &info);
	else
		e = cvq_doc_seal_detached(&sp, in, in_len, &signed_doc, &signed_len, &info);
	if (e != CVQ_DOC_OK) {
		if (e == CVQ_DOC_ERR_SEAL)
			cvq_admin_error("%s: %s", cvq_doc_strerror(e), cvq_cades_strerror(info.cades_err));
		else
			cvq_admin_error("%s: %s", argv[optind], cvq_doc_strerror(e));
		rc = e == CVQ_DOC_ERR_PDF_PARSE || e == CVQ_DOC_ERR_PDF_ENCRYPTED ||
		     e == CVQ_DOC_ERR_PDF_UNSUPPORTED ? CVQ_ADMIN_EXIT_INVALID : CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	if (!write_out(out, signed_doc, signed_len)) {
		cvq_admin_error("cannot write %s", out);
		goto out;
	}
	if (opts->json) {
		char t[32];
		cvq_admin_json_print(json_pack("{s:s, s:s, s:s, s:I, s:o}", "out", out,
			"format", detached || !is_pdf(in, in_len) ? "cades-detached" : "pades",
			"level", level_name(info.level), "size", (json_int_t)signed_len,
			"timestamp", info.timestamp ? json_string(cvq_admin_time(info.timestamp, t))
			                            : json_null()));
	} else {
		printf("%s: sealed (%s, %s)\n", out,
		       detached || !is_pdf(in, in_len) ? "CAdES detached" : "PAdES", level_name(info.level));
	}
	rc = CVQ_ADMIN_EXIT_OK;
out:
	for (i = 0; i < ncrl; i++)
		OPENSSL_free((void *)crls[i].der);
	cvq_doc_signer_free(signer);
	free(in);
	free(signed_doc);
	X509_free(cert);
	if (chain != certs)
		sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(extra, X509_free);
	X509_STORE_free(tsa.trust);
	return rc;
usage:
	document_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}

/* One signature's verdict, as a line a person reads and as JSON. */
static json_t *
sig_report(const char *field, const cvq_verify_result *r, cvq_verify_err e, bool whole,
           bool json)
{
	char subj[512] = "", t[32];
	X509 *signer = cvq_verify_result_signer(r);
	time_t ts = cvq_verify_result_timestamp_time(r);

	if (signer)
		X509_NAME_oneline(X509_get_subject_name(signer), subj, sizeof(subj));
	if (json)
		return json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:o, s:b}", "field", field,
			"valid", e == CVQ_VERIFY_OK, "outcome", cvq_verify_code(e),
			"message", cvq_verify_result_detail(r), "message_fr", cvq_verify_sentence_fr(e),
			"signer", subj, "timestamp", ts ? json_string(cvq_admin_time(ts, t)) : json_null(),
			"whole_document", whole);
	printf("  %s: %s — %s\n", field, e == CVQ_VERIFY_OK ? "valid" : "REFUSED",
	       cvq_verify_result_detail(r));
	if (subj[0])
		printf("    signer:    %s\n", subj);
	printf("    timestamp: %s\n", ts ? cvq_admin_time(ts, t) : "none");
	printf("    covers:    %s\n", whole ? "the whole document" : "an earlier revision");
	return NULL;
}

static int
document_verify(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"anchors", required_argument, NULL, 'a'}, {"crl", required_argument, NULL, 'r'},
		{"policy", required_argument, NULL, 'p'}, {"signature", required_argument, NULL, 's'},
		{"no-require-revocation", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	cvq_verify_ctx *ctx = cvq_verify_ctx_new();
	const char *sig_path = NULL, *verdict_fr;
	bool anchors = false, all_ok = true, undecided = false, last_whole = false;
	struct cvq_doc_pdf_sig *sigs = NULL;
	struct cvq_doc_dss_data dss = {0};
	size_t nsigs = 0, i, doc_len = 0, p7_len = 0;
	uint8_t *doc = NULL, *p7 = NULL, *content = NULL;
	json_t *jsigs = opts->json ? json_array() : NULL;
	int c, rc = CVQ_ADMIN_EXIT_USAGE;
	cvq_verify_err e;
	cvq_doc_err de;

	if (!ctx) {
		cvq_admin_error("out of memory");
		return CVQ_ADMIN_EXIT_FAIL;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		e = CVQ_VERIFY_OK;
		switch (c) {
		case 'a': e = cvq_verify_add_anchors_file(ctx, optarg); anchors = true; break;
		case 'r': e = cvq_verify_add_crl_file(ctx, optarg); break;
		case 'p': e = cvq_verify_set_policy(ctx, optarg); break;
		case 's': sig_path = optarg; break;
		case 'n': cvq_verify_set_require_revocation(ctx, false); break;
		case 'h': document_usage(stdout); rc = CVQ_ADMIN_EXIT_OK; goto out;
		default: goto usage;
		}
		if (e != CVQ_VERIFY_OK) {
			cvq_admin_error("%s: %s", optarg, cvq_verify_strerror(e));
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
	}
	if (!anchors || optind != argc - 1)
		goto usage;
	rc = CVQ_ADMIN_EXIT_FAIL;
	if (!(doc = read_all(argv[optind], &doc_len))) {
		cvq_admin_error("cannot read %s", argv[optind]);
		goto out;
	}
	if (sig_path) {
		cvq_verify_result *r = NULL;

		if (!(p7 = read_all(sig_path, &p7_len))) {
			cvq_admin_error("cannot read %s", sig_path);
			goto out;
		}
		e = cvq_verify_detached(ctx, p7, p7_len, doc, doc_len, CVQ_VERIFY_FLAG_SEAL, &r);
		if (!opts->json)
			printf("%s:\n", argv[optind]);
		json_t *j = r ? sig_report(sig_path, r, e, true, opts->json) : NULL;
		if (j)
			json_array_append_new(jsigs, j);
		all_ok = e == CVQ_VERIFY_OK;
		undecided = e == CVQ_VERIFY_ERR_REVOCATION_UNKNOWN;
		last_whole = true;
		nsigs = 1;
		cvq_verify_result_free(r);
	} else {
		if ((de = cvq_doc_pdf_signatures(doc, doc_len, &sigs, &nsigs)) != CVQ_DOC_OK) {
			cvq_admin_error("%s: %s", argv[optind], cvq_doc_strerror(de));
			rc = CVQ_ADMIN_EXIT_INVALID;
			goto out;
		}
		/* Revocation data the document carries (B-LT): checked offline. */
		if (cvq_doc_pdf_dss_read(doc, doc_len, &dss) == CVQ_DOC_OK) {
			for (i = 0; i < dss.ncrls; i++) {
				const unsigned char *q = dss.crls[i].der;
				X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)dss.crls[i].len);
				if (crl) {
					cvq_verify_add_crl(ctx, crl);
					X509_CRL_free(crl);
				}
			}
			for (i = 0; i < dss.ncerts; i++) {
				const unsigned char *q = dss.certs[i].der;
				X509 *x = d2i_X509(NULL, &q, (long)dss.certs[i].len);
				if (x) {
					cvq_verify_add_intermediate(ctx, x);
					X509_free(x);
				}
			}
			ERR_clear_error();
		}
		if (!opts->json)
			printf("%s: %zu signature(s)\n", argv[optind], nsigs);
		for (i = 0; i < nsigs; i++) {
			struct cvq_doc_pdf_sig *s = &sigs[i];
			cvq_verify_result *r = NULL;
			size_t l1 = s->range[1], l2 = s->range[3];

			free(content);
			if (!(content = malloc(l1 + l2 + 1))) {
				cvq_admin_error("out of memory");
				goto out;
			}
			memcpy(content, doc, l1);
			memcpy(content + l1, doc + s->range[2], l2);
			e = cvq_verify_detached(ctx, s->cms, s->cms_len, content, l1 + l2,
			                        CVQ_VERIFY_FLAG_SEAL, &r);
			if (e == CVQ_VERIFY_OK && strcmp(s->subfilter, "ETSI.CAdES.detached") != 0)
				e = CVQ_VERIFY_ERR_MALFORMED;
			json_t *j = r ? sig_report(s->field, r, e, s->whole_document, opts->json) : NULL;
			if (j)
				json_array_append_new(jsigs, j);
			if (e != CVQ_VERIFY_OK)
				all_ok = false;
			if (e == CVQ_VERIFY_ERR_REVOCATION_UNKNOWN)
				undecided = true;
			last_whole = s->whole_document;
			cvq_verify_result_free(r);
		}
	}
	/* A document is the city's when every seal holds and the last covers
	 * every byte: what came after a seal is not sealed. Our B-LT puts the
	 * /DSS inside the sealed revision, so nothing needs to come after. */
	if (nsigs == 0) {
		verdict_fr = "Ce document ne porte aucun sceau de la ville.";
		rc = CVQ_ADMIN_EXIT_INVALID;
	} else if (!all_ok) {
		verdict_fr = undecided ? "Impossible de conclure : l'état de révocation du sceau est inconnu."
		                       : "Document refusé : un sceau est invalide ou le document a été modifié.";
		rc = undecided ? CVQ_ADMIN_EXIT_FAIL : CVQ_ADMIN_EXIT_INVALID;
	} else if (!last_whole) {
		/* Bytes after the last seal are a revision nobody sealed: we do
		 * not try to tell a harmless one from a changed page. */
		verdict_fr = "Document refusé : il a été modifié après son dernier sceau.";
		rc = CVQ_ADMIN_EXIT_INVALID;
	} else {
		verdict_fr = "Document authentique : scellé par la ville et intact.";
		rc = CVQ_ADMIN_EXIT_OK;
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:b, s:s, s:o}", "valid", rc == CVQ_ADMIN_EXIT_OK,
		                               "message_fr", verdict_fr, "signatures", jsigs));
	else
		printf("%s\n", verdict_fr);
	jsigs = NULL;
out:
	json_decref(jsigs);
	cvq_doc_pdf_signatures_free(sigs, nsigs);
	cvq_doc_pdf_dss_free(&dss);
	free(content);
	free(doc);
	free(p7);
	cvq_verify_ctx_free(ctx);
	return rc;
usage:
	document_usage(stderr);
	rc = CVQ_ADMIN_EXIT_USAGE;
	goto out;
}

int
cvq_admin_cmd_document(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	if (argc < 2) {
		document_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "sign"))
		return document_sign(argc - 1, argv + 1, opts);
	if (!strcmp(argv[1], "verify"))
		return document_verify(argc - 1, argv + 1, opts);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		document_usage(stdout);
		return CVQ_ADMIN_EXIT_OK;
	}
	document_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
