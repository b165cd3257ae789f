/*
 * libcvqca-http — the CA's one public service: the OCSP responder and,
 * when configured, the TSA, on one libmicrohttpd server (ca_ocsp_http.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include <cvq/ca_http.h>
#include <cvq/ca_ocsp.h>
#include <cvq/ca_tsa.h>

#include "ca_ocsp_int.h"

struct cvq_ca_http {
	cvq_ca_ocsp *ocsp;
	cvq_ca_tsa *tsa;
	cvq_ca_ocsp_server *srv;
};

#define WHY(...) do { if (why && why_len) snprintf(why, why_len, __VA_ARGS__); } while (0)

cvq_ca_err
cvq_ca_http_start(const struct cvq_ca_config *cfg, const struct cvq_ca_http_opts *opts,
                  cvq_ca_http **out, char *why, size_t why_len)
{
	cvq_ca_http *h;
	cvq_ca_err err;
	char msg[256] = "";

	if (!cfg || !opts || !out || (!opts->listen && opts->listen_fd < 0))
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return CVQ_CA_ERR_NOMEM;
	/* One read-only store connection per HTTP thread, and one for the
	 * background pre-signing. */
	err = cvq_ca_ocsp_new(cfg, opts->ocsp_pass, opts->threads ? opts->threads + 1 : 8, &h->ocsp);
	if (err != CVQ_CA_OK) {
		WHY("cannot load the CA or its OCSP signer: %s", cvq_ca_strerror(err));
		goto fail;
	}
	if (cfg->tsa_key && !opts->no_tsa) {
		err = cvq_ca_tsa_new(cfg, opts->tsa_pass, &h->tsa, msg, sizeof(msg));
		if (err != CVQ_CA_OK) {
			WHY("cannot load the TSA: %s", msg[0] ? msg : cvq_ca_strerror(err));
			goto fail;
		}
	}
	err = ca_http_server_start(h->ocsp, h->tsa, opts->listen, opts->listen_fd, opts->threads,
	                           opts->timeout_s, &h->srv);
	if (err != CVQ_CA_OK) {
		WHY("cannot listen on %s: %s (address in use?)", opts->listen ? opts->listen : "fd",
		    cvq_ca_strerror(err));
		goto fail;
	}
	*out = h;
	return CVQ_CA_OK;
fail:
	cvq_ca_http_stop(h);
	return err;
}

unsigned
cvq_ca_http_port(const cvq_ca_http *h)
{
	return h ? cvq_ca_ocsp_server_port(h->srv) : 0;
}

bool
cvq_ca_http_has_tsa(const cvq_ca_http *h)
{
	return h && h->tsa;
}

void
cvq_ca_http_stop(cvq_ca_http *h)
{
	if (!h)
		return;
	/* The server first: its threads use both. */
	cvq_ca_ocsp_server_stop(h->srv);
	cvq_ca_tsa_free(h->tsa);
	cvq_ca_ocsp_free(h->ocsp);
	free(h);
}
