/*
 * cvq-agentd — the EST side of the agent's TLS front (agent_est.h): where
 * a request goes, and the bytes of RFC 7030's bodies. Outside bytes all
 * of them (the URL, a base64 CSR): fuzzed by admin-agent-est.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs7.h>

#include "agent_est.h"

#define EST "/.well-known/est/"

/* Where a request goes; the profile of a simpleenroll from its label. */
enum cvq_admin_est_route
cvq_admin_est_route_of(const char *method, const char *url, enum cvq_ca_profile *profile)
{
	char label[32];
	const char *p, *slash;
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;

	*profile = CVQ_CA_PROFILE_SERVICE;
	if (strncmp(url, EST, sizeof(EST) - 1) != 0)
		return CVQ_ADMIN_EST_NONE;
	p = url + sizeof(EST) - 1;
	if (get && strcmp(p, "cacerts") == 0)
		return CVQ_ADMIN_EST_CACERTS;
	if (post && strcmp(p, "simpleenroll") == 0)
		return CVQ_ADMIN_EST_ENROLL;
	if (post && strcmp(p, "cvq/agent") == 0)
		return CVQ_ADMIN_EST_AGENT;
	slash = strchr(p, '/');
	if (post && slash && strcmp(slash, "/simpleenroll") == 0 && slash > p &&
	    (size_t)(slash - p) < sizeof(label)) {
		memcpy(label, p, (size_t)(slash - p));
		label[slash - p] = '\0';
		if (cvq_ca_profile_parse(label, profile) == CVQ_CA_OK)
			return CVQ_ADMIN_EST_ENROLL;
	}
	return CVQ_ADMIN_EST_NONE;
}

/* base64 in lines of 64 (EVP_Encode; what `openssl base64 -d` reads), malloc'd. */
static char *
b64_encode(const uint8_t *in, size_t n)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	size_t cap = n / 48 * 65 + 80;
	char *out = malloc(cap);
	int a = 0, b = 0;

	if (!ctx || !out || n > INT32_MAX) {
		free(out);
		out = NULL;
		goto done;
	}
	EVP_EncodeInit(ctx);
	if (!EVP_EncodeUpdate(ctx, (uint8_t *)out, &a, in, (int)n)) {
		free(out);
		out = NULL;
		goto done;
	}
	EVP_EncodeFinal(ctx, (uint8_t *)out + a, &b);
	out[a + b] = '\0';
done:
	EVP_ENCODE_CTX_free(ctx);
	return out;
}

/* The bytes a base64 body may hold: the RFC 4648 alphabet, '=', blanks
 * and line breaks. EVP_DecodeUpdate() takes '-' for the end of a PEM
 * block and ignores everything after it; here that is a refusal. */
static bool
b64_chars(const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' ||
		      c == '\n'))
			return false;
	}
	return true;
}

/* Strict base64 (RFC 4648 alphabet, line breaks and blanks between), malloc'd. */
uint8_t *
cvq_admin_est_b64_decode(const uint8_t *in, size_t n, size_t *out_len)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	/* At most 3 bytes per 4 characters; a block of slack for the decoder. */
	uint8_t *out = malloc(n / 4 * 3 + 64);
	int a = 0, b = 0;

	*out_len = 0;
	if (!ctx || !out || n == 0 || n > INT32_MAX || !b64_chars(in, n))
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &a, in, (int)n) < 0 || EVP_DecodeFinal(ctx, out + a, &b) != 1 ||
	    a + b <= 0)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*out_len = (size_t)(a + b);
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

/* A certificate as RFC 7030's answer: a degenerate PKCS#7 SignedData
 * (certs only, no eContent, no signers), base64. */
char *
cvq_admin_est_certs_only(X509 *cert)
{
	PKCS7 *p7 = PKCS7_new();
	uint8_t *der = NULL;
	char *out = NULL;
	int n;

	if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data) ||
	    !PKCS7_set_detached(p7, 1) || !PKCS7_add_certificate(p7, cert))
		goto out;
	n = i2d_PKCS7(p7, &der);
	if (n > 0)
		out = b64_encode(der, (size_t)n);
out:
	OPENSSL_free(der);
	PKCS7_free(p7);
	return out;
}
