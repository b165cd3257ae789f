/*
 * cvq-admin — shared declarations of the command groups.
 *
 * Each group lives in its own cmd_<group>.c and is dispatched from main.c.
 * A group's function gets argv starting at the group's name (argv[0] is
 * "card", "ca", ...) and returns one of the exit codes below, which are
 * documented in cvq-admin(1).
 */
#ifndef CVQ_ADMIN_H
#define CVQ_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

enum cvq_admin_exit {
	CVQ_ADMIN_EXIT_OK = 0,        /* done */
	CVQ_ADMIN_EXIT_FAIL = 1,      /* the operation failed; see the message */
	CVQ_ADMIN_EXIT_USAGE = 2,     /* bad command line */
	CVQ_ADMIN_EXIT_PIN = 3,       /* wrong or blocked PIN/PUK/passphrase */
	CVQ_ADMIN_EXIT_NO_CARD = 4,   /* no reader, no card, or card removed */
	CVQ_ADMIN_EXIT_NOT_FOUND = 5, /* no such citizen, card, certificate */
	CVQ_ADMIN_EXIT_INVALID = 6,   /* verification failed (bad signature, revoked, ...) */
	CVQ_ADMIN_EXIT_STORE = 7,     /* the CA store cannot be opened or written */
};

struct cvq_admin_opts {
	bool json;            /* --json: machine-readable output on stdout */
	const char *config;   /* --config FILE, or NULL for the default */
	int verbose;          /* -v, repeatable */
	bool fix_mode;        /* --fix-mode: tighten a CA store open to others */
};

typedef int (*cvq_admin_group_fn)(int argc, char **argv,
                                  const struct cvq_admin_opts *opts);

int cvq_admin_cmd_card(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_ca(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_cert(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_crl(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_ocsp(int argc, char **argv, const struct cvq_admin_opts *opts);
/*
 * Execute the program `prog` built or installed beside this one (else from
 * PATH) with our global options (all_globals: --fix-mode too, for a
 * program with cvq-admin's main), then pre[] (NULL-ended), then argv.
 * Returns only on failure.
 */
int cvq_admin_exec_sibling(const char *prog, bool all_globals, const char *const *pre, int argc,
                           char **argv, const struct cvq_admin_opts *opts);
/* `ocsp serve` itself, in cvq-ocspd; cvq_admin_cmd_ocsp executes that program. */
int cvq_admin_ocsp_serve(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_publish(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_citizen(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_audit(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_tsa(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_verify(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_cmd_document(int argc, char **argv, const struct cvq_admin_opts *opts);

/* Print "cvq-admin: <message>" to stderr. */
void cvq_admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
