/* cvq-admin crl — issue a full CRL (DER or PEM to a file or stdout). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include <cvq/util.h>

#include "ca_common.h"
#include "out_file.h"

static void
crl_usage(FILE *f)
{
	fprintf(f, "usage: cvq-admin crl [issue] [--out FILE] [--pem] [--pass SOURCE]\n"
	           "       cvq-admin crl latest [--out FILE] [--pem]\n");
}

int
cvq_admin_cmd_crl(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"out", required_argument, NULL, 'o'}, {"pem", no_argument, NULL, 'P'},
		{"pass", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *pass = NULL;
	struct cvq_ca_config *cfg;
	uint8_t *der = NULL;
	size_t len = 0;
	uint64_t number = 0;
	bool ok;
	bool pem = false, latest = false;
	cvq_ca *ca;
	cvq_ca_err err;
	FILE *f;
	int c, rc;

	if (argc > 1 && (strcmp(argv[1], "issue") == 0 || strcmp(argv[1], "latest") == 0)) {
		latest = strcmp(argv[1], "latest") == 0;
		argc--;
		argv++;
	}
	while ((c = getopt_long(argc, argv, "o:Pp:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'P': pem = true; break;
		case 'p': pass = optarg; break;
		case 'h': crl_usage(stdout); return CVQ_ADMIN_EXIT_OK;
		default: crl_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		crl_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_admin_ca_open(opts, pass, latest ? CVQ_CA_OPEN_NOKEY : 0, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	err = latest ? cvq_ca_crl_latest_der(ca, &der, &len) : cvq_ca_crl_issue_der(ca, &der, &len, &number);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, "crl");
		goto out;
	}
	if (!out && !pem && !opts->json) {
		/* Binary to a terminal helps nobody. */
		pem = true;
	}
	if (out || !opts->json) {
		struct cvq_admin_out o;

		f = !out ? stdout : cvq_admin_out_open(&o, out) == 0 ? o.f : NULL;
		ok = f && (pem ? PEM_write(f, "X509 CRL", "", der, (long)len) > 0
		               : fwrite(der, 1, len, f) == len);
		if (out && f) {
			if (ok)
				ok = cvq_admin_out_commit(&o) == 0;
			else
				cvq_admin_out_abort(&o);
		}
		if (!ok) {
			cvq_admin_error("cannot write the CRL");
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
	}
	if (opts->json) {
		X509_CRL *crl = NULL;
		const unsigned char *p = der;
		const STACK_OF(X509_REVOKED) *r;

		crl = d2i_X509_CRL(NULL, &p, (long)len);
		r = crl ? X509_CRL_get_REVOKED(crl) : NULL;
		cvq_admin_json_print(json_pack("{s:I, s:i, s:s?}", "number", (json_int_t)number,
		                               "entries", r ? sk_X509_REVOKED_num(r) : 0, "file", out));
		X509_CRL_free(crl);
	}
out:
	free(der);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}
