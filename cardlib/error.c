/* Error strings for cvq_card_err. */
#include <stddef.h>

#include "cvq/card_error.h"

static const char *const messages[CVQ_CARD_ERR__COUNT] = {
	[CVQ_CARD_OK] = "success",
	[CVQ_CARD_ERR_ARG] = "invalid argument",
	[CVQ_CARD_ERR_NOMEM] = "out of memory",
	[CVQ_CARD_ERR_BUFFER] = "buffer too small",
	[CVQ_CARD_ERR_TLV] = "malformed BER-TLV data",
	[CVQ_CARD_ERR_NOT_FOUND] = "not found",
	[CVQ_CARD_ERR_INTERNAL] = "internal error",
	[CVQ_CARD_ERR_PCSC] = "PC/SC error",
	[CVQ_CARD_ERR_NO_SERVICE] = "PC/SC service (pcscd) not available",
	[CVQ_CARD_ERR_NO_READER] = "no such reader",
	[CVQ_CARD_ERR_NO_CARD] = "no card in the reader",
	[CVQ_CARD_ERR_CARD_REMOVED] = "the card was removed",
	[CVQ_CARD_ERR_CARD_CHANGED] = "a different card is in the reader",
	[CVQ_CARD_ERR_TIMEOUT] = "timed out",
	[CVQ_CARD_ERR_CANCELLED] = "cancelled",
	[CVQ_CARD_ERR_SW] = "the card refused the command",
	[CVQ_CARD_ERR_NOT_PIV] = "the card has no PIV application",
	[CVQ_CARD_ERR_PIN_WRONG] = "wrong PIN",
	[CVQ_CARD_ERR_PIN_BLOCKED] = "PIN blocked",
	[CVQ_CARD_ERR_PIN_FORMAT] = "PIN has the wrong format",
	[CVQ_CARD_ERR_AUTH] = "management key authentication failed",
	[CVQ_CARD_ERR_SECURITY] = "security status not satisfied",
	[CVQ_CARD_ERR_UNSUPPORTED] = "operation not supported by the card",
	[CVQ_CARD_ERR_CRYPTO] = "cryptographic operation failed",
	[CVQ_CARD_ERR_BAD_DATA] = "the card returned invalid data",
	[CVQ_CARD_ERR_BUSY] = "the card is in use by another application",
	[CVQ_CARD_ERR_COMM] = "communication with the card failed",
	[CVQ_CARD_ERR_NOT_VERIFIED] = "the PIN must be verified first",
};

const char *
cvq_card_strerror(cvq_card_err err)
{
	if ((unsigned)err >= CVQ_CARD_ERR__COUNT || messages[err] == NULL)
		return "unknown error";
	return messages[err];
}
