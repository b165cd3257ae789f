/*
 * cvqd — bring the parts up and down in order; reload trust on SIGHUP (the
 * OCSP responder, if any, runs on: it reads the CA's store live).
 */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "card_backend.h"
#include "cards.h"
#include "display.h"
#include "events.h"
#include "crlfetch.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "pin.h"
#include "quota.h"
#include "responder.h"
#include "seal.h"
#include "trust.h"

struct cvqd_trust *cvqd_trust_get(struct cvqd *d)
{
	pthread_mutex_lock(&d->trust_lock);
	struct cvqd_trust *t = d->trust;
	cvqd_trust_ref(t);
	pthread_mutex_unlock(&d->trust_lock);
	return t;
}

/* The configured files, then the fetched CRLs ([crl]). */
static cvqd_trust *load_trust(struct cvqd *d, char *err, size_t errlen)
{
	cvqd_trust *t = cvqd_trust_load(&d->cfg, err, errlen);
	if (t && cvqd_crlfetch_fill(d->crlfetch, t) != 0) {
		snprintf(err, errlen, "out of memory");
		cvqd_trust_put(t);
		t = NULL;
	}
	return t;
}

int cvqd_reload_trust(struct cvqd *d)
{
	char err[256];
	pthread_mutex_lock(&d->reload_lock);
	cvqd_trust *t = load_trust(d, err, sizeof err);
	if (!t) {
		pthread_mutex_unlock(&d->reload_lock);
		cvqd_error("reload: %s (keeping the previous trust anchors and CRLs)", err);
		return -1;
	}
	pthread_mutex_lock(&d->trust_lock);
	cvqd_trust *old = d->trust;
	d->trust = t;
	pthread_mutex_unlock(&d->trust_lock);
	pthread_mutex_unlock(&d->reload_lock);
	cvqd_trust_put(old);
	cvqd_info("trust anchors and CRLs reloaded");
	return 0;
}

static cvqd_card_backend *make_backend(const cvqd_config *cfg)
{
	if (!strcmp(cfg->backend, "none"))
		return cvqd_card_backend_none();
	if (!strcmp(cfg->backend, "pkcs11")) {
		cvqd_card_backend *b = cvqd_card_backend_p11(cfg->pkcs11_module, cfg->pkcs11_auth_id,
		                                             cfg->pkcs11_sign_id);
		if (!b)
			cvqd_error("the PKCS#11 card backend did not start");
		return b;
	}
	cvqd_card_backend *b = cvqd_card_backend_piv(cfg->readers_filter);
	if (!b) {
		cvqd_error("the PC/SC card backend did not start");
		return NULL;
	}
	/* Issue #17: cards are genuine when the anchors' CA signed them. */
	X509_STORE *st = cfg->n_anchors ? X509_STORE_new() : NULL;
	for (size_t i = 0; st && i < cfg->n_anchors; i++)
		if (X509_STORE_load_file(st, cfg->anchors[i]) != 1)
			cvqd_warn("card authenticity: cannot load anchor %s", cfg->anchors[i]);
	if (st)
		X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	cvqd_card_backend_piv_trust(b, st, cfg->foreign_cards);
	X509_STORE_free(st);
	ERR_clear_error();
	return b;
}

struct cvqd *cvqd_start(cvqd_config *cfg)
{
	char err[256];
	struct cvqd *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->cfg = *cfg; /* takes the strings */
	memset(cfg, 0, sizeof *cfg);
	pthread_mutex_init(&d->trust_lock, NULL);
	pthread_mutex_init(&d->reload_lock, NULL);
	d->stop_fd = eventfd(0, EFD_CLOEXEC);
	cvqd_i18n_setup(&d->cfg);
	if (d->stop_fd < 0)
		goto fail;
	if (d->cfg.crl_fetch && !(d->crlfetch = cvqd_crlfetch_new(&d->cfg, err, sizeof err))) {
		cvqd_error("crl: %s", err);
		goto fail;
	}
	if (!(d->trust = cvqd_trust_load(&d->cfg, err, sizeof err))) {
		cvqd_error("trust: %s", err);
		goto fail;
	}
	if (!(d->display = cvqd_display_new(d->cfg.scripts, d->cfg.schemas, d->cfg.n_schemas,
	                                    err, sizeof err))) {
		cvqd_error("display: %s", err);
		goto fail;
	}
	if (!(d->quota = cvqd_quota_new()))
		goto fail;
	if (d->cfg.journal_path[0] &&
	    !(d->journal = cvqd_journal_open(d->cfg.journal_path, err, sizeof err))) {
		cvqd_error("journal: %s", err);
		goto fail;
	}
	/* The seal key opened once: a wrong PIN stops cvqd here. */
	if (d->cfg.seal && !(d->seal = cvqd_seal_start(&d->cfg, err, sizeof err))) {
		cvqd_error("seal: %s", err);
		goto fail;
	}
	/* Before the cards and the socket: a responder that cannot start
	 * stops the daemon rather than leave it half-configured. */
	if (d->cfg.responder && !(d->responder = cvqd_responder_start(&d->cfg)))
		goto fail;
	if (!(d->events = cvqd_events_new()))
		goto fail;
	cvqd_card_backend *b = make_backend(&d->cfg);
	if (!b || !(d->cards = cvqd_cards_start(b, d->events))) {
		cvqd_card_backend_free(b);
		goto fail;
	}
	/* [crl]: the CRLs cached on disk in use before the first request. */
	if (d->crlfetch && cvqd_reload_trust(d) != 0)
		goto fail;
	if (!(d->http = cvqd_http_start(d)))
		goto fail;
	if (d->crlfetch && cvqd_crlfetch_start(d->crlfetch, d) != 0)
		goto fail;
	cvqd_info("cvqd %s ready (cards: %s)", CVQ_VERSION, d->cfg.backend);
	return d;
fail:
	cvqd_stop(d);
	return NULL;
}

void cvqd_stop(struct cvqd *d)
{
	if (!d)
		return;
	atomic_store(&d->stopping, true);
	if (d->stop_fd >= 0) {
		uint64_t one = 1;
		if (write(d->stop_fd, &one, sizeof one) < 0)
			cvqd_dbg("stop: eventfd write failed");
	}
	if (d->events)
		cvqd_events_close(d->events);
	/* First: its thread reloads trust and writes the journal. */
	cvqd_crlfetch_free(d->crlfetch);
	cvqd_http_stop(d->http);
	cvqd_responder_stop(d->responder);
	cvqd_cards_stop(d->cards);
	cvqd_events_free(d->events);
	cvqd_seal_free(d->seal);
	cvqd_journal_close(d->journal);
	cvqd_trust_put(d->trust);
	cvqd_display_free(d->display);
	cvqd_quota_free(d->quota);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	pthread_mutex_destroy(&d->trust_lock);
	pthread_mutex_destroy(&d->reload_lock);
	cvqd_config_free(&d->cfg);
	free(d);
}
