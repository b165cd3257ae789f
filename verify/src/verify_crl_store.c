/*
 * libcvqverify — the CRL store: one source per distribution point, the
 * last good CRL of each (in memory and on disk), its schedule and what the
 * last fetch did. See <cvq/verify_crl.h>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cvq/util.h>
#include <cvq/verify_crl.h>

#include "verify_http.h"
#include "verify_int.h"

#define MAX_SOURCES 64
#define FUTURE_SKEW 300  /* a thisUpdate this far ahead of our clock is refused */

struct src {
	char url[512];
	char path[512];
	X509_CRL *crl;            /* the last good one, NULL when none */
	unsigned char md[32];     /* SHA-256 of its DER */
	char etag[VFY_HTTP_MAX_TAG], lm[VFY_HTTP_MAX_TAG];
	time_t last_attempt, last_success, next_due;
	cvq_verify_crl_fetch result;
	char detail[192];
	unsigned failures;
	unsigned long attempts;
	bool dirty;               /* held, but not on disk yet (a write failed) */
};

struct cvq_verify_crl_store {
	pthread_mutex_t lock;     /* everything below; never held across I/O */
	STACK_OF(X509) *issuers;
	struct src src[MAX_SOURCES];
	size_t n;
	char *dir;
	unsigned timeout;
	size_t max_bytes;
	unsigned interval, retry_min, retry_max;
};

