/*
 * cvq cardlib — error codes.
 *
 * Every public cvq_card_* function that can fail returns a cvq_card_err.
 * CVQ_CARD_OK is zero so that "if (err)" reads naturally.
 */
#ifndef CVQ_CARD_ERROR_H
#define CVQ_CARD_ERROR_H

#include <cvq/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_card_err {
	CVQ_CARD_OK = 0,
	CVQ_CARD_ERR_ARG,          /* a caller passed an invalid argument */
	CVQ_CARD_ERR_NOMEM,        /* allocation failed */
	CVQ_CARD_ERR_BUFFER,       /* output buffer too small */
	CVQ_CARD_ERR_TLV,          /* malformed BER-TLV from the card or caller */
	CVQ_CARD_ERR_NOT_FOUND,    /* tag, object or file not found */
	CVQ_CARD_ERR_INTERNAL,     /* a bug: please report */
	CVQ_CARD_ERR_PCSC,         /* PC/SC failure not covered below */
	CVQ_CARD_ERR_NO_SERVICE,   /* pcscd is not running or went away */
	CVQ_CARD_ERR_NO_READER,    /* no such reader */
	CVQ_CARD_ERR_NO_CARD,      /* no card in the reader */
	CVQ_CARD_ERR_CARD_REMOVED, /* the card was removed during the operation */
	CVQ_CARD_ERR_CARD_CHANGED, /* a different card is now in the reader */
	CVQ_CARD_ERR_TIMEOUT,      /* waiting for an event timed out */
	CVQ_CARD_ERR_CANCELLED,    /* the wait was cancelled by the caller */
	CVQ_CARD_ERR_SW,           /* the card answered an unexpected status word */
	CVQ_CARD_ERR_NOT_PIV,      /* the card has no PIV application */
	CVQ_CARD_ERR_PIN_WRONG,    /* wrong PIN or PUK; see tries left */
	CVQ_CARD_ERR_PIN_BLOCKED,  /* PIN or PUK blocked */
	CVQ_CARD_ERR_PIN_FORMAT,   /* PIN or PUK of the wrong length or alphabet */
	CVQ_CARD_ERR_AUTH,         /* management key authentication failed */
	CVQ_CARD_ERR_SECURITY,     /* security status not satisfied (PIN or mgmt key needed) */
	CVQ_CARD_ERR_UNSUPPORTED,  /* the card does not support this operation */
	CVQ_CARD_ERR_CRYPTO,       /* a host-side cryptographic operation failed */
	CVQ_CARD_ERR_BAD_DATA,     /* the card returned data that makes no sense */
	CVQ_CARD_ERR_BUSY,         /* another application holds the card exclusively */
	CVQ_CARD_ERR_COMM,         /* the reader or card stopped answering (I/O error) */
	CVQ_CARD_ERR_NOT_VERIFIED, /* the operation needs the PIN and it was not given */
	CVQ_CARD_ERR__COUNT
} cvq_card_err;

/* A short English description; never NULL, never contains secrets. */
CVQ_EXPORT const char *cvq_card_strerror(cvq_card_err err);

#ifdef __cplusplus
}
#endif
#endif
