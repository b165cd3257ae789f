/* A throw-away CA for the ca fuzz targets: made on first use, removed at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

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

struct issuer_hashes {
	uint8_t key1[20], name1[20], key256[32], name256[32];
	int ready;
};

static void
issuer_hashes(const struct fuzz_ca *f, struct issuer_hashes *h)
{
	X509 *x = cvq_ca_cert(f->ca);
	unsigned int n;

	if (!x || !X509_pubkey_digest(x, EVP_sha1(), h->key1, &n) ||
	    !X509_NAME_digest(X509_get_subject_name(x), EVP_sha1(), h->name1, &n) ||
	    !X509_pubkey_digest(x, EVP_sha256(), h->key256, &n) ||
	    !X509_NAME_digest(X509_get_subject_name(x), EVP_sha256(), h->name256, &n))
		abort();
	h->ready = 1;
}

static void
replace_all(uint8_t *b, size_t len, uint8_t marker, const uint8_t *with, size_t wlen)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		run = b[i] == marker ? run + 1 : 0;
		if (run == wlen) {
			memcpy(b + i + 1 - wlen, with, wlen);
			run = 0;
		}
	}
}

void
fuzz_ca_fill_issuer(struct fuzz_ca *f, uint8_t *req, size_t len)
{
	static struct issuer_hashes h;

	if (!h.ready)
		issuer_hashes(f, &h);
	replace_all(req, len, 0xAA, h.key1, sizeof(h.key1));
	replace_all(req, len, 0xCC, h.name1, sizeof(h.name1));
	replace_all(req, len, 0xBB, h.key256, sizeof(h.key256));
	replace_all(req, len, 0xDD, h.name256, sizeof(h.name256));
}
