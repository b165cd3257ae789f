/*
 * cvq-admin ocsp serve — the OCSP responder over HTTP (GET and POST). It
 * runs in cvq-ocspd (ocspd_main.c), which `cvq-admin ocsp` executes, so
 * that only the server links libmicrohttpd and its TLS stack.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cvq/ca_ocsp.h>

#include "ca_common.h"

static void
ocsp_usage(FILE *f)
{
	fprintf(f, "usage: cvq-admin ocsp serve (--listen ADDR:PORT | --fd N) [--threads N]\n"
	           "                 [--timeout SECONDS] [--pass SOURCE]\n"
	           "Prints 'listening on port N' once ready; stops on SIGINT or SIGTERM.\n");
}

int
cvq_admin_ocsp_serve(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"listen", required_argument, NULL, 'l'}, {"fd", required_argument, NULL, 'f'},
		{"threads", required_argument, NULL, 't'}, {"timeout", required_argument, NULL, 'T'},
		{"pass", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *listen = NULL, *pass = NULL;
	struct cvq_ca_config *cfg = NULL;
	cvq_ca_ocsp_server *srv = NULL;
	cvq_ca_ocsp *o = NULL;
	long fd = -1, threads = 0, timeout = 10;
	cvq_ca_err err;
	sigset_t set;
	int c, sig, rc;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		ocsp_usage(stdout);
		return CVQ_ADMIN_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "serve") != 0) {
		ocsp_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "l:f:t:T:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'f': fd = cvq_admin_number(optarg); if (fd < 0) return CVQ_ADMIN_EXIT_USAGE; break;
		case 't': threads = cvq_admin_number(optarg); if (threads < 0 || threads > 256) return CVQ_ADMIN_EXIT_USAGE; break;
		case 'T': timeout = cvq_admin_number(optarg); if (timeout <= 0) return CVQ_ADMIN_EXIT_USAGE; break;
		case 'p': pass = optarg; break;
		case 'h': ocsp_usage(stdout); return CVQ_ADMIN_EXIT_OK;
		default: ocsp_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (!listen == (fd < 0) || optind != argc) {
		ocsp_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_admin_ca_config(opts, &cfg);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	err = cvq_ca_ocsp_new(cfg, pass, threads ? (unsigned)threads + 1 : 8, &o);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(NULL, err, "ocsp responder");
		goto out;
	}
	/* Block the signals before the server's threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	err = cvq_ca_ocsp_server_start(o, listen, (int)fd, (unsigned)threads, (unsigned)timeout, &srv);
	if (err != CVQ_CA_OK) {
		rc = cvq_admin_ca_fail(NULL, err, listen ? listen : "listening socket");
		goto out;
	}
	if (opts->json)
		printf("{\"port\": %u}\n", cvq_ca_ocsp_server_port(srv));
	else
		printf("listening on port %u\n", cvq_ca_ocsp_server_port(srv));
	fflush(stdout);
	sigwait(&set, &sig);
	rc = CVQ_ADMIN_EXIT_OK;
out:
	cvq_ca_ocsp_server_stop(srv);
	cvq_ca_ocsp_free(o);
	cvq_ca_config_free(cfg);
	return rc;
}
