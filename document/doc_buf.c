#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"

bool doc_buf_add(struct doc_buf *b, const void *data, size_t len)
{
	if (len > CVQ_DOC_PDF_MAX || b->len > CVQ_DOC_PDF_MAX - len)
		return false;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return true;
}

bool doc_buf_str(struct doc_buf *b, const char *s)
{
	return doc_buf_add(b, s, strlen(s));
}

bool doc_buf_printf(struct doc_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n < sizeof small)
		return doc_buf_add(b, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return false;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	bool ok = doc_buf_add(b, big, (size_t)n);
	free(big);
	return ok;
}

void doc_buf_free(struct doc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
