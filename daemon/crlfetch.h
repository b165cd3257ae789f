/*
 * cvqd — CRLs fetched from their distribution points without a person
 * (issue #16): a libcvqverify CRL store (<cvq/verify_crl.h>) fed from
 * [crl] urls and the CRLDistributionPoints of the anchors, the
 * intermediates and the cards' certificates, refreshed by one background thread. A new CRL that
 * verifies makes a new trust set (as SIGHUP does); a fetch never holds a
 * lock a request or a card queue waits on. Each fetch goes to the journal
 * (op "crl_refresh", reader = the URL) and the log; /v1/status says how
 * fresh each CRL is.
 */
#ifndef CVQD_CRLFETCH_H
#define CVQD_CRLFETCH_H

#include <jansson.h>
#include <stddef.h>
#include <openssl/x509.h>

#include "config.h"

struct cvqd;
struct cvqd_trust;
typedef struct cvqd_crlfetch cvqd_crlfetch;

/* The store, with the CRLs cached on disk loaded (no network yet). */
cvqd_crlfetch *cvqd_crlfetch_new(const cvqd_config *cfg, char *err, size_t errlen);
/* The background thread; it calls cvqd_reload_trust(d) when a CRL changes. */
int cvqd_crlfetch_start(cvqd_crlfetch *f, struct cvqd *d);
/* Stops the thread (waits for a fetch in flight: at most its timeout). */
void cvqd_crlfetch_free(cvqd_crlfetch *f);
/*
 * A card's certificate was read: its CRL distribution points become
 * sources (with from_certificates) and the thread is woken for the new
 * ones. No network here; a cached CRL of a new URL is read from disk.
 */
void cvqd_crlfetch_note_cert(cvqd_crlfetch *f, X509 *cert);
/* Adds every last good CRL to a trust set being built. 0, or -1. */
int cvqd_crlfetch_fill(cvqd_crlfetch *f, struct cvqd_trust *t);
/* [{url, this_update, next_update, fresh, age_s, last_attempt, ...}] */
json_t *cvqd_crlfetch_describe(cvqd_crlfetch *f);

#endif
