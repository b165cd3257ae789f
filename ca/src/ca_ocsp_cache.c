/*
 * libcvqca — the OCSP responder's cache of signed, nonce-less answers and
 * the shared response objects it hands out (see ca_ocsp_int.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ca_ocsp_int.h"

#define WAYS 8
#define LOCKS 64

struct entry {
	uint8_t key[32];
	char serial[67];
	struct ocsp_status st;
	int64_t gen;
	struct ocsp_resp *resp;   /* NULL: free */
};

struct ocsp_cache {
	size_t nbuckets;          /* a power of two */
	struct entry *e;          /* nbuckets * WAYS */
	pthread_mutex_t mu[LOCKS];
};

static void
http_date(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

struct ocsp_resp *
ocsp_resp_new(const uint8_t *der, size_t len, const struct cvq_ca_ocsp_answer *ans)
{
	struct ocsp_resp *r = calloc(1, sizeof(*r) + len);
	unsigned char md[20];
	int i;

	if (!r)
		return NULL;
	atomic_init(&r->refs, 1);
	atomic_init(&r->http, NULL);
	r->ans = *ans;
	r->len = len;
	memcpy(r->der, der, len);
	/* Computed once per signature rather than once per request. */
	if (!EVP_Digest(der, len, md, NULL, EVP_sha1(), NULL))
		memset(md, 0, sizeof(md));
	r->etag[0] = '"';
	for (i = 0; i < 20; i++)
		snprintf(r->etag + 1 + 2 * i, 3, "%02x", md[i]);
	r->etag[41] = '"';
	r->etag[42] = '\0';
	http_date(ans->this_update, r->last_modified, sizeof(r->last_modified));
	http_date(ans->next_update, r->expires, sizeof(r->expires));
	return r;
}

struct ocsp_resp *
ocsp_resp_ref(struct ocsp_resp *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return r;
}

void
ocsp_resp_put(struct ocsp_resp *r)
{
	void *h;

	if (!r || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	h = atomic_load(&r->http);
	if (h && r->http_free)
		r->http_free(h);
	free(r);
}

void *
ocsp_resp_attach(struct ocsp_resp *r, void *p, void (*fn)(void *))
{
	void *expected = NULL;

	/* The winner holds a reference, so its store of fn happens before
	 * the last ocsp_resp_put (acq_rel on refs) reads it. */
	if (atomic_compare_exchange_strong(&r->http, &expected, p)) {
		r->http_free = fn;
		return p;
	}
	fn(p);
	return expected;
}

struct ocsp_cache *
ocsp_cache_new(size_t capacity)
{
	struct ocsp_cache *c = calloc(1, sizeof(*c));
	size_t n = 1;
	int i;

	if (!c)
		return NULL;
	while (n * WAYS < capacity && n < ((size_t)1 << 24))
		n <<= 1;
	c->nbuckets = n;
	c->e = calloc(n * WAYS, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return NULL;
	}
	for (i = 0; i < LOCKS; i++)
		pthread_mutex_init(&c->mu[i], NULL);
	return c;
}

void
ocsp_cache_free(struct ocsp_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nbuckets * WAYS; i++)
		ocsp_resp_put(c->e[i].resp);
	for (i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&c->mu[i]);
	free(c->e);
	free(c);
}

size_t
ocsp_cache_capacity(const struct ocsp_cache *c)
{
	return c->nbuckets * WAYS;
}

static size_t
bucket(const struct ocsp_cache *c, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (c->nbuckets - 1);
}

/* Under the bucket's lock. */
static struct entry *
find(struct ocsp_cache *c, size_t b, const uint8_t key[32])
{
	struct entry *e = &c->e[b * WAYS];
	int i;

	for (i = 0; i < WAYS; i++)
		if (e[i].resp && memcmp(e[i].key, key, 32) == 0)
			return &e[i];
	return NULL;
}

bool
ocsp_cache_get(struct ocsp_cache *c, const uint8_t key[32], struct ocsp_hit *hit)
{
	size_t b = bucket(c, key);
	pthread_mutex_t *mu = &c->mu[b % LOCKS];
	struct entry *e;

	pthread_mutex_lock(mu);
	e = find(c, b, key);
	if (e) {
		hit->resp = ocsp_resp_ref(e->resp);
		hit->gen = e->gen;
		memcpy(hit->serial, e->serial, sizeof(hit->serial));
		hit->st = e->st;
	}
	pthread_mutex_unlock(mu);
	return e != NULL;
}

void
ocsp_cache_confirm(struct ocsp_cache *c, const uint8_t key[32], const struct ocsp_resp *r,
                   int64_t gen)
{
	size_t b = bucket(c, key);
	pthread_mutex_t *mu = &c->mu[b % LOCKS];
	struct entry *e;

	pthread_mutex_lock(mu);
	e = find(c, b, key);
	if (e && e->resp == r && gen > e->gen)
		e->gen = gen;
	pthread_mutex_unlock(mu);
}

void
ocsp_cache_put(struct ocsp_cache *c, const uint8_t key[32], struct ocsp_resp *r,
               const char *serial, const struct ocsp_status *st, int64_t gen)
{
	size_t b = bucket(c, key);
	pthread_mutex_t *mu = &c->mu[b % LOCKS];
	struct entry *e, *w = &c->e[b * WAYS], *oldest = &w[0];
	struct ocsp_resp *old = NULL;
	int i;

	pthread_mutex_lock(mu);
	e = find(c, b, key);
	for (i = 0; !e && i < WAYS; i++)
		if (!w[i].resp)
			e = &w[i];
	for (i = 1; !e && i < WAYS; i++)
		if (w[i].resp->ans.this_update < oldest->resp->ans.this_update)
			oldest = &w[i];
	if (!e)
		e = oldest;
	/* Never replace an answer with an older one (two threads signing). */
	if (e->resp && memcmp(e->key, key, 32) == 0 && e->gen > gen) {
		pthread_mutex_unlock(mu);
		return;
	}
	old = e->resp;
	memcpy(e->key, key, 32);
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	e->st = *st;
	e->gen = gen;
	e->resp = ocsp_resp_ref(r);
	pthread_mutex_unlock(mu);
	ocsp_resp_put(old);
}

void
ocsp_cache_forget(struct ocsp_cache *c, const uint8_t key[32])
{
	size_t b = bucket(c, key);
	pthread_mutex_t *mu = &c->mu[b % LOCKS];
	struct ocsp_resp *old = NULL;
	struct entry *e;

	pthread_mutex_lock(mu);
	e = find(c, b, key);
	if (e) {
		old = e->resp;
		e->resp = NULL;
	}
	pthread_mutex_unlock(mu);
	ocsp_resp_put(old);
}
