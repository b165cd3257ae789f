/*
 * cvq-admin tsa — the city's timestamp authority: make it (init: key,
 * certificate of profile tsa, the [tsa] section of the CA configuration)
 * and describe it (status). It is served by the CA's public service
 * (cvq-admin ocsp serve, cvqd [responder]) as soon as [tsa] is there.
 *
 * Two-person control (issue #13): init makes the key and asks for its
 * certificate (a request of this officer); the [tsa] section waits in
 * tsa-request.conf beside the configuration until `init --finish ID`,
 * after another officer's `ca approve ID`, writes the certificate and
 * appends it. Until then there is no [tsa]: the TSA does not answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/ca_tsa.h>
#include <cvq/util.h>

#include "ca_common.h"

static void
tsa_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin tsa init [--key FILE|pkcs11:URI [--generate]] [--pass SOURCE]\n"
	"                 [--policy OID] [--accuracy-ms N]\n"
	"                 [--subject /CN=...] [--alg ec-p256|ec-p384|rsa-3072] [--days N]\n"
	"       cvq-admin tsa init --finish ID [--pass SOURCE]\n"
	"       cvq-admin [--json] tsa status\n"
	"init makes the TSA key (default tsa-key.pem beside the configuration,\n"
	"encrypted with --pass; for a token key --pass is the PIN's source) and\n"
	"requests its certificate (profile tsa): \"request ID pending\". Once other\n"
	"officers approved it (cvq-admin ca approve ID), init --finish ID writes\n"
	"tsa.pem and appends [tsa] to the configuration.\n");
}

static const char *
config_path(const struct cvq_admin_opts *opts)
{
	const char *p = opts->config ? opts->config : getenv("CVQ_CA_CONFIG");

	return p ? p : "ca.conf";
}

static void
write_section(FILE *f, const struct cvq_ca_config *cfg)
{
	fprintf(f, "\n[tsa]\nkey = %s\ncert = %s\naccuracy_ms = %u\n", cfg->tsa_key, cfg->tsa_cert,
	        cfg->tsa_accuracy_ms);
	if (cfg->tsa_pass)
		fprintf(f, "pass = %s\n", cfg->tsa_pass);
	if (cfg->tsa_policy)
		fprintf(f, "policy = %s\n", cfg->tsa_policy);
}

/* The configuration is the operator's file: add our section, touch nothing else. */
static int
append_section(const char *path, const struct cvq_ca_config *cfg)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return -1;
	write_section(f, cfg);
	return fclose(f) == 0 ? 0 : -1;
}

