/*
 * cvq-webeid — finding the card: every reader is looked at (a citizen may
 * have a reader with a card of a family member beside hers); several
 * candidates are offered one by one; with none, the citizen is asked to
 * insert a card.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"

#define CANDIDATES_MAX 16

void webeid_card_release(webeid_card *c)
{
	/* Reset: a PIN verified for us must not stay verified for others. */
	cvq_card_disconnect(c->card, true);
	cvq_p11_key_free(c->key);
	X509_free(c->cert);
	memset(c, 0, sizeof(*c));
}

static void holder_of(X509 *cert, char *out, size_t cap)
{
	out[0] = '\0';
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, (int)cap) < 0)
		out[0] = '\0';
}

/* Cards with a certificate in slot (equal to want), at most max of them. */
static size_t scan(cvq_card_ctx *ctx, cvq_card_slot slot, X509 *want, webeid_card *out,
                   size_t max, char *why, size_t why_len)
{
	char **names = NULL;
	size_t n = 0, count = 0, i;
	cvq_card_err e;

	if (!ctx)
		return 0; /* no pcscd, a PKCS#11 module only */
	e = cvq_card_list_readers(ctx, &names, &count);
	if (e != CVQ_CARD_OK) {
		snprintf(why, why_len, "readers: %s", cvq_card_strerror(e));
		return 0;
	}
	for (i = 0; i < count && n < max; i++) {
		webeid_card c = {0};

		if (cvq_card_connect(ctx, names[i], &c.card) != CVQ_CARD_OK)
			continue;
		if (cvq_card_read_cert(c.card, slot, &c.cert) != CVQ_CARD_OK ||
		    (want && X509_cmp(want, c.cert) != 0)) {
			/* Not a PIV card, no such key, or not the certificate asked for. */
			webeid_card_release(&c);
			continue;
		}
		snprintf(c.reader, sizeof(c.reader), "%s", names[i]);
		holder_of(c.cert, c.holder, sizeof(c.holder));
		out[n++] = c;
	}
	cvq_card_readers_free(names);
	return n;
}

/* Tokens of the PKCS#11 module with a key of that id and its certificate. */
static size_t scan_p11(webeid_p11 *p11, const char *id, X509 *want, webeid_card *out, size_t max)
{
	struct cvq_p11_token_info tok[CANDIDATES_MAX];
	size_t count = 0, n = 0, i;
	char uri[sizeof(((webeid_card *)0)->token_uri) + 80];

	if (!p11->ctx || cvq_p11_tokens(p11->ctx, tok, CANDIDATES_MAX, &count) != CVQ_P11_OK)
		return 0;
	for (i = 0; i < count && i < CANDIDATES_MAX && n < max; i++) {
		webeid_card c = {0};
		X509 *x;

		snprintf(c.token_uri, sizeof(c.token_uri), "pkcs11:serial=%s", tok[i].serial);
		snprintf(uri, sizeof(uri), "%s;id=%s", c.token_uri, id);
		if (cvq_p11_key_find(p11->ctx, uri, &c.key) != CVQ_P11_OK)
			continue;
		x = cvq_p11_key_cert(c.key);
		if (!x || (want && X509_cmp(want, x) != 0) || !X509_up_ref(x)) {
			webeid_card_release(&c);
			continue;
		}
		c.cert = x;
		c.protected_auth = tok[i].protected_auth;
		snprintf(c.reader, sizeof(c.reader), "%s", tok[i].label);
		holder_of(c.cert, c.holder, sizeof(c.holder));
		out[n++] = c;
	}
	return n;
}

webeid_err webeid_card_pick(cvq_card_ctx *ctx, webeid_p11 *p11, const webeid_config *cfg,
                            cvq_card_slot slot,
                            X509 *want, const char *origin, webeid_card *out,
                            char *why, size_t why_len)
{
	webeid_card found[CANDIDATES_MAX];
	char desc[900];
	webeid_err e = WEBEID_OK;
	size_t n = 0, i, chosen = CANDIDATES_MAX;
	int prompts = 0;
	bool yes;

	memset(out, 0, sizeof(*out));
	for (;;) {
		n = scan(ctx, slot, want, found, CANDIDATES_MAX, why, why_len);
		n += scan_p11(p11, slot == CVQ_CARD_SLOT_SIGN ? cfg->pkcs11_sign_id : cfg->pkcs11_auth_id,
		              want, found + n, CANDIDATES_MAX - n);
		if (n > 0)
			break;
		if (prompts++ >= cfg->card_prompts) {
			snprintf(why, why_len, want ? "no card holds the certificate to sign with"
			                            : "no card with a certificate");
			return WEBEID_ERR_FATAL;
		}
		snprintf(desc, sizeof(desc),
		         want ? _("Insert the card whose certificate %s asked to sign with, then confirm.")
		              : _("Insert your citizen card in the reader to continue with %s, then confirm."),
		         origin);
		e = webeid_dialog_confirm(cfg, desc, _("Continue"), _("Cancel"), &yes);
		if (e != WEBEID_OK)
			return e;
		if (!yes)
			return WEBEID_ERR_CANCELLED;
	}
	if (n == 1) {
		chosen = 0;
	} else {
		/* One by one: a pinentry has two buttons, not a list. */
		for (i = 0; i < n && chosen == CANDIDATES_MAX; i++) {
			snprintf(desc, sizeof(desc),
			         _("Several cards are present (%zu of %zu). Use the card of %s in the reader %s for %s?"),
			         i + 1, n, found[i].holder[0] ? found[i].holder : "?", found[i].reader, origin);
			e = webeid_dialog_confirm(cfg, desc, _("Use this card"),
			                          i + 1 < n ? _("Next card") : _("Cancel"), &yes);
			if (e == WEBEID_ERR_CANCELLED && i + 1 < n)
				e = WEBEID_OK; /* the second button means "next" until the last card */
			if (e != WEBEID_OK)
				break;
			if (yes)
				chosen = i;
		}
		if (e == WEBEID_OK && chosen == CANDIDATES_MAX)
			e = WEBEID_ERR_CANCELLED;
	}
	for (i = 0; i < n; i++) {
		if (i == chosen)
			*out = found[i];
		else
			webeid_card_release(&found[i]);
	}
	return e;
}
