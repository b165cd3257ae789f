/* libcvqcades — error messages and version. */
#include <cvq/cades.h>
#include <cvq/cades_version.h>

#define STR2(x) #x
#define STR(x) STR2(x)

static const char *const msgs[CVQ_CADES_ERR__COUNT] = {
	[CVQ_CADES_OK] = "success",
	[CVQ_CADES_ERR_ARG] = "invalid argument",
	[CVQ_CADES_ERR_NOMEM] = "out of memory",
	[CVQ_CADES_ERR_CRYPTO] = "cryptographic operation failed",
	[CVQ_CADES_ERR_SIGNER] = "the signer failed",
	[CVQ_CADES_ERR_FORMAT] = "not a one-signer CMS SignedData",
	[CVQ_CADES_ERR_NET] = "timestamp authority unreachable or too slow",
	[CVQ_CADES_ERR_HTTP] = "timestamp authority gave no timestamp reply",
	[CVQ_CADES_ERR_TSA_REFUSED] = "timestamp authority refused the request",
	[CVQ_CADES_ERR_TSA_TOKEN] = "timestamp token does not match or does not verify",
};

const char *
cvq_cades_strerror(cvq_cades_err err)
{
	return (unsigned)err < CVQ_CADES_ERR__COUNT ? msgs[err] : "unknown error";
}

const char *
cvq_cades_version(void)
{
	return STR(CVQ_CADES_VERSION_MAJOR) "." STR(CVQ_CADES_VERSION_MINOR) "." STR(CVQ_CADES_VERSION_PATCH);
}
