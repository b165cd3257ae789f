/*
 * cvqd — how much of the daemon one caller holds: connections and card
 * operations per uid, so that no client holds the daemon for the others
 * (docs/threat-model.md). Callers that are not allowed share one pool
 * (CVQD_QUOTA_REFUSED): their connections are only ever answered 403.
 */
#ifndef CVQD_QUOTA_H
#define CVQD_QUOTA_H

#include <stdbool.h>
#include <sys/types.h>

#define CVQD_QUOTA_REFUSED ((uid_t)-1)

typedef enum cvqd_quota_kind {
	CVQD_QUOTA_CONN,  /* open connections */
	CVQD_QUOTA_OP,    /* card operations holding or waiting for a card */
} cvqd_quota_kind;

typedef struct cvqd_quota cvqd_quota;

cvqd_quota *cvqd_quota_new(void);
void cvqd_quota_free(cvqd_quota *q);

/* One more for uid when it holds fewer than max: true. Else false, nothing taken. */
bool cvqd_quota_take(cvqd_quota *q, uid_t uid, cvqd_quota_kind kind, unsigned max);
void cvqd_quota_give(cvqd_quota *q, uid_t uid, cvqd_quota_kind kind);
/* What uid holds now (for tests and logs). */
unsigned cvqd_quota_held(cvqd_quota *q, uid_t uid, cvqd_quota_kind kind);

#endif
