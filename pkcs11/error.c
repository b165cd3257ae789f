/* Error strings of libcvqp11. */
#include <cvq/p11.h>

static const char *const messages[CVQ_P11_ERR__COUNT] = {
	[CVQ_P11_OK] = "success",
	[CVQ_P11_ERR_ARG] = "invalid argument",
	[CVQ_P11_ERR_NOMEM] = "out of memory",
	[CVQ_P11_ERR_URI] = "malformed PKCS#11 URI",
	[CVQ_P11_ERR_TOO_SMALL] = "output buffer too small",
	[CVQ_P11_ERR_MODULE] = "PKCS#11 module could not be loaded or initialised",
	[CVQ_P11_ERR_NO_TOKEN] = "no matching token",
	[CVQ_P11_ERR_AMBIGUOUS] = "several tokens or objects match the URI",
	[CVQ_P11_ERR_NO_KEY] = "no matching private key",
	[CVQ_P11_ERR_PIN_INCORRECT] = "incorrect PIN",
	[CVQ_P11_ERR_PIN_LOCKED] = "PIN blocked",
	[CVQ_P11_ERR_PIN_CANCELLED] = "PIN entry cancelled",
	[CVQ_P11_ERR_PIN_SOURCE] = "PIN source unreadable or insecure",
	[CVQ_P11_ERR_PIN_LEN] = "PIN length out of range",
	[CVQ_P11_ERR_NOT_LOGGED_IN] = "not logged in",
	[CVQ_P11_ERR_TOKEN_REMOVED] = "token removed",
	[CVQ_P11_ERR_MECHANISM] = "algorithm not supported by the key or token",
	[CVQ_P11_ERR_SIGN] = "signature failed on the token",
	[CVQ_P11_ERR_KEYGEN] = "key generation failed on the token",
	[CVQ_P11_ERR_READ_ONLY] = "token is read-only",
	[CVQ_P11_ERR_UNSUPPORTED] = "function not supported by the module",
	[CVQ_P11_ERR_DEVICE] = "device or reader error",
	[CVQ_P11_ERR_PKCS11] = "PKCS#11 error",
};

const char *cvq_p11_strerror(cvq_p11_err err)
{
	if ((unsigned)err >= CVQ_P11_ERR__COUNT || messages[err] == NULL)
		return "unknown error";
	return messages[err];
}
