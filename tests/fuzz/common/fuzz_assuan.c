/* Fuzz the Assuan response handling: what a pinentry program sends back. */
#include <stdint.h>
#include <string.h>

#include "assuan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64], cmd[CVQ_ASSUAN_LINE_MAX + 2], arg[2048];
	unsigned long code;
	size_t off = 0, n;

	if (cvq_assuan_classify((const char *)data, size, &code) == CVQ_ASSUAN_DATA && size >= 2)
		(void)cvq_assuan_unescape((const char *)data + 2, size - 2, out, sizeof(out), &off);
	(void)cvq_assuan_error(code);

	n = size < sizeof(arg) - 1 ? size : sizeof(arg) - 1;
	memcpy(arg, data, n);
	arg[n] = '\0';
	n = cvq_assuan_command(cmd, sizeof(cmd), "SETDESC", arg);
	if (n > sizeof(cmd) || (n > 0 && cmd[n - 1] != '\n'))
		__builtin_trap();
	if (memchr(cmd, '\n', n > 0 ? n - 1 : 0) != NULL)
		__builtin_trap(); /* an argument must never inject a second command */
	return 0;
}
