/*
 * The keypad simulation: a script file, one action per line, consumed one
 * line per PIN entry (the file is rewritten without it, by rename, so a
 * test can append lines while pcscd runs):
 *   pin DIGITS   the holder types DIGITS and presses OK
 *   cancel       the holder presses Cancel        -> SW 64 01
 *   timeout      the holder walks away            -> SW 64 00
 * The PIN in the script is test data (the bench's citizen); a real pad
 * has it in the holder's head.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pinpad.h"

#define SCRIPT_MAX 4096

pp_key_action
pp_keypad_parse_line(const char *line, size_t len, char *pin, size_t cap, bool *ok)
{
	*ok = true;
	if (len == 6 && memcmp(line, "cancel", 6) == 0)
		return PP_KEY_CANCEL;
	if (len == 7 && memcmp(line, "timeout", 7) == 0)
		return PP_KEY_TIMEOUT;
	if (len > 4 && memcmp(line, "pin ", 4) == 0 && len - 4 < cap &&
	    len - 4 <= PP_PIN_MAX && memchr(line + 4, '\0', len - 4) == NULL) {
		memcpy(pin, line + 4, len - 4);
		pin[len - 4] = '\0';
		return PP_KEY_PIN;
	}
	/* Nonsense in the script: nobody typed anything sensible. */
	*ok = false;
	return PP_KEY_TIMEOUT;
}

/* Read the script; its length, or -1 when absent or unreadable. */
static ssize_t
slurp(const char *path, char *buf, size_t cap)
{
	size_t off = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (off < cap && (r = read(fd, buf + off, cap - off)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)r;
	}
	close(fd);
	return (ssize_t)off;
}

static int
rewrite(const char *path, const char *rest, size_t len)
{
	char tmp[4200];
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = write(fd, rest, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	return ok && rename(tmp, path) == 0 ? 0 : -1;
}

pp_key_action
pp_keypad_next(const char *path, unsigned timeout_s, char *pin, size_t cap)
{
	char buf[SCRIPT_MAX];
	struct timespec nap = {0, 100 * 1000 * 1000};
	unsigned long waited_ms = 0;
	pp_key_action act = PP_KEY_TIMEOUT;
	ssize_t n;
	char *nl;
	bool ok;

	for (;;) {
		n = path != NULL ? slurp(path, buf, sizeof(buf)) : -1;
		if (n > 0)
			break;
		if (waited_ms >= (unsigned long)timeout_s * 1000)
			return PP_KEY_TIMEOUT;
		nanosleep(&nap, NULL);
		waited_ms += 100;
	}
	nl = memchr(buf, '\n', (size_t)n);
	if (nl == NULL)
		nl = buf + n;
	act = pp_keypad_parse_line(buf, (size_t)(nl - buf), pin, cap, &ok);
	if (nl < buf + n)
		nl++;
	if (rewrite(path, nl, (size_t)(buf + n - nl)) != 0)
		act = PP_KEY_TIMEOUT;
	explicit_bzero(buf, sizeof(buf));
	if (act != PP_KEY_PIN && cap > 0)
		explicit_bzero(pin, cap);
	return act;
}
