/*
 * cvq-admin ocsp … — runs cvq-ocspd, the responder, with the same global
 * options (exec_sibling.c says why it is a program apart).
 */
#include "admin.h"

int
cvq_admin_cmd_ocsp(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	/* What follows "--" is the command's, --help included. */
	static const char *const pre[] = {"--", NULL};

	return cvq_admin_exec_sibling("cvq-ocspd", false, pre, argc - 1, argv + 1, opts);
}
