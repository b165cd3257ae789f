/*
 * Fuzz cvqd's configuration parser (inih underneath): a configuration file
 * is written by people and read by a daemon that runs unattended.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cvqd_config cfg;
	char err[256];
	char *text;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	if (cvqd_config_parse(&cfg, text, err, sizeof(err)) != 0 &&
	    memchr(err, '\0', sizeof(err)) == NULL)
		abort(); /* the reason must always be a terminated string */
	cvqd_config_free(&cfg);
	free(text);
	return 0;
}
