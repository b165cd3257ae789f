/*
 * cvq-admin verify — check a receipt (or a certificate) the way a partner
 * does, with libcvqverify: signature, signer profile, chain at the time a
 * trusted timestamp proves, revocation by reason. Nothing of the CA is
 * opened: the anchors, CRLs and OCSP responder are named on the command
 * line, as a partner would have them.
 *
 * Exit codes: 0 valid, 6 refused (the outcome says why), 1 undecided
 * (revocation status unknown, unreadable input), 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cvq/verify.h>
#include <cvq/verify_crl.h>

#include "ca_common.h"

static void
verify_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin [--json] verify --anchors FILE [--intermediates FILE] [--crl FILE]...\n"
	"                 [--ocsp [URL]] [--ocsp-timeout S] [--policy OID] [--no-require-revocation]\n"
	"                 [--crl-url URL]... [--fetch-crls] [--content FILE]\n"
	"                 (RECEIPT | --cert CERT [--signing])\n"
	"RECEIPT is a file (DER or base64) or '-' for stdin. --anchors, --intermediates and\n"
	"--crl may be repeated. --ocsp without URL asks the certificate's responder (AIA).\n"
	"--content writes the signed content of a valid receipt to FILE.\n"
	"--crl-url fetches a CRL (http) before checking; --fetch-crls also those of the CRL\n"
	"distribution points in the anchors, intermediates and the receipt's certificates.\n"
	"A fetched CRL is used only when an anchor or intermediate signed it; --ocsp-timeout\n"
	"also bounds each fetch.\n"
	"Exit codes: 0 valid, 6 refused, 1 undecided (revocation unknown, bad input), 2 usage.\n");
}

/* The whole file (or stdin), at most 1 MiB + 1 to notice a larger one. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = (1u << 20) + 1, n = 0, k;
	uint8_t *b;

	if (!f)
		return NULL;
	b = malloc(cap);
	while (b && n < cap && (k = fread(b + n, 1, cap - n, f)) > 0)
		n += k;
	if (f != stdin)
		fclose(f);
	*len = n;
	return b;
}

/* A receipt is DER (starts with SEQUENCE) or its base64, as cvqd returns it. */
static uint8_t *
to_der(uint8_t *in, size_t len, size_t *out_len)
{
	size_t i, j = 0;
	uint8_t *clean, *out;
	int n, pad = 0;

	if (len && in[0] == 0x30) {
		*out_len = len;
		return in;
	}
	clean = malloc(len + 1);
	out = malloc(len + 3);
	if (!clean || !out)
		goto fail;
	for (i = 0; i < len; i++)
		if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ')
			clean[j++] = in[i];
	if (j == 0 || j % 4)
		goto fail;
	pad = (clean[j - 1] == '=') + (j > 1 && clean[j - 2] == '=');
	n = EVP_DecodeBlock(out, clean, (int)j);
	if (n < pad)
		goto fail;
	free(clean);
	free(in);
	*out_len = (size_t)(n - pad);
	return out;
fail:
	free(clean);
	free(out);
	free(in);
	return NULL;
}

