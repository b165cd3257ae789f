/*
 * cvqd — the journal: one SQLite row per authentication and signature
 * (time, client uid and pid, operation, card GUID, reader, SHA-256 of what
 * was signed, result code). Never the PIN: it is not even passed here.
 * WAL mode so that an auditor can read while the daemon writes.
 */
#ifndef CVQD_JOURNAL_H
#define CVQD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct cvqd_journal cvqd_journal;

typedef struct cvqd_journal_entry {
	const char *op;          /* "authenticate" | "sign" */
	uid_t uid;
	pid_t pid;
	const char *card;        /* GUID hex or "" */
	const char *reader;
	const uint8_t *digest;   /* SHA-256 of the signed bytes, or NULL */
	const char *result;      /* "ok" or an error code */
} cvqd_journal_entry;

/* One document sealed (or refused) by POST /v1/seal: table "seal". */
typedef struct cvqd_journal_seal {
	uid_t uid;
	pid_t pid;
	const char *type;        /* the document type the caller gave */
	const char *filename;    /* or NULL */
	const char *format;      /* "pades" | "cades-detached" */
	const char *level;       /* "B-LT"…, or NULL when refused */
	const uint8_t *in_sha256;  /* of the document received */
	const uint8_t *out_sha256; /* of what was answered, or NULL */
	const char *result;      /* "ok" or an error code */
} cvqd_journal_seal;

cvqd_journal *cvqd_journal_open(const char *path, char *err, size_t errlen);
void cvqd_journal_close(cvqd_journal *j);
/* 0 on success; the caller refuses the operation's answer on failure. */
int cvqd_journal_add(cvqd_journal *j, const cvqd_journal_entry *e);
int cvqd_journal_add_seal(cvqd_journal *j, const cvqd_journal_seal *e);

#endif
