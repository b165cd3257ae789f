/*
 * cvq-admin card — readers and cards: readers, watch, info, pin, reset,
 * sign. Enrolment (`card enrol`) is issue #7's and plugs in here.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card_admin.h"
#include "cvq/util.h"
#include "enrol.h" /* issue #7: enrol, renew, lost, unblock, show ... */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: cvq-admin [--json] card COMMAND [OPTIONS]\n\n"
	        "  readers                          list readers and whether a card is in\n"
	        "  watch [--count N] [--timeout S]  print reader and card events as they happen\n"
	        "  info [--reader R] [--trust FILE]  ATR, GUID, objects, certificates, PIN/PUK tries,\n"
	        "                                   authentic or not (CHUID, Security Object, 9E)\n"
	        "  pin verify|change|unblock [--reader R] [--puk]\n"
	        "      [--pin-source SRC] [--new-pin-source SRC]\n"
	        "  reset [--reader R] --yes         factory reset (cards that have one)\n"
	        "  sign --slot 9a|9c [--reader R] [--in FILE] [--out FILE] [--pin-source SRC]\n"
	        "                                   sign SHA-256(FILE) with the card\n"
	        "\nissuance and after-care (cvq-admin card COMMAND --help for each):\n"
	        "  master-key                       create the cards' master secret (CA side)\n"
	        "  enrol --citizen ID [--reader R]  turn a blank card into a citizen's card\n"
	        "  enrol-batch                      enrol a list of citizens on several readers\n"
	        "  renew                            new keys and certificates, old ones superseded\n"
	        "  lost|stolen|destroyed GUID       revoke everything on the card, new CRL\n"
	        "  unblock                          unblock a blocked PIN (PUK kept by the city)\n"
	        "  show                             the card's record, certificates and journal\n"
	        "  content-signer init|show         the signer of the cards' CHUID and Security\n"
	        "                                   Object, made by two officers\n\n"
	        "PIN sources: tty (default: the terminal, no echo), fd:N, file:PATH\n"
	        "(mode 0600), pinentry:PROGRAM. PINs are never taken from the command line.\n");
}

int
card_admin_open(const char *reader, struct card_session *s)
{
	cvq_card_err err;

	memset(s, 0, sizeof(*s));
	err = cvq_card_ctx_new(&s->ctx);
	if (err)
		return card_admin_fail("PC/SC", err, -1);
	err = reader != NULL ? cvq_card_connect(s->ctx, reader, &s->card)
	                     : cvq_card_connect_any(s->ctx, &s->card);
	if (err) {
		cvq_card_ctx_free(s->ctx);
		s->ctx = NULL;
		return card_admin_fail(reader != NULL ? reader : "no card", err, -1);
	}
	return CVQ_ADMIN_EXIT_OK;
}

void
card_admin_close(struct card_session *s, bool reset)
{
	cvq_card_disconnect(s->card, reset);
	cvq_card_ctx_free(s->ctx);
	memset(s, 0, sizeof(*s));
}

int
card_admin_fail(const char *what, cvq_card_err err, int tries_left)
{
	if ((err == CVQ_CARD_ERR_PIN_WRONG) && tries_left >= 0)
		cvq_admin_error("%s: %s (%d tries left)", what, cvq_card_strerror(err),
		                tries_left);
	else
		cvq_admin_error("%s: %s", what, cvq_card_strerror(err));
	switch (err) {
	case CVQ_CARD_ERR_PIN_WRONG:
	case CVQ_CARD_ERR_PIN_BLOCKED:
	case CVQ_CARD_ERR_PIN_FORMAT:
	case CVQ_CARD_ERR_NOT_VERIFIED:
		return CVQ_ADMIN_EXIT_PIN;
	case CVQ_CARD_ERR_NO_SERVICE:
	case CVQ_CARD_ERR_NO_READER:
	case CVQ_CARD_ERR_NO_CARD:
	case CVQ_CARD_ERR_CARD_REMOVED:
	case CVQ_CARD_ERR_CARD_CHANGED:
		return CVQ_ADMIN_EXIT_NO_CARD;
	case CVQ_CARD_ERR_NOT_FOUND:
		return CVQ_ADMIN_EXIT_NOT_FOUND;
	default:
		return CVQ_ADMIN_EXIT_FAIL;
	}
}

int
card_admin_secret(const char *source, const char *prompt, char *buf, size_t cap)
{
	cvq_util_err err = cvq_secret_read(source, prompt, buf, cap);

	if (err) {
		OPENSSL_cleanse(buf, cap);
		cvq_admin_error("%s %s", prompt, cvq_util_strerror(err));
		return err == CVQ_UTIL_ERR_ARG ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_PIN;
	}
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_admin_cmd_card(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct {
		const char *name;
		cvq_admin_group_fn run;
	} cmds[] = {
		{"readers", card_cmd_readers},
		{"watch", card_cmd_watch},
		{"info", card_cmd_info},
		{"pin", card_cmd_pin},
		{"reset", card_cmd_reset},
		{"sign", card_cmd_sign},
		{"content-signer", card_cmd_content_signer},
	};
	size_t i;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1, opts);
	/* issue #7 (enrol*.c, card_care.c): issuance and after-care. */
	if (cvq_admin_card_is_enrol_cmd(argv[1]))
		return cvq_admin_card_enrol_dispatch(argc, argv, opts);
	cvq_admin_error("card: unknown command '%s'", argv[1]);
	usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
