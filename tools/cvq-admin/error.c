/* The one error line format of cvq-admin and the programs it runs. */
#include <stdarg.h>
#include <stdio.h>

#include "admin.h"

void
cvq_admin_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cvq-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
