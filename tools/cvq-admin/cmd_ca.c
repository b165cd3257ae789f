/*
 * cvq-admin ca — make a CA (init) and describe it (show).
 *
 * A root is made in one command: its creation ceremony, before any
 * officer exists (audited ca.init). An issuing CA (--parent) is a sub-CA
 * certificate of the parent, under its two-person control: init makes the
 * key and the request ("request ID pending"; DIR/ca.conf written), other
 * officers of the parent approve (ca approve ID), and init --finish ID
 * takes the certificate and makes the store. The key never leaves DIR.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/util.h>

#include "ca_common.h"

static void
ca_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin ca init --dir DIR [--alg ec-p256|ec-p384|rsa-3072|rsa-4096]\n"
	"                 [--subject /C=FR/O=Ville/CN=Name] [--days N] [--pass SOURCE]\n"
	"                 [--url BASE] [--policy OID] [--org O] [--country C]\n"
	"                 [--ocsp-signer] [--parent CONFIG]\n"
	"                 [--key pkcs11:URI [--generate]]\n"
	"                 [--attest-roots PEM] [--unattested refuse|admit]\n"
	"                   (citizen keys must be attested by their card unless\n"
	"                    admit, each such issuance audited)\n"
	"                   (a key on a PKCS#11 token, made beforehand or, with\n"
	"                    --generate, on the token now; --pass is then the\n"
	"                    token PIN's source)\n"
	"                   (--parent: the key and a request to the parent CA,\n"
	"                    \"request ID pending\"; once its officers approved,\n"
	"                    ca init --dir DIR --parent CONFIG --finish ID [--pass SOURCE])\n"
	"       cvq-admin [--json] [--config FILE] ca show\n"
	"       cvq-admin ca request|approve|reject|requests ... (two-person control)\n"
	"SOURCE is file:PATH, fd:N, pinentry:PROGRAM or tty; never the passphrase.\n"
	"init writes DIR/ca.conf, DIR/ca-key.pem (0600), DIR/ca.pem, DIR/ca.db.\n");
}

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *r = malloc(n);

	if (r)
		snprintf(r, n, "%s%s", a, b);
	return r;
}

/* The parent of an issuing CA, without its key: it only gets a request
 * (and gives back the certificate once its officers approved). */
static int
open_parent(const char *path, struct cvq_ca_config **pcfg, cvq_ca **pca)
{
	char why[256] = "";
	cvq_ca_err err = cvq_ca_config_load(path, pcfg);

	if (err == CVQ_CA_OK)
		err = cvq_ca_open2(*pcfg, NULL, CVQ_CA_OPEN_NOKEY, pca, why, sizeof(why));
	if (err != CVQ_CA_OK) {
		cvq_admin_error("parent CA %s: %s%s%s", path, cvq_ca_strerror(err), why[0] ? ": " : "", why);
		return cvq_admin_ca_exit(err);
	}
	return CVQ_ADMIN_EXIT_OK;
}

/* ca init --finish ID: the issuing CA of DIR/ca.conf, its certificate
 * from the parent's approved request ID. */
