/*
 * Fuzz the CA configuration loader (inih underneath). The loader takes a
 * path, so each input goes through an anonymous memory file.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cvq/ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvq_ca_config *cfg = NULL;
	char path[64];
	int fd;

	if (size > 65536)
		return 0;
	fd = memfd_create("cvq-ca-conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (cvq_ca_config_load(path, &cfg) == CVQ_CA_OK) {
		/* What was accepted must be usable: every path resolves. */
		char *p = cvq_ca_config_path(cfg, "x");
		free(p);
		cvq_ca_config_free(cfg);
	}
	close(fd);
	return 0;
}