const char *cvq_verify_crl_fetch_code(cvq_verify_crl_fetch f)
{
	static const char *const names[] = {
		"never", "updated", "not_modified", "network", "malformed", "untrusted", "older",
		"store_failed",
	};
	return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

cvq_verify_crl_store *cvq_verify_crl_store_new(const char *dir)
{
	cvq_verify_crl_store *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	s->issuers = sk_X509_new_null();
	if (!s->issuers || (dir && !(s->dir = strdup(dir)))) {
		cvq_verify_crl_store_free(s);
		return NULL;
	}
	if (s->dir && cvq_util_dir_create(s->dir, 0755) != 0 && errno != EEXIST) {
		cvq_verify_crl_store_free(s);
		return NULL;
	}
	cvq_verify_crl_store_set_limits(s, 0, 0);
	cvq_verify_crl_store_set_schedule(s, 0, 0, 0);
	return s;
}

void cvq_verify_crl_store_free(cvq_verify_crl_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		X509_CRL_free(s->src[i].crl);
	sk_X509_pop_free(s->issuers, X509_free);
	free(s->dir);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void cvq_verify_crl_store_set_limits(cvq_verify_crl_store *s, unsigned timeout_s, size_t max_bytes)
{
	if (!s)
		return;
	s->timeout = timeout_s ? timeout_s : 10;
	s->max_bytes = max_bytes ? max_bytes : 16u << 20;
}

void cvq_verify_crl_store_set_schedule(cvq_verify_crl_store *s, unsigned interval_s,
                                       unsigned retry_min_s, unsigned retry_max_s)
{
	if (!s)
		return;
	s->interval = interval_s ? interval_s : 3600;
	s->retry_min = retry_min_s ? retry_min_s : 30;
	s->retry_max = retry_max_s ? retry_max_s : 3600;
	if (s->retry_max < s->retry_min)
		s->retry_max = s->retry_min;
}

cvq_verify_err cvq_verify_crl_store_add_issuer(cvq_verify_crl_store *s, X509 *ca)
{
	if (!s || !ca)
		return CVQ_VERIFY_ERR_ARG;
	if (!X509_up_ref(ca))
		return CVQ_VERIFY_ERR_NOMEM;
	pthread_mutex_lock(&s->lock);
	int ok = sk_X509_push(s->issuers, ca) > 0;
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		X509_free(ca);
		return CVQ_VERIFY_ERR_NOMEM;
	}
	return CVQ_VERIFY_OK;
}

static long long crl_number(const X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	int64_t v = -1;
	if (!n || !ASN1_INTEGER_get_int64(&v, n) || v < 0)
		v = -1;
	ASN1_INTEGER_free(n);
	ERR_clear_error();
	return v;
}

static void digest(X509_CRL *crl, unsigned char md[32])
{
	unsigned int l = 32;
	memset(md, 0, 32);
	X509_CRL_digest(crl, EVP_sha256(), md, &l);
}

/*
 * May `crl` replace `held` (NULL: none)? Called with the lock held (no
 * I/O: one signature check). CVQ_VERIFY_CRL_UPDATED when yes.
 */
static cvq_verify_crl_fetch judge(cvq_verify_crl_store *s, X509_CRL *crl, X509_CRL *held,
                                  time_t now, char *why, size_t whylen)
{
	const X509_NAME *in = X509_CRL_get_issuer(crl);
	X509 *ca = NULL;
	time_t tu, htu;
	long long num, hnum;
	unsigned char md[32], hmd[32];

	for (int i = 0; !ca && i < sk_X509_num(s->issuers); i++) {
		X509 *c = sk_X509_value(s->issuers, i);
		if (X509_NAME_cmp(X509_get_subject_name(c), in) == 0 &&
		    (X509_get_key_usage(c) & KU_CRL_SIGN) &&
		    X509_CRL_verify(crl, X509_get0_pubkey(c)) == 1)
			ca = c;
	}
	ERR_clear_error();
	if (!ca) {
		snprintf(why, whylen, "not signed by a known CA");
		return CVQ_VERIFY_CRL_UNTRUSTED;
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		snprintf(why, whylen, "a delta CRL (not supported)");
		return CVQ_VERIFY_CRL_MALFORMED;
	}
	tu = vfy_time(X509_CRL_get0_lastUpdate(crl));
	if (tu == 0 || tu > now + FUTURE_SKEW) {
		snprintf(why, whylen, "thisUpdate missing or in the future");
		return CVQ_VERIFY_CRL_MALFORMED;
	}
	if (!held)
		return CVQ_VERIFY_CRL_UPDATED;
	if (X509_NAME_cmp(X509_CRL_get_issuer(held), in) != 0) {
		snprintf(why, whylen, "issued by another CA than the CRL held");
		return CVQ_VERIFY_CRL_UNTRUSTED;
	}
	digest(crl, md);
	digest(held, hmd);
	if (!memcmp(md, hmd, 32))
		return CVQ_VERIFY_CRL_NOT_MODIFIED;
	num = crl_number(crl);
	hnum = crl_number(held);
	htu = vfy_time(X509_CRL_get0_lastUpdate(held));
	if (hnum >= 0 && num < 0) {
		snprintf(why, whylen, "no CRL number, the CRL held has %lld", hnum);
		return CVQ_VERIFY_CRL_OLDER;
	}
	if (hnum >= 0 && num <= hnum) {
		snprintf(why, whylen, "CRL number %lld, not above the %lld held", num, hnum);
		return CVQ_VERIFY_CRL_OLDER;
	}
	if (tu < htu) {
		snprintf(why, whylen, "thisUpdate older than the CRL held");
		return CVQ_VERIFY_CRL_OLDER;
	}
	if (hnum < 0 && tu == htu) {
		snprintf(why, whylen, "another CRL with the same thisUpdate");
		return CVQ_VERIFY_CRL_OLDER;
	}
	return CVQ_VERIFY_CRL_UPDATED;
}

static X509_CRL *read_file(const char *path)
{
	unsigned char *buf = NULL;
	X509_CRL *crl = NULL;
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= (off_t)(64u << 20) && (buf = malloc((size_t)st.st_size)) &&
	    fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size)
		crl = vfy_crl_decode(buf, (size_t)st.st_size);
	free(buf);
	fclose(f);
	return crl;
}

