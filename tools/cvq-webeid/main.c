/*
 * cvq-webeid — the "eu.webeid" native messaging host for cvq cards.
 *
 * The browser starts it for each operation (Chrome passes the caller's
 * origin "chrome-extension://ID/", Firefox the manifest path and the
 * extension id; the manifests' allowed_origins / allowed_extensions
 * already decide who may start it). It announces its version, reads one
 * command, answers, and exits. stdout carries the protocol only; what
 * went wrong goes to stderr, which the browser logs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cvq/util.h"
#include "host.h"

/* Read exactly len bytes: 1, or 0 on EOF before the first byte, -1 when cut. */
static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

static int fail(webeid_err e, const char *why)
{
	fprintf(stderr, "cvq-webeid: %s: %s\n", webeid_err_code(e), why);
	webeid_write_error(STDOUT_FILENO, e, why);
	return 1;
}

int main(int argc, char **argv)
{
	static uint8_t buf[WEBEID_MSG_MAX];
	webeid_config cfg;
	webeid_cmd cmd;
	json_t *result = NULL;
	char why[512] = "";
	uint8_t hdr[4];
	uint32_t len = 0;
	webeid_err e;
	int rc;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	/* The PIN passes through this process: no core file, no ptrace. */
	cvq_util_no_core_dumps();
	/* The extension waits for the version before it sends anything. */
	if (webeid_write(STDOUT_FILENO, json_pack("{s:s}", "version", WEBEID_VERSION)) != 0)
		return 1;
	rc = read_full(STDIN_FILENO, hdr, sizeof(hdr));
	if (rc == 0)
		return 0; /* the browser went away without a command */
	if (rc < 0)
		return fail(WEBEID_ERR_FATAL, "truncated message length");
	if (webeid_frame_len(hdr, &len, why, sizeof(why)) != WEBEID_OK)
		return fail(WEBEID_ERR_FATAL, why);
	if (read_full(STDIN_FILENO, buf, len) != 1)
		return fail(WEBEID_ERR_FATAL, "truncated message");
	e = webeid_msg_parse(buf, len, &cmd, why, sizeof(why));
	if (e != WEBEID_OK)
		return fail(e, why);
	if (webeid_config_load(&cfg, why, sizeof(why)) != 0) {
		webeid_cmd_clear(&cmd);
		return fail(WEBEID_ERR_FATAL, why);
	}
	webeid_i18n_setup(&cfg, cmd.lang);
	e = webeid_run(&cfg, &cmd, &result, why, sizeof(why));
	webeid_cmd_clear(&cmd);
	if (e != WEBEID_OK) {
		json_decref(result);
		if (e == WEBEID_ERR_CANCELLED && !why[0])
			snprintf(why, sizeof(why), "User cancelled");
		if (e == WEBEID_ERR_TIMEOUT && !why[0])
			snprintf(why, sizeof(why), "Nobody typed the PIN in time");
		return fail(e, why[0] ? why : "technical error");
	}
	return webeid_write(STDOUT_FILENO, result) == 0 ? 0 : 1;
}
