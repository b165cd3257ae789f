/* Assuan line handling for the pinentry client (see assuan.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "assuan.h"

/* gpg-error codes (low 16 bits; the high bits name the error source). */
#define GPG_ERR_TIMEOUT 62
#define GPG_ERR_CANCELED 99
#define GPG_ERR_NOT_CONFIRMED 114
#define GPG_ERR_FULLY_CANCELED 198

static int
starts_word(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(line, word, n) == 0 &&
	       (len == n || line[n] == ' ');
}

enum cvq_assuan_kind
cvq_assuan_classify(const char *line, size_t len, unsigned long *code)
{
	size_t i;
	unsigned long c = 0;

	if (code != NULL)
		*code = 0;
	if (starts_word(line, len, "OK"))
		return CVQ_ASSUAN_OK;
	if (starts_word(line, len, "D"))
		return CVQ_ASSUAN_DATA;
	if (starts_word(line, len, "S"))
		return CVQ_ASSUAN_STATUS;
	if (len >= 1 && line[0] == '#')
		return CVQ_ASSUAN_COMMENT;
	if (starts_word(line, len, "INQUIRE"))
		return CVQ_ASSUAN_INQUIRE;
	if (starts_word(line, len, "ERR")) {
		for (i = 4; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
			if (c > 0xFFFFFFFFul / 10)
				break;
			c = c * 10 + (unsigned long)(line[i] - '0');
		}
		if (code != NULL)
			*code = c;
		return CVQ_ASSUAN_ERR;
	}
	return CVQ_ASSUAN_UNKNOWN;
}

cvq_util_err
cvq_assuan_unescape(const char *src, size_t len, char *dst, size_t cap,
                    size_t *off)
{
	size_t i, o;
	int hi, lo;
	char ch;

	if (dst == NULL || off == NULL || cap == 0 || *off >= cap)
		return CVQ_UTIL_ERR_ARG;
	o = *off;
	for (i = 0; i < len; i++) {
		ch = src[i];
		if (ch == '%') {
			if (len - i < 3 || (hi = OPENSSL_hexchar2int((unsigned char)src[i + 1])) < 0 ||
			    (lo = OPENSSL_hexchar2int((unsigned char)src[i + 2])) < 0)
				return CVQ_UTIL_ERR_PROTOCOL;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return CVQ_UTIL_ERR_TOO_LONG;
		dst[o++] = ch;
	}
	dst[o] = '\0';
	*off = o;
	return CVQ_UTIL_OK;
}

/* Drop a UTF-8 sequence left incomplete at the end of out[start..end). */
static size_t
utf8_trim(const char *out, size_t start, size_t end)
{
	size_t lead = end, need;
	unsigned char b;

	while (lead > start && ((unsigned char)out[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead == start)
		return end;
	b = (unsigned char)out[lead - 1];
	if (b < 0xC0)
		return end;
	need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
	return end - (lead - 1) < need ? lead - 1 : end;
}

static int
needs_escape(unsigned char ch)
{
	return ch == '%' || ch < 0x20 || ch == 0x7F;
}

size_t
cvq_assuan_escaped_len(const char *arg)
{
	size_t n = 0;

	for (; arg != NULL && *arg != '\0'; arg++)
		n += needs_escape((unsigned char)*arg) ? 3 : 1;
	return n;
}

size_t
cvq_assuan_command(char *out, size_t cap, const char *cmd, const char *arg)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, n, i, limit;
	unsigned char ch;

	if (out == NULL || cmd == NULL || cap < 2)
		return 0;
	limit = cap - 1 < CVQ_ASSUAN_LINE_MAX ? cap - 1 : CVQ_ASSUAN_LINE_MAX;
	n = strlen(cmd);
	if (n > limit)
		return 0;
	memcpy(out, cmd, n);
	o = n;
	if (arg != NULL && o < limit) {
		out[o++] = ' ';
		for (i = 0; arg[i] != '\0'; i++) {
			ch = (unsigned char)arg[i];
			if (needs_escape(ch)) {
				if (limit - o < 3)
					break;
				out[o++] = '%';
				out[o++] = hex[ch >> 4];
				out[o++] = hex[ch & 0xF];
			} else {
				if (limit - o < 1)
					break;
				out[o++] = (char)ch;
			}
		}
		if (arg[i] != '\0')
			o = utf8_trim(out, n + 1, o);
	}
	out[o++] = '\n';
	return o;
}

cvq_util_err
cvq_assuan_error(unsigned long code)
{
	switch (code & 0xFFFF) {
	case GPG_ERR_CANCELED:
	case GPG_ERR_FULLY_CANCELED:
	case GPG_ERR_NOT_CONFIRMED:
		return CVQ_UTIL_ERR_CANCELLED;
	case GPG_ERR_TIMEOUT:
		return CVQ_UTIL_ERR_TIMEOUT;
	default:
		return CVQ_UTIL_ERR_PROTOCOL;
	}
}
