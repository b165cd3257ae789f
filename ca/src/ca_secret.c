/*
 * libcvqca — reading a passphrase source ("file:PATH", "fd:N",
 * "pinentry:PROG", "tty"): one function, so the whole CA reads secrets one
 * way, through common/'s cvq_secret_read().
 */
#include <cvq/util.h>

#include "ca_int.h"

cvq_ca_err
ca_secret_read(const char *source, const char *prompt, char *buf, size_t cap)
{
	if (!source || !buf || cap == 0)
		return CVQ_CA_ERR_PASSPHRASE;
	switch (cvq_secret_read(source, prompt, buf, cap)) {
	case CVQ_UTIL_OK: return CVQ_CA_OK;
	case CVQ_UTIL_ERR_PERM: return CVQ_CA_ERR_PERM;
	case CVQ_UTIL_ERR_NOMEM: return CVQ_CA_ERR_NOMEM;
	case CVQ_UTIL_ERR_IO: return CVQ_CA_ERR_IO;
	case CVQ_UTIL_ERR_ARG: return CVQ_CA_ERR_ARG;
	default: return CVQ_CA_ERR_PASSPHRASE;
	}
}
