/* cvq-admin cert — issue, show, list, revoke certificates. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cvq/util.h>

#include "agent_link.h"
#include "ca_agent.h"
#include "ca_common.h"
#include "out_file.h"

static void
cert_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin cert issue --profile P [--card GUID] [--subject /CN=..] [--dns NAME]\n"
	"                  [--days N] [--pass SOURCE] [--out FILE] [--no-agent]\n"
	"                  [--agent-socket PATH] [--attest DER --f9 DER [--slot HEX]] CSR\n"
	CVQ_ADMIN_LINK_USAGE
	"                  (through the issuing agent when one runs: cvq-admin ca-agent;\n"
	"                  an https agent on another machine is the only issuer asked)\n"
	"       cvq-admin cert issue --profile P [...] (--out-dir DIR | --out BUNDLE) CSR...\n"
	"                  (one batch: SERIAL.pem files in DIR, or all in one PEM bundle)\n"
	"       cvq-admin cert show SERIAL [--pem]\n"
	"       cvq-admin cert list [--card GUID]\n"
	"       cvq-admin cert check --profile P CERT...  (RFC 5280 profile checker)\n"
	"       cvq-admin cert revoke (SERIAL | --card GUID | --citizen ID) [--reason R]\n"
	"                  [--invalidity UNIXTIME] [--card-status lost|stolen|...] [--pass SOURCE]\n"
	"profiles: citizen-auth citizen-sign ocsp-signer service subca\n"
	"reasons: unspecified keyCompromise affiliationChanged superseded\n"
	"         cessationOfOperation certificateHold privilegeWithdrawn ...\n");
}

/* The size of a small file: not empty, under 1 MiB (a CSR, a certificate). */
static bool
small_size(int fd, size_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size >= (1 << 20))
		return false;
	*size = (size_t)st.st_size;
	return true;
}

