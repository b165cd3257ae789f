/*
 * cvq-admin card content-signer — the PIV content signer (issue #17),
 * made under two-person control (issue #13, docs/ca.md): it signs every
 * card's CHUID and Security Object, so it is what makes a card
 * "authentic" to `card info`, cvqd and the relying parties.
 *
 *   init     this officer makes the key (content-signer.key, 0600) and
 *            submits a request (profile content-signing) whose CSR the
 *            key signed: "request ID pending". Nothing is in force.
 *   init --finish ID (or init again, which reads content-signer.request)
 *            once another officer approved (cvq-admin ca approve ID):
 *            takes the certificate from the store, only if it is for
 *            this key, and writes content-signer.pem.
 *   show     its subject, validity and fingerprint.
 *
 * The key never leaves this process and its file: the approver signs the
 * CSR, never sees the key; this side never holds the CA key
 * (CVQ_CA_OPEN_NOKEY). The files are enrol_content.c's (content_signer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cvq/util.h>

#include "ca_common.h"
#include "card_admin.h"
#include "content_signer.h"

static void
cs_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin card content-signer init [--key-alg ec-p256|ec-p384|rsa-2048|rsa-3072]\n"
	"                 [--subject /O=.../CN=...] [--days N]\n"
	"       cvq-admin card content-signer init --finish ID\n"
	"       cvq-admin [--json] card content-signer show\n"
	"The PIV content signer signs every card's CHUID and Security Object. Two\n"
	"officers make it: init makes the key (content-signer.key beside the CA\n"
	"configuration, 0600) and asks for its certificate: \"request ID pending\".\n"
	"Once another officer approved it (cvq-admin ca approve ID), init --finish ID\n"
	"(or init again) writes content-signer.pem. Enrolments sign with it from then.\n");
}

/* A new key of alg; NULL for an unknown name. */
static EVP_PKEY *
make_key(const char *alg, const EVP_MD **md)
{
	*md = EVP_sha256();
	if (!strcmp(alg, "ec-p256"))
		return EVP_EC_gen("P-256");
	if (!strcmp(alg, "ec-p384")) {
		*md = EVP_sha384();
		return EVP_EC_gen("P-384");
	}
	if (!strcmp(alg, "rsa-2048"))
		return EVP_RSA_gen(2048);
	if (!strcmp(alg, "rsa-3072"))
		return EVP_RSA_gen(3072);
	return NULL;
}

/* "/O=<the city>/CN=PIV content signer": the configuration's O, else the CA's. */
static void
default_subject(const struct cvq_ca_config *cfg, cvq_ca *ca, char *out, size_t cap)
{
	char org[65] = "";

	if (cfg->org)
		snprintf(org, sizeof(org), "%s", cfg->org);
	else if (X509_NAME_get_text_by_NID(X509_get_subject_name(cvq_ca_cert(ca)),
	                                   NID_organizationName, org, sizeof(org)) <= 0)
		snprintf(org, sizeof(org), "cvq");
	/* '/' would start another attribute in the "/O=.../CN=..." form. */
	for (char *q = org; *q; q++)
		if (*q == '/' || *q == '\\')
			*q = ' ';
	snprintf(out, cap, "/O=%s/CN=PIV content signer", org);
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	ERR_clear_error();
	return k;
}

