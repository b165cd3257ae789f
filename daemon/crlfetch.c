#include "crlfetch.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cvq/verify_crl.h>

#include "cvqd.h"
#include "daemon.h"
#include "journal.h"
#include "log.h"
#include "trust.h"

struct cvqd_crlfetch {
	cvq_verify_crl_store *store;
	struct cvqd *d;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;    /* stop and cond only */
	pthread_cond_t cond;
	bool stop;
	bool wake;               /* a new source: fetch now */
	bool from_certs;         /* [crl] from_certificates */
	unsigned long seen[64];  /* attempts already journalled, per source */
};

/* Issuers and their DPs from the PEM files of [trust]. */
static int add_pem_issuers(cvqd_crlfetch *f, char *const *paths, size_t n, bool dps,
                           char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		FILE *fp = fopen(paths[i], "r");
		X509 *x;
		if (!fp) {
			snprintf(err, errlen, "%s: cannot open", paths[i]);
			return -1;
		}
		while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
			cvq_verify_err e = cvq_verify_crl_store_add_issuer(f->store, x);
			if (e == CVQ_VERIFY_OK && dps)
				e = cvq_verify_crl_store_add_cert(f->store, x, NULL);
			X509_free(x);
			if (e != CVQ_VERIFY_OK) {
				fclose(fp);
				snprintf(err, errlen, "%s: %s", paths[i], cvq_verify_strerror(e));
				return -1;
			}
		}
		ERR_clear_error();
		fclose(fp);
	}
	return 0;
}

