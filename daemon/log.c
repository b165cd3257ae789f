#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The one process-wide setting, like stderr itself: written at start-up and
 * on SIGHUP, read by every thread, hence atomic rather than threaded
 * through every call.
 */
static _Atomic int log_max = CVQD_LOG_INFO;
static _Atomic int log_journal = 0;

void cvqd_log_setup(cvqd_log_level max)
{
	atomic_store(&log_max, (int)max);
	atomic_store(&log_journal, getenv("JOURNAL_STREAM") != NULL);
}

int cvqd_log_level_parse(const char *s, cvqd_log_level *out)
{
	static const struct { const char *name; cvqd_log_level l; } t[] = {
		{ "error", CVQD_LOG_ERROR }, { "warning", CVQD_LOG_WARNING },
		{ "info", CVQD_LOG_INFO }, { "debug", CVQD_LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].l;
			return 0;
		}
	}
	return -1;
}

void cvqd_log(cvqd_log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load(&log_max))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* One line per message, whatever the caller passed. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (atomic_load(&log_journal)) {
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
		return;
	}
	static const char *names[] = { [CVQD_LOG_ERROR] = "error",
		[CVQD_LOG_WARNING] = "warning", [CVQD_LOG_INFO] = "info",
		[CVQD_LOG_DEBUG] = "debug" };
	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s cvqd %s: %s\n", ts, names[level] ? names[level] : "?", msg);
}
