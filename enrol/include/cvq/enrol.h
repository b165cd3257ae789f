/*
 * libcvqenrol — the counter side of card issuance (issue #7, moved out of
 * cvq-admin for issue #13): PUK sealing under the city's master secret,
 * random PIN/PUK digits, the enrolment journal that lets an interrupted
 * enrolment resume, the PIN letter, and the progress callback through
 * which the enrolment reports its steps instead of printing them.
 *
 * The enrolment itself (cvq_enrol_run: the recoverable state machine)
 * and the after-care on the card (cvq_enrol_renew, cvq_enrol_unblock)
 * are here too; they report through the progress callback and why[],
 * never print.
 *
 * It links neither the CA nor its key: what needs the CA (issuing a
 * certificate for a key born on the card, recording the card) goes
 * through the issuing service (docs/enrolment.md, "Counters away from
 * the CA"). One error enum, cvq_enrol_err, with cvq_enrol_strerror.
 */
#ifndef CVQ_ENROL_H
#define CVQ_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/card.h>
#include <cvq/export.h>
#include <cvq/piv_authentic.h>
#include <cvq/profile.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors and secrets (enrol_secret.c) ---- */

typedef enum cvq_enrol_err {
	CVQ_ENROL_OK = 0,
	CVQ_ENROL_ERR_ARG,      /* invalid argument */
	CVQ_ENROL_ERR_IO,       /* the file cannot be read or written */
	CVQ_ENROL_ERR_PERM,     /* a secret file readable or writable by others */
	CVQ_ENROL_ERR_FORMAT,   /* not hex, too short, too long, bad blob */
	CVQ_ENROL_ERR_CRYPTO,   /* an OpenSSL call failed, or the tag is wrong */
	CVQ_ENROL_ERR_STORE,    /* the enrolment journal failed (SQLite) */
	CVQ_ENROL_ERR_NOT_FOUND,
	CVQ_ENROL_ERR_REFUSED,  /* the issuing service said no (why[] says why) */
	CVQ_ENROL_ERR_ISSUER,   /* the issuing service failed or cannot be reached */
	CVQ_ENROL_ERR_CARD,     /* the card failed (the card's own error is given beside) */
	CVQ_ENROL_ERR_INTERRUPTED, /* the card went away: put it back, run it again */
	CVQ_ENROL_ERR_FAILED,   /* the enrolment failed for good: marked failed, revoked */
	CVQ_ENROL_ERR_INVALID,  /* the card may not be used (lost, stolen, ...) */
	CVQ_ENROL_ERR__COUNT
} cvq_enrol_err;

CVQ_EXPORT const char *cvq_enrol_strerror(cvq_enrol_err err);

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
CVQ_EXPORT cvq_enrol_err cvq_enrol_master_load(const char *path, uint8_t out[CVQ_ENROL_MASTER_MAX],
                                    size_t *len);
/* Make a new master secret file (0600, never overwrites). */
CVQ_EXPORT cvq_enrol_err cvq_enrol_master_create(const char *path);
/* Parse hex text (whitespace around it allowed). Fuzzed. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_master_parse(const char *text, size_t text_len,
                                     uint8_t out[CVQ_ENROL_MASTER_MAX], size_t *len);

/* n random decimal digits from the CSPRNG (uniform), NUL-terminated. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_random_digits(char *out, size_t n);

/* Seal / open an 8-digit PUK for the card with this GUID (16 bytes, the AAD). */
CVQ_EXPORT cvq_enrol_err cvq_enrol_puk_seal(const uint8_t *master, size_t master_len,
                                 const uint8_t guid[CVQ_CARD_GUID_LEN], const char *puk,
                                 uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN]);
/* puk gets 8 digits and a NUL; wiped on error. The blob is outside bytes: fuzzed. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_puk_open(const uint8_t *master, size_t master_len,
                                 const uint8_t guid[CVQ_CARD_GUID_LEN],
                                 const uint8_t *blob, size_t blob_len,
                                 char puk[CVQ_ENROL_PUK_LEN + 1]);

/* 32 hex digits (any case) to 16 bytes. */
CVQ_EXPORT bool cvq_enrol_guid_parse(const char *hex, uint8_t guid[CVQ_CARD_GUID_LEN]);

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
CVQ_EXPORT const char *cvq_enrol_step_name(int step);

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
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_open(const char *db_path, cvq_enrol_store **out,
                                   char *why, size_t why_len);