static int
finish_issuing(const struct cvq_admin_opts *opts, const char *dir, const char *parent,
               const char *pass, int64_t id)
{
	struct cvq_ca_init_opts io = {.subject = "/CN=-", .finish_request = id};
	struct cvq_ca_config *cfg = NULL, *pcfg = NULL;
	char *conf = join(dir, "/ca.conf"), why[256] = "";
	cvq_ca *pca = NULL;
	cvq_ca_err err;
	int rc;

	err = conf ? cvq_ca_config_load(conf, &cfg) : CVQ_CA_ERR_NOMEM;
	if (err != CVQ_CA_OK) {
		cvq_admin_error("%s: %s (ca init --parent makes it with the request)", conf ? conf : dir,
		                cvq_ca_strerror(err));
		rc = cvq_admin_ca_exit(err);
		goto out;
	}
	if (!pass && !cfg->pass) {
		cvq_admin_error("the key's passphrase: --pass SOURCE");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	rc = open_parent(parent, &pcfg, &pca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		goto out;
	io.parent = pca;
	io.ocsp_signer = cfg->ocsp_key && cfg->ocsp_cert;
	io.why = why;
	io.why_len = sizeof(why);
	err = cvq_ca_init(cfg, pass, &io);
	if (err != CVQ_CA_OK) {
		cvq_admin_error("ca init --finish: %s (%s)", cvq_ca_strerror(err), why);
		rc = cvq_admin_ca_exit(err);
		goto out;
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:s, s:I}", "config", conf, "request", (json_int_t)id));
	else
		printf("CA ready: %s\n", conf);
	rc = CVQ_ADMIN_EXIT_OK;
out:
	cvq_ca_close(pca);
	cvq_ca_config_free(pcfg);
	cvq_ca_config_free(cfg);
	free(conf);
	return rc;
}

static int
ca_init(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"dir", required_argument, NULL, 'd'}, {"alg", required_argument, NULL, 'a'},
		{"subject", required_argument, NULL, 's'}, {"days", required_argument, NULL, 'n'},
		{"pass", required_argument, NULL, 'p'}, {"url", required_argument, NULL, 'u'},
		{"policy", required_argument, NULL, 'o'}, {"org", required_argument, NULL, 'O'},
		{"country", required_argument, NULL, 'C'}, {"ocsp-signer", no_argument, NULL, 'S'},
		{"parent", required_argument, NULL, 'P'}, {"finish", required_argument, NULL, 'F'},
		{"key", required_argument, NULL, 'k'}, {"generate", no_argument, NULL, 'g'},
		{"unattested", required_argument, NULL, 'U'}, {"attest-roots", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct cvq_ca_init_opts io = {.subject = "/CN=CVQ CA"};
	struct cvq_ca_config *cfg = NULL, *pcfg = NULL;
	const char *dir = NULL, *pass = NULL, *url = NULL, *parent = NULL;
	const char *key = "ca-key.pem";
	char *conf = NULL, *tmp = NULL, why[256] = "";
	cvq_ca *pca = NULL;
	cvq_ca_err err = CVQ_CA_OK;
	int c, rc = CVQ_ADMIN_EXIT_FAIL;
	bool generate = false, making = false;
	int64_t req_id = 0;
	long n, finish = 0;

	cfg = cvq_ca_config_new();
	if (!cfg)
		return CVQ_ADMIN_EXIT_FAIL;
	while ((c = getopt_long(argc, argv, "d:a:s:n:p:u:o:O:C:SP:F:k:ghU:R:", lo, NULL)) != -1) {
		making = making || !strchr("dpPF", c);
		switch (c) {
		case 'd': dir = optarg; break;
		case 'a': io.alg = optarg; break;
		case 's': io.subject = optarg; break;
		case 'n':
			n = cvq_admin_number(optarg);
			if (n <= 0 || n > 36500) {
				cvq_admin_error("bad --days");
				rc = CVQ_ADMIN_EXIT_USAGE;
				goto out;
			}
			io.days = (unsigned)n;
			break;
		case 'p': pass = optarg; break;
		case 'u': url = optarg; break;
		case 'o': err = cvq_ca_config_set(cfg, "policy_oid", optarg); break;
		case 'O': err = cvq_ca_config_set(cfg, "org", optarg); break;
		case 'C': err = cvq_ca_config_set(cfg, "country", optarg); break;
		case 'S': io.ocsp_signer = true; break;
		case 'P': parent = optarg; break;
		case 'F':
			finish = cvq_admin_number(optarg);
			if (finish <= 0) {
				cvq_admin_error("bad --finish");
				rc = CVQ_ADMIN_EXIT_USAGE;
				goto out;
			}
			break;
		case 'k': key = optarg; break;
		case 'g': generate = true; break;
		case 'U': err = cvq_ca_config_set(cfg, "attest.unattested", optarg); break;
		case 'R': err = cvq_ca_config_set(cfg, "attest.roots", optarg); break;
		case 'h': ca_usage(stdout); rc = CVQ_ADMIN_EXIT_OK; goto out;
		default: ca_usage(stderr); rc = CVQ_ADMIN_EXIT_USAGE; goto out;
		}
		if (err != CVQ_CA_OK)
			break;
	}
	if (finish) {
		/* Everything was chosen at the request: DIR/ca.conf says it. */
		if (err != CVQ_CA_OK || !dir || !parent || making || optind != argc) {
			cvq_admin_error("ca init --finish ID takes --dir, --parent and --pass only");
			rc = CVQ_ADMIN_EXIT_USAGE;
			goto out;
		}
		rc = finish_issuing(opts, dir, parent, pass, (int64_t)finish);
		goto out;
	}
	if (err != CVQ_CA_OK || !dir || !pass || optind != argc) {
		cvq_admin_error("ca init needs --dir and --pass (and valid options)");
		ca_usage(stderr);
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	if (generate && strncmp(key, "pkcs11:", 7) != 0) {
		cvq_admin_error("--generate is for a key on a token (--key pkcs11:...)");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	if (cvq_util_dir_create(dir, 0700) != 0 && errno != EEXIST) {
		cvq_admin_error("cannot make %s", dir);
		goto out;
	}
	cfg->dir = strdup(dir);
	err = cvq_ca_config_set(cfg, "db", "ca.db");
	err = err ? err : cvq_ca_config_set(cfg, "key", key);
	err = err ? err : cvq_ca_config_set(cfg, "cert", "ca.pem");
	/* Only a file source makes sense to remember; fd and tty are per run. */
	if (!err && strncmp(pass, "file:", 5) == 0)
		err = cvq_ca_config_set(cfg, "pass", pass);
	if (!err && io.ocsp_signer) {
		err = cvq_ca_config_set(cfg, "ocsp.key", "ocsp-key.pem");
		err = err ? err : cvq_ca_config_set(cfg, "ocsp.cert", "ocsp.pem");
	}
	if (!err && url) {
		free(tmp); tmp = join(url, "/ca.crl");
		err = tmp ? cvq_ca_config_set(cfg, "crl_url", tmp) : CVQ_CA_ERR_NOMEM;
		free(tmp); tmp = join(url, "/ocsp");
		err = err ? err : tmp ? cvq_ca_config_set(cfg, "ocsp_url", tmp) : CVQ_CA_ERR_NOMEM;
		free(tmp); tmp = join(url, "/ca.der");
		err = err ? err : tmp ? cvq_ca_config_set(cfg, "issuers_url", tmp) : CVQ_CA_ERR_NOMEM;
	}
	/* Citizen certificates always carry a policy (configured or 2.25.UUID). */
	if (!err)
		err = cvq_ca_config_policy_default(cfg);
	if (err != CVQ_CA_OK || !cfg->dir) {
		cvq_admin_error("configuration: %s", cvq_ca_strerror(err));
		goto out;
	}
	if (parent) {
		rc = open_parent(parent, &pcfg, &pca);
		if (rc != CVQ_ADMIN_EXIT_OK)
			goto out;
		io.parent = pca;
		io.request_id = &req_id;
	}
	io.token_generate = generate;
	io.why = why;
	io.why_len = sizeof(why);
	err = cvq_ca_init(cfg, pass, &io);
	if (err != CVQ_CA_OK) {
		cvq_admin_error("ca init: %s (%s)", cvq_ca_strerror(err), why);
		rc = cvq_admin_ca_exit(err);
		goto out;
	}
	conf = join(dir, "/ca.conf");
	err = conf ? cvq_ca_config_save(cfg, conf) : CVQ_CA_ERR_NOMEM;
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(NULL, err, "writing ca.conf");
		goto out;
	}
	if (parent) {
		if (opts->json)
			cvq_admin_json_print(json_pack("{s:s, s:I}", "config", conf, "request", (json_int_t)req_id));
		else
			printf("request %lld pending\n", (long long)req_id);
		fprintf(stderr, "key of %s made; once the parent's officers approved (cvq-admin --config %s "
		        "ca approve %lld): cvq-admin ca init --dir %s --parent %s --finish %lld\n", dir,
		        parent, (long long)req_id, dir, parent, (long long)req_id);
		rc = CVQ_ADMIN_EXIT_OK;
		goto out;
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:s, s:s}", "config", conf, "subject", io.subject));
	else
		printf("CA ready: %s\n", conf);
	rc = CVQ_ADMIN_EXIT_OK;
out:
	free(tmp);
	free(conf);
	cvq_ca_close(pca);
	cvq_ca_config_free(pcfg);
	cvq_ca_config_free(cfg);
	return rc;
}

struct counts {
	long certs, revoked;
};

static int
count_cert(void *ctx, const struct cvq_ca_cert_info *c)
{
	struct counts *n = ctx;

	n->certs++;
	if (c->status == CVQ_CA_CERT_REVOKED)
		n->revoked++;
	return 0;
}

static int
ca_show(const struct cvq_admin_opts *opts)
{
	struct cvq_ca_config *cfg;
	struct counts n = {0};
	unsigned char md[32];
	unsigned int mdl = 0;
	char fp[65], sub[512], serial[67], t1[32], t2[32];
	X509 *x;
	cvq_ca *ca;
	unsigned i;
	int rc;

	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	x = cvq_ca_cert(ca);
	X509_digest(x, EVP_sha256(), md, &mdl);
	for (i = 0; i < mdl && i < 32; i++)
		snprintf(fp + 2 * i, 3, "%02x", md[i]);
	X509_NAME_oneline(X509_get_subject_name(x), sub, sizeof(sub));
	cvq_ca_serial_hex(X509_get0_serialNumber(x), serial);
	cvq_ca_cert_list(ca, NULL, count_cert, &n);
	{
		struct tm tm;
		time_t a = 0, b = 0;

		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
			a = timegm(&tm);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			b = timegm(&tm);
		cvq_admin_time(a, t1);
		cvq_admin_time(b, t2);
	}
	if (opts->json) {
		cvq_admin_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s?, s:s?, s:s?, s:s?}",
		        "subject", sub, "serial", serial, "sha256", fp, "not_before", t1,
		        "not_after", t2, "certificates", (json_int_t)n.certs, "revoked", (json_int_t)n.revoked,
		        "crl_url", cfg->crl_url, "ocsp_url", cfg->ocsp_url,
		        "issuers_url", cfg->issuers_url, "policy", cfg->policy_oid));
	} else {
		printf("subject:      %s\nserial:       %s\nsha256:       %s\n"
		       "valid:        %s .. %s\ncertificates: %ld (%ld revoked)\n",
		       sub, serial, fp, t1, t2, n.certs, n.revoked);
		if (cfg->crl_url)
			printf("crl:          %s\n", cfg->crl_url);
		if (cfg->ocsp_url)
			printf("ocsp:         %s\n", cfg->ocsp_url);
	}
	cvq_admin_ca_close(cfg, ca);
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_admin_cmd_ca(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		ca_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return ca_init(argc - 1, argv + 1, opts);
	if (strcmp(argv[1], "show") == 0)
		return ca_show(opts);
	if (strcmp(argv[1], "request") == 0 || strcmp(argv[1], "approve") == 0 ||
	    strcmp(argv[1], "reject") == 0 || strcmp(argv[1], "requests") == 0)
		return cvq_admin_ca_request(argc - 1, argv + 1, opts);
	cvq_admin_error("unknown 'ca' command '%s'", argv[1]);
	ca_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
