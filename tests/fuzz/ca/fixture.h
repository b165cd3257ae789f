/* A throw-away CA in /dev/shm (or /tmp) for the ca fuzz targets. */
#ifndef CVQ_FUZZ_CA_FIXTURE_H
#define CVQ_FUZZ_CA_FIXTURE_H

#include <cvq/ca.h>
#include <cvq/ca_ocsp.h>

struct fuzz_ca {
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
	cvq_ca_ocsp *ocsp;
};

/* Made once per process, removed at exit. Aborts on failure. */
struct fuzz_ca *fuzz_ca_get(void);

#endif
