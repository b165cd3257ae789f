/*
 * libcvqverify — CRLs fetched from their distribution points, kept fresh
 * without a person (docs/verify.md, "Fetching CRLs").
 *
 * A store holds one source per distribution point URL (plain http, RFC
 * 5280 4.2.1.13: CRLs are signed, so no TLS is needed): configured, or
 * taken from certificates' CRLDistributionPoints. Each refresh is an
 * HTTP/1.0 GET with If-None-Match / If-Modified-Since (what the server
 * last said), bounded by a timeout for the whole exchange and a size
 * limit. The body (DER or PEM) replaces the last good CRL only when it
 * verifies: issued and signed by one of the store's issuers, thisUpdate
 * not in the future, and neither its CRL number nor its thisUpdate older
 * than the CRL held. The last good CRL is kept on disk (0644, written to a
 * temporary name then renamed) and stays in use whatever the network does.
 *
 * Schedule: a source is due `interval` seconds after its last success,
 * and no later than 3/4 of its CRL's validity window (thisUpdate to
 * nextUpdate); after a failure, again after retry_min seconds, doubled
 * each time up to retry_max.
 *
 * Thread safety: cvq_verify_crl_store_refresh does the network I/O without
 * holding the store's lock, so _info and _get1 from other threads answer
 * at once while a fetch hangs. Call _refresh from one thread at a time.
 */
#ifndef CVQ_VERIFY_CRL_H
#define CVQ_VERIFY_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include <cvq/export.h>
#include <cvq/verify.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvq_verify_crl_store cvq_verify_crl_store;

/*
 * cache_dir: where the last good CRL of each source is kept (created 0755
 * if missing); NULL keeps them in memory only.
 */
CVQ_EXPORT cvq_verify_crl_store *cvq_verify_crl_store_new(const char *cache_dir);
CVQ_EXPORT void cvq_verify_crl_store_free(cvq_verify_crl_store *s);

/* A CA whose CRLs are accepted (up-referenced). */
CVQ_EXPORT cvq_verify_err cvq_verify_crl_store_add_issuer(cvq_verify_crl_store *s, X509 *ca);
/*
 * A distribution point (http://host[:port]/path). A URL already there is
 * no error. The CRL cached on disk for it, if any and if it verifies, is
 * loaded at once. ERR_ARG for another scheme or a malformed URL.
 */
CVQ_EXPORT cvq_verify_err cvq_verify_crl_store_add_url(cvq_verify_crl_store *s, const char *url);
/* Every http URI of the certificate's CRLDistributionPoints; *added (may
 * be NULL) counts the new ones. */
CVQ_EXPORT cvq_verify_err cvq_verify_crl_store_add_cert(cvq_verify_crl_store *s, X509 *cert,
                                                        size_t *added);
/* timeout_s for one whole exchange (0 = 10 s); max_bytes of a CRL (0 = 16 MiB). */
CVQ_EXPORT void cvq_verify_crl_store_set_limits(cvq_verify_crl_store *s, unsigned timeout_s,
                                                size_t max_bytes);
/* Seconds (0 = default: 3600, 30, 3600). */
CVQ_EXPORT void cvq_verify_crl_store_set_schedule(cvq_verify_crl_store *s, unsigned interval_s,
                                                  unsigned retry_min_s, unsigned retry_max_s);

/*
 * Fetch every source that is due at `now` (all of them when `force`).
 * Returns how many sources got a new CRL (0 when none changed, including
 * when every fetch failed: see _info).
 */
CVQ_EXPORT size_t cvq_verify_crl_store_refresh(cvq_verify_crl_store *s, time_t now, bool force);
/* The earliest time a source is due (0 when there is no source). */
CVQ_EXPORT time_t cvq_verify_crl_store_next_due(cvq_verify_crl_store *s);

/* What the last fetch of a source did. */
typedef enum cvq_verify_crl_fetch {
	CVQ_VERIFY_CRL_NEVER = 0,      /* not tried yet */
	CVQ_VERIFY_CRL_UPDATED,        /* a new CRL verified and taken */
	CVQ_VERIFY_CRL_NOT_MODIFIED,   /* 304, or the same CRL again */
	CVQ_VERIFY_CRL_NETWORK,        /* connect, timeout, reset, HTTP status, too big */
	CVQ_VERIFY_CRL_MALFORMED,      /* not HTTP, or the body is not a CRL */
	CVQ_VERIFY_CRL_UNTRUSTED,      /* not signed by an issuer of the store */
	CVQ_VERIFY_CRL_OLDER,          /* CRL number or thisUpdate older than the one held */
	CVQ_VERIFY_CRL_STORE_FAILED,   /* verified and used, but not written to the cache (retried) */
} cvq_verify_crl_fetch;

/* Stable name ("updated", "not_modified", "network", ...). */
CVQ_EXPORT const char *cvq_verify_crl_fetch_code(cvq_verify_crl_fetch f);

typedef struct cvq_verify_crl_info {
	char url[512];
	char path[512];               /* the cache file, "" without cache_dir */
	bool have;                    /* a last good CRL is held */
	time_t this_update, next_update; /* of the CRL held; next_update 0 = none */
	long long number;             /* its CRL number, -1 = none */
	int revoked;                  /* its entries */
	time_t last_attempt, last_success; /* 0 = never; success includes not_modified */
	cvq_verify_crl_fetch last_result;
	char last_detail[192];        /* English, "" when all went well */
	unsigned failures;            /* consecutive */
	unsigned long attempts;       /* fetches tried since the store was made */
	time_t next_due;
} cvq_verify_crl_info;

CVQ_EXPORT size_t cvq_verify_crl_store_count(cvq_verify_crl_store *s);
CVQ_EXPORT cvq_verify_err cvq_verify_crl_store_info(cvq_verify_crl_store *s, size_t i,
                                                    cvq_verify_crl_info *out);
/* The last good CRL of source i (up-referenced: X509_CRL_free), NULL when none. */
CVQ_EXPORT X509_CRL *cvq_verify_crl_store_get1(cvq_verify_crl_store *s, size_t i);
/* Every last good CRL into ctx (cvq_verify_add_crl), for a new context. */
CVQ_EXPORT cvq_verify_err cvq_verify_crl_store_fill(cvq_verify_crl_store *s, cvq_verify_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CVQ_VERIFY_CRL_H */