/* A journal in a file of its own (a counter with no CA store): created,
 * mode 0600, when missing; WAL mode. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_open_own(const char *db_path, cvq_enrol_store **out,
                                       char *why, size_t why_len);
CVQ_EXPORT void cvq_enrol_store_close(cvq_enrol_store *st);
/* CVQ_ENROL_ERR_NOT_FOUND when the GUID has no row. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_get(cvq_enrol_store *st, const char *guid,
                                  struct cvq_enrol_rec *out);
/* Insert or replace (sets rec->updated). Committed on return. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_put(cvq_enrol_store *st, struct cvq_enrol_rec *rec);
/* Append to the step log (never a secret in detail). */
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_log(cvq_enrol_store *st, const char *guid,
                                  const char *action, const char *detail);
typedef int (*cvq_enrol_rec_cb)(void *ctx, const struct cvq_enrol_rec *rec);
/* Rows of a holder (NULL: all), oldest first; state NULL: any. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_list(cvq_enrol_store *st, const char *holder,
                                   const char *state, cvq_enrol_rec_cb cb, void *ctx);
struct cvq_enrol_log_entry {
	int64_t id, ts;
	char guid[33], action[32], detail[256];
};
typedef int (*cvq_enrol_log_cb)(void *ctx, const struct cvq_enrol_log_entry *e);
CVQ_EXPORT cvq_enrol_err cvq_enrol_store_log_list(cvq_enrol_store *st, const char *guid,
                                       cvq_enrol_log_cb cb, void *ctx);

/* ---- the PIN letter (enrol_letter.c) ---- */

struct cvq_enrol_letter {
	const char *path;
	const char *given_name;        /* the holder, as the CA's citizen record has it */
	const char *family_name;
	const char *ext_id;
	const char *guid;
	int64_t expires;               /* the card's expiry (Unix time) */
	const char *pin;
	bool unblock;                  /* a new PIN after an unblock */
};
/* DIR/pin-letter-ID.txt (DIR NULL: the current directory), with any
 * character of ID but letters, digits, '-', '_' and '.' replaced by '_'. */
CVQ_EXPORT bool cvq_enrol_letter_default(char *out, size_t cap, const char *dir, const char *ext_id);
/* Write atomically (temp file + rename), mode 0600. */
CVQ_EXPORT cvq_enrol_err cvq_enrol_letter_write(const struct cvq_enrol_letter *l);

/* "ec-p256" / "rsa-2048" to a cvq_card_alg; 0 when unknown. */
CVQ_EXPORT int cvq_enrol_key_alg_parse(const char *name);
CVQ_EXPORT const char *cvq_enrol_key_alg_name(int alg);

/* ---- the card (enrol_card.c) ---- */

/*
 * Authenticate with the card's management key (alg: cvq_card_alg), as
 * the issuing link hands the keys (cvq_enrol_issuer_ops.mgmt_key): key
 * (the card's GUID's), else prev_key (a failed enrolment's), else the
 * factory key; *which says which one worked (0, 1, 2). Either key may be
 * NULL.
 */
CVQ_EXPORT cvq_card_err cvq_enrol_card_mgmt_auth_keys(cvq_card *card, int alg,
                                                      const uint8_t *key, size_t key_len,
                                                      const uint8_t *prev_key,
                                                      size_t prev_len, int *which);
/* A certificate's serial as the CA's store writes it: upper-case hex, no
 * leading zeros (false when it does not fit). */
CVQ_EXPORT bool cvq_enrol_serial_hex(const ASN1_INTEGER *serial, char out[67]);
/*
 * The PIV attestation of the key just generated in slot (Yubico ATTEST,
 * INS F9) and the card's F9 certificate, both DER (free() them). *att_len
 * 0 when the card has no attestation: not an error here, the CA's policy
 * decides.
 */
