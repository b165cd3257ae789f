/*
 * cvq pkcs11 — keys in HSMs and tokens through libp11 and PKCS#11.
 *
 * One cvq_p11_ctx is one loaded PKCS#11 module. Keys are named by RFC 7512
 * URIs (see <cvq/uri.h>). A found key gives an OpenSSL EVP_PKEY whose
 * private operations run on the token (libp11's RSA/EC methods), so it
 * works wherever OpenSSL takes a key: X509_sign, X509_CRL_sign,
 * OCSP_basic_sign, CMS_sign, EVP_DigestSign (checked on OpenSSL 3.0).
 *
 * PINs. A URI carrying a pin-value is refused at login
 * (CVQ_P11_ERR_PIN_SOURCE): its URIs come from argv and configuration
 * files, where a PIN must never be. Login takes the PIN from the URI's
 * pin-source (a file path, "file:PATH", or any other source
 * cvq_secret_read() knows: "fd:N", "pinentry:PROG", "tty"), else the
 * caller's PIN callback (cvq_pinentry_getpin() makes a good one). When the token has a protected authentication path (PIN pad),
 * no PIN is asked: the callback is called once with buf == NULL and
 * cap == 0 so the caller can tell the user to type on the reader; its
 * return value is ignored. PINs are wiped after use and never logged;
 * libp11 is never given a PIN to keep.
 *
 * Keys with CKA_ALWAYS_AUTHENTICATE (PIV 9C through OpenSC) need a
 * context-specific login right before each signature. cvq_p11_sign() asks
 * ONE PIN per signature and uses it for both the user login (if the token
 * is not logged in yet) and the context-specific login. When the
 * EVP_PKEY is used directly (X509_sign…), the PIN callback is called from
 * inside the signature for the context-specific login.
 *
 * Thread safety:
 *   - Every cvq_p11_* call on one ctx, and on keys found through it, takes
 *     the ctx's mutex: those calls are serialized, any thread may make them.
 *   - The module is initialised WITHOUT locking arguments (OpenSC 0.23
 *     deadlocks on card removal with OS locking), so it does no locking of
 *     its own: an EVP_PKEY from cvq_p11_key_pkey() (X509_sign…) must not be
 *     used while another thread uses the same ctx or another of its keys.
 *     Simplest: one thread per ctx at a time, or a caller-side mutex
 *     around OpenSSL calls with token keys.
 *   - The PIN callback runs on the calling thread; it must not call back
 *     into this library.
 *   - Load a given module once per process: a second cvq_p11_open() of the
 *     same module fails with CVQ_P11_ERR_MODULE (C_Initialize says it is
 *     already initialised), and other users of the module in the process
 *     (another library initialising it) make the first one fail likewise.
 *   - Free every key before closing its ctx.
 */
#ifndef CVQ_P11_H
#define CVQ_P11_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_p11_err {
	CVQ_P11_OK = 0,
	CVQ_P11_ERR_ARG,            /* invalid argument */
	CVQ_P11_ERR_NOMEM,          /* out of memory */
	CVQ_P11_ERR_URI,            /* malformed PKCS#11 URI */
	CVQ_P11_ERR_TOO_SMALL,      /* output buffer too small */
	CVQ_P11_ERR_MODULE,         /* the module could not be loaded or initialised */
	CVQ_P11_ERR_NO_TOKEN,       /* no token matches */
	CVQ_P11_ERR_AMBIGUOUS,      /* several tokens or keys match: say more in the URI */
	CVQ_P11_ERR_NO_KEY,         /* no key matches */
	CVQ_P11_ERR_PIN_INCORRECT,  /* wrong PIN (see cvq_p11_pin_status for tries left) */
	CVQ_P11_ERR_PIN_LOCKED,     /* PIN blocked: no tries left */
	CVQ_P11_ERR_PIN_CANCELLED,  /* the PIN callback gave no PIN */
	CVQ_P11_ERR_PIN_SOURCE,     /* pin-source file unreadable or insecure */
	CVQ_P11_ERR_PIN_LEN,        /* PIN length outside the token's range */
	CVQ_P11_ERR_NOT_LOGGED_IN,  /* operation needs a login */
	CVQ_P11_ERR_TOKEN_REMOVED,  /* the token was removed (find the key again) */
	CVQ_P11_ERR_MECHANISM,      /* algorithm not supported by key or token */
	CVQ_P11_ERR_SIGN,           /* the token refused or failed to sign */
	CVQ_P11_ERR_KEYGEN,         /* the token refused or failed key generation */
	CVQ_P11_ERR_READ_ONLY,      /* token or session is read-only */
	CVQ_P11_ERR_UNSUPPORTED,    /* the module lacks this function */
	CVQ_P11_ERR_DEVICE,         /* device or reader error */
	CVQ_P11_ERR_PKCS11,         /* other PKCS#11 error: cvq_p11_last_rv() */
	CVQ_P11_ERR__COUNT
} cvq_p11_err;

