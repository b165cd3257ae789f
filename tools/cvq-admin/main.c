/* cvq-admin — the command line of the Point Infoville staff and the CA officer. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/util.h"

#include "admin.h"
#include "ca_agent.h"

struct group {
	const char *name;
	const char *summary;
	cvq_admin_group_fn run;
};

static const struct group groups[] = {
	{"card", "readers and cards: readers, watch, info, pin, reset, enrol, ...", cvq_admin_cmd_card},
	{"citizen", "citizens (subscriptions): add, show, list, export", cvq_admin_cmd_citizen},
	{"ca", "the certificate authority: init, show", cvq_admin_cmd_ca},
	{"ca-agent", "the issuing agent (CA key kept unlocked): start, stop, status", cvq_admin_cmd_ca_agent},
	{"cert", "certificates: issue, show, list, revoke", cvq_admin_cmd_cert},
	{"crl", "issue a CRL", cvq_admin_cmd_crl},
	{"ocsp", "the CA's public service (OCSP, and the TSA when configured): serve", cvq_admin_cmd_ocsp},
	{"tsa", "the timestamp authority: init, status", cvq_admin_cmd_tsa},
	{"publish", "write the CRL and pre-signed OCSP responses to a directory", cvq_admin_cmd_publish},
	{"audit", "the audit log: verify, show", cvq_admin_cmd_audit},
	{"verify", "verify a receipt or certificate", cvq_admin_cmd_verify},
	{"document", "documents sealed by the city: sign (PAdES, CAdES), verify", cvq_admin_cmd_document},
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cvq-admin [--json] [--config FILE] [-v] [--fix-mode] COMMAND [ARGS...]\n\n"
	           "commands:\n");
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(f, "  %-9s %s\n", groups[i].name, groups[i].summary);
	fprintf(f, "\n'cvq-admin COMMAND --help' describes a command.\n"
	           "Exit codes: 0 ok, 1 failed, 2 usage, 3 PIN or passphrase,\n"
	           "4 no reader or card, 5 not found, 6 verification failed, 7 store.\n"
	           "Secrets (PINs, passphrases) are never taken from the command line.\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"fix-mode", no_argument, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	struct cvq_admin_opts opts = {0};
	size_t i;
	int c, first;

	/* Many commands hold PINs, PUKs, passphrases, management keys or the
	 * master secret: none of them may end up in a core file. */
	if (cvq_util_no_core_dumps() != CVQ_UTIL_OK)
		cvq_admin_error("warning: cannot disable core dumps");

	/* '+': stop at the first non-option, the command's own options follow. */
	while ((c = getopt_long(argc, argv, "+jc:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': opts.json = true; break;
		case 'c': opts.config = optarg; break;
		case 'v': opts.verbose++; break;
		case 'F': opts.fix_mode = true; break;
		case 'h': usage(stdout); return CVQ_ADMIN_EXIT_OK;
		case 'V': printf("cvq-admin %s\n", CVQ_VERSION); return CVQ_ADMIN_EXIT_OK;
		default: usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	first = optind;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(argv[first], groups[i].name) == 0) {
			/* The group parses its own options with getopt from scratch
			 * (optind = 0 re-initialises glibc's getopt). */
			optind = 0;
			return groups[i].run(argc - first, argv + first, &opts);
		}
	}
	cvq_admin_error("unknown command '%s'", argv[first]);
	usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
