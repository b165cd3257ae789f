#include "ocsp.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "trust.h"

/* The configured URL, else the first OCSP URL of the certificate. */
static char *responder(const char *url, X509 *cert)
{
	if (url && url[0])
		return OPENSSL_strdup(url);
	STACK_OF(OPENSSL_STRING) *aia = X509_get1_ocsp(cert);
	char *u = sk_OPENSSL_STRING_num(aia) > 0 ? OPENSSL_strdup(sk_OPENSSL_STRING_value(aia, 0)) : NULL;
	X509_email_free(aia);
	return u;
}

cvqd_ocsp_result cvqd_ocsp_check(const char *url, X509 *cert, X509 *issuer,
                                 X509_STORE *store, time_t *revoked_at,
                                 char *why, size_t whylen)
{
	cvqd_ocsp_result res = CVQD_OCSP_UNKNOWN;
	char *u = responder(url, cert), *host = NULL, *port = NULL, *path = NULL;
	int ssl = 0;
	OCSP_CERTID *id = NULL;
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	BIO *cbio = NULL;
	STACK_OF(X509) *extra = NULL;

	if (!u) {
		snprintf(why, whylen, "no OCSP responder");
		goto out;
	}
	if (!OCSP_parse_url(u, &host, &port, &path, &ssl) || ssl) {
		snprintf(why, whylen, "OCSP responder URL not usable (plain http only)");
		goto out;
	}
	req = OCSP_REQUEST_new();
	id = OCSP_cert_to_id(NULL, cert, issuer);
	if (!req || !id || !OCSP_request_add0_id(req, OCSP_CERTID_dup(id)) ||
	    !OCSP_request_add1_nonce(req, NULL, -1))
		goto out;
	cbio = BIO_new_connect(host);
	if (!cbio || !BIO_set_conn_port(cbio, port) || BIO_do_connect(cbio) <= 0) {
		snprintf(why, whylen, "OCSP responder unreachable");
		goto out;
	}
	resp = OCSP_sendreq_bio(cbio, path, req);
	if (!resp || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    !(bs = OCSP_response_get1_basic(resp))) {
		snprintf(why, whylen, "no OCSP answer");
		goto out;
	}
	extra = sk_X509_new_null();
	if (!extra || !sk_X509_push(extra, issuer))
		goto out;
	if (OCSP_check_nonce(req, bs) <= 0 || OCSP_basic_verify(bs, extra, store, 0) != 1) {
		snprintf(why, whylen, "OCSP answer not signed by the issuer, or without our nonce");
		goto out;
	}
	int status, reason;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) ||
	    !OCSP_check_validity(thisupd, nextupd, 300, -1)) {
		snprintf(why, whylen, "OCSP answer stale or not about this certificate");
		goto out;
	}
	if (status == V_OCSP_CERTSTATUS_GOOD) {
		res = CVQD_OCSP_GOOD;
	} else if (status == V_OCSP_CERTSTATUS_REVOKED) {
		res = CVQD_OCSP_REVOKED;
		*revoked_at = 0;
		cvqd_asn1_time_to_time_t(rev, revoked_at);
	} else {
		snprintf(why, whylen, "the OCSP responder does not know the certificate");
	}
out:
	ERR_clear_error();
	sk_X509_free(extra);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	BIO_free_all(cbio);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	OPENSSL_free(u);
	return res;
}
