/* cvq-admin crl — not implemented yet. */
#include "admin.h"

int
cvq_admin_cmd_crl(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	(void)argc;
	(void)argv;
	(void)opts;
	cvq_admin_error("'crl' is not implemented yet");
	return CVQ_ADMIN_EXIT_FAIL;
}
