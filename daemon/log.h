/*
 * cvqd — logging to stderr with levels. When stderr is the journal
 * (systemd sets JOURNAL_STREAM), lines carry the "<N>" syslog priority
 * prefix that journald understands, so `journalctl -p` filters work.
 * Nothing secret is ever passed here: callers log reasons, never PINs.
 */
#ifndef CVQD_LOG_H
#define CVQD_LOG_H

typedef enum cvqd_log_level {
	CVQD_LOG_ERROR = 3,
	CVQD_LOG_WARNING = 4,
	CVQD_LOG_INFO = 6,
	CVQD_LOG_DEBUG = 7,
} cvqd_log_level;

void cvqd_log_setup(cvqd_log_level max);
int cvqd_log_level_parse(const char *s, cvqd_log_level *out);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cvqd_log(cvqd_log_level level, const char *fmt, ...);

#define cvqd_error(...) cvqd_log(CVQD_LOG_ERROR, __VA_ARGS__)
#define cvqd_warn(...) cvqd_log(CVQD_LOG_WARNING, __VA_ARGS__)
#define cvqd_info(...) cvqd_log(CVQD_LOG_INFO, __VA_ARGS__)
#define cvqd_dbg(...)  cvqd_log(CVQD_LOG_DEBUG, __VA_ARGS__)

#endif
