/*
 * cvq-admin — run a sibling program (cvq-ocspd, cvq-agentd) in our place
 * with the same global options: the servers live in programs of their own
 * so that libmicrohttpd, GnuTLS and p11-kit (2.3 ms of constructors and
 * relocations per process, perf stat) are loaded by them only, not by
 * every other command.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"

int
cvq_admin_exec_sibling(const char *prog, bool all_globals, const char *const *pre, int argc,
                       char **argv, const struct cvq_admin_opts *opts)
{
	char self[PATH_MAX], path[PATH_MAX + 64], *slash;
	char **av;
	size_t npre = 0;
	ssize_t n;
	int i, k = 0;

	while (pre && pre[npre])
		npre++;
	/* program, --json, --config FILE, --fix-mode, -v ×3 at most, pre, argv */
	av = calloc((size_t)argc + npre + 9, sizeof(*av));
	if (!av)
		return CVQ_ADMIN_EXIT_FAIL;
	av[k++] = (char *)prog;
	if (opts->json)
		av[k++] = "--json";
	if (opts->config) {
		av[k++] = "--config";
		av[k++] = (char *)opts->config;
	}
	if (all_globals && opts->fix_mode)
		av[k++] = "--fix-mode";
	for (i = 0; i < opts->verbose && i < 3; i++)
		av[k++] = "-v";
	for (i = 0; i < (int)npre; i++)
		av[k++] = (char *)pre[i];
	for (i = 0; i < argc; i++)
		av[k++] = argv[i];
	/* First the copy installed or built beside this program, then PATH. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, prog);
			execv(path, av);
		}
	}
	execvp(prog, av);
	cvq_admin_error("cannot run %s: %s", prog, strerror(errno));
	free(av);
	return CVQ_ADMIN_EXIT_FAIL;
}