static bool
read_all(int fd, uint8_t *buf, size_t size)
{
	ssize_t r;
	size_t got = 0;

	while (got < size) {
		r = read(fd, buf + got, size - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* A whole small file: open, fstat, read, close (batches read thousands). */
bool
cvq_admin_read_file(const char *path, uint8_t **buf, size_t *len)
{
	size_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*buf = NULL;
	if (fd < 0)
		return false;
	if (!small_size(fd, &size) || !(*buf = malloc(size)) || !read_all(fd, *buf, size)) {
		close(fd);
		free(*buf);
		*buf = NULL;
		return false;
	}
	close(fd);
	*len = size;
	return true;
}

/*
 * A batch's CSR i, read by the library's threads as they go (into their
 * buffer of cap bytes): the same limits as cvq_admin_read_file; 0 when
 * it cannot be read, which the batch refuses (audited) and batch_cb
 * reports. Thread-safe: only its own fd.
 */
static size_t
batch_load(void *lctx, size_t i, uint8_t *buf, size_t cap)
{
	char *const *names = lctx;
	size_t size = 0;
	int fd = open(names[i], O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return 0;
	ok = small_size(fd, &size) && size <= cap && read_all(fd, buf, size);
	close(fd);
	return ok ? size : 0;
}

/* The same bytes as PEM_write_X509, from the DER as stored. */
int
cvq_admin_write_pem(const uint8_t *der, size_t len, const char *path)
{
	struct cvq_admin_out o;

	if (!path)
		return PEM_write(stdout, "CERTIFICATE", "", der, (long)len) > 0 && fflush(stdout) == 0;
	if (cvq_admin_out_open(&o, path) != 0)
		return 0;
	if (PEM_write(o.f, "CERTIFICATE", "", der, (long)len) <= 0) {
		cvq_admin_out_abort(&o);
		return 0;
	}
	return cvq_admin_out_commit(&o) == 0;
}

struct batch {
	const char *dir;
	FILE *bundle;              /* bundle_out.f with --out */
	struct cvq_admin_out bundle_out;
	char **names;
	int failed;
	const struct cvq_admin_opts *opts;
	json_t *out;
};

static int
batch_cb(void *ctx, size_t i, cvq_ca_err err, const uint8_t *der, size_t len, const char *serial)
{
	struct batch *b = ctx;
	char path[4096];

	if (err == CVQ_CA_ERR_IO) {
		cvq_admin_error("cannot read %s (not issued)", b->names[i]);
		b->failed++;
		return 0;
	}
	if (err != CVQ_CA_OK) {
		cvq_admin_error("%s: %s", b->names[i], cvq_ca_strerror(err));
		b->failed++;
		return 0;
	}
	if (b->bundle) {
		if (PEM_write(b->bundle, "CERTIFICATE", "", der, (long)len) <= 0) {
			cvq_admin_error("cannot write the bundle");
			b->failed++;
			return 1;
		}
	} else if (snprintf(path, sizeof(path), "%s/%s.pem", b->dir, serial) < 0 ||
	           !cvq_admin_write_pem(der, len, path)) {
		cvq_admin_error("cannot write %s", path);
		b->failed++;
		return 1;
	}
	if (b->out)
		json_array_append_new(b->out, json_pack("{s:s, s:s}", "csr", b->names[i], "serial", serial));
	return 0;
}

/*
 * Ask the agent when one runs (ca-agent start): the same issuance, the key
 * already unlocked. -1 when no agent answers on the socket: issue here
 * instead (an https agent is another machine's: no CA here to fall back on).
 */
static int
issue_by_agent(const struct cvq_admin_opts *opts, struct cvq_admin_link *link,
               const struct cvq_ca_issue_req *req, const uint8_t *csr, size_t csr_len,
               const char *out)
{
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE, .req = *req, .csr = csr,
	                             .csr_len = csr_len};
	uint8_t *der = NULL;
	size_t len = 0;
	char *owned = NULL, why[256] = "";
	cvq_ca_err err;
	int rc = CVQ_ADMIN_EXIT_OK;

	if (csr_len > CVQ_CA_AGENT_MAX_CSR && !link->url)
		return -1;
	if (!cvq_admin_link_ready(link, opts, &owned))
		return link->url ? CVQ_ADMIN_EXIT_FAIL : -1;
	err = cvq_admin_link_call_msg(link, &m, &der, &len, why, sizeof(why));
	cvq_admin_link_done(link, owned);
	if (err == CVQ_CA_ERR_NET && !link->url)
		return -1;
	if (err != CVQ_CA_OK) {
		cvq_admin_error("issue: %s (%s)", cvq_ca_strerror(err), why);
		return cvq_admin_ca_exit(err);
	}
	if (!cvq_admin_write_pem(der, len, out)) {
		cvq_admin_error("cannot write the certificate");
		rc = CVQ_ADMIN_EXIT_FAIL;
	}
	free(der);
	return rc;
}

static int
cert_issue(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"profile", required_argument, NULL, 'P'}, {"card", required_argument, NULL, 'c'},
		{"subject", required_argument, NULL, 's'}, {"dns", required_argument, NULL, 'D'},
		{"days", required_argument, NULL, 'n'}, {"pass", required_argument, NULL, 'p'},
		{"out", required_argument, NULL, 'o'}, {"out-dir", required_argument, NULL, 'O'},
		{"no-agent", no_argument, NULL, 'N'}, {"agent-socket", required_argument, NULL, 'S'},
		{"attest", required_argument, NULL, 'a'}, {"f9", required_argument, NULL, 'f'},
		{"slot", required_argument, NULL, 'l'}, CVQ_ADMIN_LINK_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct cvq_admin_link link = {0};
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE__COUNT};
	struct cvq_ca_attest att = {.slot = -1};
	const char *att_path = NULL, *f9_path = NULL;
	const char *pass = NULL, *out = NULL, *out_dir = NULL;
	bool no_agent = false;
	struct cvq_ca_config *cfg = NULL;
	uint8_t **blobs = NULL, *der = NULL;
	size_t *lens = NULL, der_len = 0;
	bool batch;
	cvq_ca *ca = NULL;
	cvq_ca_err err;
	int c, n, rc;
	long v;

	while ((c = getopt_long(argc, argv, "P:c:s:D:n:p:o:O:NS:a:f:l:", lo, NULL)) != -1) {
		switch (c) {
		case 'a': att_path = optarg; break;
		case 'f': f9_path = optarg; break;
		case 'l': att.slot = (int)strtol(optarg, NULL, 16); break;
		case 'P':
			if (cvq_ca_profile_parse(optarg, &req.profile) != CVQ_CA_OK) {
				cvq_admin_error("unknown profile %s", optarg);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			break;
		case 'c': req.card_guid = optarg; break;
		case 's': req.subject = optarg; break;
		case 'D': req.dns_name = optarg; break;
		case 'n':
			v = cvq_admin_number(optarg);
			if (v <= 0 || v > 36500)
				return CVQ_ADMIN_EXIT_USAGE;
			req.days = (unsigned)v;
			break;
		case 'p': pass = optarg; break;
		case 'o': out = optarg; break;
		case 'O': out_dir = optarg; break;
		case 'N': no_agent = true; break;
		case 'S': link.socket = optarg; link.url = NULL; break;
		default:
			if (cvq_admin_link_option(&link, c, optarg))
				break;
			cert_usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	n = argc - optind;
	if (req.profile == CVQ_CA_PROFILE__COUNT || n < 1 || (n > 1 && !out_dir && !out) ||
	    (out && out_dir)) {
		cert_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	batch = out_dir || n > 1;
	if (!att_path != !f9_path || (att_path && batch)) {
		cvq_admin_error("--attest and --f9 go together, for one CSR");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (att_path) {
		uint8_t *a = NULL, *f = NULL;

		if (!cvq_admin_read_file(att_path, &a, &att.cert_len) ||
		    !cvq_admin_read_file(f9_path, &f, &att.f9_len)) {
			cvq_admin_error("cannot read %s or %s", att_path, f9_path);
			free(a);
			free(f);
			return CVQ_ADMIN_EXIT_FAIL;
		}
		att.cert = a;
		att.f9 = f;
		if (att.slot < 0)
			att.slot = req.profile == CVQ_CA_PROFILE_CITIZEN_SIGN ? 0x9c : 0x9a;
		req.attest = &att;
	}
	if (link.url && (batch || no_agent)) {
		cvq_admin_error("an https agent issues one CSR at a time, and is the issuer");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	/* One CSR read now; a batch's are read by the library's threads
	 * while they issue (batch_load), not all before it starts. */
	if (!batch) {
		blobs = calloc(1, sizeof(*blobs));
		lens = calloc(1, sizeof(*lens));
		if (!blobs || !lens) {
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
		if (!cvq_admin_read_file(argv[optind], &blobs[0], &lens[0])) {
			cvq_admin_error("cannot read %s", argv[optind]);
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
	}
	if (!batch && !no_agent) {
		rc = issue_by_agent(opts, &link, &req, blobs[0], lens[0], out);
		if (rc >= 0)
			goto out;
	}
	rc = cvq_admin_ca_open(opts, pass, 0, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		goto out;
	if (batch) {
		struct batch b = {.dir = out_dir, .names = argv + optind, .opts = opts,
		                  .out = opts->json ? json_array() : NULL};

		if (!out_dir) {
			b.bundle = cvq_admin_out_open(&b.bundle_out, out) == 0 ? b.bundle_out.f : NULL;
			if (!b.bundle) {
				cvq_admin_error("cannot write %s", out);
				rc = CVQ_ADMIN_EXIT_FAIL;
				json_decref(b.out);
				goto out;
			}
		}
		err = cvq_ca_issue_batch_load(ca, &req, (size_t)n, batch_load, argv + optind,
		                              batch_cb, &b);
		if (b.bundle && cvq_admin_out_commit(&b.bundle_out) != 0) {
			cvq_admin_error("cannot write %s", out);
			b.failed++;
		}
		if (err != CVQ_CA_OK)
			rc = cvq_admin_ca_fail(ca, err, "batch issuance");
		else if (b.failed)
			rc = CVQ_ADMIN_EXIT_FAIL;
		if (b.out)
			cvq_admin_json_print(b.out);
		goto out;
	}
	err = cvq_ca_issue_csr_der(ca, &req, blobs[0], lens[0], &der, &der_len);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, "issue");
		goto out;
	}
	if (!cvq_admin_write_pem(der, der_len, out)) {
		/* Recorded in the store all the same: `cert show --pem` gets it. */
		cvq_admin_error("cannot write the certificate");
		rc = CVQ_ADMIN_EXIT_FAIL;
	}
out:
	if (blobs)
		free(blobs[0]);
	free(blobs);
	free(lens);
	free((void *)att.cert);
	free((void *)att.f9);
	OPENSSL_free(der);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

static int
cert_show(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	struct cvq_ca_cert_info info;
	struct cvq_ca_config *cfg;
	X509 *cert = NULL;
	cvq_ca *ca;
	cvq_ca_err err;
	bool pem = false;
	int c, rc;
	char t1[32], t2[32], t3[32];

	static const struct option lo[] = {{"pem", no_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
	while ((c = getopt_long(argc, argv, "p", lo, NULL)) != -1) {
		if (c != 'p')
			return CVQ_ADMIN_EXIT_USAGE;
		pem = true;
	}
	if (optind + 1 != argc) {
		cert_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	err = cvq_ca_cert_get(ca, argv[optind], &info, pem ? &cert : NULL);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, argv[optind]);
	} else if (pem) {
		PEM_write_X509(stdout, cert);
	} else if (opts->json) {
		cvq_admin_json_print(cvq_admin_json_cert(&info));
	} else {
		printf("serial:   %s\nprofile:  %s\nsubject:  %s\ncard:     %s\n"
		       "valid:    %s .. %s\nstatus:   %s",
		       info.serial, cvq_ca_profile_name(info.profile), info.subject,
		       info.card_guid[0] ? info.card_guid : "-", cvq_admin_time(info.not_before, t1),
		       cvq_admin_time(info.not_after, t2),
		       info.status == CVQ_CA_CERT_REVOKED ? "revoked" : "good");
		if (info.status == CVQ_CA_CERT_REVOKED)
			printf(" (%s, %s)", cvq_ca_reason_name(info.reason),
			       cvq_admin_time(info.revoked_at, t3));
		printf("\n");
	}
	X509_free(cert);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

static int
list_cb(void *ctx, const struct cvq_ca_cert_info *c)
{
	json_t *arr = ctx;
	char t[32];

	if (arr)
		json_array_append_new(arr, cvq_admin_json_cert(c));
	else
		printf("%-34s %-13s %-7s %s %s\n", c->serial, cvq_ca_profile_name(c->profile),
		       c->status == CVQ_CA_CERT_REVOKED ? "revoked" : "good",
		       cvq_admin_time(c->not_after, t), c->subject);
	return 0;
}

static int
cert_list(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {{"card", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
	struct cvq_ca_config *cfg;
	const char *card = NULL;
	json_t *arr = NULL;
	cvq_ca *ca;
	cvq_ca_err err;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		if (c != 'c')
			return CVQ_ADMIN_EXIT_USAGE;
		card = optarg;
	}
	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (opts->json)
		arr = json_array();
	err = cvq_ca_cert_list(ca, card, list_cb, arr);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(ca, err, "cert list");
		json_decref(arr);
	} else {
		cvq_admin_json_print(arr);
	}
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

static int
cert_revoke(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"card", required_argument, NULL, 'c'}, {"citizen", required_argument, NULL, 'z'},
		{"reason", required_argument, NULL, 'r'}, {"invalidity", required_argument, NULL, 'i'},
		{"card-status", required_argument, NULL, 's'}, {"pass", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	enum cvq_ca_card_status status = CVQ_CA_CARD__COUNT;
	const char *card = NULL, *citizen = NULL, *pass = NULL;
	struct cvq_ca_config *cfg;
	unsigned count = 1;
	int64_t invalidity = 0;
	cvq_ca *ca;
	cvq_ca_err err;
	int c, rc, reason = CVQ_CA_REASON_UNSPECIFIED;

	while ((c = getopt_long(argc, argv, "c:z:r:i:s:p:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': card = optarg; break;
		case 'z': citizen = optarg; break;
		case 'r':
			if (cvq_ca_reason_parse(optarg, &reason) != CVQ_CA_OK) {
				cvq_admin_error("unknown reason %s", optarg);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			break;
		case 'i':
			invalidity = cvq_admin_number(optarg);
			if (invalidity <= 0)
				return CVQ_ADMIN_EXIT_USAGE;
			break;
		case 's':
			if (cvq_ca_card_status_parse(optarg, &status) != CVQ_CA_OK) {
				cvq_admin_error("unknown card status %s", optarg);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			break;
		case 'p': pass = optarg; break;
		default: cert_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if ((!!card + !!citizen + (optind < argc)) != 1 || argc - optind > 1) {
		cert_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	/* Revocation needs no key: the CRL and OCSP are signed later. */
	rc = cvq_admin_ca_open(opts, pass, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (card)
		err = cvq_ca_revoke_card(ca, card, reason, invalidity, status, &count);
	else if (citizen)
		err = cvq_ca_revoke_citizen(ca, citizen, reason, invalidity, &count);
	else
		err = cvq_ca_revoke_serial(ca, argv[optind], reason, invalidity);
	if (err != CVQ_CA_OK)
		rc = cvq_admin_ca_fail(ca, err, "revoke");
	else if (opts->json)
		cvq_admin_json_print(json_pack("{s:i, s:s}", "revoked", (json_int_t)count,
		                               "reason", cvq_ca_reason_name(reason)));
	else
		printf("revoked: %u certificate(s)\n", count);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}

static X509 *
read_cert(const char *path)
{
	X509 *x = NULL;
	BIO *b = BIO_new_file(path, "rb");

	if (!b)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!x) {
		(void)BIO_reset(b);
		x = d2i_X509_bio(b, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	return x;
}

/* Our profile checker over certificates issued by this CA. */
static int
cert_check(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {{"profile", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
	enum cvq_ca_profile p = CVQ_CA_PROFILE__COUNT;
	struct cvq_ca_config *cfg;
	char why[256];
	cvq_ca *ca;
	X509 *x;
	int c, i, rc, bad = 0;

	while ((c = getopt_long(argc, argv, "P:", lo, NULL)) != -1) {
		if (c != 'P' || cvq_ca_profile_parse(optarg, &p) != CVQ_CA_OK) {
			cert_usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (p == CVQ_CA_PROFILE__COUNT || optind >= argc) {
		cert_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	for (i = optind; i < argc; i++) {
		x = read_cert(argv[i]);
		if (!x) {
			cvq_admin_error("%s: not a certificate", argv[i]);
			bad++;
			continue;
		}
		if (cvq_ca_check_profile(x, cvq_ca_cert(ca), p, why, sizeof(why)) != CVQ_CA_OK) {
			cvq_admin_error("%s: %s", argv[i], why);
			bad++;
		} else if (!opts->json) {
			printf("%s: ok (%s)\n", argv[i], cvq_ca_profile_name(p));
		}
		X509_free(x);
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:i, s:i}", "checked", argc - optind, "failed", bad));
	cvq_admin_ca_close(cfg, ca);
	return bad ? CVQ_ADMIN_EXIT_INVALID : CVQ_ADMIN_EXIT_OK;
}

int
cvq_admin_cmd_cert(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		cert_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_OK;
	}
	if (strcmp(argv[1], "issue") == 0)
		return cert_issue(argc - 1, argv + 1, opts);
	if (strcmp(argv[1], "show") == 0)
		return cert_show(argc - 1, argv + 1, opts);
	if (strcmp(argv[1], "list") == 0)
		return cert_list(argc - 1, argv + 1, opts);
	if (strcmp(argv[1], "revoke") == 0)
		return cert_revoke(argc - 1, argv + 1, opts);
	if (strcmp(argv[1], "check") == 0)
		return cert_check(argc - 1, argv + 1, opts);
	cvq_admin_error("unknown 'cert' command '%s'", argv[1]);
	cert_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
