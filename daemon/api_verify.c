/* cvqd — POST /v1/verify {"receipt": base64 DER}. No card involved. */
#include <string.h>

#include "api.h"
#include "b64.h"
#include "canon.h"
#include "cvqd.h"
#include "trust.h"

#include <cvq/verify.h>

json_t *cvqd_api_cert_json(X509 *x)
{
	char na[32], nb[32];
	time_t a = 0, b = 0;
	cvqd_asn1_time_to_time_t(X509_get0_notBefore(x), &b);
	cvqd_asn1_time_to_time_t(X509_get0_notAfter(x), &a);
	cvqd_time_rfc3339(b, nb, sizeof nb);
	cvqd_time_rfc3339(a, na, sizeof na);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	json_t *j = json_pack("{s:o,s:o,s:s,s:s,s:s}",
		"subject", cvqd_x509_name_json(X509_get_subject_name(x)),
		"issuer", cvqd_x509_name_json(X509_get_issuer_name(x)),
		"serial", hex ? hex : "", "not_before", nb, "not_after", na);
	OPENSSL_free(hex);
	BN_free(bn);
	return j;
}

/* What libcvqverify said, beside the verdict: for every answer, good or not. */
static json_t *verdict_json(const cvq_verify_result *v, cvq_verify_err e)
{
	char t1[32], t2[32], t3[32];
	time_t ts = cvq_verify_result_timestamp_time(v), rv = cvq_verify_result_revocation_time(v);
	time_t inv = cvq_verify_result_invalidity_time(v);
	cvq_verify_cert_status st = cvq_verify_result_cert_status(v);

	cvqd_time_rfc3339(cvq_verify_result_check_time(v), t1, sizeof t1);
	cvqd_time_rfc3339(ts, t2, sizeof t2);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "outcome", cvq_verify_code(e),
		"message_fr", cvq_verify_sentence_fr(e), "check_time", t1,
		"certificate_status", st == CVQ_VERIFY_CERT_GOOD ? "good"
		                      : st == CVQ_VERIFY_CERT_REVOKED ? "revoked" : "unknown",
		"revocation_source", cvq_verify_result_revocation_source(v));
	json_object_set_new(j, "timestamp", ts ? json_string(t2) : json_null());
	if (st == CVQ_VERIFY_CERT_REVOKED) {
		cvqd_time_rfc3339(rv, t1, sizeof t1);
		cvqd_time_rfc3339(inv, t3, sizeof t3);
		json_object_set_new(j, "revocation", json_pack("{s:s,s:s,s:o}", "time", t1,
			"reason", cvq_verify_reason_name(cvq_verify_result_revocation_reason(v)),
			"invalidity", inv ? json_string(t3) : json_null()));
	}
	return j;
}

void cvqd_api_verify(cvqd_req *r)
{
	json_t *jr = json_object_get(r->body, "receipt");
	if (!json_is_string(jr)) {
		cvqd_reply_error(r, CVQD_ERR_BAD_REQUEST, "\"receipt\" (base64 string) is required");
		return;
	}
	size_t len = 0;
	uint8_t *der = cvqd_b64_decode(json_string_value(jr), json_string_length(jr), &len);
	if (!der) {
		cvqd_reply_error(r, CVQD_ERR_BAD_RECEIPT, "receipt is not valid base64");
		return;
	}
	char why[200] = "";
	cvq_verify_result *v = NULL;
	struct cvqd_trust *t = cvqd_trust_get(r->d);
	/* No reader is held here: OCSP may use the network (bounded by ocsp_timeout). */
	cvq_verify_err ve = cvq_verify_receipt(cvqd_trust_verifier(t), der, len, 0, &v);
	cvqd_trust_put(t);
	free(der);
	if (!v) {
		cvqd_reply_error(r, cvqd_trust_err(ve), NULL);
		return;
	}
	if (ve != CVQ_VERIFY_OK) {
		/* The error object carries the library's outcome and its French sentence. */
		json_t *err = json_pack("{s:s,s:s}", "code", cvqd_err_code(cvqd_trust_err(ve)),
		                        "message", cvq_verify_result_detail(v));
		json_object_update_new(err, verdict_json(v, ve));
		cvqd_reply_json(r, cvqd_err_http_status(cvqd_trust_err(ve)), json_pack("{s:o}", "error", err));
		goto out;
	}
	size_t clen = 0;
	const uint8_t *content = cvq_verify_result_content(v, &clen);
	time_t ct, st = cvq_verify_result_signing_time(v);
	char nonce[80], when[32];
	json_t *tx = cvqd_canon_parse_receipt((const char *)content, clen,
	                                      &ct, nonce, sizeof nonce, why, sizeof why);
	if (!tx) {
		cvqd_reply_error(r, CVQD_ERR_BAD_RECEIPT, why);
		goto out;
	}
	cvqd_time_rfc3339(st ? st : ct, when, sizeof when);
	json_t *ans = json_pack("{s:b,s:o,s:s,s:s,s:o}",
		"valid", 1, "transaction", tx, "nonce", nonce, "signing_time", when,
		"signer", cvqd_api_cert_json(cvq_verify_result_signer(v)));
	json_object_update_new(ans, verdict_json(v, ve));
	cvqd_reply_json(r, 200, ans);
out:
	cvq_verify_result_free(v);
}
