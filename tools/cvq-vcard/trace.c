/* APDU trace with redaction of secrets (PIN, PUK, keys). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apdu.h"
#include "cvq/card_tlv.h"
#include "cvq/util.h"
#include "trace.h"

struct vc_trace {
	FILE *f;
	struct timespec start;
};

struct vc_trace *
vc_trace_open(const char *path)
{
	struct vc_trace *t = calloc(1, sizeof(*t));
	int fd;

	if (t == NULL)
		return NULL;
	fd = cvq_util_file_create(path, O_WRONLY | O_APPEND, 0600);
	if (fd < 0 || (t->f = fdopen(fd, "a")) == NULL) {
		if (fd >= 0)
			close(fd);
		free(t);
		return NULL;
	}
	setvbuf(t->f, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t->start);
	return t;
}

void
vc_trace_close(struct vc_trace *t)
{
	if (t == NULL)
		return;
	fclose(t->f);
	free(t);
}

static bool
is_secret_ins(uint8_t ins)
{
	return ins == 0x20 || ins == 0x24 || ins == 0x2C || ins == 0xFF ||
	       ins == 0xFE;
}

static bool
put_hex(const uint8_t *b, size_t n, char *out, size_t cap, size_t *off)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i;

	if (cap - *off < 2 * n + 1)
		return false;
	for (i = 0; i < n; i++) {
		out[(*off)++] = hx[b[i] >> 4];
		out[(*off)++] = hx[b[i] & 15];
	}
	out[*off] = '\0';
	return true;
}

bool
vc_trace_format(bool command, const uint8_t *b, size_t n, char *out, size_t cap)
{
	size_t off = 0, lcf;
	int w;

	if (out == NULL || cap == 0)
		return false;
	out[0] = '\0';
	if (!command || n <= 4 || !is_secret_ins(b[1]))
		return put_hex(b, n, out, cap, &off);
	/* Header, the Lc field (1 byte, or 3 when extended), then nothing
	 * of the data but its length. */
	lcf = (b[4] == 0 && n >= 7) ? 3 : 1;
	if (!put_hex(b, 4, out, cap, &off) || cap - off < 2)
		return false;
	out[off++] = ' ';
	out[off] = '\0';
	if (!put_hex(b + 4, lcf, out, cap, &off))
		return false;
	w = snprintf(out + off, cap - off, " <redacted %zu bytes>", n - 4 - lcf);
	return w > 0 && (size_t)w < cap - off;
}

bool
vc_trace_secret_response(const uint8_t *cmd, size_t n)
{
	struct vc_apdu a;
	cvq_card_tlv t;

	if (cmd == NULL || n < 4 || cmd[1] != 0x87 || cmd[3] == 0x9B)
		return false;
	if (vc_apdu_parse(cmd, n, &a) != 0 || a.lc == 0 ||
	    cvq_card_tlv_parse_one(a.data, a.lc, &t) != CVQ_CARD_OK || t.tag != 0x7C)
		return true;
	return cvq_card_tlv_find(t.value, t.len, 0x85, NULL) != CVQ_CARD_ERR_NOT_FOUND;
}

static void
stamp(struct vc_trace *t, char *buf, size_t cap)
{
	struct timespec now;
	long sec, usec;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sec = (long)(now.tv_sec - t->start.tv_sec);
	usec = (now.tv_nsec - t->start.tv_nsec) / 1000;
	if (usec < 0) {
		usec += 1000000;
		sec--;
	}
	snprintf(buf, cap, "%ld.%06ld", sec, usec);
}

void
vc_trace_apdu(struct vc_trace *t, bool command, const uint8_t *b, size_t n)
{
	char ts[32], *line;
	size_t cap = 2 * n + 64;

	if (t == NULL || (line = malloc(cap)) == NULL)
		return;
	if (vc_trace_format(command, b, n, line, cap)) {
		stamp(t, ts, sizeof(ts));
		fprintf(t->f, "%s %c %s\n", ts, command ? '>' : '<', line);
	}
	free(line);
}

void
vc_trace_response(struct vc_trace *t, bool secret, const uint8_t *b, size_t n)
{
	char ts[32];

	if (t == NULL)
		return;
	if (!secret || n <= 2) {
		vc_trace_apdu(t, false, b, n);
		return;
	}
	stamp(t, ts, sizeof(ts));
	fprintf(t->f, "%s < <redacted %zu bytes> %02X%02X\n", ts, n - 2, b[n - 2],
	        b[n - 1]);
}

void
vc_trace_event(struct vc_trace *t, const char *event)
{
	char ts[32];

	if (t == NULL)
		return;
	stamp(t, ts, sizeof(ts));
	fprintf(t->f, "%s * %s\n", ts, event);
}
