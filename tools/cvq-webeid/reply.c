/* cvq-webeid — framed replies to the extension. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webeid.h"

/* What Chrome accepts from a host: 1 MB per message. */
#define REPLY_MAX (1024 * 1024)

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int webeid_write(int fd, json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;
	uint32_t len = (uint32_t)n;
	uint8_t *frame;
	int rc = -1;

	json_decref(msg);
	if (!s || n > REPLY_MAX)
		goto out;
	/* One write, so a reader never sees a header without its message. */
	frame = malloc(4 + n);
	if (!frame)
		goto out;
	memcpy(frame, &len, 4);
	memcpy(frame + 4, s, n);
	rc = write_all(fd, frame, 4 + n);
	free(frame);
out:
	free(s);
	return rc;
}

int webeid_write_error(int fd, webeid_err e, const char *message)
{
	char clean[512];
	size_t i;

	/* Printable ASCII only: a message may quote outside input. */
	for (i = 0; message && message[i] && i < sizeof(clean) - 1; i++)
		clean[i] = (unsigned char)message[i] >= 0x20 && (unsigned char)message[i] < 0x7f ?
		           message[i] : '?';
	clean[i] = '\0';
	return webeid_write(fd, json_pack("{s:{s:s,s:s}}", "error", "code", webeid_err_code(e),
	                                  "message", clean[0] ? clean : "error"));
}
