/*
 * cvq-admin publish DIR — files any web server or CDN can serve:
 *   DIR/ca.crl            the latest CRL (DER; --new-crl issues one first)
 *   DIR/ca.der, ca.pem    the CA certificate (caIssuers)
 *   DIR/ocsp/<base64>     a pre-signed OCSP response per certificate, at the
 *                         RFC 5019 GET path of its SHA-1 request
 * Files are written to a temporary name and renamed: readers never see a
 * half-written response.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cvq/ca_ocsp.h>

#include <cvq/util.h>

#include "ca_common.h"

static void
publish_usage(FILE *f)
{
	fprintf(f, "usage: cvq-admin publish DIR [--new-crl] [--pass SOURCE] [--ocsp-pass SOURCE]\n");
}

static int
mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (cvq_util_dir_create(path, 0755) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int
write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	f = cvq_util_fopen_create(tmp, 0644); /* public: what any client may fetch */
	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct pub {
	cvq_ca_ocsp *o;
	const char *dir;
	long written, failed;
	int64_t now;
};

static int
publish_one(void *ctx, const struct cvq_ca_cert_info *c)
{
	struct pub *p = ctx;
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len, resp_len;
	char path[4200], b64[4096];
	int n;

	/* Expired certificates need no answer any more. */
	if (c->not_after < p->now)
		return 0;
	if (cvq_ca_ocsp_presign(p->o, c->serial, &req, &req_len, &resp, &resp_len) != CVQ_CA_OK ||
	    req_len > 3000) {
		p->failed++;
		goto out;
	}
	n = EVP_EncodeBlock((unsigned char *)b64, req, (int)req_len);
	snprintf(path, sizeof(path), "%s/ocsp/%.*s", p->dir, n, b64);
	if (mkdirs(path) != 0 || write_atomic(path, resp, resp_len) != 0)
		p->failed++;
	else
		p->written++;
out:
	OPENSSL_free(req);
	OPENSSL_free(resp);
	return 0;
}

int
cvq_admin_cmd_publish(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"new-crl", no_argument, NULL, 'n'}, {"pass", required_argument, NULL, 'p'},
		{"ocsp-pass", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
	};
	const char *pass = NULL, *ocsp_pass = NULL;
	struct cvq_ca_config *cfg = NULL;
	struct pub p = {0};
	unsigned char *der = NULL;
	X509_CRL *crl = NULL;
	cvq_ca *ca = NULL;
	cvq_ca_err err;
	bool new_crl = false;
	char path[4200];
	int c, len, rc;

	while ((c = getopt_long(argc, argv, "np:P:", lo, NULL)) != -1) {
		switch (c) {
		case 'n': new_crl = true; break;
		case 'p': pass = optarg; break;
		case 'P': ocsp_pass = optarg; break;
		default: publish_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		publish_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	p.dir = argv[optind];
	p.now = (int64_t)time(NULL);
	if (cvq_util_dir_create(p.dir, 0755) != 0 && errno != EEXIST) {
		cvq_admin_error("cannot make %s", p.dir);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	rc = cvq_admin_ca_open(opts, pass, new_crl ? 0 : CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	err = new_crl ? cvq_ca_crl_issue(ca, &crl, NULL) : cvq_ca_crl_latest(ca, &crl);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, "crl");
		goto out;
	}
	len = i2d_X509_CRL(crl, &der);
	snprintf(path, sizeof(path), "%s/ca.crl", p.dir);
	if (len <= 0 || write_atomic(path, der, (size_t)len) != 0)
		goto io;
	OPENSSL_free(der);
	der = NULL;
	len = i2d_X509(cvq_ca_cert(ca), &der);
	snprintf(path, sizeof(path), "%s/ca.der", p.dir);
	if (len <= 0 || write_atomic(path, der, (size_t)len) != 0)
		goto io;
	err = cvq_ca_ocsp_new(cfg, ocsp_pass, 1, &p.o);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(NULL, err, "ocsp signer");
		goto out;
	}
	err = cvq_ca_cert_list(ca, NULL, publish_one, &p);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, "listing certificates");
		goto out;
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:s, s:I, s:I}", "dir", p.dir,
		                               "ocsp_responses", (json_int_t)p.written,
		                               "failed", (json_int_t)p.failed));
	else
		printf("published CRL and %ld OCSP responses to %s\n", p.written, p.dir);
	rc = p.failed ? CVQ_ADMIN_EXIT_FAIL : CVQ_ADMIN_EXIT_OK;
	goto out;
io:
	cvq_admin_error("cannot write %s", path);
	rc = CVQ_ADMIN_EXIT_FAIL;
out:
	OPENSSL_free(der);
	X509_CRL_free(crl);
	cvq_ca_ocsp_free(p.o);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}
