/*
 * LD_PRELOAD shim: calloc or realloc of exactly CVQ_FAILALLOC_SIZE bytes
 * fails (CVQ_FAILALLOC_FN = calloc | realloc), everything else goes to
 * glibc. card-care.sh uses it to fail the one allocation of `card lost`
 * that holds the list of cards (33 bytes per card GUID).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);

static int
fails(const char *fn, size_t size)
{
	const char *want = getenv("CVQ_FAILALLOC_FN"), *sz = getenv("CVQ_FAILALLOC_SIZE");

	return want && sz && strcmp(want, fn) == 0 && strtoul(sz, NULL, 10) == size;
}

void *
calloc(size_t n, size_t size)
{
	if (n == 1 && fails("calloc", size)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	if (fails("realloc", size)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}
