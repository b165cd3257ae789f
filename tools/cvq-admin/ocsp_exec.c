/*
 * cvq-admin ocsp … — runs cvq-ocspd, the responder, with the same global
 * options. The server lives in its own program so that libmicrohttpd,
 * GnuTLS and p11-kit (2.3 ms of constructors and relocations per process,
 * perf stat) are loaded by the server only, not by every other command.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"

#define OCSPD "cvq-ocspd"

int
cvq_admin_cmd_ocsp(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	char self[PATH_MAX], path[PATH_MAX + sizeof(OCSPD) + 1], *slash;
	char **av;
	ssize_t n;
	int i, k = 0;

	/* program, --json, --config FILE, -v ×3 at most, --, then argv[1..] */
	av = calloc((size_t)argc + 9, sizeof(*av));
	if (!av)
		return CVQ_ADMIN_EXIT_FAIL;
	av[k++] = OCSPD;
	if (opts->json)
		av[k++] = "--json";
	if (opts->config) {
		av[k++] = "--config";
		av[k++] = (char *)opts->config;
	}
	for (i = 0; i < opts->verbose && i < 3; i++)
		av[k++] = "-v";
	av[k++] = "--"; /* what follows is the command's, --help included */
	for (i = 1; i < argc; i++)
		av[k++] = argv[i];
	/* First the copy installed or built beside this program, then PATH. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, OCSPD);
			execv(path, av);
		}
	}
	execvp(OCSPD, av);
	cvq_admin_error("cannot run %s: %s", OCSPD, strerror(errno));
	free(av);
	return CVQ_ADMIN_EXIT_FAIL;
}
