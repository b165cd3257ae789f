/*
 * cvq-admin — card issuance at the Point Infoville (issue #7): enrolment,
 * renewal, lost cards, PIN unblock. Internal to cvq-admin.
 *
 * The enrolment (its state machine), the after-care on the card, the
 * secrets, the journal, the PIN letter and the progress callback are
 * libcvqenrol's (enrol/, <cvq/enrol.h>, issue #13); here are the commands:
 * their options, the issuer they use (e->issuer: issuer_ca.c in-process,
 * issuer_agent.c over the agent), the printing and the exit codes.
 *   enrol_ctx.c     opening journal + issuer + card together; exit codes
 *   enrol.c         `card enrol` (cvq_enrol_run)
 *   enrol_batch.c   `card enrol-batch`: several readers, progress display
 *   card_care.c     `card renew|unblock` (cvq_enrol_renew|unblock),
 *                   `card lost|stolen|destroyed|show`, `citizen cards`
 *
 * See docs/enrolment.md for the design, the steps and their recovery.
 */
#ifndef CVQ_ADMIN_ENROL_H
#define CVQ_ADMIN_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <getopt.h>

#include <cvq/ca.h>
#include <cvq/card.h>
#include <cvq/enrol.h>
#include <cvq/piv.h>
#include <cvq/profile.h>

#include "admin.h"
#include "issuer.h"

/* ---- everything one command needs (enrol_ctx.c) ---- */

struct cvq_enrol_ctx {
	const struct cvq_admin_opts *opts;
	/* In-process only (the issuer's): always NULL with --agent, which
	 * opens nothing of the CA's. The state machine never touches them. */
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
	cvq_enrol_store *st;
	cvq_card_ctx *cctx;
	cvq_card *card;
	char *db_path;                /* the journal (the CA store, or --journal) */
	bool quiet;                   /* no step-by-step narration (batch) */
	const char *prefix;           /* narration prefix (batch: the reader) */
	/* quiet with a progress callback: the callback gets everything and
	 * chooses (the batch shows the steps only). */
	struct cvq_enrol_issuer issuer; /* in-process, or the agent (--agent) */
	struct cvq_admin_issuer issuer_st;
	cvq_enrol_progress_cb progress; /* where the narration goes, or NULL: */
	void *progress_ctx;           /* stdout (unless quiet or --json) */
	bool link_own;                /* issuer_st.link.tls loaded by ctx_open, closed by close */
};

enum {
	CVQ_ENROL_NEED_KEY = 1u << 0,    /* the CA key (issuance, CRL) */
	CVQ_ENROL_NEED_MASTER = 1u << 1, /* the master secret (mgmt key, PUK) */
};

struct cvq_enrol_open_opts {
	const char *pass;             /* CA key passphrase source, or NULL */
	const char *master_file;      /* --master-key-file, or NULL */
	const char *journal;          /* --journal FILE, or NULL */
	/* --agent SOCKET|https://HOST:PORT and its TLS options: the CA's
	 * issuing agent does all the CA side does; the CA's configuration,
	 * store, key, master secret and content signer are never opened here,
	 * and the journal must be named (--journal or $CVQ_ENROL_JOURNAL). */
	struct cvq_admin_link link;
	unsigned need;
};

/* The --agent* options every command of ours takes (agent_link.h's, codes
 * CVQ_ADMIN_LINK_OPT_FIRST..+4) and --journal, with their usage line. */
#define CVQ_ENROL_OPT_JOURNAL (CVQ_ADMIN_LINK_OPT_FIRST + 5)
#define CVQ_ENROL_AGENT_OPTIONS                                                              \
	CVQ_ADMIN_LINK_LONGOPTS, {"journal", required_argument, NULL, CVQ_ENROL_OPT_JOURNAL}
#define CVQ_ENROL_AGENT_USAGE                                                                \
	"  [--agent SOCKET|https://HOST:PORT [--agent-ca FILE --agent-cert FILE\n"             \
	"   --agent-key FILE|pkcs11:URI [--agent-pin-source SRC]]] [--journal FILE]\n"
