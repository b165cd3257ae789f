/* libcvqverify — the result of a check, and small helpers. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "verify_int.h"

cvq_verify_err vfy_fail(cvq_verify_result *r, cvq_verify_err e, const char *fmt, ...)
{
	va_list ap;

	r->outcome = e;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
	return e;
}

time_t vfy_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

void vfy_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cvq_verify_result_free(cvq_verify_result *r)
{
	if (!r)
		return;
	free(r->content);
	X509_free(r->signer);
	X509_free(r->tsa);
	free(r);
}

cvq_verify_err cvq_verify_result_outcome(const cvq_verify_result *r)
{
	return r ? r->outcome : CVQ_VERIFY_ERR_ARG;
}

const char *cvq_verify_result_detail(const cvq_verify_result *r)
{
	if (!r)
		return "";
	return r->detail[0] ? r->detail : cvq_verify_strerror(r->outcome);
}

const uint8_t *cvq_verify_result_content(const cvq_verify_result *r, size_t *len)
{
	if (len)
		*len = r && r->content ? r->content_len : 0;
	return r ? r->content : NULL;
}

X509 *cvq_verify_result_signer(const cvq_verify_result *r)
{
	return r ? r->signer : NULL;
}

time_t cvq_verify_result_signing_time(const cvq_verify_result *r)
{
	return r ? r->signing_time : 0;
}

time_t cvq_verify_result_timestamp_time(const cvq_verify_result *r)
{
	return r ? r->ts_time : 0;
}

X509 *cvq_verify_result_tsa(const cvq_verify_result *r)
{
	return r ? r->tsa : NULL;
}

time_t cvq_verify_result_check_time(const cvq_verify_result *r)
{
	return r ? r->check_time : 0;
}

cvq_verify_cert_status cvq_verify_result_cert_status(const cvq_verify_result *r)
{
	return r ? r->rev.status : CVQ_VERIFY_CERT_UNKNOWN;
}

time_t cvq_verify_result_revocation_time(const cvq_verify_result *r)
{
	return r ? r->rev.revoked_at : 0;
}

int cvq_verify_result_revocation_reason(const cvq_verify_result *r)
{
	return r ? r->rev.reason : -1;
}

time_t cvq_verify_result_invalidity_time(const cvq_verify_result *r)
{
	return r ? r->rev.invalidity : 0;
}

const char *cvq_verify_result_revocation_source(const cvq_verify_result *r)
{
	return r && r->rev.source ? r->rev.source : "none";
}

bool cvq_verify_result_ocsp_pending(const cvq_verify_result *r)
{
	return r && r->ocsp_pending;
}
