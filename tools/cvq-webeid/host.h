/*
 * cvq-webeid — the host's own parts: dialogs (dialog.c), the candidates on
 * PC/SC and PKCS#11 (cards.c), the commands (ops.c).
 */
#ifndef CVQ_WEBEID_HOST_H
#define CVQ_WEBEID_HOST_H

#include "webeid.h"

/* ---- dialogs (dialog.c): pinentry, French through gettext ---- */

/* The language: lang (the extension's "lang") if given, else the configured one. */
void webeid_i18n_setup(const webeid_config *cfg, const char *lang);
#include <libintl.h>
#define _(s) dgettext("cvqd", s)

webeid_err webeid_dialog_pin(const webeid_config *cfg, const char *desc, const char *error,
                             char *pin, size_t cap);
/* *yes false on "no"; WEBEID_ERR_CANCELLED on Cancel. */
webeid_err webeid_dialog_confirm(const webeid_config *cfg, const char *desc, const char *ok,
                                 const char *cancel, bool *yes);

/* ---- cards (cards.c) ---- */

#include "cvq/card.h"
#include "cvq/p11.h"
#include "cvq/piv.h"

/* The PKCS#11 side: the module, and the PIN handed to its login. */
typedef struct webeid_p11 {
	cvq_p11_ctx *ctx;      /* NULL: no module configured */
	const char *pin;       /* set for one login only */
} webeid_p11;

/* A candidate: a PIV card through PC/SC, or a key on a PKCS#11 token. */
typedef struct webeid_card {
	cvq_card *card;
	cvq_p11_key *key;
	char token_uri[256];   /* key: the token's URI, for login and logout */
	bool protected_auth;   /* key: the token has its own PIN pad */
	X509 *cert;
	char holder[128];   /* the certificate's CN */
	char reader[CVQ_CARD_READER_MAX];
} webeid_card;

/*
 * A card whose slot holds a certificate (equal to want, when given):
 * every reader is looked at; several candidates are offered one by one;
 * none: "insert your card" dialogs (cfg->card_prompts).
 */
webeid_err webeid_card_pick(cvq_card_ctx *ctx, webeid_p11 *p11, const webeid_config *cfg,
                            cvq_card_slot slot,
                            X509 *want, const char *origin, webeid_card *out,
                            char *why, size_t why_len);
void webeid_card_release(webeid_card *c);

/* ---- the commands (ops.c) ---- */

/* Run a command; *result the reply on success. */
webeid_err webeid_run(const webeid_config *cfg, const webeid_cmd *cmd, json_t **result,
                      char *why, size_t why_len);

#endif