/* The section to come, while its request waits (paths, no secret: 0644). */
static int
write_pending(const char *path, const struct cvq_ca_config *cfg)
{
	int fd = cvq_util_file_create(path, O_WRONLY | O_EXCL, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	write_section(f, cfg);
	return fclose(f) == 0 ? 0 : -1;
}

/* Copy the pending [tsa] into cfg (a file of our own writing, read by the
 * configuration's own strict parser). */
static int
read_pending(const char *path, struct cvq_ca_config *cfg)
{
	struct cvq_ca_config *p = NULL;
	char acc[16];
	cvq_ca_err err = cvq_ca_config_load(path, &p);

	if (err != CVQ_CA_OK || !p->tsa_key || !p->tsa_cert) {
		cvq_ca_config_free(p);
		return -1;
	}
	snprintf(acc, sizeof(acc), "%u", p->tsa_accuracy_ms);
	err = cvq_ca_config_set(cfg, "tsa.key", p->tsa_key);
	err = err ? err : cvq_ca_config_set(cfg, "tsa.cert", p->tsa_cert);
	err = err ? err : cvq_ca_config_set(cfg, "tsa.accuracy_ms", acc);
	if (!err && p->tsa_pass)
		err = cvq_ca_config_set(cfg, "tsa.pass", p->tsa_pass);
	if (!err && p->tsa_policy)
		err = cvq_ca_config_set(cfg, "tsa.policy", p->tsa_policy);
	cvq_ca_config_free(p);
	return err == CVQ_CA_OK ? 0 : -1;
}

/* tsa init --finish ID: the approved certificate, then [tsa]. */
static int
tsa_finish(const struct cvq_admin_opts *opts, struct cvq_ca_config *cfg, cvq_ca *ca,
           const char *pending, const char *pass, int64_t id)
{
	char why[256] = "";
	cvq_ca_err err;

	if (read_pending(pending, cfg) != 0) {
		cvq_admin_error("no TSA request waits here (%s): cvq-admin tsa init first", pending);
		return CVQ_ADMIN_EXIT_NOT_FOUND;
	}
	err = cvq_ca_tsa_finish(ca, cfg, pass, id, why, sizeof(why));
	if (err != CVQ_CA_OK) {
		cvq_admin_error("tsa init --finish: %s", why[0] ? why : cvq_ca_strerror(err));
		return cvq_admin_ca_exit(err);
	}
	if (append_section(config_path(opts), cfg) != 0) {
		cvq_admin_error("cannot append [tsa] to %s", config_path(opts));
		return CVQ_ADMIN_EXIT_FAIL;
	}
	unlink(pending);
	if (opts->json)
		printf("{\"key\": \"%s\", \"cert\": \"%s\"}\n", cfg->tsa_key, cfg->tsa_cert);
	else
		printf("TSA made: key %s, certificate %s\n", cfg->tsa_key, cfg->tsa_cert);
	return CVQ_ADMIN_EXIT_OK;
}

static int
tsa_init(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, 'k'}, {"generate", no_argument, NULL, 'g'},
		{"pass", required_argument, NULL, 'p'}, {"finish", required_argument, NULL, 'F'},
		{"policy", required_argument, NULL, 'o'}, {"accuracy-ms", required_argument, NULL, 'A'},
		{"subject", required_argument, NULL, 's'}, {"alg", required_argument, NULL, 'a'},
		{"days", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cvq_ca_tsa_init_opts io = {0};
	const char *key = "tsa-key.pem", *pass = NULL, *policy = NULL, *acc = NULL;
	struct cvq_ca_config *cfg = NULL;
	cvq_ca *ca = NULL;
	char why[256] = "", *pending = NULL;
	cvq_ca_err err = CVQ_CA_OK;
	int64_t id = 0, finish = 0;
	bool making = false;
	int c, rc;
	long n;

	while ((c = getopt_long(argc, argv, "k:gp:F:o:A:s:a:n:h", lo, NULL)) != -1) {
		making = making || (c != 'p' && c != 'F');
		switch (c) {
		case 'k': key = optarg; break;
		case 'g': io.token_generate = true; break;
		case 'p': pass = optarg; break;
		case 'F':
			finish = cvq_admin_number(optarg);
			if (finish <= 0)
				return CVQ_ADMIN_EXIT_USAGE;
			break;
		case 'o': policy = optarg; break;
		case 'A': acc = optarg; break;
		case 's': io.subject = optarg; break;
		case 'a': io.alg = optarg; break;
		case 'n':
			n = cvq_admin_number(optarg);
			if (n <= 0 || n > 36500)
				return CVQ_ADMIN_EXIT_USAGE;
			io.days = (unsigned)n;
			break;
		case 'h': tsa_usage(stdout); return CVQ_ADMIN_EXIT_OK;
		default: tsa_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	/* --finish takes what init chose from tsa-request.conf: nothing else. */
	if (optind != argc || (io.token_generate && strncmp(key, "pkcs11:", 7) != 0) ||
	    (finish && making)) {
		tsa_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	/* A request needs no CA key: the approver's process signs. */
	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (cfg->tsa_key) {
		cvq_admin_error("%s has a [tsa] already (key %s)", config_path(opts), cfg->tsa_key);
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	pending = cvq_ca_config_path(cfg, "tsa-request.conf");
	if (!pending) {
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	if (finish) {
		rc = tsa_finish(opts, cfg, ca, pending, pass, finish);
		goto out;
	}
	if (access(pending, F_OK) == 0) {
		cvq_admin_error("a TSA request waits already (%s): cvq-admin tsa init --finish ID once "
		                "approved, or remove it after cvq-admin ca reject ID", pending);
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	err = cvq_ca_config_set(cfg, "tsa.key", key);
	err = err ? err : cvq_ca_config_set(cfg, "tsa.cert", "tsa.pem");
	/* Only a file source makes sense to remember; fd and tty are per run. */
	if (!err && pass && strncmp(pass, "file:", 5) == 0)
		err = cvq_ca_config_set(cfg, "tsa.pass", pass);
	if (!err && policy)
		err = cvq_ca_config_set(cfg, "tsa.policy", policy);
	if (!err && acc)
		err = cvq_ca_config_set(cfg, "tsa.accuracy_ms", acc);
	if (err != CVQ_CA_OK) {
		cvq_admin_error("bad --policy, --accuracy-ms or --key");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	if (!cfg->tsa_policy && !cfg->policy_oid) {
		cvq_admin_error("a TSA needs a policy: --policy OID (the CA has no policy_oid)");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	io.why = why;
	io.why_len = sizeof(why);
	io.request_id = &id;
	err = cvq_ca_tsa_init(ca, cfg, pass ? pass : cfg->pass, &io);
	if (err != CVQ_CA_OK) {
		cvq_admin_error("tsa init: %s", why[0] ? why : cvq_ca_strerror(err));
		rc = cvq_admin_ca_exit(err);
		goto out;
	}
	if (write_pending(pending, cfg) != 0) {
		cvq_admin_error("cannot write %s (request %lld is in the store)", pending, (long long)id);
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	if (opts->json) {
		printf("{\"request\": %lld, \"key\": \"%s\"}\n", (long long)id, cfg->tsa_key);
	} else {
		printf("request %lld pending\n", (long long)id);
		fprintf(stderr, "TSA key %s made; once another officer approved (cvq-admin ca approve "
		        "%lld): cvq-admin tsa init --finish %lld\n", cfg->tsa_key, (long long)id,
		        (long long)id);
	}
	rc = CVQ_ADMIN_EXIT_OK;
out:
	free(pending);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

struct count {
	unsigned long n;
	int64_t last;
};

static int
count_stamp(void *ctx, const struct cvq_ca_audit_entry *e)
{
	struct count *c = ctx;

	if (strcmp(e->action, "tsa.stamp") == 0) {
		c->n++;
		c->last = e->ts;
	}
	return 0;
}

static int
tsa_status(const struct cvq_admin_opts *opts)
{
	struct cvq_ca_config *cfg = NULL;
	struct count cnt = {0};
	cvq_ca *ca = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	char *path = NULL, serial[67] = "", subject[256] = "", t1[32], t2[32];
	const char *policy;
	cvq_ca_err err;
	int rc;

	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_READONLY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (!cfg->tsa_key || !cfg->tsa_cert) {
		cvq_admin_error("no TSA: %s has no [tsa] (cvq-admin tsa init)", config_path(opts));
		rc = CVQ_ADMIN_EXIT_NOT_FOUND;
		goto out;
	}
	path = cvq_ca_config_path(cfg, cfg->tsa_cert);
	f = path ? fopen(path, "r") : NULL;
	x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (!x) {
		cvq_admin_error("cannot read the TSA certificate %s", path ? path : "?");
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	err = cvq_ca_audit_list(ca, 0, count_stamp, &cnt);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, "audit");
		goto out;
	}
	policy = cfg->tsa_policy ? cfg->tsa_policy : cfg->policy_oid;
	{
		struct tm tm;
		time_t na = 0;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			na = timegm(&tm);
		if (opts->json)
			cvq_admin_json_print(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:i,s:I,s:s?}",
			        "key", cfg->tsa_key, "cert", cfg->tsa_cert, "serial", serial,
			        "subject", subject, "not_after", cvq_admin_time(na, t1),
			        "policy", policy, "accuracy_ms", (int)cfg->tsa_accuracy_ms,
			        "tokens", (json_int_t)cnt.n,
			        "last_token", cnt.last ? cvq_admin_time(cnt.last, t2) : NULL));
		else
			printf("key: %s\ncertificate: %s (serial %s, %s, until %s)\npolicy: %s\n"
			       "accuracy: %u ms\ntokens issued: %lu%s%s\n",
			       cfg->tsa_key, cfg->tsa_cert, serial, subject, cvq_admin_time(na, t1),
			       policy ? policy : "(none)", cfg->tsa_accuracy_ms, cnt.n,
			       cnt.last ? ", last at " : "", cnt.last ? cvq_admin_time(cnt.last, t2) : "");
	}
	rc = CVQ_ADMIN_EXIT_OK;
out:
	if (f)
		fclose(f);
	X509_free(x);
	free(path);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

int
cvq_admin_cmd_tsa(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		tsa_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_OK;
	}
	if (!strcmp(argv[1], "init"))
		return tsa_init(argc - 1, argv + 1, opts);
	if (!strcmp(argv[1], "status") && argc == 2)
		return tsa_status(opts);
	tsa_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
