/*
 * cvqd — error codes. Each has a stable API code string (the "code" of
 * {"error": {"code", "message"}}) and an HTTP status; docs/api.md lists
 * them. Never rename a code: portals match on it.
 */
#ifndef CVQD_ERROR_H
#define CVQD_ERROR_H

typedef enum cvqd_err {
	CVQD_OK = 0,
	CVQD_ERR_NOMEM,
	CVQD_ERR_INTERNAL,
	CVQD_ERR_BAD_REQUEST,        /* malformed JSON or missing/invalid field */
	CVQD_ERR_BODY_TOO_LARGE,
	CVQD_ERR_NOT_FOUND,          /* unknown path */
	CVQD_ERR_METHOD,             /* method not allowed on this path */
	CVQD_ERR_FORBIDDEN,          /* caller uid/gid not allowed */
	CVQD_ERR_UNSUPPORTED_MEDIA,  /* body is not application/json */
	CVQD_ERR_NO_CARD,            /* no card came within the wait */
	CVQD_ERR_CARD_REMOVED,       /* card pulled out during the operation */
	CVQD_ERR_CARD,               /* card or reader failure */
	CVQD_ERR_NO_SERVICE,         /* pcscd not reachable */
	CVQD_ERR_BUSY,               /* queue wait for the card timed out */
	CVQD_ERR_PIN_WRONG,
	CVQD_ERR_PIN_BLOCKED,
	CVQD_ERR_PIN_FORMAT,         /* PIN of the wrong length: no try spent */
	CVQD_ERR_PIN_CANCELLED,      /* holder closed the PIN dialog */
	CVQD_ERR_PIN_TIMEOUT,
	CVQD_ERR_PINENTRY,           /* the PIN dialog could not be shown */
	CVQD_ERR_CLIENT_GONE,        /* the API client went away */
	CVQD_ERR_CERT_REVOKED,
	CVQD_ERR_CERT_UNTRUSTED,     /* no chain to a trust anchor */
	CVQD_ERR_CERT_EXPIRED,       /* not valid at the relevant time */
	CVQD_ERR_CRL_UNAVAILABLE,    /* no current CRL for the issuer */
	CVQD_ERR_BAD_SIGNATURE,      /* receipt signature does not verify */
	CVQD_ERR_BAD_RECEIPT,        /* not a CMS SignedData receipt of ours */
	CVQD_ERR_JOURNAL,            /* the journal could not record: refused */
	CVQD_ERR_SHUTTING_DOWN,
	CVQD_ERR_TSA_UNAVAILABLE,    /* no signature timestamp, and [tsa] unavailable = refuse */
	CVQD_ERR_TOO_MANY,           /* the caller holds its share of card operations */
	CVQD_ERR_SEAL_OFF,           /* POST /v1/seal on a daemon without [seal] */
	CVQD_ERR_DOCUMENT,           /* a PDF the seal refuses (unreadable, encrypted…) */
	CVQD_ERR_SEAL_FAILED,        /* the seal key or its CRLs failed */
	CVQD_ERR__COUNT
} cvqd_err;

/* Stable machine code, e.g. "pin_wrong". */
const char *cvqd_err_code(cvqd_err e);
/* Short English description. */
const char *cvqd_strerror(cvqd_err e);
/* HTTP status to answer with. */
unsigned cvqd_err_http_status(cvqd_err e);

#endif
