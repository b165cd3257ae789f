/* libcvqca — error strings and the per-handle error message. */
#include <stdio.h>

#include "ca_int.h"

static const char *const msgs[CVQ_CA_ERR__COUNT] = {
	[CVQ_CA_OK] = "success",
	[CVQ_CA_ERR_ARG] = "invalid argument",
	[CVQ_CA_ERR_NOMEM] = "out of memory",
	[CVQ_CA_ERR_CONFIG] = "bad or incomplete CA configuration",
	[CVQ_CA_ERR_IO] = "file input/output failed",
	[CVQ_CA_ERR_PERM] = "key or secret file is accessible by group or others",
	[CVQ_CA_ERR_PASSPHRASE] = "missing or wrong passphrase",
	[CVQ_CA_ERR_KEY] = "the CA key cannot be used",
	[CVQ_CA_ERR_STORE] = "the CA store failed",
	[CVQ_CA_ERR_READONLY] = "the CA store is read-only",
	[CVQ_CA_ERR_FULL] = "the disk is full",
	[CVQ_CA_ERR_SCHEMA] = "the CA store was made by a newer version",
	[CVQ_CA_ERR_NOT_FOUND] = "not found",
	[CVQ_CA_ERR_EXISTS] = "already exists",
	[CVQ_CA_ERR_REQUEST] = "malformed request",
	[CVQ_CA_ERR_POP] = "proof of possession failed",
	[CVQ_CA_ERR_POLICY] = "refused by policy",
	[CVQ_CA_ERR_CRYPTO] = "cryptographic operation failed",
	[CVQ_CA_ERR_AUDIT] = "the audit chain is broken",
	[CVQ_CA_ERR_UNSUPPORTED] = "not supported",
	[CVQ_CA_ERR_NET] = "network error",
	[CVQ_CA_ERR_DENIED] = "not allowed to this caller",
};

const char *
cvq_ca_strerror(cvq_ca_err err)
{
	if ((unsigned)err >= CVQ_CA_ERR__COUNT)
		return "unknown error";
	return msgs[err];
}

cvq_ca_err
ca_fail(cvq_ca *ca, cvq_ca_err err, const char *fmt, ...)
{
	va_list ap;

	if (ca) {
		va_start(ap, fmt);
		vsnprintf(ca->errmsg, sizeof(ca->errmsg), fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *
cvq_ca_errmsg(const cvq_ca *ca)
{
	if (!ca || !ca->errmsg[0])
		return "";
	return ca->errmsg;
}
