/*
 * cvq-admin — card issuance at the Point Infoville (issue #7): enrolment,
 * renewal, lost cards, PIN unblock. Internal to cvq-admin.
 *
 *   enrol_secret.c  the CA-side master secret file, PUK sealing
 *                   (AES-256-GCM, AAD = card GUID), random PIN/PUK digits
 *   enrol_store.c   the enrolment journal: enrol_* tables in the CA's
 *                   SQLite store, with their own schema version
 *   enrol_ctx.c     opening CA + journal + master secret + card together
 *   enrol_letter.c  the PIN letter (0600), the only place a PIN is written
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
#include <cvq/piv.h>
#include <cvq/profile.h>

#include "admin.h"

/* ---- secrets (enrol_secret.c) ---- */

typedef enum cvq_enrol_err {
	CVQ_ENROL_OK = 0,
	CVQ_ENROL_ERR_ARG,      /* invalid argument */
	CVQ_ENROL_ERR_IO,       /* the file cannot be read or written */
	CVQ_ENROL_ERR_PERM,     /* a secret file readable or writable by others */
	CVQ_ENROL_ERR_FORMAT,   /* not hex, too short, too long, bad blob */
	CVQ_ENROL_ERR_CRYPTO,   /* an OpenSSL call failed, or the tag is wrong */
	CVQ_ENROL_ERR_STORE,    /* the enrolment journal failed (SQLite) */
	CVQ_ENROL_ERR_NOT_FOUND,
	CVQ_ENROL_ERR__COUNT
} cvq_enrol_err;

const char *cvq_enrol_strerror(cvq_enrol_err err);

#define CVQ_ENROL_MASTER_MIN 32   /* bytes: 64 hex digits at least */
#define CVQ_ENROL_MASTER_MAX 64
#define CVQ_ENROL_PUK_LEN 8
#define CVQ_ENROL_PIN_MIN 6
#define CVQ_ENROL_PIN_MAX 8
/* version (1) || nonce (12) || ciphertext (8) || tag (16) */
#define CVQ_ENROL_PUK_BLOB_LEN (1 + 12 + CVQ_ENROL_PUK_LEN + 16)

/*
 * Read the master secret: a regular file of mode 0600 or stricter (refused
 * otherwise, CVQ_ENROL_ERR_PERM) holding 64 to 128 hex digits.
 */
cvq_enrol_err cvq_enrol_master_load(const char *path, uint8_t out[CVQ_ENROL_MASTER_MAX],
                                    size_t *len);
/* Make a new master secret file (0600, never overwrites). */
cvq_enrol_err cvq_enrol_master_create(const char *path);
/* Parse hex text (whitespace around it allowed). Fuzzed. */
cvq_enrol_err cvq_enrol_master_parse(const char *text, size_t text_len,
                                     uint8_t out[CVQ_ENROL_MASTER_MAX], size_t *len);

/* n random decimal digits from the CSPRNG (uniform), NUL-terminated. */
cvq_enrol_err cvq_enrol_random_digits(char *out, size_t n);

/* Seal / open an 8-digit PUK for the card with this GUID (16 bytes, the AAD). */
cvq_enrol_err cvq_enrol_puk_seal(const uint8_t *master, size_t master_len,
                                 const uint8_t guid[CVQ_CARD_GUID_LEN], const char *puk,
                                 uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN]);
/* puk gets 8 digits and a NUL; wiped on error. The blob is outside bytes: fuzzed. */
cvq_enrol_err cvq_enrol_puk_open(const uint8_t *master, size_t master_len,
                                 const uint8_t guid[CVQ_CARD_GUID_LEN],
                                 const uint8_t *blob, size_t blob_len,
                                 char puk[CVQ_ENROL_PUK_LEN + 1]);

/* 32 hex digits (any case) to 16 bytes. */
bool cvq_enrol_guid_parse(const char *hex, uint8_t guid[CVQ_CARD_GUID_LEN]);

/* ---- the enrolment journal (enrol_store.c) ---- */

