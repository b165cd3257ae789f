/* A throw-away CA in /dev/shm (or /tmp) for the ca fuzz targets. */
#ifndef CVQ_FUZZ_CA_FIXTURE_H
#define CVQ_FUZZ_CA_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <cvq/ca.h>
#include <cvq/ca_ocsp.h>

struct fuzz_ca {
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
	cvq_ca_ocsp *ocsp;
};

/* Made once per process, removed at exit. Aborts on failure. */
struct fuzz_ca *fuzz_ca_get(void);

/*
 * The fixture's CA key is new at every run, so a stored request could never
 * name it and every input would stop at "unauthorized". Seeds therefore
 * carry placeholders where a CertID holds the issuer's hashes — 20 bytes of
 * 0xAA / 0xCC (SHA-1 key / name hash), 32 of 0xBB / 0xDD (SHA-256) — which
 * this replaces in req[0..len) with this run's.
 */
void fuzz_ca_fill_issuer(struct fuzz_ca *f, uint8_t *req, size_t len);

#endif
