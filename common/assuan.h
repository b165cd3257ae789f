/*
 * Internal: the small part of the Assuan protocol a pinentry client needs.
 * Kept apart from process handling so that it can be unit-tested and fuzzed.
 */
#ifndef CVQ_ASSUAN_H
#define CVQ_ASSUAN_H

#include <stddef.h>

#include "cvq/util.h"

/* Assuan lines are at most 1000 bytes, newline excluded. */
#define CVQ_ASSUAN_LINE_MAX 1000

enum cvq_assuan_kind {
	CVQ_ASSUAN_OK,       /* "OK [text]" */
	CVQ_ASSUAN_ERR,      /* "ERR code [text]" */
	CVQ_ASSUAN_DATA,     /* "D data" (percent-encoded) */
	CVQ_ASSUAN_STATUS,   /* "S keyword ..." */
	CVQ_ASSUAN_COMMENT,  /* "# ..." */
	CVQ_ASSUAN_INQUIRE,  /* "INQUIRE keyword" */
	CVQ_ASSUAN_UNKNOWN,
};

/* Classify one response line (without its newline); *code gets ERR's code. */
enum cvq_assuan_kind cvq_assuan_classify(const char *line, size_t len,
                                         unsigned long *code);

/*
 * Percent-decode src[0..len) and append to dst[*off..cap), keeping room for
 * a NUL. CVQ_UTIL_ERR_TOO_LONG when it does not fit, CVQ_UTIL_ERR_PROTOCOL
 * on a bad escape. dst is NUL-terminated on success.
 */
cvq_util_err cvq_assuan_unescape(const char *src, size_t len, char *dst,
                                 size_t cap, size_t *off);

/*
 * Build "CMD escaped-arg\n" into out (cap bytes, at most
 * CVQ_ASSUAN_LINE_MAX + 1): '%', CR, LF and other control bytes of arg
 * are percent-escaped. Text too long is cut at a UTF-8 boundary (titles,
 * prompts, labels); the pinentry client refuses a description that would
 * be cut (see cvq_assuan_escaped_len) rather than show part of it.
 */
size_t cvq_assuan_command(char *out, size_t cap, const char *cmd,
                          const char *arg);

/* The length of arg once percent-escaped as cvq_assuan_command does. */
size_t cvq_assuan_escaped_len(const char *arg);

/* Map an Assuan/gpg-error code (ERR line) to our error. */
cvq_util_err cvq_assuan_error(unsigned long code);

#endif
