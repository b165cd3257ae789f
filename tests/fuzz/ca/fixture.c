/* A throw-away CA for the ca fuzz targets: made on first use, removed at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static struct fuzz_ca fx;
static char dir[64];

static void
cleanup(void)
{
	char cmd[128];

	cvq_ca_ocsp_free(fx.ocsp);
	cvq_ca_close(fx.ca);
	cvq_ca_config_free(fx.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

struct fuzz_ca *
fuzz_ca_get(void)
{
	struct cvq_ca_init_opts io = {.subject = "/CN=Fuzz CA"};
	char path[128], pass[140];
	FILE *f;

	if (fx.ca)
		return &fx;
	snprintf(dir, sizeof(dir), "%s/cvq-fuzz-ca.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/pass", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("fuzz passphrase\n", f);
	fclose(f);
	chmod(path, 0600);
	snprintf(pass, sizeof(pass), "file:%s", path);
	fx.cfg = cvq_ca_config_new();
	if (!fx.cfg)
		abort();
	fx.cfg->dir = strdup(dir);
	if (cvq_ca_config_set(fx.cfg, "db", "ca.db") || cvq_ca_config_set(fx.cfg, "key", "k.pem") ||
	    cvq_ca_config_set(fx.cfg, "cert", "c.pem") || cvq_ca_config_set(fx.cfg, "pass", pass) ||
	    cvq_ca_init(fx.cfg, NULL, &io) || cvq_ca_open(fx.cfg, NULL, 0, &fx.ca) ||
	    cvq_ca_ocsp_new(fx.cfg, NULL, 1, &fx.ocsp))
		abort();
	atexit(cleanup);
	return &fx;
}