/* DER to a temporary name, fsync, rename: a reader sees the old or the new. */
static int write_file(const char *path, X509_CRL *crl, char *why, size_t whylen)
{
	unsigned char *der = NULL;
	char tmp[600];
	int len = i2d_X509_CRL(crl, &der), fd = -1, ret = -1;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (len <= 0) {
		snprintf(why, whylen, "cannot encode the CRL");
		goto out;
	}
	unlink(tmp);
	if ((fd = cvq_util_file_create(tmp, O_WRONLY | O_EXCL, 0644)) < 0) {
		snprintf(why, whylen, "%.120s: %.60s", tmp, strerror(errno));
		goto out;
	}
	for (int off = 0; off < len;) {
		ssize_t w = write(fd, der + off, (size_t)(len - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(why, whylen, "%.120s: %.60s", tmp, w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (int)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		snprintf(why, whylen, "%.120s: %.60s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(why, whylen, "%.120s: %.60s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret != 0)
		unlink(tmp);
	OPENSSL_free(der);
	return ret;
}

cvq_verify_err cvq_verify_crl_store_add_url(cvq_verify_crl_store *s, const char *url)
{
	struct vfy_url u;
	struct src *p;
	X509_CRL *cached = NULL;
	char path[512] = "";
	cvq_verify_err e = CVQ_VERIFY_OK;

	if (!s || !url || strlen(url) >= sizeof p->url || !vfy_url_parse(url, &u))
		return CVQ_VERIFY_ERR_ARG;
	if (s->dir) {
		unsigned char md[32];
		unsigned int l = 32;
		char hex[25];
		if (!EVP_Digest(url, strlen(url), md, &l, EVP_sha256(), NULL))
			return CVQ_VERIFY_ERR_NOMEM;
		for (int i = 0; i < 12; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (snprintf(path, sizeof path, "%s/%s.crl", s->dir, hex) >= (int)sizeof path)
			return CVQ_VERIFY_ERR_ARG;
		cached = read_file(path);
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->src[i].url, url))
			goto out;
	if (s->n == MAX_SOURCES) {
		e = CVQ_VERIFY_ERR_NOMEM;
		goto out;
	}
	p = &s->src[s->n++];
	memset(p, 0, sizeof *p);
	snprintf(p->url, sizeof p->url, "%s", url);
	snprintf(p->path, sizeof p->path, "%s", path);
	if (cached) {
		char why[160];
		if (judge(s, cached, NULL, time(NULL), why, sizeof why) == CVQ_VERIFY_CRL_UPDATED) {
			p->crl = cached;
			cached = NULL;
			digest(p->crl, p->md);
			snprintf(p->detail, sizeof p->detail, "loaded from %.160s", path);
		} else {
			snprintf(p->detail, sizeof p->detail, "%.100s: %.60s: ignored", path, why);
		}
	}
out:
	pthread_mutex_unlock(&s->lock);
	X509_CRL_free(cached);
	return e;
}

cvq_verify_err cvq_verify_crl_store_add_cert(cvq_verify_crl_store *s, X509 *cert, size_t *added)
{
	STACK_OF(DIST_POINT) *dps;
	cvq_verify_err e = CVQ_VERIFY_OK;

	if (added)
		*added = 0;
	if (!s || !cert)
		return CVQ_VERIFY_ERR_ARG;
	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	ERR_clear_error();
	for (int i = 0; dps && e == CVQ_VERIFY_OK && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *names = dp->distpoint->name.fullname;
		for (int j = 0; e == CVQ_VERIFY_OK && j < sk_GENERAL_NAME_num(names); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, j);
			int type;
			ASN1_IA5STRING *uri = GENERAL_NAME_get0_value(g, &type);
			char url[512];
			struct vfy_url u;
			if (type != GEN_URI || !uri || uri->length <= 0 ||
			    uri->length >= (int)sizeof url || memchr(uri->data, 0, (size_t)uri->length))
				continue;
			memcpy(url, uri->data, (size_t)uri->length);
			url[uri->length] = '\0';
			if (!vfy_url_parse(url, &u))
				continue;  /* ldap://, https://: not ours */
			size_t before = cvq_verify_crl_store_count(s);
			e = cvq_verify_crl_store_add_url(s, url);
			if (added && cvq_verify_crl_store_count(s) > before)
				(*added)++;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return e;
}

size_t cvq_verify_crl_store_count(cvq_verify_crl_store *s)
{
	size_t n;
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* When a source held `crl` and succeeded now, it is due again. */
static time_t due_after_success(const cvq_verify_crl_store *s, X509_CRL *crl, time_t now)
{
	time_t due = now + s->interval;
	const ASN1_TIME *nt = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
	if (nt) {
		time_t tu = vfy_time(X509_CRL_get0_lastUpdate(crl)), nu = vfy_time(nt);
		time_t three_q = tu + (nu - tu) / 4 * 3;
		/* Past 3/4 of the window and nothing newer yet: ask often. */
		time_t want = three_q > now ? three_q : now + s->retry_min;
		if (want < due)
			due = want;
	}
	return due;
}

static void fetch_one(cvq_verify_crl_store *s, size_t i, time_t now, size_t *changed)
{
	char url[512], etag[VFY_HTTP_MAX_TAG], lm[VFY_HTTP_MAX_TAG], path[512], why[192] = "";
	struct vfy_http_get g;
	X509_CRL *crl = NULL;
	cvq_verify_crl_fetch res;
	struct src *p;
	bool take = false, dirty;

	pthread_mutex_lock(&s->lock);
	p = &s->src[i];
	dirty = p->dirty;
	memcpy(url, p->url, sizeof url);
	memcpy(path, p->path, sizeof path);
	/* Conditional only when we hold what the validator names. */
	memcpy(etag, p->crl ? p->etag : "", p->crl ? sizeof etag : 1);
	memcpy(lm, p->crl ? p->lm : "", p->crl ? sizeof lm : 1);
	p->last_attempt = now;
	p->attempts++;
	pthread_mutex_unlock(&s->lock);

	if (vfy_http_get(url, s->timeout, s->max_bytes, etag, lm, &g, why, sizeof why) != 0) {
		res = CVQ_VERIFY_CRL_NETWORK;
	} else if (g.status == 304 && (etag[0] || lm[0])) {
		/* (a 304 to an unconditional GET is an HTTP error below) */
		res = CVQ_VERIFY_CRL_NOT_MODIFIED;
	} else if (g.status != 200) {
		res = CVQ_VERIFY_CRL_NETWORK;
		snprintf(why, sizeof why, "HTTP status %d", g.status);
	} else if (!(crl = vfy_crl_decode(g.body, g.body_len))) {
		res = CVQ_VERIFY_CRL_MALFORMED;
		snprintf(why, sizeof why, "the answer (%zu bytes) is not a DER or PEM CRL", g.body_len);
	} else {
		X509_CRL *held = cvq_verify_crl_store_get1(s, i);
		pthread_mutex_lock(&s->lock);
		res = judge(s, crl, held, now, why, sizeof why);
		pthread_mutex_unlock(&s->lock);
		X509_CRL_free(held);
		take = res == CVQ_VERIFY_CRL_UPDATED;
	}
	free(g.body);
	/*
	 * The disk: a new CRL, or the one held when a write failed before. A
	 * verified CRL is used even when it cannot be written (fresher
	 * revocation matters more); the failure is reported and retried.
	 */
	if (path[0] && (take || (dirty && res == CVQ_VERIFY_CRL_NOT_MODIFIED))) {
		X509_CRL *w = take ? crl : cvq_verify_crl_store_get1(s, i);
		if (w && write_file(path, w, why, sizeof why) != 0) {
			res = CVQ_VERIFY_CRL_STORE_FAILED;
			dirty = true;
		} else {
			dirty = false;
		}
		if (!take)
			X509_CRL_free(w);
	}

	now = time(NULL);  /* the fetch took time: schedule from its end */
	pthread_mutex_lock(&s->lock);
	p = &s->src[i];
	p->result = res;
	snprintf(p->detail, sizeof p->detail, "%s", why);
	p->dirty = dirty;
	if (take) {
		X509_CRL_free(p->crl);
		p->crl = crl;
		crl = NULL;
		digest(p->crl, p->md);
		(*changed)++;
	}
	/* Validators only from a 200 whose CRL we now hold (or already held). */
	if (g.status == 200 && (take || res == CVQ_VERIFY_CRL_NOT_MODIFIED)) {
		memcpy(p->etag, g.etag, sizeof p->etag);
		memcpy(p->lm, g.last_modified, sizeof p->lm);
	}
	if (res == CVQ_VERIFY_CRL_UPDATED || res == CVQ_VERIFY_CRL_NOT_MODIFIED) {
		p->failures = 0;
		p->last_success = now;
		p->next_due = due_after_success(s, p->crl, now);
	} else {
		unsigned sh = p->failures < 16 ? p->failures : 16;
		unsigned long long back = (unsigned long long)s->retry_min << sh;
		p->failures++;
		p->next_due = now + (time_t)(back < s->retry_max ? back : s->retry_max);
	}
	pthread_mutex_unlock(&s->lock);
	X509_CRL_free(crl);
}

size_t cvq_verify_crl_store_refresh(cvq_verify_crl_store *s, time_t now, bool force)
{
	size_t changed = 0, n = cvq_verify_crl_store_count(s);

	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&s->lock);
		bool due = force || s->src[i].next_due <= now;
		pthread_mutex_unlock(&s->lock);
		if (due)
			fetch_one(s, i, now, &changed);
	}
	return changed;
}

time_t cvq_verify_crl_store_next_due(cvq_verify_crl_store *s)
{
	time_t t = 0;
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (t == 0 || s->src[i].next_due < t)
			t = s->src[i].next_due;
	pthread_mutex_unlock(&s->lock);
	return t;
}

cvq_verify_err cvq_verify_crl_store_info(cvq_verify_crl_store *s, size_t i, cvq_verify_crl_info *o)
{
	if (!s || !o)
		return CVQ_VERIFY_ERR_ARG;
	memset(o, 0, sizeof *o);
	pthread_mutex_lock(&s->lock);
	if (i >= s->n) {
		pthread_mutex_unlock(&s->lock);
		return CVQ_VERIFY_ERR_ARG;
	}
	struct src *p = &s->src[i];
	snprintf(o->url, sizeof o->url, "%s", p->url);
	snprintf(o->path, sizeof o->path, "%s", p->path);
	o->have = p->crl != NULL;
	o->number = -1;
	if (p->crl) {
		const ASN1_TIME *nt = X509_CRL_get0_nextUpdate(p->crl);
		int r = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(p->crl));
		o->this_update = vfy_time(X509_CRL_get0_lastUpdate(p->crl));
		o->next_update = nt ? vfy_time(nt) : 0;
		o->number = crl_number(p->crl);
		o->revoked = r > 0 ? r : 0;
	}
	o->last_attempt = p->last_attempt;
	o->last_success = p->last_success;
	o->last_result = p->result;
	snprintf(o->last_detail, sizeof o->last_detail, "%s", p->detail);
	o->failures = p->failures;
	o->attempts = p->attempts;
	o->next_due = p->next_due;
	pthread_mutex_unlock(&s->lock);
	return CVQ_VERIFY_OK;
}

X509_CRL *cvq_verify_crl_store_get1(cvq_verify_crl_store *s, size_t i)
{
	X509_CRL *c = NULL;
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (i < s->n && s->src[i].crl && X509_CRL_up_ref(s->src[i].crl))
		c = s->src[i].crl;
	pthread_mutex_unlock(&s->lock);
	return c;
}

cvq_verify_err cvq_verify_crl_store_fill(cvq_verify_crl_store *s, cvq_verify_ctx *ctx)
{
	cvq_verify_err e = CVQ_VERIFY_OK;
	size_t n = cvq_verify_crl_store_count(s);

	if (!s || !ctx)
		return CVQ_VERIFY_ERR_ARG;
	for (size_t i = 0; e == CVQ_VERIFY_OK && i < n; i++) {
		X509_CRL *c = cvq_verify_crl_store_get1(s, i);
		if (c)
			e = cvq_verify_add_crl(ctx, c);
		X509_CRL_free(c);
	}
	return e;
}
