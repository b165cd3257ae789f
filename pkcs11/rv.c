/* CK_RV values to cvq_p11_err; CK_RVs out of libp11's error queue entries. */
#include <openssl/err.h>

#include "p11_int.h"

cvq_p11_err p11_map_rv(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return CVQ_P11_OK;
	case CKR_HOST_MEMORY:
		return CVQ_P11_ERR_NOMEM;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
		return CVQ_P11_ERR_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return CVQ_P11_ERR_PIN_LOCKED;
	case CKR_PIN_LEN_RANGE:
		return CVQ_P11_ERR_PIN_LEN;
	case CKR_USER_NOT_LOGGED_IN:
		return CVQ_P11_ERR_NOT_LOGGED_IN;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SESSION_CLOSED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SLOT_ID_INVALID:
		return CVQ_P11_ERR_TOKEN_REMOVED;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_KEY_SIZE_RANGE:
		return CVQ_P11_ERR_MECHANISM;
	case CKR_TOKEN_WRITE_PROTECTED:
	case CKR_SESSION_READ_ONLY:
		return CVQ_P11_ERR_READ_ONLY;
	case CKR_FUNCTION_NOT_SUPPORTED:
		return CVQ_P11_ERR_UNSUPPORTED;
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_MEMORY:
	case CKR_GENERAL_ERROR:
		return CVQ_P11_ERR_DEVICE;
	case CKR_FUNCTION_CANCELED:
		return CVQ_P11_ERR_PIN_CANCELLED;
	default:
		return CVQ_P11_ERR_PKCS11;
	}
}

CK_RV p11_take_ckr(void)
{
	int lib = ERR_get_CKR_code();
	unsigned long e;
	CK_RV rv = CKR_OK;

	while ((e = ERR_get_error()) != 0) {
		/* keep the first one: later entries are consequences */
		if (rv == CKR_OK && lib != 0 && ERR_GET_LIB(e) == lib)
			rv = ERR_GET_REASON(e);
	}
	return rv;
}
