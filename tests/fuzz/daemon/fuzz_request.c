/*
 * Fuzz what a client sends: the JSON body, then the fields the handlers
 * read from it — a transaction (checked, made canonical and parsed back:
 * the round trip must hold), a receipt (base64, then CMS) and a seal
 * request (its members, the type name, base64).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "canon.h"
#include "config.h"
#include "receipt.h"
#include "request.h"
#include "seal.h"
#include "trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void transaction(const json_t *tx)
{
	char why[200], nonce[80];
	size_t len;
	time_t t;
	if (cvqd_canon_check_transaction(tx, why, sizeof why) != 0)
		return;
	char *c = cvqd_canon_receipt(tx, 1795000000, "q83vEjRWeJCrze8SNFZ4kA", &len);
	if (!c)
		abort();
	json_t *back = cvqd_canon_parse_receipt(c, len, &t, nonce, sizeof nonce, why, sizeof why);
	if (!back || !json_equal(back, tx) || t != 1795000000)
		abort();
	json_decref(back);
	free(c);
}

static void receipt(const json_t *r)
{
	char why[200];
	size_t len;
	uint8_t *der = cvqd_b64_decode(json_string_value(r), json_string_length(r), &len);
	if (!der)
		return;
	cvqd_config cfg;
	cvqd_config_parse(&cfg, "[trust]\nrequire_crl = false\n", why, sizeof why);
	cvqd_trust *trust = cvqd_trust_load(&cfg, why, sizeof why);
	cvqd_config_free(&cfg);
	if (trust) {
		cvqd_receipt_info info;
		cvqd_receipt_verify(der, len, trust, &info, why, sizeof why);
		cvqd_receipt_info_free(&info);
		cvqd_trust_put(trust);
	}
	free(der);
}

/* POST /v1/seal's body: what the parser accepts is what the journal holds. */
static void seal(json_t *body)
{
	struct cvqd_seal_request q;
	const char *field, *reason;
	size_t len;
	if (cvqd_seal_request_parse(body, &q, &field, &reason) != 0) {
		if (!field || !reason)
			abort();
		return;
	}
	if (!q.type[0] || strspn(q.type, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(q.type) ||
	    (q.filename && strchr(q.filename, '/')))
		abort();
	free(cvqd_b64_decode(q.document_b64, q.document_b64_len, &len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[200];
	json_t *body = cvqd_request_parse((const char *)data, size, why, sizeof why);
	if (!body)
		return 0;
	json_t *tx = json_object_get(body, "transaction");
	if (tx)
		transaction(tx);
	json_t *r = json_object_get(body, "receipt");
	if (json_is_string(r))
		receipt(r);
	if (json_object_get(body, "document"))
		seal(body);
	json_decref(body);
	return 0;
}