CVQ_EXPORT const char *cvq_p11_strerror(cvq_p11_err err);

typedef struct cvq_p11_ctx cvq_p11_ctx;
typedef struct cvq_p11_key cvq_p11_key;

/*
 * The PIN source. Write the PIN NUL-terminated into buf[0..cap) and return
 * 0; return non-zero to cancel. token_label is the token's label (trimmed).
 * Called with buf == NULL, cap == 0 for a PIN-pad token (see above).
 */
typedef int (*cvq_p11_pin_fn)(void *ctx, const char *token_label,
                              char *buf, size_t cap);

/* ---- module ---------------------------------------------------------- */

/* Load and initialise a PKCS#11 module (a path to a .so). */
CVQ_EXPORT cvq_p11_err cvq_p11_open(const char *module_path, cvq_p11_ctx **out);

/*
 * Same, with the module taken from the URI's module-path, or its
 * module-name (NAME.so or libNAME.so in p11-kit's module directory, then
 * the library directory).
 */
CVQ_EXPORT cvq_p11_err cvq_p11_open_uri(const char *uri, cvq_p11_ctx **out);

/* Finalise and unload. Free the keys first. NULL is a no-op. */
CVQ_EXPORT void cvq_p11_close(cvq_p11_ctx *ctx);

CVQ_EXPORT void cvq_p11_set_pin_callback(cvq_p11_ctx *ctx, cvq_p11_pin_fn fn,
                              void *fn_ctx);

/* The CK_RV of the last failed PKCS#11 call on this ctx (0 = none). */
CVQ_EXPORT unsigned long cvq_p11_last_rv(const cvq_p11_ctx *ctx);

/* ---- slots and tokens ------------------------------------------------ */

struct cvq_p11_token_info {
	unsigned long slot_id;
	char slot_description[65];
	char label[33];             /* trimmed of PKCS#11's blank padding */
	char manufacturer[33];
	char model[17];
	char serial[17];
	bool removable;             /* the slot's device is removable */
	bool login_required;        /* CKF_LOGIN_REQUIRED */
	bool protected_auth;        /* CKF_PROTECTED_AUTHENTICATION_PATH: PIN pad */
	bool write_protected;       /* CKF_WRITE_PROTECTED */
};

/*
 * The tokens present now. Fills up to cap entries; *n gets the number of
 * tokens present (may exceed cap).
 */
CVQ_EXPORT cvq_p11_err cvq_p11_tokens(cvq_p11_ctx *ctx, struct cvq_p11_token_info *out,
                           size_t cap, size_t *n);

/*
 * PIN state of a token, from its CKF_USER_PIN_* flags. PKCS#11 has no
 * counter: tries_left is 0 (locked), 1 (final try) or -1 (unknown; then
 * count_low says whether a wrong PIN was entered since the last good one).
 */
struct cvq_p11_pin_status {
	int tries_left;
	bool count_low;
	bool final_try;
	bool locked;
	bool to_be_changed;
};

/* `uri` names the token (module-path and object attributes ignored). */
CVQ_EXPORT cvq_p11_err cvq_p11_pin_status(cvq_p11_ctx *ctx, const char *uri,
                               struct cvq_p11_pin_status *st);

/* User login on the token the URI names; no-op if already logged in. */
CVQ_EXPORT cvq_p11_err cvq_p11_login(cvq_p11_ctx *ctx, const char *uri);
CVQ_EXPORT cvq_p11_err cvq_p11_logout(cvq_p11_ctx *ctx, const char *uri);

/*
 * Wait up to timeout_ms (-1: forever) for a token to be inserted or
 * removed. C_WaitForSlotEvent(CKF_DONT_BLOCK) where the module has it,
 * plus a comparison of slot snapshots (the only source where the module
 * lacks it), every 50 ms: never a blocking module call, which only
 * C_Finalize could end.
 * On an event: CVQ_P11_OK, *slot_id and *present (token now present?).
 * An event may be reported twice (module and snapshot both saw it): treat
 * it as "look at this slot again". A card swapped between two calls shows
 * as an event with *present true where the module reports it.
 * On timeout: CVQ_P11_ERR_NO_TOKEN with *slot_id untouched.
 */
