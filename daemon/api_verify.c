/* cvqd — POST /v1/verify {"receipt": base64 DER}. No card involved. */
#include <string.h>

#include "api.h"
#include "b64.h"
#include "canon.h"
#include "cvqd.h"
#include "receipt.h"
#include "trust.h"

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
	cvqd_receipt_info info;
	struct cvqd_trust *t = cvqd_trust_get(r->d);
	cvqd_err e = cvqd_receipt_verify(der, len, t, &info, why, sizeof why);
	cvqd_trust_put(t);
	free(der);
	if (e != CVQD_OK) {
		cvqd_reply_error(r, e, why);
		goto out;
	}
	time_t ct;
	char nonce[80], when[32];
	json_t *tx = cvqd_canon_parse_receipt((const char *)info.content, info.content_len,
	                                      &ct, nonce, sizeof nonce, why, sizeof why);
	if (!tx) {
		cvqd_reply_error(r, CVQD_ERR_BAD_RECEIPT, why);
		goto out;
	}
	cvqd_time_rfc3339(info.signing_time, when, sizeof when);
	cvqd_reply_json(r, 200, json_pack("{s:b,s:o,s:s,s:s,s:o,s:s}",
		"valid", 1, "transaction", tx, "nonce", nonce, "signing_time", when,
		"signer", cvqd_api_cert_json(info.signer), "certificate_status", "good"));
out:
	cvqd_receipt_info_free(&info);
}