enum cvq_enrol_step {
	CVQ_ENROL_STEP_NONE = 0,     /* the journal row exists */
	CVQ_ENROL_STEP_RECORDED,     /* the card is in the CA store (active) */
	CVQ_ENROL_STEP_CHUID,        /* CHUID with the new GUID written */
	CVQ_ENROL_STEP_MGMT,         /* management key = derived key */
	CVQ_ENROL_STEP_AUTH,         /* 9A key generated, certificate written */
	CVQ_ENROL_STEP_SIGN,         /* 9C key generated, certificate written */
	CVQ_ENROL_STEP_CARDAUTH,     /* 9E key generated, certificate written (#17) */
	CVQ_ENROL_STEP_OBJECTS,      /* printed information, CCC; Discovery checked */
	CVQ_ENROL_STEP_SIGNED,       /* signed CHUID and Security Object written (#17) */
	CVQ_ENROL_STEP_PUK,          /* PUK set; kept sealed in the journal */
	CVQ_ENROL_STEP_PIN,          /* PIN set; the PIN letter written */
	CVQ_ENROL_STEP_ACTIVE,       /* stray certificates revoked; card active */
	CVQ_ENROL_STEP__COUNT
};
const char *cvq_enrol_step_name(int step);

struct cvq_enrol_rec {
	char guid[33];                /* lower-case hex */
	char holder[64];              /* citizen ext_id */
	char state[16];               /* "enrolling", "active", "failed" */
	int step;                     /* last step done */
	int mgmt_alg;                 /* cvq_card_alg of the derived key */
	int key_alg;                  /* cvq_card_alg of the 9A/9C keys (P-256, RSA-2048) */
	char prev_guid[33];           /* a failed enrolment this one restarts, or "" */
	uint8_t puk[CVQ_ENROL_PUK_BLOB_LEN];
	bool has_puk;
	uint8_t puk_pending[CVQ_ENROL_PUK_BLOB_LEN];
	bool has_puk_pending;
	char reader[128];
	int64_t started, updated;
	char error[256];
};

typedef struct cvq_enrol_store cvq_enrol_store;

/* Open the journal in the CA's store (creates/migrates the enrol_* tables). */
cvq_enrol_err cvq_enrol_store_open(const char *db_path, cvq_enrol_store **out,
                                   char *why, size_t why_len);
void cvq_enrol_store_close(cvq_enrol_store *st);
/* CVQ_ENROL_ERR_NOT_FOUND when the GUID has no row. */
cvq_enrol_err cvq_enrol_store_get(cvq_enrol_store *st, const char *guid,
                                  struct cvq_enrol_rec *out);
/* Insert or replace (sets rec->updated). Committed on return. */
cvq_enrol_err cvq_enrol_store_put(cvq_enrol_store *st, struct cvq_enrol_rec *rec);
/* Append to the step log (never a secret in detail). */
__attribute__((warn_unused_result))
cvq_enrol_err cvq_enrol_store_log(cvq_enrol_store *st, const char *guid,
                                  const char *action, const char *detail);
typedef int (*cvq_enrol_rec_cb)(void *ctx, const struct cvq_enrol_rec *rec);
/* Rows of a holder (NULL: all), oldest first; state NULL: any. */
cvq_enrol_err cvq_enrol_store_list(cvq_enrol_store *st, const char *holder,
                                   const char *state, cvq_enrol_rec_cb cb, void *ctx);
struct cvq_enrol_log_entry {
	int64_t id, ts;
	char guid[33], action[32], detail[256];
};
typedef int (*cvq_enrol_log_cb)(void *ctx, const struct cvq_enrol_log_entry *e);
cvq_enrol_err cvq_enrol_store_log_list(cvq_enrol_store *st, const char *guid,
                                       cvq_enrol_log_cb cb, void *ctx);

/* ---- everything one command needs (enrol_ctx.c) ---- */

