/* Reading a passphrase or PIN from a file, a descriptor, a pinentry or the terminal. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cvq/util.h"

/* One line from fd, a byte at a time so nothing past the newline is consumed. */
static cvq_util_err
read_line_fd(int fd, char *buf, size_t cap)
{
	size_t o = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CVQ_UTIL_ERR_IO;
		if (n == 0 || c == '\n')
			break;
		if (o + 1 >= cap) {
			c = 0;
			return CVQ_UTIL_ERR_TOO_LONG;
		}
		buf[o++] = c;
	}
	c = 0;
	if (o > 0 && buf[o - 1] == '\r')
		o--;
	buf[o] = '\0';
	return o == 0 ? CVQ_UTIL_ERR_EMPTY : CVQ_UTIL_OK;
}

static cvq_util_err
read_file(const char *path, char *buf, size_t cap)
{
	struct stat st;
	cvq_util_err err;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return CVQ_UTIL_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = CVQ_UTIL_ERR_IO;
		goto out;
	}
	/* A secret others can read is no longer a secret: refuse it. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err = CVQ_UTIL_ERR_PERM;
		goto out;
	}
	err = read_line_fd(fd, buf, cap);
out:
	close(fd);
	return err;
}

static cvq_util_err
parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return CVQ_UTIL_ERR_ARG;
	*fd = (int)v;
	return CVQ_UTIL_OK;
}

static cvq_util_err
read_tty(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	cvq_util_err err;
	int fd, restore = 0;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return CVQ_UTIL_ERR_IO;
	if (prompt != NULL)
		(void)!write(fd, prompt, strlen(prompt));
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	err = read_line_fd(fd, buf, cap);
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return err;
}

cvq_util_err
cvq_secret_read(const char *source, const char *prompt, char *buf, size_t cap)
{
	struct cvq_pinentry_prompt p = {0};
	cvq_util_err err;
	int fd;

	if (source == NULL || buf == NULL || cap < 2)
		return CVQ_UTIL_ERR_ARG;
	buf[0] = '\0';
	if (strncmp(source, "file:", 5) == 0) {
		err = read_file(source + 5, buf, cap);
	} else if (strncmp(source, "fd:", 3) == 0) {
		err = parse_fd(source + 3, &fd);
		if (!err)
			err = read_line_fd(fd, buf, cap);
	} else if (strncmp(source, "pinentry:", 9) == 0) {
		p.prompt = prompt;
		p.cancel_fd = -1;
		err = cvq_pinentry_getpin(source + 9, &p, buf, cap);
	} else if (strcmp(source, "tty") == 0) {
		err = read_tty(prompt, buf, cap);
	} else {
		err = CVQ_UTIL_ERR_ARG;
	}
	if (err)
		OPENSSL_cleanse(buf, cap);
	return err;
}
