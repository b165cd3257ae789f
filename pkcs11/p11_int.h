/* Internal state of libcvqp11, shared by its source files. */
#ifndef CVQ_P11_INT_H
#define CVQ_P11_INT_H

#include <pthread.h>
#include <stdbool.h>

/*
 * libp11.h names RSA_METHOD and EC_KEY_METHOD, which OpenSSL 3 hides under
 * OPENSSL_NO_DEPRECATED; we never use them, libp11 needs the names only.
 */
#include <openssl/types.h>
#ifdef OPENSSL_NO_DEPRECATED_3_0
typedef struct rsa_meth_st RSA_METHOD;
typedef struct ec_key_method_st EC_KEY_METHOD;
#endif
#include <libp11.h>
#include <p11-kit/pkcs11.h>
#include <openssl/ui.h>

#include <cvq/p11.h>
#include <cvq/uri.h>

#define P11_PIN_MAX 64
#define P11_MAX_SLOTS 64

struct p11_session {
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h;
};

struct p11_slot_state {
	CK_SLOT_ID slot;
	bool present;
};

struct cvq_p11_ctx {
	pthread_mutex_t lock;
	PKCS11_CTX *p11;
	bool p11_loaded;            /* libp11 has the module (and will finalise it) */
	/*
	 * libp11's one slot list for this ctx. Never one per key: when libp11
	 * drops its last reference to a slot it calls C_CloseAllSessions,
	 * which logs the whole process out of that token.
	 */
	PKCS11_SLOT *slots;
	unsigned int nslots;
	/*
	 * Lists replaced by a fresh enumeration (after a login or a token
	 * change), kept until close: releasing them would close every
	 * session, and libp11 0.4.12's PKCS11_update_slots crashes.
	 */
	struct p11_slot_list { PKCS11_SLOT *slots; unsigned int n; } *retired;
	size_t nretired;
	/*
	 * Our own dlopen() of the module libp11 loaded: the same instance, so
	 * the same C_Initialize. libp11 has no public way to reach the function
	 * list, and we need it for what libp11 lacks: raw login (so no PIN is
	 * kept by libp11), token flags, key generation, slot events.
	 */
	void *dl;
	CK_FUNCTION_LIST_PTR fl;
	CK_RV last_rv;
	cvq_p11_pin_fn pin_fn;
	void *pin_ctx;
	UI_METHOD *ui;
	/* one open session per token keeps its login alive */
	struct p11_session sess[P11_MAX_SLOTS];
	size_t nsess;
	/* the PIN asked once for an always-authenticate signature */
	char pending_pin[P11_PIN_MAX];
	bool has_pending;
	pthread_t pending_owner;
	char ui_label[33];          /* token label shown for in-EVP prompts */
	/* slot snapshot for the polling wait */
	struct p11_slot_state snap[P11_MAX_SLOTS];
	size_t nsnap;
	bool snap_valid;
	bool no_wait_fn;            /* module said C_WaitForSlotEvent unsupported */
};

struct cvq_p11_key {
	cvq_p11_ctx *ctx;
	CK_SLOT_ID slot_id;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx;         /* signing context, reused (see sign.c) */
	cvq_p11_sig pctx_alg;
	const EVP_MD *pctx_md;
	EVP_PKEY *pub;
	X509 *cert;
	char *label;
	unsigned char *id;
	size_t id_len;
	bool always_auth;
	bool loaded;                /* false: deferred until login (key_lazy) */
	CK_OBJECT_HANDLE obj;       /* the private key object, for sign_raw.c */
	CK_FLAGS token_flags;       /* CK_TOKEN_INFO.flags when found */
	char token_label[33];
	char token_serial[17];
};

/* error.c */
cvq_p11_err p11_map_rv(CK_RV rv);
/* CK_RV behind the last libp11 failure in OpenSSL's error queue (0: none); clears it. */
CK_RV p11_take_ckr(void);

/* token.c */
void p11_copy_trim(char *dst, size_t cap, const unsigned char *src, size_t n);
cvq_p11_err p11_select_token(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                             CK_SLOT_ID *slot, CK_TOKEN_INFO *ti);
cvq_p11_err p11_session(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                        CK_SESSION_HANDLE *h);
cvq_p11_err p11_session_cached(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                               CK_SESSION_HANDLE *h);
cvq_p11_err p11_session_info(cvq_p11_ctx *ctx, CK_SLOT_ID slot,
                             CK_SESSION_HANDLE *h, CK_SESSION_INFO *info);
void p11_session_drop(cvq_p11_ctx *ctx, CK_SLOT_ID slot);
bool p11_token_gone(cvq_p11_ctx *ctx, CK_SLOT_ID slot);
cvq_p11_err p11_token_info(cvq_p11_ctx *ctx, CK_SLOT_ID slot, CK_TOKEN_INFO *ti);
bool p11_token_gone_settled(cvq_p11_ctx *ctx, CK_SLOT_ID slot);

/* login.c */
bool p11_logged_in(cvq_p11_ctx *ctx, CK_SLOT_ID slot);
cvq_p11_err p11_get_pin(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                        const char *label, char *pin, size_t cap);
cvq_p11_err p11_login_slot(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                           CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                           char *keep_pin, size_t keep_cap);
UI_METHOD *p11_ui_method(void);

/* wait.c */
void p11_wait_init(cvq_p11_ctx *ctx);

/* key.c */
cvq_p11_err p11_key_load(cvq_p11_ctx *ctx, const cvq_p11_uri *u,
                         CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                         bool refresh, cvq_p11_key **out);
cvq_p11_err p11_key_reload(cvq_p11_ctx *ctx, cvq_p11_key *key);
cvq_p11_err p11_key_ensure(cvq_p11_ctx *ctx, cvq_p11_key *key);

/* sign_raw.c */
cvq_p11_err p11_raw_sign(cvq_p11_ctx *ctx, cvq_p11_key *key, cvq_p11_sig alg,
                         const EVP_MD *md, const unsigned char *dig,
                         size_t dig_len, const char *pin,
                         unsigned char *sig, size_t *sig_len);

#endif