struct cvq_enrol_ctx {
	const struct cvq_admin_opts *opts;
	struct cvq_ca_config *cfg;
	cvq_ca *ca;
	cvq_enrol_store *st;
	uint8_t master[CVQ_ENROL_MASTER_MAX];
	size_t master_len;
	cvq_card_ctx *cctx;
	cvq_card *card;
	char *db_path;                /* the CA store (the journal is in it) */
	bool quiet;                   /* no step-by-step narration (batch) */
	const char *prefix;           /* narration prefix (batch: the reader) */
	X509 *cs_cert;                /* PIV content signer (enrol_content.c), loaded */
	EVP_PKEY *cs_key;             /* when first needed */
};

enum {
	CVQ_ENROL_NEED_KEY = 1u << 0,    /* the CA key (issuance, CRL) */
	CVQ_ENROL_NEED_MASTER = 1u << 1, /* the master secret (mgmt key, PUK) */
};

struct cvq_enrol_open_opts {
	const char *pass;             /* CA key passphrase source, or NULL */
	const char *master_file;      /* --master-key-file, or NULL */
	unsigned need;
};

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
 * beside the CA store): two enrolments never drive one card at once.
 * Returns the descriptor to close, or -1 (message printed) when another
 * process holds it.
 */
int cvq_enrol_reader_lock(struct cvq_enrol_ctx *e);
/* cvq_card_get_status, asked again once after a reset by someone else. */
cvq_card_err cvq_enrol_card_status(struct cvq_enrol_ctx *e, cvq_card_status *cs);
/* Narrate a step in plain words (stdout, unless quiet or --json). */
void cvq_enrol_say(const struct cvq_enrol_ctx *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Exit code for a card error; prints "what: reason". */
int cvq_enrol_card_fail(cvq_card_err err, const char *what);
/* True for errors that mean "the card went away": resume later. */
bool cvq_enrol_card_interrupted(cvq_card_err err);
/* Authenticate with the card's management key: derived from guid, else
 * from prev_guid, else the factory key; *which says which one worked
 * (0 derived, 1 previous, 2 factory). */
cvq_card_err cvq_enrol_mgmt_auth(struct cvq_enrol_ctx *e, const uint8_t guid[16],
                                 const char *prev_guid, int alg, int *which);
/* Generate a key in slot, prove possession, have the CA certify it and
 * write the certificate. pin: the PIN to sign the challenge with. */
cvq_card_err cvq_enrol_certify_slot(struct cvq_enrol_ctx *e, const char *guid,
                                    cvq_card_slot slot, int key_alg, const char *pin,
                                    cvq_ca_err *ca_err, char serial[67]);
/* Revoke the card's good certificates that are not on the card now
 * (an interrupted step or a renewal left them): reason superseded. */
int cvq_enrol_revoke_strays(struct cvq_enrol_ctx *e, const char *guid, unsigned *count);

/*
 * Load the PIV content signer (content-signer.key / .pem beside the CA
 * configuration) into e->cs_cert / e->cs_key, making it with the CA the
 * first time (enrol_content.c). Returns a cvq_admin_exit code.
 */
int cvq_enrol_content_signer(struct cvq_enrol_ctx *e);

/* ---- the PIN letter (enrol_letter.c) ---- */

struct cvq_enrol_letter {
	const char *path;
	const struct cvq_ca_citizen *citizen;
	const char *guid;
	int64_t expires;               /* the card's expiry (Unix time) */
	const char *pin;
	bool unblock;                  /* a new PIN after an unblock */
};
/* DIR/pin-letter-ID.txt (DIR NULL: the current directory), with any
 * character of ID but letters, digits, '-', '_' and '.' replaced by '_'. */
bool cvq_enrol_letter_default(char *out, size_t cap, const char *dir, const char *ext_id);
/* Write atomically (temp file + rename), mode 0600. */
cvq_enrol_err cvq_enrol_letter_write(const struct cvq_enrol_letter *l);

/* One enrolment on the card connected in e (enrol.c; enrol_batch.c calls it). */
int cvq_enrol_card_one(struct cvq_enrol_ctx *e, const char *citizen, const char *letter,
                       int pin_len, unsigned days, int key_alg);
/* "ec-p256" / "rsa-2048" to a cvq_card_alg; 0 when unknown. */
int cvq_enrol_key_alg_parse(const char *name);
const char *cvq_enrol_key_alg_name(int alg);

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
