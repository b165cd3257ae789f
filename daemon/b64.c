#include "b64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

char *cvqd_b64_encode(const uint8_t *in, size_t len)
{
	if (len > (1u << 28))
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

char *cvqd_b64url_encode(const uint8_t *in, size_t len)
{
	char *s = cvqd_b64_encode(in, len);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		s[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	return s;
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

uint8_t *cvqd_b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	if (inlen == 0 || inlen % 4 != 0 || inlen > (1u << 28))
		return NULL;
	size_t pad = 0;
	if (in[inlen - 1] == '=')
		pad++;
	if (in[inlen - 2] == '=')
		pad++;
	for (size_t i = 0; i < inlen - pad; i++)
		if (!b64_char(in[i]))
			return NULL;
	uint8_t *out = malloc(inlen / 4 * 3);
	if (!out)
		return NULL;
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen);
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)n - pad;
	return out;
}