/* getopt_long that takes the --agent* and --journal options into *o and
 * returns the others; '?' for a bad value of one of ours. */
int cvq_enrol_getopt(int argc, char **argv, const char *shortopts, const struct option *lo,
                     struct cvq_enrol_open_opts *o);
/* True when an agent was named. */
bool cvq_enrol_has_agent(const struct cvq_enrol_open_opts *o);

/*
 * The options checked as cvq_enrol_ctx_open does (usage: exit 2), then an
 * https agent's TLS context and key loaded into o->link once, before any
 * card is taken (agent_link.h: OpenSC, starting, blocks on a card held in a
 * transaction); the contexts opened over o then share it. For a command
 * that connects cards before cvq_enrol_ctx_open (enrol-batch); the others
 * get it from cvq_enrol_ctx_open. An exit code, the reason printed.
 */
int cvq_enrol_link_open(struct cvq_enrol_open_opts *o);
void cvq_enrol_link_close(struct cvq_enrol_open_opts *o);
/* The journal, the issuer and (https agent) its link's key, before the
 * card: call it before cvq_enrol_ctx_card. Returns a cvq_admin_exit code;
 * prints the reason. */
int cvq_enrol_ctx_open(struct cvq_enrol_ctx *e, const struct cvq_admin_opts *opts,
                       const struct cvq_enrol_open_opts *o);
void cvq_enrol_ctx_close(struct cvq_enrol_ctx *e);
/* The library's env over e (the card, the journal, the issuer, the
 * narration: e->progress, else stdout unless quiet or --json). */
void cvq_enrol_env_of(struct cvq_enrol_ctx *e, struct cvq_enrol_env *env);
/* Connect to the card in reader (NULL: the first reader with a card). */
int cvq_enrol_ctx_card(struct cvq_enrol_ctx *e, const char *reader);
/*
 * Take the enrolment lock of the connected card's reader (a lock file
 * beside the journal): two enrolments never drive one card at once.
 * Returns the descriptor to close, or -1 (message printed) when another
 * process holds it.
 */
int cvq_enrol_reader_lock(struct cvq_enrol_ctx *e);
/* Narrate in plain words (as the library does, through cvq_enrol_env_of's
 * callback). */
void cvq_enrol_say(struct cvq_enrol_ctx *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Exit code for a card error; prints "what: reason". */
int cvq_enrol_card_fail(cvq_card_err err, const char *what);
/* Exit code for an issuer error (the CA side's own when it said one). */
int cvq_enrol_issuer_exit(const struct cvq_enrol_ctx *e, cvq_enrol_err err);
/* Print "what: why" (why NULL or "": the error's name); the exit code. */
int cvq_enrol_issuer_fail(const struct cvq_enrol_ctx *e, cvq_enrol_err err, const char *why,
                          const char *what);
/* The exit code of what the library returned (err, res->card_err),
 * why[] printed when it is not OK. */
int cvq_enrol_exit(const struct cvq_enrol_ctx *e, cvq_enrol_err err,
                   const struct cvq_enrol_result *res, const char *why);

/* One enrolment on the card connected in e: the reader's lock, then
 * cvq_enrol_run (enrol.c; enrol_batch.c calls it). An exit code. */
int cvq_enrol_card_one(struct cvq_enrol_ctx *e, const char *citizen, const char *letter,
                       int pin_len, unsigned days, int key_alg);
/* ---- commands ---- */

/* card enrol | enrol-batch | renew | lost | stolen | destroyed | unblock | show | master-key */
int cvq_admin_enrol_main(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_enrol_batch(int argc, char **argv, const struct cvq_admin_opts *opts);
int cvq_admin_card_care(int argc, char **argv, const struct cvq_admin_opts *opts);
/* citizen cards ID */
int cvq_admin_citizen_cards(int argc, char **argv, const struct cvq_admin_opts *opts);
/* True when `card <sub>` is one of ours (cmd_card.c dispatches to us). */
bool cvq_admin_card_is_enrol_cmd(const char *sub);
int cvq_admin_card_enrol_dispatch(int argc, char **argv, const struct cvq_admin_opts *opts);

#endif
