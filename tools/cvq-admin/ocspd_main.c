/*
 * cvq-ocspd — the CA's OCSP responder (`cvq-admin ocsp serve` runs it):
 *
 *   cvq-ocspd [--json] [--config FILE] [-v] serve (--listen ADDR:PORT | --fd N) ...
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/util.h"

#include "admin.h"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cvq_admin_opts opts = {0};
	char **av;
	int c, i, n, rc;

	/* It may hold the OCSP signer's key, decrypted. */
	if (cvq_util_no_core_dumps() != CVQ_UTIL_OK)
		cvq_admin_error("warning: cannot disable core dumps");
	while ((c = getopt_long(argc, argv, "+jc:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': opts.json = true; break;
		case 'c': opts.config = optarg; break;
		case 'v': opts.verbose++; break;
		case 'V': printf("cvq-ocspd %s\n", CVQ_VERSION); return CVQ_ADMIN_EXIT_OK;
		default:
			fprintf(stderr, "usage: cvq-ocspd [--json] [--config FILE] serve OPTIONS (see cvq-admin ocsp --help)\n");
			return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	/* The serve code reads argv as cvq-admin's groups do: argv[0] the group. */
	n = argc - optind + 1;
	av = calloc((size_t)n + 1, sizeof(*av));
	if (!av)
		return CVQ_ADMIN_EXIT_FAIL;
	av[0] = "ocsp";
	for (i = optind; i < argc; i++)
		av[i - optind + 1] = argv[i];
	optind = 0; /* the serve code parses its options from scratch */
	rc = cvq_admin_ocsp_serve(n, av, &opts);
	free(av);
	return rc;
}
