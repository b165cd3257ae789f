/*
 * A pinentry client: starts a pinentry program and speaks Assuan to it
 * over a socketpair (MSG_NOSIGNAL: a pinentry that dies must not kill us
 * with SIGPIPE). posix_spawn, not fork, because cvqd is multithreaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "assuan.h"

extern char **environ;

/* Protocol steps other than the dialog itself answer at once. */
#define STEP_TIMEOUT_MS 10000
#define BYE_TIMEOUT_MS 500

struct session {
	int fd;
	pid_t pid;
	int cancel_fd;
	char line[CVQ_ASSUAN_LINE_MAX + 2];
	size_t line_len;
	char in[1024];       /* bytes read but not yet split into lines */
	size_t in_len;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static cvq_util_err
session_start(struct session *s, const char *program, int cancel_fd)
{
	int sv[2];
	posix_spawn_file_actions_t fa;
	char *argv[2];
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->pid = -1;
	s->cancel_fd = cancel_fd;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return CVQ_UTIL_ERR_SPAWN;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(sv[0]);
		close(sv[1]);
		return CVQ_UTIL_ERR_NOMEM;
	}
	posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, sv[1], STDOUT_FILENO);
	argv[0] = (char *)program;
	argv[1] = NULL;
	rc = posix_spawn(&s->pid, program, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		s->pid = -1;
		return CVQ_UTIL_ERR_SPAWN;
	}
	s->fd = sv[0];
	return CVQ_UTIL_OK;
}

static cvq_util_err read_line(struct session *s, int timeout_ms);

bool
cvq_pinentry_description_fits(const char *description)
{
	return description != NULL &&
	       sizeof("SETDESC ") - 1 + cvq_assuan_escaped_len(description) <=
	       CVQ_ASSUAN_LINE_MAX;
}

static void
session_end(struct session *s)
{
	static const char bye[] = "BYE\n";
	int status, i;

	if (s->fd >= 0) {
		/* Take the answer to BYE, so the program is not left writing
		 * into a closed socket; a cancelled dialog does not wait. */
		if (send(s->fd, bye, sizeof(bye) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
			(void)read_line(s, BYE_TIMEOUT_MS);
		close(s->fd);
	}
	if (s->pid > 0) {
		/* Give it a moment to leave by itself, then insist. */
		for (i = 0; i < 50; i++) {
			if (waitpid(s->pid, &status, WNOHANG) != 0)
				break;
			if (i == 20)
				kill(s->pid, SIGTERM);
			usleep(10000);
		}
		if (i == 50) {
			kill(s->pid, SIGKILL);
			(void)waitpid(s->pid, &status, 0);
		}
	}
	OPENSSL_cleanse(s, sizeof(*s));
	s->fd = -1;
	s->pid = -1;
}

static cvq_util_err
send_line(struct session *s, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CVQ_UTIL_ERR_PROTOCOL;
		buf += n;
		len -= (size_t)n;
	}
	return CVQ_UTIL_OK;
}

/* Read one line into s->line (NUL-terminated, newline dropped). */
static cvq_util_err
read_line(struct session *s, int timeout_ms)
{
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	struct pollfd pfd[2];
	char *nl;
	ssize_t n;
	int nfds, wait_ms, rc;

	for (;;) {
		nl = memchr(s->in, '\n', s->in_len);
		if (nl != NULL) {
			size_t len = (size_t)(nl - s->in);
			if (len > CVQ_ASSUAN_LINE_MAX)
				return CVQ_UTIL_ERR_PROTOCOL;
			memcpy(s->line, s->in, len);
			s->line[len] = '\0';
			s->line_len = len;
			memmove(s->in, nl + 1, s->in_len - len - 1);
			s->in_len -= len + 1;
			OPENSSL_cleanse(s->in + s->in_len, sizeof(s->in) - s->in_len);
			return CVQ_UTIL_OK;
		}
		if (s->in_len == sizeof(s->in))
			return CVQ_UTIL_ERR_PROTOCOL;

		pfd[0].fd = s->fd;
		pfd[0].events = POLLIN;
		nfds = 1;
		if (s->cancel_fd >= 0) {
			pfd[1].fd = s->cancel_fd;
			pfd[1].events = POLLIN;
			nfds = 2;
		}
		wait_ms = -1;
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0)
				return CVQ_UTIL_ERR_TIMEOUT;
			wait_ms = left > 60000 ? 60000 : (int)left;
		}
		rc = poll(pfd, (nfds_t)nfds, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return CVQ_UTIL_ERR_IO;
		if (nfds == 2 && pfd[1].revents != 0)
			return CVQ_UTIL_ERR_CANCELLED;
		if (rc == 0)
			continue;
		n = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CVQ_UTIL_ERR_PROTOCOL;
		s->in_len += (size_t)n;
	}
}

/*
 * Wait for the final OK/ERR of a command. D lines are decoded into
 * data[0..cap) when data is given; with no data buffer they are refused.
 */
