/*
 * cvq-admin ocsp serve — the CA's public service over HTTP (ca_http.h):
 * OCSP (GET and POST) and, when the CA configuration has [tsa], the
 * timestamp authority. It runs in cvq-ocspd (ocspd_main.c), which
 * `cvq-admin ocsp` executes, so that only the server links libmicrohttpd
 * and its TLS stack.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cvq/ca_http.h>

#include "ca_common.h"

static void
ocsp_usage(FILE *f)
{
	fprintf(f, "usage: cvq-admin ocsp serve (--listen ADDR:PORT | --fd N) [--threads N]\n"
	           "                 [--timeout SECONDS] [--pass SOURCE] [--tsa-pass SOURCE] [--no-tsa]\n"
	           "Serves OCSP, and RFC 3161 timestamps when the CA configuration has [tsa].\n"
	           "Prints 'listening on port N' once ready; stops on SIGINT or SIGTERM.\n");
}

int
cvq_admin_ocsp_serve(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"listen", required_argument, NULL, 'l'}, {"fd", required_argument, NULL, 'f'},
		{"threads", required_argument, NULL, 't'}, {"timeout", required_argument, NULL, 'T'},
		{"pass", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"tsa-pass", required_argument, NULL, 'P'}, {"no-tsa", no_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	const char *listen = NULL, *pass = NULL, *tsa_pass = NULL;
	struct cvq_ca_config *cfg = NULL;
	struct cvq_ca_http_opts ho = {0};
	cvq_ca_http *srv = NULL;
	char why[320] = "";
	bool no_tsa = false;
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
	while ((c = getopt_long(argc, argv, "l:f:t:T:p:P:Nh", lo, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'f': fd = cvq_admin_number(optarg); if (fd < 0) return CVQ_ADMIN_EXIT_USAGE; break;
		case 't': threads = cvq_admin_number(optarg); if (threads < 0 || threads > 256) return CVQ_ADMIN_EXIT_USAGE; break;
		case 'T': timeout = cvq_admin_number(optarg); if (timeout <= 0) return CVQ_ADMIN_EXIT_USAGE; break;
		case 'p': pass = optarg; break;
		case 'P': tsa_pass = optarg; break;
		case 'N': no_tsa = true; break;
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
	/* Block the signals before the server's threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ho.listen = listen;
	ho.listen_fd = (int)fd;
	ho.threads = (unsigned)threads;
	ho.timeout_s = (unsigned)timeout;
	ho.ocsp_pass = pass;
	ho.tsa_pass = tsa_pass;
	ho.no_tsa = no_tsa;
	err = cvq_ca_http_start(cfg, &ho, &srv, why, sizeof(why));
	if (err != CVQ_CA_OK) {
		cvq_admin_error("%s", why[0] ? why : cvq_ca_strerror(err));
		rc = cvq_admin_ca_exit(err);
		goto out;
	}
	if (opts->json)
		printf("{\"port\": %u, \"tsa\": %s}\n", cvq_ca_http_port(srv),
		       cvq_ca_http_has_tsa(srv) ? "true" : "false");
	else
		printf("listening on port %u%s\n", cvq_ca_http_port(srv),
		       cvq_ca_http_has_tsa(srv) ? " (OCSP and TSA)" : "");
	fflush(stdout);
	sigwait(&set, &sig);
	rc = CVQ_ADMIN_EXIT_OK;
out:
	cvq_ca_http_stop(srv);
	cvq_ca_config_free(cfg);
	return rc;
}