cvqd_crlfetch *cvqd_crlfetch_new(const cvqd_config *cfg, char *err, size_t errlen)
{
	cvqd_crlfetch *f = calloc(1, sizeof *f);
	char *urls = NULL, *save = NULL;

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->from_certs = cfg->crl_from_certs;
	if (!(f->store = cvq_verify_crl_store_new(cfg->crl_cache_dir[0] ? cfg->crl_cache_dir : NULL))) {
		snprintf(err, errlen, "[crl] cache_dir %s: %s", cfg->crl_cache_dir, strerror(errno));
		goto fail;
	}
	cvq_verify_crl_store_set_limits(f->store, cfg->crl_timeout, cfg->crl_max_size);
	cvq_verify_crl_store_set_schedule(f->store, cfg->crl_interval, cfg->crl_retry_min,
	                                  cfg->crl_retry_max);
	/* Issuers first: a cached CRL is judged when its URL is added. */
	if (add_pem_issuers(f, cfg->anchors, cfg->n_anchors, false, err, errlen) ||
	    add_pem_issuers(f, cfg->intermediates, cfg->n_intermediates, false, err, errlen))
		goto fail;
	if (!(urls = strdup(cfg->crl_urls))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (char *u = strtok_r(urls, ", \t", &save); u; u = strtok_r(NULL, ", \t", &save))
		if (cvq_verify_crl_store_add_url(f->store, u) != CVQ_VERIFY_OK) {
			snprintf(err, errlen, "[crl] urls: '%.200s' is not an http:// URL", u);
			goto fail;
		}
	if (cfg->crl_from_certs &&
	    (add_pem_issuers(f, cfg->anchors, cfg->n_anchors, true, err, errlen) ||
	     add_pem_issuers(f, cfg->intermediates, cfg->n_intermediates, true, err, errlen)))
		goto fail;
	if (cvq_verify_crl_store_count(f->store) == 0)
		cvqd_warn("[crl]: no distribution point (no urls, none in the certificates)");
	for (size_t i = 0; i < cvq_verify_crl_store_count(f->store); i++) {
		cvq_verify_crl_info in;
		if (cvq_verify_crl_store_info(f->store, i, &in) == CVQ_VERIFY_OK)
			cvqd_info("crl %s: %s", in.url, in.have ? in.last_detail : "nothing cached yet");
	}
	free(urls);
	return f;
fail:
	free(urls);
	cvqd_crlfetch_free(f);
	return NULL;
}

void cvqd_crlfetch_note_cert(cvqd_crlfetch *f, X509 *cert)
{
	size_t added = 0;
	if (!f || !cert || !f->from_certs)
		return;
	if (cvq_verify_crl_store_add_cert(f->store, cert, &added) != CVQ_VERIFY_OK)
		cvqd_warn("crl: a distribution point of a card's certificate was not added");
	if (added) {
		pthread_mutex_lock(&f->lock);
		f->wake = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
	}
}

int cvqd_crlfetch_fill(cvqd_crlfetch *f, struct cvqd_trust *t)
{
	for (size_t i = 0; f && i < cvq_verify_crl_store_count(f->store); i++) {
		X509_CRL *c = cvq_verify_crl_store_get1(f->store, i);
		int rc = c ? cvqd_trust_add_crl(t, c) : 0;
		X509_CRL_free(c);
		if (rc)
			return -1;
	}
	return 0;
}

/* One journal row and one log line per fetch done since the last call. */
static void report(cvqd_crlfetch *f)
{
	size_t n = cvq_verify_crl_store_count(f->store);
	for (size_t i = 0; i < n && i < sizeof f->seen / sizeof f->seen[0]; i++) {
		cvq_verify_crl_info in;
		if (cvq_verify_crl_store_info(f->store, i, &in) != CVQ_VERIFY_OK ||
		    in.attempts == f->seen[i])
			continue;
		f->seen[i] = in.attempts;
		const char *code = cvq_verify_crl_fetch_code(in.last_result);
		bool good = in.last_result == CVQ_VERIFY_CRL_UPDATED ||
		            in.last_result == CVQ_VERIFY_CRL_NOT_MODIFIED;
		if (good)
			cvqd_info("crl %s: %s (number %lld, %d revoked)", in.url, code, in.number,
			          in.revoked);
		else
			cvqd_warn("crl %s: %s: %s; %s, next try in %lld s", in.url, code, in.last_detail,
			          in.have ? "keeping the last good CRL" : "no CRL yet",
			          (long long)(in.next_due - in.last_attempt));
		if (f->d->journal) {
			cvqd_journal_entry e = {
				.op = "crl_refresh", .uid = getuid(), .pid = getpid(), .card = "",
				.reader = in.url, .digest = NULL, .result = good ? (in.last_result ==
				        CVQ_VERIFY_CRL_UPDATED ? "ok" : "not_modified") : code,
			};
			if (cvqd_journal_add(f->d->journal, &e) != 0)
				cvqd_error("crl %s: not journalled", in.url);
		}
	}
}

static void *run(void *arg)
{
	cvqd_crlfetch *f = arg;

	for (;;) {
		pthread_mutex_lock(&f->lock);
		bool stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			break;
		size_t changed = cvq_verify_crl_store_refresh(f->store, time(NULL), false);
		report(f);
		/* A new trust set with the new CRLs; requests in flight keep theirs. */
		if (changed && cvqd_reload_trust(f->d) != 0)
			cvqd_error("crl: a new CRL could not be put in use");
		time_t due = cvq_verify_crl_store_next_due(f->store), now = time(NULL);
		/* At most a minute at a time: the wall clock may jump. */
		struct timespec until = { .tv_sec = now + 60 };
		if (due && due < until.tv_sec)
			until.tv_sec = due > now ? due : now + 1;
		pthread_mutex_lock(&f->lock);
		while (!f->stop && !f->wake &&
		       pthread_cond_timedwait(&f->cond, &f->lock, &until) != ETIMEDOUT)
			;
		f->wake = false;
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

int cvqd_crlfetch_start(cvqd_crlfetch *f, struct cvqd *d)
{
	f->d = d;
	if (pthread_create(&f->thread, NULL, run, f) != 0)
		return -1;
	f->running = true;
	return 0;
}

void cvqd_crlfetch_free(cvqd_crlfetch *f)
{
	if (!f)
		return;
	if (f->running) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	cvq_verify_crl_store_free(f->store);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static json_t *when(time_t t)
{
	char b[32];
	if (!t)
		return json_null();
	cvqd_time_rfc3339(t, b, sizeof b);
	return json_string(b);
}

json_t *cvqd_crlfetch_describe(cvqd_crlfetch *f)
{
	json_t *a = json_array();
	time_t now = time(NULL);
	for (size_t i = 0; f && a && i < cvq_verify_crl_store_count(f->store); i++) {
		cvq_verify_crl_info in;
		if (cvq_verify_crl_store_info(f->store, i, &in) != CVQ_VERIFY_OK)
			continue;
		/* Fresh: still valid, and the last fetch confirmed it is the latest. */
		bool expired = in.have && in.next_update && now >= in.next_update;
		bool fresh = in.have && !expired && (in.last_result == CVQ_VERIFY_CRL_UPDATED ||
		                                     in.last_result == CVQ_VERIFY_CRL_NOT_MODIFIED);
		json_t *j = json_pack("{s:s,s:s,s:b,s:o,s:o,s:b,s:b,s:o,s:o,s:s,s:s,s:o,s:I,s:o}",
			"url", in.url, "cache", in.path, "have", in.have,
			"this_update", when(in.this_update), "next_update", when(in.next_update),
			"fresh", fresh, "expired", expired,
			"age_s", in.have ? json_integer((json_int_t)(now - in.this_update)) : json_null(),
			"last_attempt", when(in.last_attempt),
			"last_result", cvq_verify_crl_fetch_code(in.last_result),
			"last_detail", in.last_detail,
			"last_success", when(in.last_success),
			"failures", (json_int_t)in.failures,
			"next_attempt", when(in.next_due));
		if (j && in.have) {
			json_object_set_new(j, "crl_number", in.number >= 0 ?
			                    json_integer((json_int_t)in.number) : json_null());
			json_object_set_new(j, "revoked", json_integer(in.revoked));
		}
		if (j)
			json_array_append_new(a, j);
	}
	return a;
}
