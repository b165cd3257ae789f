/*
 * cvq pkcs11 — PKCS#11 URIs (RFC 7512).
 *
 *   pkcs11:token=cvq-ca;object=ca-key;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
 *
 * Path attributes: token, manufacturer, serial, model, library-manufacturer,
 * library-description, library-version, slot-description, slot-manufacturer,
 * slot-id, object, id, type. Query attributes: module-path, module-name,
 * pin-source, pin-value. Vendor attributes ("x-…") are accepted and ignored;
 * any other attribute, a repeated path attribute, a bad %-escape or a raw
 * byte outside the RFC's character set is a parse error.
 *
 * Values are stored %-decoded. `id` is binary (it may hold NUL bytes); the
 * others are NUL-terminated text. A `pin-value` is kept only in the parsed
 * object, wiped on free, and never printed: cvq_p11_uri_format() leaves it
 * out, so its output is safe for logs.
 *
 * Thread safety: a parsed URI is immutable; it may be read from several
 * threads at once. Nothing here has global state.
 */
#ifndef CVQ_P11_URI_H
#define CVQ_P11_URI_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <cvq/p11.h>   /* cvq_p11_err */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_p11_uri_attr {
	CVQ_P11_URI_TOKEN = 0,
	CVQ_P11_URI_MANUFACTURER,
	CVQ_P11_URI_SERIAL,
	CVQ_P11_URI_MODEL,
	CVQ_P11_URI_LIBRARY_MANUFACTURER,
	CVQ_P11_URI_LIBRARY_DESCRIPTION,
	CVQ_P11_URI_LIBRARY_VERSION,
	CVQ_P11_URI_SLOT_DESCRIPTION,
	CVQ_P11_URI_SLOT_MANUFACTURER,
	CVQ_P11_URI_SLOT_ID,
	CVQ_P11_URI_OBJECT,
	CVQ_P11_URI_ID,
	CVQ_P11_URI_TYPE,
	/* query attributes */
	CVQ_P11_URI_MODULE_PATH,
	CVQ_P11_URI_MODULE_NAME,
	CVQ_P11_URI_PIN_SOURCE,
	CVQ_P11_URI_PIN_VALUE,
	CVQ_P11_URI__COUNT
} cvq_p11_uri_attr;

/* Object class named by `type=`. */
typedef enum cvq_p11_uri_type {
	CVQ_P11_URI_TYPE_ANY = 0,   /* no type attribute */
	CVQ_P11_URI_TYPE_PRIVATE,
	CVQ_P11_URI_TYPE_PUBLIC,
	CVQ_P11_URI_TYPE_CERT,
	CVQ_P11_URI_TYPE_SECRET_KEY,
	CVQ_P11_URI_TYPE_DATA,
} cvq_p11_uri_type;

typedef struct cvq_p11_uri cvq_p11_uri;

/* Parse `text` (at most 8192 bytes). *out is NULL on error. */
CVQ_EXPORT cvq_p11_err cvq_p11_uri_parse(const char *text, cvq_p11_uri **out);

/* Free and wipe (pin-value included). NULL is a no-op. */
CVQ_EXPORT void cvq_p11_uri_free(cvq_p11_uri *uri);

/*
 * The decoded value of an attribute, NUL-terminated, or NULL when absent.
 * *len (if len is not NULL) gets its length without the NUL; use it for
 * CVQ_P11_URI_ID, whose bytes are binary.
 */
CVQ_EXPORT const char *cvq_p11_uri_get(const cvq_p11_uri *uri, cvq_p11_uri_attr attr,
                            size_t *len);

CVQ_EXPORT cvq_p11_uri_type cvq_p11_uri_get_type(const cvq_p11_uri *uri);

/* slot-id as a number; false when absent. */
CVQ_EXPORT bool cvq_p11_uri_slot_id(const cvq_p11_uri *uri, unsigned long *slot_id);

/*
 * Does a token match the URI's token attributes (token, manufacturer,
 * serial, model)? Absent URI attributes match anything. Token strings may
 * be given blank-padded as PKCS#11 returns them, or trimmed; NULL = "".
 */
CVQ_EXPORT bool cvq_p11_uri_match_token(const cvq_p11_uri *uri, const char *label,
                             const char *manufacturer, const char *model,
                             const char *serial);

/* Does an object match object=, id= (and the slot-id, if given)? */
CVQ_EXPORT bool cvq_p11_uri_match_object(const cvq_p11_uri *uri, const char *label,
                              const unsigned char *id, size_t id_len);

/*
 * Write the URI back in canonical form (attributes in the order of
 * cvq_p11_uri_attr, values %-encoded), WITHOUT pin-value: safe to log.
 * Returns CVQ_P11_ERR_TOO_SMALL if it does not fit in cap bytes.
 */
CVQ_EXPORT cvq_p11_err cvq_p11_uri_format(const cvq_p11_uri *uri, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
