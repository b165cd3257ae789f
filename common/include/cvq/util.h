/*
 * cvq common — PIN and passphrase input shared by cvq-admin and cvqd.
 *
 *   cvq_pinentry_*  ask through a pinentry program (the Assuan protocol of
 *                   GnuPG's pinentry; Debian's pinentry-* work unchanged)
 *   cvq_secret_*    read a passphrase from a file, a descriptor, a pinentry
 *                   or the terminal without echo — never from argv
 *   cvq_util_*      files created with their mode, modes checked, and the
 *                   byte classes of the strict parsers
 *
 * Secrets are returned in caller buffers, NUL-terminated; on any error the
 * buffer is wiped. Callers wipe it with OPENSSL_cleanse() after use.
 * Nothing here logs a secret; error strings never contain one.
 */
#ifndef CVQ_UTIL_H
#define CVQ_UTIL_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_util_err {
	CVQ_UTIL_OK = 0,
	CVQ_UTIL_ERR_ARG,        /* invalid argument */
	CVQ_UTIL_ERR_NOMEM,      /* out of memory */
	CVQ_UTIL_ERR_SPAWN,      /* the pinentry program could not be started */
	CVQ_UTIL_ERR_PROTOCOL,   /* the pinentry program broke the protocol */
	CVQ_UTIL_ERR_CANCELLED,  /* the user cancelled, or cancel_fd fired */
	CVQ_UTIL_ERR_TIMEOUT,    /* nobody answered in time */
	CVQ_UTIL_ERR_TOO_LONG,   /* the secret does not fit the buffer, or the
	                          * description does not fit the dialog */
	CVQ_UTIL_ERR_IO,         /* reading the file, descriptor or terminal failed */
	CVQ_UTIL_ERR_PERM,       /* a secret file readable by group or others */
	CVQ_UTIL_ERR_EMPTY,      /* an empty secret */
	CVQ_UTIL_ERR_MODE,       /* a file more open than its content allows */
	CVQ_UTIL_ERR__COUNT
} cvq_util_err;

CVQ_EXPORT const char *cvq_util_strerror(cvq_util_err err);

struct cvq_pinentry_prompt {
	const char *title;        /* SETTITLE (window title), or NULL */
	const char *description;  /* SETDESC: what is being approved, or NULL;
	                           * never shortened: over one Assuan line
	                           * (1000 bytes escaped, "%0A" per newline)
	                           * the call fails with CVQ_UTIL_ERR_TOO_LONG */
	const char *prompt;       /* SETPROMPT, e.g. "Code PIN :", or NULL */
	const char *error;        /* SETERROR: why we ask again, or NULL */
	const char *ok_label;     /* SETOK, or NULL */
	const char *cancel_label; /* SETCANCEL, or NULL */
	int timeout_s;            /* SETTIMEOUT and our own deadline; 0 = none */
	int cancel_fd;            /* readable or hung up => cancel; -1 = none */
};

/*
 * Start `program` (a path; no shell), ask for a PIN, stop the program.
 * The PIN lands in pin[0..cap) NUL-terminated. Each call is one dialog.
 */
CVQ_EXPORT cvq_util_err cvq_pinentry_getpin(const char *program,
                                 const struct cvq_pinentry_prompt *p,
                                 char *pin, size_t cap);

/*
 * Whether `description` can be shown whole by a pinentry (fits one
 * Assuan SETDESC line once escaped). Callers that build the text from
 * outside input check it first and refuse the request cleanly.
 */
CVQ_EXPORT bool cvq_pinentry_description_fits(const char *description);

/* Ask a yes/no question (CONFIRM); *confirmed is false on "no". */
CVQ_EXPORT cvq_util_err cvq_pinentry_confirm(const char *program,
                                  const struct cvq_pinentry_prompt *p,
                                  bool *confirmed);

/*
 * Read a secret from a source:
 *   "file:PATH"       first line of PATH; refused (CVQ_UTIL_ERR_PERM) when
 *                     the file is readable or writable by group or others
 *   "fd:N"            first line read from descriptor N
 *   "pinentry:PROG"   a pinentry dialog with `prompt` as its prompt
 *   "tty"             /dev/tty, echo off, with `prompt` shown
 * The trailing newline is dropped.
 */
CVQ_EXPORT cvq_util_err cvq_secret_read(const char *source, const char *prompt,
                             char *buf, size_t cap);

/*
 * For programs that hold PINs, PUKs or keys in memory: no core file
 * (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0: no core, no
 * ptrace or /proc/PID/mem by other processes of the same user). Call it
 * once, early, before any secret is read. CVQ_UTIL_ERR_IO when the kernel
 * refuses either.
 */
CVQ_EXPORT cvq_util_err cvq_util_no_core_dumps(void);

/*
 * Files and folders with the mode their content deserves, whatever the
 * umask (docs/files.md lists each one).
 *
 * cvq_util_file_create: open(path, flags | O_CREAT | O_NOFOLLOW |
 * O_CLOEXEC, mode) then fchmod(fd, mode) before any byte is written, so
 * the file is exactly `mode` (the umask can only have narrowed it; it is
 * never more open in between). Add O_EXCL for a new file. An existing
 * regular file (no O_EXCL) is set to `mode` too; a device, FIFO or
 * socket is left as it is. The fd, or -1 with errno.
 *
 * cvq_util_dir_create: mkdir then fchmod of that directory to `mode`;
 * -1 with errno (EEXIST when it exists: the caller decides).
 */
CVQ_EXPORT int cvq_util_file_create(const char *path, int flags, mode_t mode);
CVQ_EXPORT int cvq_util_dir_create(const char *path, mode_t mode);

/* fopen(path, "w") made exact, for a name the user gave (`--out`): as
 * cvq_util_file_create(O_WRONLY | O_TRUNC) but a symlink is followed;
 * then fdopen. NULL with errno. */
CVQ_EXPORT FILE *cvq_util_fopen_create(const char *path, mode_t mode);

/*
 * Refuse (CVQ_UTIL_ERR_MODE) a file whose permission bits go beyond
 * `allowed` (e.g. 0660: nothing for others), as OpenSSH refuses a
 * readable key; with `fix` it is tightened to mode & allowed instead.
 * `why` gets a sentence naming the file, its mode and the chmod to run.
 * CVQ_UTIL_ERR_IO when it cannot be stat'ed.
 */
CVQ_EXPORT cvq_util_err cvq_util_check_mode(const char *path, mode_t allowed, bool fix,
                                 char *why, size_t why_len);

/*
 * Before sqlite3_open_v2() of `path`: with `create`, a missing database is
 * made empty with `mode` (SQLite gives its -wal, -shm and -journal the
 * main file's mode whatever the umask); then the database and whichever
 * of those side files exist are checked against `allowed` (fixed with
 * `fix`). A missing database without `create` is left to SQLite to report.
 */
CVQ_EXPORT cvq_util_err cvq_util_db_prepare(const char *path, mode_t mode, mode_t allowed,
                                 bool create, bool fix, char *why, size_t why_len);

/*
 * Byte classes of the strict parsers (chars.c): an ASCII hex digit (either
 * case); a printable ASCII byte (0x20..0x7e).
 */
CVQ_EXPORT bool cvq_util_is_hex_char(uint8_t c);
CVQ_EXPORT bool cvq_util_is_print_char(uint8_t c);

#ifdef __cplusplus
}
#endif
#endif