/* The key, written once (O_EXCL, 0600) and synced before anything refers to it. */
static int
write_key(const char *path, EVP_PKEY *key)
{
	int fd = cvq_util_file_create(path, O_WRONLY | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok;

	if (!f) {
		cvq_admin_error("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 && fflush(f) == 0 &&
	     fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok) {
		cvq_admin_error("%s: cannot write the key", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* The request's id, for init again (no secret: 0644). */
static int
write_request(const char *path, int64_t id)
{
	FILE *f = cvq_util_fopen_create(path, 0644);

	if (!f)
		return -1;
	fprintf(f, "%" PRId64 "\n", id);
	return fclose(f) == 0 ? 0 : -1;
}

/* The certificate through a temporary name: an enrolment never reads half of it. */
static int
write_cert(const char *path, X509 *x)
{
	size_t n = strlen(path) + 5;
	char *tmp = malloc(n);
	FILE *f = NULL;
	int rc = -1;

	if (!tmp)
		return -1;
	snprintf(tmp, n, "%s.new", path);
	f = cvq_util_fopen_create(tmp, 0644);
	if (f && PEM_write_X509(f, x) == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0) {
		if (fclose(f) == 0 && rename(tmp, path) == 0)
			rc = 0;
		f = NULL;
	}
	if (f)
		fclose(f);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Submit the request for key: its CSR signed by key (proof of possession). */
static int
submit(cvq_ca *ca, EVP_PKEY *key, const EVP_MD *md, const char *subject, unsigned days,
       int64_t *id)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CONTENT_SIGNING, .subject = subject,
	                               .days = days};
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	int len = 0;
	cvq_ca_err err;

	if (r && n && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	                                         (const unsigned char *)"PIV content signer", -1,
	                                         -1, 0) == 1 &&
	    X509_REQ_set_version(r, 0) == 1 && X509_REQ_set_subject_name(r, n) == 1 &&
	    X509_REQ_set_pubkey(r, key) == 1 && X509_REQ_sign(r, key, md) > 0)
		len = i2d_X509_REQ(r, &der);
	X509_NAME_free(n);
	X509_REQ_free(r);
	ERR_clear_error();
	if (len <= 0) {
		cvq_admin_error("cannot make the content signer's CSR");
		return CVQ_ADMIN_EXIT_FAIL;
	}
	err = cvq_ca_request_submit(ca, &req, der, (size_t)len, id);
	OPENSSL_free(der);
	return err ? cvq_admin_ca_fail(ca, err, "content-signer init") : CVQ_ADMIN_EXIT_OK;
}

/* The certificate of request id, if it is issued, a content signer, for key. */
static int
pickup(cvq_ca *ca, int64_t id, EVP_PKEY *key, X509 **out)
{
	struct cvq_ca_request_info info;
	struct cvq_ca_cert_info ci;
	char why[200] = "";
	cvq_ca_err err;
	X509 *x = NULL;

	*out = NULL;
	err = cvq_ca_request_get(ca, id, &info);
	if (err)
		return cvq_admin_ca_fail(ca, err, "content-signer init --finish");
	if (info.roles || info.profile != CVQ_CA_PROFILE_CONTENT_SIGNING) {
		cvq_admin_error("request %" PRId64 " is not for a content-signing certificate", id);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (info.state == CVQ_CA_REQUEST_REJECTED) {
		cvq_admin_error("request %" PRId64 " was rejected: to ask again, remove "
		                "content-signer.key and content-signer.request, then init", id);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	if (info.state != CVQ_CA_REQUEST_ISSUED || !info.serial[0]) {
		cvq_admin_error("request %" PRId64 " is pending (%u/%u approvals): another officer "
		                "approves it first (cvq-admin ca approve %" PRId64 ")", id,
		                info.approvals, info.needed, id);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	err = cvq_ca_cert_get(ca, info.serial, &ci, &x);
	if (err)
		return cvq_admin_ca_fail(ca, err, "the certificate of the request");
	/* Someone else's approved request gives nothing here. */
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		X509_free(x);
		cvq_admin_error("the certificate of request %" PRId64 " is not for this content "
		                "signer's key", id);
		return CVQ_ADMIN_EXIT_INVALID;
	}
	if (cvq_ca_check_profile(x, cvq_ca_cert(ca), CVQ_CA_PROFILE_CONTENT_SIGNING, why,
	                         sizeof(why)) != CVQ_CA_OK ||
	    X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		X509_free(x);
		cvq_admin_error("the certificate of request %" PRId64 " is no content signer in "
		                "force%s%s", id, why[0] ? ": " : "", why);
		return CVQ_ADMIN_EXIT_INVALID;
	}
	*out = x;
	return CVQ_ADMIN_EXIT_OK;
}

/* init --finish ID: the approved certificate beside the key. */
static int
finish(const struct cvq_admin_opts *opts, cvq_ca *ca, const struct cvq_admin_cs_files *fs,
       int64_t id)
{
	EVP_PKEY *key = read_key(fs->key);
	char serial[67] = "", detail[96];
	X509 *x = NULL;
	int rc;

	if (!key) {
		cvq_admin_error("no content signer key (%s): cvq-admin card content-signer init first",
		                fs->key);
		return CVQ_ADMIN_EXIT_NOT_FOUND;
	}
	rc = pickup(ca, id, key, &x);
	if (rc != CVQ_ADMIN_EXIT_OK)
		goto out;
	if (write_cert(fs->cert, x) != 0) {
		cvq_admin_error("%s: cannot write the certificate", fs->cert);
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	unlink(fs->request);
	cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
	snprintf(detail, sizeof(detail), "request=%" PRId64, id);
	if (cvq_ca_audit_record(ca, "content-signer.init", serial, detail) != CVQ_CA_OK)
		cvq_admin_error("warning: content-signer.init not in the audit log (the certificate's "
		                "issuance is)");
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:s,s:s,s:s,s:I}", "key", fs->key, "cert", fs->cert,
		                               "serial", serial, "request", (json_int_t)id));
	else
		printf("content signer made: key %s, certificate %s (serial %s)\n", fs->key, fs->cert,
		       serial);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* init: a new key and its request (or, with a key made already, its request again). */
static int
start(const struct cvq_admin_opts *opts, const struct cvq_ca_config *cfg, cvq_ca *ca,
      const struct cvq_admin_cs_files *fs, const char *alg, const char *subject, unsigned days)
{
	char sub[160];
	const EVP_MD *md = EVP_sha256();
	EVP_PKEY *key = NULL;
	bool made = false;
	int64_t id = 0;
	int rc;

	if (access(fs->key, F_OK) == 0) {
		/* A key whose request was never recorded (a crash in between). */
		if (alg) {
			cvq_admin_error("%s exists already: --key-alg is for a new key", fs->key);
			return CVQ_ADMIN_EXIT_USAGE;
		}
		key = read_key(fs->key);
		if (!key) {
			cvq_admin_error("%s: unreadable", fs->key);
			return CVQ_ADMIN_EXIT_FAIL;
		}
		if (EVP_PKEY_get_bits(key) > 256 && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC)
			md = EVP_sha384();
	} else {
		key = make_key(alg ? alg : "ec-p256", &md);
		if (!key) {
			if (alg && strcmp(alg, "ec-p256") && strcmp(alg, "ec-p384") &&
			    strcmp(alg, "rsa-2048") && strcmp(alg, "rsa-3072")) {
				cvq_admin_error("--key-alg: ec-p256, ec-p384, rsa-2048 or rsa-3072");
				return CVQ_ADMIN_EXIT_USAGE;
			}
			cvq_admin_error("cannot make a %s key", alg ? alg : "ec-p256");
			return CVQ_ADMIN_EXIT_FAIL;
		}
		if (write_key(fs->key, key) != 0) {
			EVP_PKEY_free(key);
			return CVQ_ADMIN_EXIT_FAIL;
		}
		made = true;
	}
	if (!subject) {
		default_subject(cfg, ca, sub, sizeof(sub));
		subject = sub;
	}
	rc = submit(ca, key, md, subject, days, &id);
	EVP_PKEY_free(key);
	if (rc != CVQ_ADMIN_EXIT_OK) {
		/* A refused submission leaves no key behind. */
		if (made)
			unlink(fs->key);
		return rc;
	}
	if (write_request(fs->request, id) != 0)
		cvq_admin_error("cannot write %s: finish with init --finish %" PRId64, fs->request, id);
	if (opts->json) {
		cvq_admin_json_print(json_pack("{s:I,s:s}", "request", (json_int_t)id, "key", fs->key));
	} else {
		printf("request %" PRId64 " pending\n", id);
		fprintf(stderr, "content signer key %s made; once another officer approved "
		        "(cvq-admin ca approve %" PRId64 "): cvq-admin card content-signer init "
		        "--finish %" PRId64 "\n", fs->key, id, id);
	}
	return CVQ_ADMIN_EXIT_OK;
}

static int
cs_init(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"key-alg", required_argument, NULL, 'a'}, {"subject", required_argument, NULL, 's'},
		{"days", required_argument, NULL, 'n'}, {"finish", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *alg = NULL, *subject = NULL;
	struct cvq_admin_cs_files fs = {0};
	struct cvq_ca_config *cfg = NULL;
	cvq_ca *ca = NULL;
	char why[256] = "";
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int64_t id = 0;
	unsigned days = 0;
	int c, rc, lock = -1;
	long n;

	while ((c = getopt_long(argc, argv, "a:s:n:F:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a': alg = optarg; break;
		case 's': subject = optarg; break;
		case 'n':
			n = cvq_admin_number(optarg);
			if (n <= 0 || n > 36500)
				return CVQ_ADMIN_EXIT_USAGE;
			days = (unsigned)n;
			break;
		case 'F':
			id = cvq_admin_number(optarg);
			if (id <= 0)
				return CVQ_ADMIN_EXIT_USAGE;
			break;
		case 'h': cs_usage(stdout); return CVQ_ADMIN_EXIT_OK;
		default: cs_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	/* --finish takes the key init made: nothing else to choose. */
	if (optind != argc || (id && (alg || subject || days))) {
		cs_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	/* A request needs no CA key: the approver's process signs. */
	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (cvq_admin_cs_files(cfg, &fs) != 0) {
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	lock = cvq_admin_cs_lock(&fs, LOCK_EX, why, sizeof(why));
	if (lock < 0) {
		cvq_admin_error("%s", why);
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	if (access(fs.cert, F_OK) == 0) {
		if (cvq_admin_cs_load(&fs, &x, &k, why, sizeof(why)) == 0)
			cvq_admin_error("a content signer exists already (%s): cvq-admin card "
			                "content-signer show", fs.cert);
		else
			cvq_admin_error("%s", why[0] ? why : "a content signer exists already");
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	/* Init again while a request waits is its --finish. */
	if (!id && (id = cvq_admin_cs_pending(&fs)) != 0 && (alg || subject || days)) {
		cvq_admin_error("request %" PRId64 " waits already (%s): init --finish %" PRId64
		                " once approved", id, fs.request, id);
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	rc = id ? finish(opts, ca, &fs, id) : start(opts, cfg, ca, &fs, alg, subject, days);
out:
	if (lock >= 0)
		close(lock);
	X509_free(x);
	EVP_PKEY_free(k);
	cvq_admin_cs_files_free(&fs);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

static void
fingerprint(X509 *x, char out[96 + 1])
{
	unsigned char md[32];
	unsigned len = 0, i;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != sizeof(md))
		return;
	for (i = 0; i < len; i++)
		snprintf(out + 3 * i, 4, i + 1 < len ? "%02X:" : "%02X", md[i]);
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	return ASN1_TIME_to_tm(t, &tm) == 1 ? (int64_t)timegm(&tm) : 0;
}

static int
cs_show(const struct cvq_admin_opts *opts)
{
	struct cvq_admin_cs_files fs = {0};
	struct cvq_ca_config *cfg = NULL;
	char subject[256] = "", issuer[256] = "", serial[67] = "", fp[97], t1[32], t2[32];
	char why[256] = "";
	const char *state;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int64_t id, nb, na;
	FILE *f;
	int rc;

	rc = cvq_admin_ca_config(opts, &cfg);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (cvq_admin_cs_files(cfg, &fs) != 0) {
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	f = fopen(fs.cert, "re");
	x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	ERR_clear_error();
	if (!x) {
		id = cvq_admin_cs_pending(&fs);
		if (id)
			cvq_admin_error("no content signer yet: request %" PRId64 " waits (cvq-admin ca "
			                "approve %" PRId64 " by another officer, then cvq-admin card "
			                "content-signer init --finish %" PRId64 ")", id, id, id);
		else
			cvq_admin_error("no content signer (%s): two officers make it with `cvq-admin "
			                "card content-signer init`", fs.cert);
		rc = CVQ_ADMIN_EXIT_NOT_FOUND;
		goto out;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
	fingerprint(x, fp);
	nb = time_of(X509_get0_notBefore(x));
	na = time_of(X509_get0_notAfter(x));
	/* What an enrolment would say of the pair (the key may be unreadable to us). */
	{
		X509 *lx = NULL;
		int r = cvq_admin_cs_load(&fs, &lx, &k, why, sizeof(why));

		state = r == 0 ? "in force" : r == -1 ? "key unreadable" : "not usable";
		X509_free(lx);
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?}",
		        "cert", fs.cert, "key", fs.key, "subject", subject, "issuer", issuer,
		        "serial", serial, "not_before", cvq_admin_time(nb, t1),
		        "not_after", cvq_admin_time(na, t2), "sha256", fp, "state", state,
		        "why", why[0] ? why : NULL));
	else
		printf("certificate: %s\nkey: %s\nsubject: %s\nissuer: %s\nserial: %s\n"
		       "valid: %s to %s\nsha256 fingerprint: %s\nstate: %s%s%s\n", fs.cert, fs.key,
		       subject, issuer, serial, cvq_admin_time(nb, t1), cvq_admin_time(na, t2), fp,
		       state, why[0] ? " — " : "", why);
	rc = CVQ_ADMIN_EXIT_OK;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	cvq_admin_cs_files_free(&fs);
	cvq_ca_config_free(cfg);
	return rc;
}

int
card_cmd_content_signer(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cs_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_OK;
	}
	if (!strcmp(argv[1], "init"))
		return cs_init(argc - 1, argv + 1, opts);
	if (!strcmp(argv[1], "show") && argc == 2)
		return cs_show(opts);
	cs_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