CVQ_EXPORT cvq_p11_err cvq_p11_wait(cvq_p11_ctx *ctx, int timeout_ms,
                         unsigned long *slot_id, bool *present);

/* ---- keys ------------------------------------------------------------ */

/*
 * Find the private key the URI names (type=private implied) on the one
 * matching token. Several matching keys or tokens: CVQ_P11_ERR_AMBIGUOUS.
 * When the token hides its private keys until login:
 *   - URI with id= (and no object=, pin-value, pin-source) and a
 *     certificate with that id visible (cards through OpenSC): no login
 *     now; the key is loaded at its first signature, which asks one PIN
 *     (also for an always-authenticate key). Until then
 *     cvq_p11_key_label() is "" and always_authenticate() is false.
 *   - otherwise: login now (the PIN source is asked).
 */
CVQ_EXPORT cvq_p11_err cvq_p11_key_find(cvq_p11_ctx *ctx, const char *uri,
                             cvq_p11_key **out);

CVQ_EXPORT void cvq_p11_key_free(cvq_p11_key *key);

/*
 * The private key as an EVP_PKEY that signs on the token (libp11's
 * methods): works with X509_sign, X509_CRL_sign, OCSP_basic_sign,
 * CMS_sign, EVP_DigestSign. Borrowed: valid until cvq_p11_key_free() or
 * until a cvq_p11_sign() on this key had to log in again (it then takes
 * fresh libp11 objects); EVP_PKEY_up_ref() it to keep it longer, never
 * past cvq_p11_close(). Loads a deferred key (login: may ask the PIN);
 * NULL on failure.
 */
CVQ_EXPORT EVP_PKEY *cvq_p11_key_pkey(cvq_p11_key *key);

/* The public key (borrowed, no token needed to use it). */
CVQ_EXPORT EVP_PKEY *cvq_p11_key_public(const cvq_p11_key *key);

/* The certificate with the same CKA_ID on the token, or NULL (borrowed). */
CVQ_EXPORT X509 *cvq_p11_key_cert(const cvq_p11_key *key);

CVQ_EXPORT const char *cvq_p11_key_label(const cvq_p11_key *key);
CVQ_EXPORT const unsigned char *cvq_p11_key_id(const cvq_p11_key *key, size_t *len);
CVQ_EXPORT unsigned long cvq_p11_key_slot_id(const cvq_p11_key *key);
CVQ_EXPORT bool cvq_p11_key_always_authenticate(const cvq_p11_key *key);

/* A URI naming this key (token, serial, object, id; no PIN): log-safe. */
CVQ_EXPORT cvq_p11_err cvq_p11_key_uri(const cvq_p11_key *key, char *buf, size_t cap);

typedef enum cvq_p11_sig {
	CVQ_P11_SIG_ECDSA = 0,      /* DER SEQUENCE{r,s} */
	CVQ_P11_SIG_RSA_PKCS1,      /* RSASSA-PKCS1-v1_5 */
	CVQ_P11_SIG_RSA_PSS,        /* RSASSA-PSS, MGF1 with md, salt = digest size */
} cvq_p11_sig;

/*
 * Hash msg with md (NULL = SHA-256) and sign on the token. sig and *sig_len:
 * buffer and capacity in, length out; sig == NULL asks the size.
 * An always-authenticate key costs one PIN prompt per call.
 */
CVQ_EXPORT cvq_p11_err cvq_p11_sign(cvq_p11_key *key, cvq_p11_sig alg, const EVP_MD *md,
                         const unsigned char *msg, size_t msg_len,
                         unsigned char *sig, size_t *sig_len);

typedef enum cvq_p11_keytype {
	CVQ_P11_KEY_EC_P256 = 0,
	CVQ_P11_KEY_EC_P384,
	CVQ_P11_KEY_RSA_2048,
	CVQ_P11_KEY_RSA_3072,
	CVQ_P11_KEY_RSA_4096,
} cvq_p11_keytype;

/*
 * Generate a key pair on the token the URI names (login as needed): a
 * private key that is sensitive, not extractable, for signing only, and
 * its public key, both with the given label and CKA_ID. The new key is
 * returned in *out (NULL allowed).
 */
CVQ_EXPORT cvq_p11_err cvq_p11_keygen(cvq_p11_ctx *ctx, const char *token_uri,
                           cvq_p11_keytype type, const char *label,
                           const unsigned char *id, size_t id_len,
                           cvq_p11_key **out);

#ifdef __cplusplus
}
#endif
#endif