CVQ_EXPORT cvq_card_err cvq_enrol_card_attest(cvq_card *card, int slot, uint8_t **att,
                                              size_t *att_len, uint8_t **f9, size_t *f9_len);

/* ---- the issuing link ----
 *
 * The enrolment never holds the CA key: what only the CA may do goes
 * through an issuer, a small vtable the program provides. cvq-admin has
 * two: in-process libcvqca (the CA officer's own machine) and a client of
 * the CA's issuing agent over its Unix socket (`card enrol --agent`), where
 * the counter's process has neither the key nor the passphrase
 * (docs/enrolment.md, "Counters away from the CA").
 */

/* Sign a SHA-256 digest with the key just generated on the card. The
 * issuer proves possession in the form its service wants (a fresh
 * challenge in-process, a CSR over the agent); *sig is malloc'd. */
typedef cvq_enrol_err (*cvq_enrol_sign_cb)(void *ctx, const uint8_t digest[32],
                                           uint8_t **sig, size_t *sig_len);

struct cvq_enrol_cert_req {
	const char *guid;             /* the card, 32 hex digits */
	int slot;                     /* 0x9A, 0x9C or 0x9E: the profile follows from it */
	EVP_PKEY *pub;                /* the public key born on the card */
	const uint8_t *attest;        /* PIV attestation of the key (DER), or NULL */
	size_t attest_len;
	const uint8_t *f9;            /* the card's attestation certificate (DER) */
	size_t f9_len;
	cvq_enrol_sign_cb sign;       /* proof of possession */
	void *sign_ctx;
};

/* The CA's states of a card (the same numbers as libcvqca's
 * cvq_ca_card_status, which this library does not include). */
enum cvq_enrol_card_status {
	CVQ_ENROL_CARD_ACTIVE = 0,
	CVQ_ENROL_CARD_SUSPENDED,
	CVQ_ENROL_CARD_LOST,
	CVQ_ENROL_CARD_STOLEN,
	CVQ_ENROL_CARD_DESTROYED,
	CVQ_ENROL_CARD_RETURNED,
	CVQ_ENROL_CARD__COUNT         /* in revoke_card: keep the card's status */
};

/* A citizen, as the CA's store has them: the PIN letter and the Printed
 * Information are made from this, never from the operator's input. */
struct cvq_enrol_citizen {
	char ext_id[64];
	char given_name[128];
	char family_name[128];
};

/* The CA's record of a card. */
struct cvq_enrol_card_rec {
	char guid[33];                /* lower-case hex */
	char holder[64];              /* the citizen's ext_id */
	int status;                   /* enum cvq_enrol_card_status */
	int64_t expires;              /* Unix time */
	int64_t created;              /* Unix time (0: not known) */
};
/* "active", "suspended", "lost", "stolen", "destroyed", "returned"; "?" otherwise. */
CVQ_EXPORT const char *cvq_enrol_card_status_name(int status);

/* A certificate of a card, as the CA's store has it. */
struct cvq_enrol_cert_rec {
	char serial[67];              /* hex */
	char profile[32];             /* "citizen-auth", ... */
	bool good;                    /* not revoked, not expired */
	int64_t not_after;
	bool revoked;
	char reason[24];              /* revoked: the RFC 5280 name ("superseded"), else "" */
};
typedef int (*cvq_enrol_cert_cb)(void *ctx, const struct cvq_enrol_cert_rec *c);
/* The good certificates whose serial is not among keep[0..n_keep) (the
 * ones on the card), collected by cvq_enrol_strays_cb from a cert_list;
 * free(serial) after. nomem: the list is short. */
struct cvq_enrol_strays {
	const char *const *keep;
	size_t n_keep;
	char (*serial)[67];
	size_t n;
	bool nomem;
};
CVQ_EXPORT int cvq_enrol_strays_cb(void *ctx, const struct cvq_enrol_cert_rec *c);
typedef int (*cvq_enrol_card_cb)(void *ctx, const struct cvq_enrol_card_rec *c);