static json_t *
cert_json(X509 *x)
{
	char subj[512] = "", iss[512] = "";
	BIGNUM *bn;
	char *hex;
	json_t *j;

	if (!x)
		return json_null();
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	X509_NAME_oneline(X509_get_issuer_name(x), iss, sizeof(iss));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	j = json_pack("{s:s, s:s, s:s}", "subject", subj, "issuer", iss, "serial", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
	return j;
}

static json_t *
time_json(time_t t)
{
	char buf[32];

	return t ? json_string(cvq_admin_time(t, buf)) : json_null();
}

static const char *
status_name(cvq_verify_cert_status s)
{
	return s == CVQ_VERIFY_CERT_GOOD ? "good" : s == CVQ_VERIFY_CERT_REVOKED ? "revoked" : "unknown";
}

static void
report(const cvq_verify_result *r, cvq_verify_err e, bool json)
{
	const uint8_t *content;
	size_t clen;
	char t1[32], t2[32];

	content = cvq_verify_result_content(r, &clen);
	if (json) {
		json_t *rev = json_pack("{s:s, s:o, s:s, s:o, s:s}",
			"status", status_name(cvq_verify_result_cert_status(r)),
			"revoked_at", time_json(cvq_verify_result_revocation_time(r)),
			"reason", cvq_verify_reason_name(cvq_verify_result_revocation_reason(r)),
			"invalidity", time_json(cvq_verify_result_invalidity_time(r)),
			"source", cvq_verify_result_revocation_source(r));
		cvq_admin_json_print(json_pack("{s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"valid", e == CVQ_VERIFY_OK, "outcome", cvq_verify_code(e),
			"message", cvq_verify_result_detail(r), "message_fr", cvq_verify_sentence_fr(e),
			"signer", cert_json(cvq_verify_result_signer(r)),
			"signing_time", time_json(cvq_verify_result_signing_time(r)),
			"timestamp", time_json(cvq_verify_result_timestamp_time(r)),
			"tsa", cert_json(cvq_verify_result_tsa(r)),
			"check_time", time_json(cvq_verify_result_check_time(r)),
			"revocation", rev,
			"content", content ? json_stringn((const char *)content, clen) : json_null()));
		return;
	}
	if (e == CVQ_VERIFY_OK && !strcmp(cvq_verify_result_detail(r), cvq_verify_strerror(e)))
		printf("valid\n");
	else
		printf("%s: %s\n", e == CVQ_VERIFY_OK ? "valid" : "REFUSED", cvq_verify_result_detail(r));
	printf("  %s\n", cvq_verify_sentence_fr(e));
	if (cvq_verify_result_signer(r)) {
		char subj[512];
		X509_NAME_oneline(X509_get_subject_name(cvq_verify_result_signer(r)), subj, sizeof(subj));
		printf("  signer:    %s\n", subj);
	}
	if (cvq_verify_result_timestamp_time(r))
		printf("  timestamp: %s\n", cvq_admin_time(cvq_verify_result_timestamp_time(r), t1));
	else
		printf("  timestamp: none (judged at %s)\n",
		       cvq_admin_time(cvq_verify_result_check_time(r), t1));
	if (cvq_verify_result_signing_time(r))
		printf("  claimed:   %s (the signer's word)\n",
		       cvq_admin_time(cvq_verify_result_signing_time(r), t2));
	printf("  status:    %s\n", status_name(cvq_verify_result_cert_status(r)));
}

static int
exit_for(cvq_verify_err e)
{
	switch (e) {
	case CVQ_VERIFY_OK:
		return CVQ_ADMIN_EXIT_OK;
	case CVQ_VERIFY_ERR_ARG:
	case CVQ_VERIFY_ERR_NOMEM:
	case CVQ_VERIFY_ERR_IO:
	case CVQ_VERIFY_ERR_REVOCATION_UNKNOWN:
		return CVQ_ADMIN_EXIT_FAIL;
	default:
		return CVQ_ADMIN_EXIT_INVALID;
	}
}

static int
write_content(const cvq_verify_result *r, const char *path)
{
	size_t len;
	const uint8_t *c = cvq_verify_result_content(r, &len);
	FILE *f = fopen(path, "wb");
	int ok = f && c && fwrite(c, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		cvq_admin_error("cannot write the content to %s", path);
	return ok ? CVQ_ADMIN_EXIT_OK : CVQ_ADMIN_EXIT_FAIL;
}

static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

/*
 * CRLs fetched now (libcvqverify's CRL store, no cache) into ctx; a fetch
 * that fails is a warning: the verdict then says what is not known.
 */
static int
fetch_crls(cvq_verify_ctx *ctx, char **files, size_t nfiles, char **urls, size_t nurls,
           bool from_certs, X509 *cert, const uint8_t *der, size_t len, unsigned timeout)
{
	cvq_verify_crl_store *s = cvq_verify_crl_store_new(NULL);
	STACK_OF(X509) *certs = NULL;
	cvq_verify_err e = s ? CVQ_VERIFY_OK : CVQ_VERIFY_ERR_NOMEM;
	int rc = CVQ_ADMIN_EXIT_FAIL;

	for (size_t i = 0; e == CVQ_VERIFY_OK && i < nfiles; i++) {
		FILE *f = fopen(files[i], "r");
		X509 *x;
		while (f && e == CVQ_VERIFY_OK && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			e = cvq_verify_crl_store_add_issuer(s, x);
			if (e == CVQ_VERIFY_OK && from_certs)
				e = cvq_verify_crl_store_add_cert(s, x, NULL);
			X509_free(x);
		}
		ERR_clear_error();
		if (f)
			fclose(f);
	}
	for (size_t i = 0; e == CVQ_VERIFY_OK && i < nurls; i++)
		if ((e = cvq_verify_crl_store_add_url(s, urls[i])) != CVQ_VERIFY_OK)
			cvq_admin_error("--crl-url %s: not an http:// URL", urls[i]);
	if (e == CVQ_VERIFY_OK && from_certs && cert)
		e = cvq_verify_crl_store_add_cert(s, cert, NULL);
	if (e == CVQ_VERIFY_OK && from_certs && der) {
		const unsigned char *p = der;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
		certs = cms ? CMS_get1_certs(cms) : NULL;
		for (int i = 0; e == CVQ_VERIFY_OK && i < sk_X509_num(certs); i++)
			e = cvq_verify_crl_store_add_cert(s, sk_X509_value(certs, i), NULL);
		CMS_ContentInfo_free(cms);
		ERR_clear_error();
	}
	if (e != CVQ_VERIFY_OK)
		goto out;
	cvq_verify_crl_store_set_limits(s, timeout, 0);
	cvq_verify_crl_store_refresh(s, time(NULL), true);
	for (size_t i = 0; i < cvq_verify_crl_store_count(s); i++) {
		cvq_verify_crl_info in;
		if (cvq_verify_crl_store_info(s, i, &in) == CVQ_VERIFY_OK &&
		    in.last_result != CVQ_VERIFY_CRL_UPDATED)
			fprintf(stderr, "cvq-admin: CRL %s: %s: %s (not used)\n", in.url, cvq_verify_crl_fetch_code(in.last_result),
			               in.last_detail);
	}
	e = cvq_verify_crl_store_fill(s, ctx);
	if (e == CVQ_VERIFY_OK)
		rc = CVQ_ADMIN_EXIT_OK;
out:
	if (e != CVQ_VERIFY_OK && e != CVQ_VERIFY_ERR_ARG)
		cvq_admin_error("fetching CRLs: %s", cvq_verify_strerror(e));
	sk_X509_pop_free(certs, X509_free);
	cvq_verify_crl_store_free(s);
	return rc;
}

int
cvq_admin_cmd_verify(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"anchors", required_argument, NULL, 'a'}, {"intermediates", required_argument, NULL, 'i'},
		{"crl", required_argument, NULL, 'r'}, {"ocsp", optional_argument, NULL, 'o'},
		{"ocsp-timeout", required_argument, NULL, 't'}, {"policy", required_argument, NULL, 'p'},
		{"no-require-revocation", no_argument, NULL, 'n'}, {"content", required_argument, NULL, 'w'},
		{"cert", required_argument, NULL, 'c'}, {"signing", no_argument, NULL, 's'},
		{"crl-url", required_argument, NULL, 'u'}, {"fetch-crls", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	cvq_verify_ctx *ctx = cvq_verify_ctx_new();
	cvq_verify_result *r = NULL;
	cvq_verify_err e;
	const char *what = NULL, *content_out = NULL, *cert_path = NULL, *ocsp_url = NULL;
	bool anchors = false, ocsp = false, signing = false, fetch = false;
	char *files[32], *urls[32];  /* for --crl-url / --fetch-crls */
	size_t nfiles = 0, nurls = 0;
	X509 *x = NULL;
	long timeout = 5;
	uint8_t *der = NULL;
	size_t len = 0;
	int c, rc = CVQ_ADMIN_EXIT_USAGE;

	if (!ctx) {
		cvq_admin_error("out of memory");
		return CVQ_ADMIN_EXIT_FAIL;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		e = CVQ_VERIFY_OK;
		switch (c) {
		case 'a': e = cvq_verify_add_anchors_file(ctx, what = optarg); anchors = true;
			if (nfiles == 32)
				goto usage;
			files[nfiles++] = optarg;
			break;
		case 'i': e = cvq_verify_add_intermediates_file(ctx, what = optarg);
			if (nfiles == 32)
				goto usage;
			files[nfiles++] = optarg;
			break;
		case 'u':
			if (nurls == 32)
				goto usage;
			urls[nurls++] = optarg;
			break;
		case 'f': fetch = true; break;
		case 'r': e = cvq_verify_add_crl_file(ctx, what = optarg); break;
		case 'o': ocsp = true; ocsp_url = optarg; break;
		case 't':
			if ((timeout = cvq_admin_number(optarg)) <= 0 || timeout > 600)
				goto usage;
			break;
		case 'p': e = cvq_verify_set_policy(ctx, what = optarg); break;
		case 'n': cvq_verify_set_require_revocation(ctx, false); break;
		case 'w': content_out = optarg; break;
		case 'c': cert_path = optarg; break;
		case 's': signing = true; break;
		case 'h': verify_usage(stdout); rc = CVQ_ADMIN_EXIT_OK; goto out;
		default: goto usage;
		}
		if (e != CVQ_VERIFY_OK) {
			cvq_admin_error("%s: %s", what, cvq_verify_strerror(e));
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
	}
	/* Optional argument of --ocsp: "--ocsp URL" is also accepted. */
	if (ocsp && !ocsp_url && optind < argc && strncmp(argv[optind], "http://", 7) == 0)
		ocsp_url = argv[optind++];
	if (!anchors || (cert_path != NULL) == (optind < argc) || argc - optind > 1)
		goto usage;
	if (ocsp && cvq_verify_set_ocsp(ctx, ocsp_url, (unsigned)timeout, 300) != CVQ_VERIFY_OK) {
		cvq_admin_error("out of memory");
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	if (cert_path) {
		if (!(x = read_cert(cert_path))) {
			cvq_admin_error("%s: not a PEM certificate", cert_path);
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
	} else {
		uint8_t *raw = slurp(argv[optind], &len);
		if (!raw || !(der = to_der(raw, len, &len))) {
			cvq_admin_error("%s: cannot read, or neither DER nor base64", argv[optind]);
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
	}
	if ((nurls || fetch) &&
	    (rc = fetch_crls(ctx, files, nfiles, urls, nurls, fetch, x, der, len, (unsigned)timeout)) != 0)
		goto out;
	if (x)
		e = cvq_verify_cert(ctx, x, NULL, 0, signing, 0, &r);
	else
		e = cvq_verify_receipt(ctx, der, len, 0, &r);
	if (!r) {
		cvq_admin_error("%s", cvq_verify_strerror(e));
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	report(r, e, opts->json);
	rc = exit_for(e);
	if (rc == CVQ_ADMIN_EXIT_OK && content_out)
		rc = write_content(r, content_out);
	goto out;
usage:
	verify_usage(stderr);
	rc = CVQ_ADMIN_EXIT_USAGE;
out:
	X509_free(x);
	cvq_verify_result_free(r);
	cvq_verify_ctx_free(ctx);
	free(der);
	return rc;
}
