/*
 * cvqd — the kiosk daemon. Always runs in the foreground (systemd, tests);
 * signals are taken synchronously through a signalfd in the main thread:
 * SIGTERM/SIGINT stop, SIGHUP reloads trust anchors and CRLs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "cvq/util.h"
#include "daemon.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: cvqd [-c FILE] [--check-config] [--version]\n"
	           "  -c, --config FILE   configuration (default /etc/cvq/cvqd.conf)\n"
	           "  -f, --foreground    accepted for compatibility: cvqd never forks\n"
	           "  -t, --check-config  read the configuration and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/cvq/cvqd.conf";
	bool check = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:fth", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'f': break;
		case 't': check = true; break;
		case 'V': printf("cvqd %s\n", CVQ_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/* cvqd carries PINs from the dialog to the card: no core file may
	 * ever hold one. */
	if (cvq_util_no_core_dumps() != CVQ_UTIL_OK)
		fprintf(stderr, "cvqd: warning: cannot disable core dumps\n");

	cvqd_config cfg;
	char err[256];
	if (cvqd_config_load(&cfg, path, err, sizeof err) != 0) {
		fprintf(stderr, "cvqd: %s\n", err);
		cvqd_config_free(&cfg);
		return 1;
	}
	if (check) {
		cvqd_config_free(&cfg);
		return 0;
	}
	cvqd_log_setup(cfg.log_level);

	/* Before any thread exists, so that every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("cvqd: signalfd");
		cvqd_config_free(&cfg);
		return 1;
	}

	struct cvqd *d = cvqd_start(&cfg);
	cvqd_config_free(&cfg);
	if (!d) {
		close(sfd);
		return 1;
	}
	for (;;) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue;
		if (si.ssi_signo == SIGHUP) {
			cvqd_reload_trust(d);
			continue;
		}
		cvqd_info("signal %u: stopping", si.ssi_signo);
		break;
	}
	cvqd_stop(d);
	close(sfd);
	cvqd_info("stopped");
	return 0;
}
