/*
 * Fuzz the TSA with raw request bytes (the body of a POST): the strict
 * parse, then OpenSSL's response maker, the signature and the audit entry
 * of a granted token. Every input must get a TimeStampResp that parses,
 * and a request the strict parse refuses must never be granted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ts.h>

#include <cvq/ca_tsa.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cvq_ca_tsa *tsa;

static void
tsa_free(void)
{
	cvq_ca_tsa_free(tsa);
}

static cvq_ca_tsa *
tsa_get(void)
{
	struct fuzz_ca *f;
	struct cvq_ca_tsa_init_opts io = {0};
	char why[256] = "";
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t id = 0;
	int bad;

	if (tsa)
		return tsa;
	f = fuzz_ca_get();
	io.why = why;
	io.why_len = sizeof(why);
	io.request_id = &id;
	/* The TSA's certificate by two officers (uids 1 and 2, named after
	 * the fixture opened the CA: no roles were pinned, these are in force). */
	bad = cvq_ca_config_set(f->cfg, "tsa.key", "tsa-key.pem") ||
	      cvq_ca_config_set(f->cfg, "tsa.cert", "tsa.pem") ||
	      cvq_ca_config_set(f->cfg, "tsa.policy", "1.3.6.1.4.1.55555.1.9") ||
	      cvq_ca_config_set(f->cfg, "roles.officer", "1, 2");
	if (!bad) {
		cvq_ca_set_caller(f->ca, 1);
		bad = cvq_ca_tsa_init(f->ca, f->cfg, NULL, &io) != CVQ_CA_OK;
	}
	if (!bad) {
		cvq_ca_set_caller(f->ca, 2);
		bad = cvq_ca_request_approve(f->ca, id, &der, &der_len) != CVQ_CA_OK || !der;
		OPENSSL_free(der);
	}
	if (bad || cvq_ca_tsa_finish(f->ca, f->cfg, NULL, id, why, sizeof(why)) ||
	    cvq_ca_tsa_new(f->cfg, NULL, &tsa, why, sizeof(why))) {
		fprintf(stderr, "TSA fixture: %s\n", why);
		abort();
	}
	atexit(tsa_free);
	return tsa;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cvq_ca_tsa *t = tsa_get();
	struct cvq_ca_tsa_answer a;
	const unsigned char *p;
	uint8_t *resp = NULL;
	size_t len = 0;
	TS_RESP *r;
	bool strict_ok = cvq_ca_tsa_check_request(data, size, NULL, 0) == CVQ_CA_OK;

	if (cvq_ca_tsa_respond(t, data, size, &resp, &len, &a) != CVQ_CA_OK || !resp)
		abort();
	p = resp;
	r = d2i_TS_RESP(NULL, &p, (long)len);
	if (!r || p != resp + len)
		abort();
	if (!strict_ok && a.status <= TS_STATUS_GRANTED_WITH_MODS)
		abort();
	TS_RESP_free(r);
	OPENSSL_free(resp);
	return 0;
}
