/*
 * cvqd — the CA's OCSP responder, when [responder] is configured: the one
 * implementation of libcvqca (ca_ocsp.h) that `cvq-admin ocsp serve` also
 * runs, on its own libmicrohttpd daemon and thread pool, apart from the
 * Unix-socket API.
 */
#ifndef CVQD_RESPONDER_H
#define CVQD_RESPONDER_H

#include "config.h"

typedef struct cvqd_responder cvqd_responder;

/*
 * Load the CA configuration, the signer (its passphrase read now from
 * cfg->resp_pass, else the CA's own source) and listen. NULL after logging
 * why. The store is read live: revocations are answered at once, nothing
 * needs reloading.
 */
cvqd_responder *cvqd_responder_start(const cvqd_config *cfg);
void cvqd_responder_stop(cvqd_responder *r);

#endif
