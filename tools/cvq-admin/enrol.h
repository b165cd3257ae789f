/*
 * cvq-admin — card issuance at the Point Infoville (issue #7): enrolment,
 * renewal, lost cards, PIN unblock. Internal to cvq-admin.
 *
 * The secrets (PUK sealing, random digits), the enrolment journal, the PIN
 * letter and the progress callback are libcvqenrol's (enrol/, <cvq/enrol.h>,
 * issue #13). Everything of the CA side goes through the issuing link
 * (e->issuer: issuer_ca.c in-process, issuer_agent.c over the agent):
 *   enrol_ctx.c     opening journal + issuer + card together
 *   enrol.c         `card enrol`: the recoverable enrolment state machine
 *   enrol_batch.c   `card enrol-batch`: several readers, progress display
 *   card_care.c     `card renew|lost|stolen|destroyed|unblock|show`,
 *                   `citizen cards`
 *
 * See docs/enrolment.md for the design, the steps and their recovery.
 */
#ifndef CVQ_ADMIN_ENROL_H
#define CVQ_ADMIN_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cvq/ca.h>
#include <cvq/card.h>
#include <cvq/enrol.h>
#include <cvq/piv.h>
#include <cvq/profile.h>

#include "admin.h"
#include "issuer.h"

/* ---- everything one command needs (enrol_ctx.c) ---- */

/* A management key the issuer handed for a card (enrol_ctx.c caches the
 * last two: the card's and a failed enrolment's; wiped on close). */
struct cvq_enrol_mkey {
	char guid[33];
	int alg;
	uint8_t key[32];
	size_t len;
};

struct cvq_enrol_ctx {
	const struct cvq_admin_opts *opts;
	/* In-process only (the issuer's): NULL with --agent and no readable
	 * CA configuration. The state machine never touches them. */
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
	char issuer_why[256];         /* the issuer's reason for the last refusal */
	cvq_enrol_progress_cb progress; /* where cvq_enrol_say goes (set by */
	void *progress_ctx;           /* cvq_enrol_ctx_open: stdout), or NULL */
	struct cvq_enrol_mkey mkey[2];
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
	 * issuing agent does what the CA side does; the CA key is never
	 * opened here. */
	struct cvq_admin_link link;
	unsigned need;
};

/* The --agent* options every command of ours takes (getopt_long codes
 * 0x100..0x104), their usage line, and the parser (1: taken, 0: not
 * ours, -1: bad value, usage printed). */
#define CVQ_ENROL_AGENT_OPTIONS                                                              \
	{"agent", required_argument, NULL, 0x100}, {"agent-ca", required_argument, NULL, 0x101}, \
	{"agent-cert", required_argument, NULL, 0x102},                                         \
	{"agent-key", required_argument, NULL, 0x103},                                          \
	{"agent-pin-source", required_argument, NULL, 0x104}, {"journal", required_argument, NULL, 0x105}
#define CVQ_ENROL_AGENT_USAGE                                                                \
	"  [--agent SOCKET|https://HOST:PORT [--agent-ca FILE --agent-cert FILE\n"             \
	"   --agent-key FILE|pkcs11:URI [--agent-pin-source SRC]]] [--journal FILE]\n"
int cvq_enrol_agent_opt(struct cvq_enrol_open_opts *o, int c, const char *arg);
/* True when an agent was named. */
bool cvq_enrol_has_agent(const struct cvq_enrol_open_opts *o);

/* Returns a cvq_admin_exit code; prints the reason. */
int cvq_enrol_ctx_open(struct cvq_enrol_ctx *e, const struct cvq_admin_opts *opts,
                       const struct cvq_enrol_open_opts *o);
void cvq_enrol_ctx_close(struct cvq_enrol_ctx *e);
/*
 * Record a step both in the enrolment journal (for resuming and 'card
 * show') and in the CA's hash-chained audit log (for the auditors).
 * Fails if either write fails; never give it a secret.
 */
__attribute__((warn_unused_result))
cvq_enrol_err cvq_enrol_log(struct cvq_enrol_ctx *e, const char *guid,
                            const char *action, const char *detail);
/* Connect to the card in reader (NULL: the first reader with a card). */
int cvq_enrol_ctx_card(struct cvq_enrol_ctx *e, const char *reader);
/*
 * Take the enrolment lock of the connected card's reader (a lock file
 * beside the journal): two enrolments never drive one card at once.
 * Returns the descriptor to close, or -1 (message printed) when another
 * process holds it.
 */
int cvq_enrol_reader_lock(struct cvq_enrol_ctx *e);
/* cvq_card_get_status, asked again once after a reset by someone else. */
cvq_card_err cvq_enrol_card_status(struct cvq_enrol_ctx *e, cvq_card_status *cs);
/* Narrate in plain words through e->progress (the CLI's prints on stdout,
 * unless quiet or --json). */
void cvq_enrol_say(const struct cvq_enrol_ctx *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for a step of the state machine done (an EV_STEP event with
 * the journal's step number: a batch shows those even when quiet). */
void cvq_enrol_say_step(const struct cvq_enrol_ctx *e, int step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Exit code for a card error; prints "what: reason". */
int cvq_enrol_card_fail(cvq_card_err err, const char *what);
/* True for errors that mean "the card went away": resume later. */
bool cvq_enrol_card_interrupted(cvq_card_err err);
/* Exit code for an issuer error (the CA side's own when it said one). */
int cvq_enrol_issuer_exit(const struct cvq_enrol_ctx *e, cvq_enrol_err err);
/* Print "what: why" (why NULL or "": the error's name); the exit code. */
int cvq_enrol_issuer_fail(const struct cvq_enrol_ctx *e, cvq_enrol_err err, const char *why,
                          const char *what);
/* True when the issuing agent did not answer (nothing was refused). */
bool cvq_enrol_issuer_unreachable(const struct cvq_enrol_ctx *e, cvq_enrol_err err);
/* Authenticate with the card's management key: the issuer's for guid,
 * else for prev_guid (hex), else the factory key; *which says which one
 * worked (0 derived, 1 previous, 2 factory). When the issuer cannot give
 * guid's key: CVQ_CARD_ERR_INTERNAL, *ierr its error (why in
 * e->issuer_why): never the factory key behind a silent issuer. */
cvq_card_err cvq_enrol_mgmt_auth(struct cvq_enrol_ctx *e, const char *guid,
                                 const char *prev_guid, int alg, int *which,
                                 cvq_enrol_err *ierr);
/* The issuer's management key for guid (cached); CVQ_ENROL_OK or why[]. */
cvq_enrol_err cvq_enrol_mgmt_key(struct cvq_enrol_ctx *e, const char *guid, int alg,
                                 const uint8_t **key, size_t *len, char *why, size_t why_len);
/* Generate a key in slot, prove possession, have the CA certify it and
 * write the certificate, through e->issuer. pin: the PIN to sign with.
 * *ierr: the issuer's error (its reason in e->issuer_why), the card's
 * returned. */
cvq_card_err cvq_enrol_certify_slot(struct cvq_enrol_ctx *e, const char *guid,
                                    cvq_card_slot slot, int key_alg, const char *pin,
                                    cvq_enrol_err *ierr, char serial[67]);
/* Revoke the card's good certificates that are not on the card now
 * (an interrupted step or a renewal left them): reason superseded. */
int cvq_enrol_revoke_strays(struct cvq_enrol_ctx *e, const char *guid, unsigned *count);

/* One enrolment on the card connected in e (enrol.c; enrol_batch.c calls it). */
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