/*
 * The issuing link: everything the enrolment and the after-care ask of the
 * CA side. An issuer over a socket or TLS (cvq-admin's agent issuer) makes
 * each a request that the CA side checks against the caller's role; the
 * counter then holds no CA key, no master secret, no content-signing key
 * and no write access to the CA's store (docs/enrolment.md).
 *
 * Every op returns CVQ_ENROL_OK, CVQ_ENROL_ERR_NOT_FOUND (no such citizen,
 * card, certificate), CVQ_ENROL_ERR_REFUSED (the CA side said no: role,
 * policy, state; why[] in plain words) or CVQ_ENROL_ERR_ISSUER (the CA
 * side failed or cannot be reached: retry later, the journal keeps the
 * place). why may be NULL when why_len is 0. An op may be NULL in an
 * issuer that cannot do it (CVQ_ENROL_ERR_ISSUER).
 */
struct cvq_enrol_issuer_ops {
	const char *name;             /* "in-process", "agent": for the journal */
	/* Certificate for the key of req; CVQ_ENROL_ERR_REFUSED when the CA
	 * says no (policy, attestation, role), why[] in plain words. */
	cvq_enrol_err (*certify)(void *ctx, const struct cvq_enrol_cert_req *req, X509 **cert,
	                         char *why, size_t why_len);
	/* One entry in the CA's hash-chained audit log (never a secret).
	 * Over the link: only "enrol." and "card." actions, for cards of the
	 * store. */
	cvq_enrol_err (*audit)(void *ctx, const char *action, const char *guid,
	                       const char *detail);

	/* ---- the store's records ---- */
	cvq_enrol_err (*citizen_get)(void *ctx, const char *ext_id, struct cvq_enrol_citizen *out,
	                             char *why, size_t why_len);
	cvq_enrol_err (*card_get)(void *ctx, const char *guid, struct cvq_enrol_card_rec *out,
	                          char *why, size_t why_len);
	/* A new card of holder, active, expiring at `expires`. */
	cvq_enrol_err (*card_add)(void *ctx, const char *guid, const char *holder, int64_t expires,
	                          char *why, size_t why_len);
	cvq_enrol_err (*card_set_status)(void *ctx, const char *guid, int status, char *why,
	                                 size_t why_len);
	/* The cards of a holder (NULL: refused over the link), oldest first. */
	cvq_enrol_err (*card_list)(void *ctx, const char *holder, cvq_enrol_card_cb cb, void *cb_ctx,
	                           char *why, size_t why_len);
	/* The card's certificates (good or not), oldest first. */
	cvq_enrol_err (*cert_list)(void *ctx, const char *guid, cvq_enrol_cert_cb cb, void *cb_ctx,
	                           char *why, size_t why_len);
	/* Revoke every good certificate of the card (reason: RFC 5280
	 * CRLReason; since: invalidity date, 0 none) and set its status
	 * (CVQ_ENROL_CARD__COUNT: unchanged); *count revoked. */
	cvq_enrol_err (*revoke_card)(void *ctx, const char *guid, int reason, int64_t since,
	                             int status, unsigned *count, char *why, size_t why_len);
	/* Revoke, superseded, the card's good certificates whose serial (hex)
	 * is not among keep[0..n_keep): what an interrupted step left. */
	cvq_enrol_err (*revoke_strays)(void *ctx, const char *guid, const char *const *keep,
	                               size_t n_keep, unsigned *count, char *why, size_t why_len);
	/* A new CRL now (after lost/stolen/destroyed): PEM, malloc'd. */
	cvq_enrol_err (*crl_issue)(void *ctx, char **pem, size_t *pem_len, int64_t *number,
	                           char *why, size_t why_len);

	/* ---- what the master secret gives, kept on the CA side ---- */
	/* The card's management key (alg: cvq_card_alg), derived for guid. The
	 * link hands it only for a card of the store whose enrolment or
	 * after-care the caller may do. */
	cvq_enrol_err (*mgmt_key)(void *ctx, const char *guid, int alg, uint8_t key[32],
	                          size_t *key_len, char *why, size_t why_len);
	cvq_enrol_err (*puk_seal)(void *ctx, const char *guid, const char *puk,
	                          uint8_t blob[CVQ_ENROL_PUK_BLOB_LEN], char *why, size_t why_len);
	cvq_enrol_err (*puk_open)(void *ctx, const char *guid, const uint8_t *blob, size_t blob_len,
	                          char puk[CVQ_ENROL_PUK_LEN + 1], char *why, size_t why_len);

