/* cvqd — start and stop the CA's public service (OCSP, TSA) of libcvqca-http. */
#include "responder.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cvq/ca_http.h>

#include "log.h"

struct cvqd_responder {
	struct cvq_ca_config *ca;
	cvq_ca_http *srv;
};

/*
 * libcvqca accepts up to 4096 OCSP connections. Under the usual soft
 * limit of 1024 descriptors, a flood of them would leave none for the
 * Unix-socket API, so raise the soft limit toward the hard one.
 */
static void raise_fd_limit(const cvqd_config *cfg)
{
	const rlim_t want = 4096 + 2 * (rlim_t)cfg->max_clients + 256;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		cvqd_warn("responder: only %llu file descriptors (LimitNOFILE=): an OCSP flood may "
		          "leave the API none", (unsigned long long)rl.rlim_cur);
}

cvqd_responder *cvqd_responder_start(const cvqd_config *cfg)
{
	cvqd_responder *r = calloc(1, sizeof *r);
	struct cvq_ca_http_opts ho = {0};
	char why[320] = "";
	cvq_ca_err err;
	if (!r) {
		cvqd_error("responder: out of memory");
		return NULL;
	}
	err = cvq_ca_config_load(cfg->resp_ca_config, &r->ca);
	if (err != CVQ_CA_OK) {
		cvqd_error("responder: CA configuration %s: %s", cfg->resp_ca_config,
		           cvq_ca_strerror(err));
		goto fail;
	}
	raise_fd_limit(cfg);
	/* The same service as cvq-ocspd: OCSP, and the TSA when the CA
	 * configuration has [tsa] (its key's passphrase from [tsa] pass). */
	ho.listen = cfg->resp_listen;
	ho.listen_fd = -1;
	ho.threads = cfg->resp_threads;
	ho.timeout_s = cfg->resp_timeout;
	ho.ocsp_pass = cfg->resp_pass[0] ? cfg->resp_pass : NULL;
	err = cvq_ca_http_start(r->ca, &ho, &r->srv, why, sizeof why);
	if (err != CVQ_CA_OK) {
		cvqd_error("responder: %s (%s)", why[0] ? why : cvq_ca_strerror(err), cfg->resp_ca_config);
		goto fail;
	}
	/* The port actually bound: listen = ADDR:0 takes any free one. */
	cvqd_info("OCSP responder on %.*s:%u%s", (int)(strrchr(cfg->resp_listen, ':') - cfg->resp_listen),
	          cfg->resp_listen, cvq_ca_http_port(r->srv),
	          cvq_ca_http_has_tsa(r->srv) ? ", with the TSA" : "");
	return r;
fail:
	cvqd_responder_stop(r);
	return NULL;
}

void cvqd_responder_stop(cvqd_responder *r)
{
	if (!r)
		return;
	cvq_ca_http_stop(r->srv);
	cvq_ca_config_free(r->ca);
	free(r);
}
