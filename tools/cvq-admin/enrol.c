/*
 * cvq-admin card enrol — the command: its options, the reader's lock, the
 * printing of the outcome and the exit code. The enrolment itself (the
 * recoverable state machine) is libcvqenrol's cvq_enrol_run (enrol/src/
 * enrol_run.c); docs/enrolment.md lists the steps and their recovery.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cvq/piv.h>

#include "ca_common.h"
#include "enrol.h"

static void
print_result(const struct cvq_enrol_ctx *e, const struct cvq_enrol_result *res)
{
	time_t tt = (time_t)res->expires;
	struct tm tm;
	char d[16] = "";

	if (!e->opts->json)
		return;
	if (gmtime_r(&tt, &tm))
		strftime(d, sizeof(d), "%Y-%m-%d", &tm);
	cvq_admin_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s?}",
	        "guid", res->guid, "citizen", res->holder, "state", res->state,
	        "key_alg", cvq_enrol_key_alg_name(res->key_alg),
	        "expires", d, "resumed", res->resumed, "already_enrolled", res->already,
	        "letter", res->already ? NULL : res->letter));
}

int
cvq_enrol_card_one(struct cvq_enrol_ctx *e, const char *citizen, const char *letter,
                   int pin_len, unsigned days, int key_alg)
{
	struct cvq_enrol_run_opts o = {.citizen = citizen, .letter = letter, .pin_len = pin_len,
	                               .days = days, .key_alg = key_alg};
	struct cvq_enrol_result res;
	struct cvq_enrol_env env;
	cvq_enrol_err err;
	char why[512] = "";
	int lock, rc;

	lock = cvq_enrol_reader_lock(e);
	if (lock < 0)
		return CVQ_ADMIN_EXIT_FAIL;
	cvq_enrol_env_of(e, &env);
	err = cvq_enrol_run(&env, &o, &res, why, sizeof(why));
	close(lock);
	rc = cvq_enrol_exit(e, err, &res, why);
	if (rc == CVQ_ADMIN_EXIT_OK)
		print_result(e, &res);
	OPENSSL_cleanse(&res, sizeof(res));
	return rc;
}

static void
enrol_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin card enrol --citizen ID [--reader NAME] [--letter FILE]\n"
	"                 [--pin-length 6|7|8] [--days N] [--key-alg ec-p256|rsa-2048]\n"
	"                 [--master-key-file FILE] [--pass SOURCE]\n"
	CVQ_ENROL_AGENT_USAGE
	"       cvq-admin card master-key --out FILE\n"
	"enrol turns the blank card in the reader into the citizen's card; run again\n"
	"after an interruption, it carries on. The PIN is written only to the PIN\n"
	"letter (default ./pin-letter-ID.txt, mode 0600). With --agent, the CA's\n"
	"issuing agent does what the CA side does: no CA key or passphrase here;\n"
	"with no CA configuration here either, the journal is --journal FILE or\n"
	"$CVQ_ENROL_JOURNAL.\n");
}

static int
master_key_cmd(int argc, char **argv)
{
	static const struct option lo[] = {{"out", required_argument, NULL, 'o'},
	                                   {NULL, 0, NULL, 0}};
	const char *out = NULL;
	cvq_enrol_err err;
	int c;

	while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		if (c != 'o')
			return CVQ_ADMIN_EXIT_USAGE;
		out = optarg;
	}
	if (!out || optind != argc) {
		enrol_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	err = cvq_enrol_master_create(out);
	if (err) {
		cvq_admin_error("%s: %s (an existing file is never overwritten)", out,
		                cvq_enrol_strerror(err));
		return CVQ_ADMIN_EXIT_FAIL;
	}
	printf("master secret written to %s (mode 0600); keep it with the CA key\n", out);
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_admin_enrol_main(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"citizen", required_argument, NULL, 'c'}, {"reader", required_argument, NULL, 'r'},
		{"letter", required_argument, NULL, 'l'}, {"pin-length", required_argument, NULL, 'n'},
		{"days", required_argument, NULL, 'd'}, {"master-key-file", required_argument, NULL, 'm'},
		{"pass", required_argument, NULL, 'p'}, {"key-alg", required_argument, NULL, 'k'},
		CVQ_ENROL_AGENT_OPTIONS,
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct cvq_enrol_open_opts oo = {.need = CVQ_ENROL_NEED_KEY | CVQ_ENROL_NEED_MASTER};
	struct cvq_enrol_run_opts req = {.pin_len = 6, .days = 1825, .key_alg = CVQ_CARD_ALG_ECCP256};
	struct cvq_enrol_ctx e;
	const char *reader = NULL;
	long v;
	int c, rc;

	if (argc >= 1 && strcmp(argv[0], "master-key") == 0)
		return master_key_cmd(argc, argv);
	while ((c = cvq_enrol_getopt(argc, argv, "c:r:l:n:d:m:p:k:h", lo, &oo)) != -1) {
		switch (c) {
		case 'c': req.citizen = optarg; break;
		case 'k':
			req.key_alg = cvq_enrol_key_alg_parse(optarg);
			if (!req.key_alg) {
				enrol_usage(stderr);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			break;
		case 'r': reader = optarg; break;
		case 'l': req.letter = optarg; break;
		case 'n':
			v = cvq_admin_number(optarg);
			if (v < CVQ_ENROL_PIN_MIN || v > CVQ_ENROL_PIN_MAX)
				return CVQ_ADMIN_EXIT_USAGE;
			req.pin_len = (int)v;
			break;
		case 'd':
			v = cvq_admin_number(optarg);
			if (v <= 0 || v > 3650)
				return CVQ_ADMIN_EXIT_USAGE;
			req.days = (unsigned)v;
			break;
		case 'm': oo.master_file = optarg; break;
		case 'p': oo.pass = optarg; break;
		case 'h': enrol_usage(stdout); return CVQ_ADMIN_EXIT_OK;
		default: enrol_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (!req.citizen || optind != argc || (cvq_enrol_has_agent(&oo) && oo.pass)) {
		enrol_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_enrol_ctx_open(&e, opts, &oo);
	if (rc)
		return rc;
	rc = cvq_enrol_ctx_card(&e, reader);
	if (rc == CVQ_ADMIN_EXIT_OK)
		rc = cvq_enrol_card_one(&e, req.citizen, req.letter, req.pin_len, req.days,
		                        req.key_alg);
	cvq_enrol_ctx_close(&e);
	return rc;
}