	/* ---- the PIV content signer, kept on the CA side ---- */
	/* The CHUID (the card's own GUID in it) with its issuer signature. */
	cvq_enrol_err (*chuid_sign)(void *ctx, const char *guid, const uint8_t *chuid, size_t len,
	                            uint8_t **out, size_t *out_len, char *why, size_t why_len);
	/* The Security Object over the card's objects (cvq_piv_secobj_build). */
	cvq_enrol_err (*secobj_build)(void *ctx, const char *guid, const cvq_piv_secobj_item *items,
	                              size_t n, uint8_t **out, size_t *out_len, char *why,
	                              size_t why_len);
};

struct cvq_enrol_issuer {
	const struct cvq_enrol_issuer_ops *ops;
	void *ctx;
};

/*
 * A DER PKCS#10 request (subject CN=GUID, SHA-256, ECDSA or RSA PKCS#1)
 * for req->pub, signed through req->sign, and checked as encoded: *der
 * (free() it) verifies with req->pub, else CVQ_ENROL_ERR_CARD.
 */
CVQ_EXPORT cvq_enrol_err cvq_enrol_csr(const struct cvq_enrol_cert_req *req, uint8_t **der,
                                       size_t *der_len);

/* ---- progress (enrol_progress.c) ---- */

/*
 * The enrolment reports what it does through this callback, never on
 * stdout: the CLI prints the text, a batch prefixes the reader, a kiosk or
 * a service shows a progress bar from step / total. text is plain words
 * for the operator and never holds a secret (PIN, PUK, keys).
 */
enum cvq_enrol_event {
	CVQ_ENROL_EV_STEP = 0,        /* step `step` of `total` done */
	CVQ_ENROL_EV_INFO,            /* a sentence for the operator */
	CVQ_ENROL_EV__COUNT
};
struct cvq_enrol_progress {
	enum cvq_enrol_event event;
	int step;                     /* enum cvq_enrol_step, or -1 */
	int total;                    /* steps an enrolment has (EV_STEP), or 0 */
	const char *guid;             /* the card, or NULL */
	const char *text;             /* never NULL */
};
typedef void (*cvq_enrol_progress_cb)(void *ctx, const struct cvq_enrol_progress *p);

