/* libcvqca internals of the OCSP responder: the core, its cache, HTTP. */
#ifndef CVQ_CA_OCSP_INT_H
#define CVQ_CA_OCSP_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cvq/ca_ocsp.h>
#include <cvq/ca_tsa.h>

/* The server of ca_ocsp_http.c, with a TSA beside OCSP when tsa is set. */
cvq_ca_err ca_http_server_start(cvq_ca_ocsp *o, cvq_ca_tsa *tsa, const char *addr,
                                int listen_fd, unsigned threads, unsigned timeout_s,
                                cvq_ca_ocsp_server **out);

/*
 * libcvqca-http is another shared object: the five functions it calls here
 * must be exported from libcvqca.so, whose version script admits cvq_*
 * only. They get cvq_ca_priv_ names (no public header declares them; not
 * API, no stability promise) and CVQ_EXPORT on their declarations below.
 */
#define ocsp_resp_put cvq_ca_priv_ocsp_resp_put
#define ocsp_resp_attach cvq_ca_priv_ocsp_resp_attach
#define ocsp_respond_shared cvq_ca_priv_ocsp_respond_shared
#define ocsp_refresh cvq_ca_priv_ocsp_refresh
#define ocsp_refresh_period cvq_ca_priv_ocsp_refresh_period

/*
 * A signed response, immutable once made and shared by reference between
 * the cache and the connections sending it; the HTTP layer may attach an
 * object of its own (a prepared reply) that lives as long as the response.
 */
struct ocsp_resp {
	atomic_uint refs;
	struct cvq_ca_ocsp_answer ans;
	char etag[44];            /* "<SHA-1 of der in hex>" */
	char last_modified[32];   /* HTTP dates of this_update, next_update */
	char expires[32];
	_Atomic(void *) http;
	void (*http_free)(void *);
	size_t len;
	uint8_t der[];
};

/* refs = 1; der copied. NULL when out of memory. */
struct ocsp_resp *ocsp_resp_new(const uint8_t *der, size_t len, const struct cvq_ca_ocsp_answer *ans);
struct ocsp_resp *ocsp_resp_ref(struct ocsp_resp *r);
CVQ_EXPORT void ocsp_resp_put(struct ocsp_resp *r);
/* Attach p (freed with fn when the response goes); returns the object that
 * won when two threads attach at once (p is then freed). */
CVQ_EXPORT void *ocsp_resp_attach(struct ocsp_resp *r, void *p, void (*fn)(void *));

/* The certificate status a cached response was signed from. */
struct ocsp_status {
	int status;          /* V_OCSP_CERTSTATUS_* */
	int reason;
	int64_t revoked_at;
	int64_t invalidity;  /* 0 = none; sent as the invalidityDate extension */
};

/*
 * Signed answers to nonce-less single requests, keyed by the SHA-256 of the
 * request's bytes: 8-way buckets with a lock per bucket group, replacement
 * of the oldest answer in a full bucket. Each entry remembers the store
 * generation (PRAGMA data_version) it was last checked against and the
 * status it was signed from, so a commit elsewhere costs one lookup per
 * answer, not a signature, and a revocation is seen at once.
 */
struct ocsp_cache;

struct ocsp_cache *ocsp_cache_new(size_t capacity);
void ocsp_cache_free(struct ocsp_cache *c);

struct ocsp_hit {
	struct ocsp_resp *resp;   /* a reference: ocsp_resp_put */
	int64_t gen;              /* the generation it was last confirmed in */
	char serial[67];
	struct ocsp_status st;
};

bool ocsp_cache_get(struct ocsp_cache *c, const uint8_t key[32], struct ocsp_hit *hit);
/* The entry (if still r) is known to be right in generation gen. */
void ocsp_cache_confirm(struct ocsp_cache *c, const uint8_t key[32], const struct ocsp_resp *r,
                        int64_t gen);
void ocsp_cache_put(struct ocsp_cache *c, const uint8_t key[32], struct ocsp_resp *r,
                    const char *serial, const struct ocsp_status *st, int64_t gen);
void ocsp_cache_forget(struct ocsp_cache *c, const uint8_t key[32]);
size_t ocsp_cache_capacity(const struct ocsp_cache *c);

/* ca_ocsp_gen.c: the store's generation (see there); -2 on error. */
struct ocsp_gen;
cvq_ca_err ocsp_gen_open(const char *db_path, struct ocsp_gen **out);
int64_t ocsp_gen_now(struct ocsp_gen *g);
void ocsp_gen_free(struct ocsp_gen *g);

/* ca_ocsp.c: the answer (a reference: ocsp_resp_put), cached or signed;
 * a new signature is kept for the next requests when `keep`. */
CVQ_EXPORT cvq_ca_err ocsp_respond_shared(cvq_ca_ocsp *o, const uint8_t *req, size_t len, bool keep,
                               struct ocsp_resp **out);
/*
 * Pre-sign the RFC 5019 answers (SHA-1 CertID, no nonce) of the store's
 * unexpired certificates, up to half the cache, skipping those still young
 * in `margin` seconds; stops early when *stop. The server runs it at start
 * and every ocsp_refresh_period() seconds with that period as margin.
 */
CVQ_EXPORT cvq_ca_err ocsp_refresh(cvq_ca_ocsp *o, time_t margin, const atomic_bool *stop, size_t *nsigned);
CVQ_EXPORT time_t ocsp_refresh_period(const cvq_ca_ocsp *o);

#endif