static cvq_util_err
await_result(struct session *s, int timeout_ms, char *data, size_t cap,
             unsigned long *err_code)
{
	unsigned long code;
	size_t off = 0;
	cvq_util_err err;

	*err_code = 0;
	if (data != NULL && cap > 0)
		data[0] = '\0';
	for (;;) {
		err = read_line(s, timeout_ms);
		if (err)
			return err;
		switch (cvq_assuan_classify(s->line, s->line_len, &code)) {
		case CVQ_ASSUAN_OK:
			return CVQ_UTIL_OK;
		case CVQ_ASSUAN_ERR:
			*err_code = code;
			return CVQ_UTIL_OK;
		case CVQ_ASSUAN_DATA:
			if (data == NULL)
				return CVQ_UTIL_ERR_PROTOCOL;
			err = cvq_assuan_unescape(s->line + 2, s->line_len - 2,
			                          data, cap, &off);
			if (err)
				return err;
			break;
		case CVQ_ASSUAN_STATUS:
		case CVQ_ASSUAN_COMMENT:
			break;
		case CVQ_ASSUAN_INQUIRE:
			/* We have nothing to offer: end the inquiry. */
			err = send_line(s, "CAN\n", 4);
			if (err)
				return err;
			break;
		default:
			return CVQ_UTIL_ERR_PROTOCOL;
		}
	}
}

static cvq_util_err
command(struct session *s, const char *cmd, const char *arg)
{
	char buf[CVQ_ASSUAN_LINE_MAX + 2];
	unsigned long code;
	size_t n;
	cvq_util_err err;

	n = cvq_assuan_command(buf, sizeof(buf), cmd, arg);
	if (n == 0)
		return CVQ_UTIL_ERR_ARG;
	err = send_line(s, buf, n);
	if (err)
		return err;
	err = await_result(s, STEP_TIMEOUT_MS, NULL, 0, &code);
	/* Older pinentries do not know every SET command: not fatal. */
	return err;
}

static cvq_util_err
setup_dialog(struct session *s, const char *program,
             const struct cvq_pinentry_prompt *p)
{
	unsigned long code;
	char num[16];
	const char *term;
	cvq_util_err err;
	int fd;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->pid = -1;
	/* What you see is what you sign: a description that does not fit
	 * one Assuan line would be shown cut, so it is refused instead. */
	if (p->description != NULL && !cvq_pinentry_description_fits(p->description))
		return CVQ_UTIL_ERR_TOO_LONG;
	err = session_start(s, program, p->cancel_fd);
	if (err)
		return err;
	/* The greeting. */
	err = await_result(s, STEP_TIMEOUT_MS, NULL, 0, &code);
	if (err)
		return err;
	if (code != 0)
		return CVQ_UTIL_ERR_PROTOCOL;

	/* Text-mode pinentries draw on the controlling terminal, if any. */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		if ((err = command(s, "OPTION", "ttyname=/dev/tty")))
			return err;
		term = getenv("TERM");
		if (term != NULL && strlen(term) < 64) {
			char opt[80];
			snprintf(opt, sizeof(opt), "ttytype=%s", term);
			if ((err = command(s, "OPTION", opt)))
				return err;
		}
	}
	if (p->title && (err = command(s, "SETTITLE", p->title)))
		return err;
	if (p->description && (err = command(s, "SETDESC", p->description)))
		return err;
	if (p->prompt && (err = command(s, "SETPROMPT", p->prompt)))
		return err;
	if (p->error && (err = command(s, "SETERROR", p->error)))
		return err;
	if (p->ok_label && (err = command(s, "SETOK", p->ok_label)))
		return err;
	if (p->cancel_label && (err = command(s, "SETCANCEL", p->cancel_label)))
		return err;
	if (p->timeout_s > 0) {
		snprintf(num, sizeof(num), "%d", p->timeout_s);
		if ((err = command(s, "SETTIMEOUT", num)))
			return err;
	}
	return CVQ_UTIL_OK;
}

static int
dialog_timeout_ms(const struct cvq_pinentry_prompt *p)
{
	/* A little beyond the pinentry's own timeout, so it can say so first. */
	return p->timeout_s > 0 ? (p->timeout_s + 5) * 1000 : 0;
}

cvq_util_err
cvq_pinentry_getpin(const char *program, const struct cvq_pinentry_prompt *p,
                    char *pin, size_t cap)
{
	struct session s;
	unsigned long code;
	cvq_util_err err;

	if (program == NULL || p == NULL || pin == NULL || cap < 2)
		return CVQ_UTIL_ERR_ARG;
	pin[0] = '\0';
	err = setup_dialog(&s, program, p);
	if (err)
		goto out;
	err = send_line(&s, "GETPIN\n", 7);
	if (err)
		goto out;
	err = await_result(&s, dialog_timeout_ms(p), pin, cap, &code);
	if (err)
		goto out;
	if (code != 0) {
		err = cvq_assuan_error(code);
		goto out;
	}
	if (pin[0] == '\0')
		err = CVQ_UTIL_ERR_EMPTY;
out:
	if (err)
		OPENSSL_cleanse(pin, cap);
	session_end(&s);
	return err;
}

cvq_util_err
cvq_pinentry_confirm(const char *program, const struct cvq_pinentry_prompt *p,
                     bool *confirmed)
{
	struct session s;
	unsigned long code;
	cvq_util_err err;

	if (program == NULL || p == NULL || confirmed == NULL)
		return CVQ_UTIL_ERR_ARG;
	*confirmed = false;
	err = setup_dialog(&s, program, p);
	if (err)
		goto out;
	err = send_line(&s, "CONFIRM\n", 8);
	if (err)
		goto out;
	err = await_result(&s, dialog_timeout_ms(p), NULL, 0, &code);
	if (err)
		goto out;
	if (code == 0)
		*confirmed = true;
	else if ((code & 0xFFFF) != 114) /* GPG_ERR_NOT_CONFIRMED: a plain "no" */
		err = cvq_assuan_error(code);
out:
	session_end(&s);
	return err;
}
