/* Error strings for cvq_util_err. */
#include <stddef.h>

#include "cvq/util.h"

static const char *const messages[CVQ_UTIL_ERR__COUNT] = {
	[CVQ_UTIL_OK] = "success",
	[CVQ_UTIL_ERR_ARG] = "invalid argument",
	[CVQ_UTIL_ERR_NOMEM] = "out of memory",
	[CVQ_UTIL_ERR_SPAWN] = "the PIN entry program could not be started",
	[CVQ_UTIL_ERR_PROTOCOL] = "the PIN entry program broke the protocol",
	[CVQ_UTIL_ERR_CANCELLED] = "cancelled",
	[CVQ_UTIL_ERR_TIMEOUT] = "timed out",
	[CVQ_UTIL_ERR_TOO_LONG] = "the secret, or the text to show, is too long",
	[CVQ_UTIL_ERR_IO] = "could not read the secret",
	[CVQ_UTIL_ERR_PERM] = "the secret file is readable or writable by others",
	[CVQ_UTIL_ERR_EMPTY] = "empty secret",
	[CVQ_UTIL_ERR_MODE] = "a file is more open than its content allows",
};

const char *
cvq_util_strerror(cvq_util_err err)
{
	if ((unsigned)err >= CVQ_UTIL_ERR__COUNT || messages[err] == NULL)
		return "unknown error";
	return messages[err];
}
