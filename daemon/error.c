#include "error.h"

static const struct {
	const char *code;
	const char *text;
	unsigned http;
} errs[CVQD_ERR__COUNT] = {
	[CVQD_OK] = { "ok", "success", 200 },
	[CVQD_ERR_NOMEM] = { "internal", "out of memory", 500 },
	[CVQD_ERR_INTERNAL] = { "internal", "internal error", 500 },
	[CVQD_ERR_BAD_REQUEST] = { "bad_request", "malformed request", 400 },
	[CVQD_ERR_BODY_TOO_LARGE] = { "body_too_large", "request body too large", 413 },
	[CVQD_ERR_NOT_FOUND] = { "not_found", "no such endpoint", 404 },
	[CVQD_ERR_METHOD] = { "method_not_allowed", "method not allowed", 405 },
	[CVQD_ERR_FORBIDDEN] = { "forbidden", "caller not allowed", 403 },
	[CVQD_ERR_UNSUPPORTED_MEDIA] = { "unsupported_media_type", "body must be application/json", 415 },
	[CVQD_ERR_NO_CARD] = { "no_card", "no card present", 409 },
	[CVQD_ERR_CARD_REMOVED] = { "card_removed", "the card was removed", 409 },
	[CVQD_ERR_CARD] = { "card_error", "card or reader error", 502 },
	[CVQD_ERR_NO_SERVICE] = { "pcsc_unavailable", "PC/SC service unavailable", 503 },
	[CVQD_ERR_BUSY] = { "card_busy", "timed out waiting for the card", 503 },
	[CVQD_ERR_PIN_WRONG] = { "pin_wrong", "wrong PIN", 403 },
	[CVQD_ERR_PIN_BLOCKED] = { "pin_blocked", "PIN blocked", 403 },
	[CVQD_ERR_PIN_FORMAT] = { "pin_format", "the PIN must have 6 to 8 digits", 403 },
	[CVQD_ERR_PIN_CANCELLED] = { "pin_cancelled", "PIN entry cancelled", 409 },
	[CVQD_ERR_PIN_TIMEOUT] = { "pin_timeout", "PIN entry timed out", 408 },
	[CVQD_ERR_PINENTRY] = { "pinentry_failed", "PIN dialog unavailable", 500 },
	[CVQD_ERR_CLIENT_GONE] = { "client_gone", "client went away", 499 },
	[CVQD_ERR_CERT_REVOKED] = { "certificate_revoked", "certificate revoked", 403 },
	[CVQD_ERR_CERT_UNTRUSTED] = { "certificate_untrusted", "certificate not trusted", 403 },
	[CVQD_ERR_CERT_EXPIRED] = { "certificate_expired", "certificate not valid at that time", 403 },
	[CVQD_ERR_CRL_UNAVAILABLE] = { "crl_unavailable", "no current CRL", 503 },
	[CVQD_ERR_BAD_SIGNATURE] = { "bad_signature", "signature does not verify", 422 },
	[CVQD_ERR_BAD_RECEIPT] = { "bad_receipt", "not a valid receipt", 422 },
	[CVQD_ERR_JOURNAL] = { "journal_failed", "journal unavailable", 503 },
	[CVQD_ERR_SHUTTING_DOWN] = { "shutting_down", "daemon is stopping", 503 },
	[CVQD_ERR_TSA_UNAVAILABLE] = { "timestamp_unavailable", "the timestamp authority did not answer: no receipt", 503 },
	[CVQD_ERR_SEAL_OFF] = { "seal_not_configured", "this daemon does not seal documents (no [seal])", 404 },
	[CVQD_ERR_DOCUMENT] = { "document_refused", "the PDF cannot be sealed", 422 },
	[CVQD_ERR_SEAL_FAILED] = { "seal_failed", "the city's seal is unavailable", 503 },
	[CVQD_ERR_TOO_MANY] = { "too_many_requests", "this caller already has its card operations under way", 429 },
};

const char *cvqd_err_code(cvqd_err e)
{
	return (unsigned)e < CVQD_ERR__COUNT ? errs[e].code : "internal";
}

const char *cvqd_strerror(cvqd_err e)
{
	return (unsigned)e < CVQD_ERR__COUNT ? errs[e].text : "internal error";
}

unsigned cvqd_err_http_status(cvqd_err e)
{
	return (unsigned)e < CVQD_ERR__COUNT ? errs[e].http : 500;
}
