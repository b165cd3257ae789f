/*
 * cvq-webeid — a native messaging host speaking the protocol of the Web eID
 * browser extension (the "eu.webeid" host), on cvq cards (PIV through
 * cardlib). Internal header: framing and parsing (msg.c, fuzzed), replies
 * (reply.c), configuration (config.c), dialogs (dialog.c), cards
 * (cards.c) and the commands (ops.c).
 *
 * The protocol, as the extension and its official host speak it: every
 * message is a 32-bit length in native byte order, then that many bytes
 * of UTF-8 JSON. The host speaks first, with {"version": "..."}; then it
 * reads one command {"command": ..., "arguments": {...}} of 5 to 8,192
 * bytes, answers it once, and exits.
 *
 * This header is what the fuzz target needs too; host.h adds the cards.
 */
#ifndef CVQ_WEBEID_H
#define CVQ_WEBEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * The Web eID native application version whose protocol we follow: the
 * extension and the library refuse a host whose major version is older
 * than theirs, so the semver we announce is theirs, with ours as build
 * metadata ("2.5.0+cvq.0.1.0").
 */
#define WEBEID_PROTOCOL_VERSION "2.5.0"
#define WEBEID_VERSION WEBEID_PROTOCOL_VERSION "+cvq." CVQ_VERSION
#define WEBEID_APP_URL "https://cvq.invalid/cvq-webeid/releases/" WEBEID_VERSION

#define WEBEID_MSG_MIN 5
#define WEBEID_MSG_MAX 8192
#define WEBEID_ORIGIN_MAX 255
#define WEBEID_NONCE_MIN 44     /* characters: 256 bits in base64 */
#define WEBEID_NONCE_MAX 128
#define WEBEID_LANG_MAX 8

/* Outcomes, each mapped to one of the extension's error codes. */
typedef enum webeid_err {
	WEBEID_OK = 0,
	WEBEID_ERR_ARG,        /* ERR_WEBEID_NATIVE_INVALID_ARGUMENT */
	WEBEID_ERR_CANCELLED,  /* ERR_WEBEID_USER_CANCELLED */
	WEBEID_ERR_TIMEOUT,    /* ERR_WEBEID_USER_TIMEOUT: nobody typed the PIN */
	WEBEID_ERR_FATAL,      /* ERR_WEBEID_NATIVE_FATAL */
	WEBEID_ERR__COUNT
} webeid_err;

/* "ERR_WEBEID_..." for an error (NATIVE_FATAL for anything unknown). */
const char *webeid_err_code(webeid_err e);

typedef enum webeid_cmd_type {
	WEBEID_CMD_GET_SIGNING_CERT,
	WEBEID_CMD_AUTHENTICATE,
	WEBEID_CMD_SIGN,
	WEBEID_CMD_QUIT,
} webeid_cmd_type;

typedef struct webeid_cmd {
	webeid_cmd_type type;
	char origin[WEBEID_ORIGIN_MAX + 1];   /* normalised: host in lower case */
	char nonce[4 * WEBEID_NONCE_MAX + 1]; /* authenticate */
	char lang[WEBEID_LANG_MAX + 1];       /* "" or [a-z]{2,3} */
	/* sign */
	uint8_t hash[64];
	size_t hash_len;
	const EVP_MD *md;
	char hash_name[9];                    /* "SHA-256", as given */
	X509 *cert;                           /* the certificate to sign with */
} webeid_cmd;

void webeid_cmd_clear(webeid_cmd *c);

/*
 * The length of the message that follows a 4-byte header, or WEBEID_ERR_FATAL
 * (with why) when it is outside 5..8,192 bytes.
 */
webeid_err webeid_frame_len(const uint8_t hdr[4], uint32_t *len, char *why, size_t why_len);

/*
 * Parse and check one command exactly as the extension's host does: an
 * object with a "command" string and an "arguments" object holding the
 * command's arguments, all of them, nothing else but an optional "lang".
 * Fuzzed (tests/fuzz/webeid). WEBEID_ERR_ARG with why on any fault.
 */
webeid_err webeid_msg_parse(const uint8_t *buf, size_t len, webeid_cmd *out,
                            char *why, size_t why_len);

/* Checks used by the parser, exposed for the tests. */
bool webeid_origin_normalise(const char *in, char *out, size_t cap);
bool webeid_nonce_ok(const char *nonce);
/* Strict standard base64 (padding optional); *len the decoded size. */
bool webeid_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len);
char *webeid_b64_encode(const uint8_t *in, size_t len);

/* ---- replies (reply.c) ---- */

/* Write one framed message; takes the reference. 0 or -1. */
int webeid_write(int fd, json_t *msg);
/* {"error": {"code": ..., "message": ...}} */
int webeid_write_error(int fd, webeid_err e, const char *message);

/* ---- configuration (config.c) ---- */

typedef struct webeid_config {
	char pinentry[512];
	char localedir[512];
	char language[16];
	int pin_timeout;       /* seconds the PIN dialog stays up; 0 = none */
	int card_prompts;      /* "insert your card" dialogs before giving up */
	unsigned pad_timeout;  /* seconds for a PIN pad entry, 0 = the reader's */
	/* Tokens that are not PIV through PC/SC: a PKCS#11 module ("" = none),
	 * the keys by CKA_ID as in a PKCS#11 URI ("%01" authenticates, "%02" signs). */
	char pkcs11_module[512];
	char pkcs11_auth_id[64];
	char pkcs11_sign_id[64];
} webeid_config;

/* Defaults, then $CVQ_WEBEID_CONFIG or SYSCONFDIR/cvq/webeid.conf if present. */
int webeid_config_load(webeid_config *cfg, char *why, size_t why_len);

#endif