/* Format text (printf-like, at most 511 bytes kept) and call cb if not NULL. */
CVQ_EXPORT void cvq_enrol_progress_emit(cvq_enrol_progress_cb cb, void *ctx,
                                        enum cvq_enrol_event event, int step,
                                        const char *guid, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* "step" / "info"; "unknown" otherwise. */
CVQ_EXPORT const char *cvq_enrol_event_name(enum cvq_enrol_event event);

/* ---- the enrolment (enrol_run.c) and the after-care (enrol_care.c) ----
 *
 * What they work with is the caller's: the card (connected), the journal,
 * the issuer, where progress goes. No global state: two envs on two
 * readers run in two threads (a batch), each with its own card, journal
 * connection and issuer. The caller holds the reader's lock.
 */
struct cvq_enrol_env {
	cvq_card *card;
	cvq_enrol_store *st;
	const struct cvq_enrol_issuer *issuer;
	cvq_enrol_progress_cb progress;   /* or NULL */
	void *progress_ctx;
};

/*
 * Record what was done to a card both in the journal (the card's history,
 * and what an interrupted enrolment resumes from) and in the CA's
 * hash-chained audit log (issuer->ops->audit); never a secret. Fails if
 * either write fails.
 */
CVQ_EXPORT cvq_enrol_err cvq_enrol_record(cvq_enrol_store *st,
                                          const struct cvq_enrol_issuer *issuer,
                                          const char *guid, const char *action,
                                          const char *detail);

/* True for card errors that mean "the card went away": resume later. */
CVQ_EXPORT bool cvq_enrol_card_interrupted(cvq_card_err err);
/* cvq_card_get_status, asked again once after a reset by someone else. */
CVQ_EXPORT cvq_card_err cvq_enrol_card_status(cvq_card *card, cvq_card_status *cs);

struct cvq_enrol_run_opts {
	const char *citizen;          /* the citizen's ext_id */
	const char *letter;           /* the PIN letter, or NULL: ./pin-letter-ID.txt */
	int pin_len;                  /* CVQ_ENROL_PIN_MIN..MAX */
	unsigned days;                /* a new card's validity */
	int key_alg;                  /* a new enrolment's (a resumed one keeps its own) */
};

/* What came of it; filled as far as it went. */
struct cvq_enrol_result {
	char guid[33];                /* the card, or "" */
	char holder[64];
	char state[16];               /* the journal's: "enrolling", "active", "failed" */
	int key_alg;
	int64_t expires;
	int step;                     /* the step that stopped it, or -1 */
	bool resumed, already;        /* carried on / was enrolled before */
	unsigned superseded;          /* stray certificates revoked */
	char letter[4096];            /* the PIN letter written */
	char serial[3][67];           /* 9A, 9C, 9E (renew: 9A, 9C) */
	cvq_card_err card_err;        /* with CVQ_ENROL_ERR_CARD / _INTERRUPTED */
	cvq_enrol_err cause;          /* with CVQ_ENROL_ERR_FAILED: what failed */
};

/*
 * Enrol the card of env for o->citizen, or carry on with the enrolment
 * the card's GUID names in the journal; a blank card (or one whose
 * enrolment failed) gets a new GUID. CVQ_ENROL_OK: the card is active
 * (res->already: it was). Otherwise why[] says what happened and what to
 * do: _INTERRUPTED (card gone; journal kept), _ISSUER (the issuing
 * service failed or does not answer: paused, journal kept), _FAILED (for
 * good: the row failed, the card's certificates revoked, the card
 * returned; res->cause), _REFUSED (this card cannot be enrolled here),
 * _NOT_FOUND (no such citizen), _STORE (the journal), _IO (the letter),
 * _CARD (res->card_err, before anything was changed).
 */
CVQ_EXPORT cvq_enrol_err cvq_enrol_run(const struct cvq_enrol_env *env,
                                       const struct cvq_enrol_run_opts *o,
                                       struct cvq_enrol_result *res, char *why, size_t why_len);

/* The holder's PIN for a renewal, asked when the card is known to be
 * renewable and before any card transaction (pinentry may take time).
 * An error ends the renewal with it. */
typedef cvq_enrol_err (*cvq_enrol_pin_cb)(void *ctx, char *pin, size_t cap);

/*
 * New 9A and 9C keys and certificates on the card of env (its holder's
 * PIN from pin_cb for the proof of possession), then the card's good
 * certificates not on it revoked as superseded. Run again after an
 * interruption: the end is the same. _NOT_FOUND: blank, or not enrolled
 * here; _REFUSED: its enrolment is not finished; _INVALID: the CA says it
 * is lost, stolen, ...; _CARD: res->card_err (CVQ_CARD_ERR_PIN_WRONG: why
 * says the tries left).
 */
CVQ_EXPORT cvq_enrol_err cvq_enrol_renew(const struct cvq_enrol_env *env, cvq_enrol_pin_cb pin_cb,
                                         void *pin_ctx, struct cvq_enrol_result *res, char *why,
                                         size_t why_len);

struct cvq_enrol_unblock_opts {
	const char *citizen;          /* whose card the staff say it is (checked) */
	const char *letter;           /* or NULL: ./pin-letter-ID.txt */
	int pin_len;
};

/*
 * A new random PIN set on the card of env with the PUK the city keeps
 * sealed (RESET RETRY COUNTER), a new PIN letter. Only for an active card
 * of o->citizen (_REFUSED otherwise).
 */
CVQ_EXPORT cvq_enrol_err cvq_enrol_unblock(const struct cvq_enrol_env *env,
                                           const struct cvq_enrol_unblock_opts *o,
                                           struct cvq_enrol_result *res, char *why,
                                           size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
