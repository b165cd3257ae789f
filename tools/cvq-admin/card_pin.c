/*
 * cvq-admin card pin verify|change|unblock, card reset.
 *
 * PINs are read before the card is touched (no PC/SC transaction is held
 * while someone types) from tty, fd:N, file:PATH or pinentry:PROG, kept
 * in stack buffers wiped on every path, never printed. `pin verify` on a
 * PIN-pad reader (no --pin-source, or --pin-source pad) has the PIN typed
 * on the reader's keypad instead: it never reaches the host.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "card_admin.h"
#include "cvq/card_pinpad.h"

struct pin_opts {
	const char *reader;
	const char *pin_source;
	const char *new_source;
	bool puk;
	bool yes;
	bool source_given;
};

static int
parse(int argc, char **argv, struct pin_opts *o)
{
	static const struct option lo[] = {
		{"reader", required_argument, NULL, 'r'},
		{"pin-source", required_argument, NULL, 'p'},
		{"puk-source", required_argument, NULL, 'p'},
		{"new-pin-source", required_argument, NULL, 'n'},
		{"puk", no_argument, NULL, 'k'},
		{"yes", no_argument, NULL, 'y'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->pin_source = "tty";
	while ((c = getopt_long(argc, argv, "r:p:n:ky", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o->reader = optarg; break;
		case 'p': o->pin_source = optarg; o->source_given = true; break;
		case 'n': o->new_source = optarg; break;
		case 'k': o->puk = true; break;
		case 'y': o->yes = true; break;
		default: return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (o->new_source == NULL)
		o->new_source = o->pin_source;
	return CVQ_ADMIN_EXIT_OK;
}

bool
card_admin_use_pad(cvq_card *card, const char *source)
{
	bool has = false;

	if (source != NULL)
		return strcmp(source, "pad") == 0;
	if (cvq_card_has_pinpad(card, &has) != CVQ_CARD_OK || !has)
		return false;
	fprintf(stderr, "cvq-admin: type the PIN on the reader's keypad\n");
	return true;
}

/* A new PIN: asked twice where a person types it. */
static int
read_new(const char *source, const char *what, char *buf, size_t cap)
{
	char again[CARD_PIN_MAX], prompt[64];
	int rc;

	snprintf(prompt, sizeof(prompt), "New %s:", what);
	rc = card_admin_secret(source, prompt, buf, cap);
	if (rc || (strcmp(source, "tty") != 0 && strncmp(source, "pinentry:", 9) != 0))
		return rc;
	snprintf(prompt, sizeof(prompt), "New %s again:", what);
	rc = card_admin_secret(source, prompt, again, sizeof(again));
	if (rc == CVQ_ADMIN_EXIT_OK && strcmp(buf, again) != 0) {
		cvq_admin_error("the two new %ss differ", what);
		rc = CVQ_ADMIN_EXIT_PIN;
	}
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}

static void
report(const struct cvq_admin_opts *opts, const char *what, int tries)
{
	if (opts->json) {
		json_t *o = json_pack("{s:s,s:b}", "result", what, "ok", 1);
		char *s;
		if (tries >= 0)
			json_object_set_new(o, "tries_left", json_integer(tries));
		s = json_dumps(o, JSON_COMPACT);
		if (s != NULL)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		printf("%s\n", what);
	}
}

int
card_cmd_pin(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	char old[CARD_PIN_MAX], new1[CARD_PIN_MAX];
	struct card_session s = {0};
	struct pin_opts o;
	const char *sub, *what;
	cvq_card_err err = CVQ_CARD_OK;
	int rc, tries = -1;
	bool pad = false;

	if (argc < 2) {
		cvq_admin_error("usage: cvq-admin card pin verify|change|unblock [OPTIONS]");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	sub = argv[1];
	rc = parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc;
	memset(old, 0, sizeof(old));
	memset(new1, 0, sizeof(new1));
	what = o.puk ? "PUK" : "PIN";
	/* Every secret first, then the card; a PIN pad needs the card first. */
	if (strcmp(sub, "verify") == 0) {
		rc = card_admin_open(o.reader, &s);
		if (rc == CVQ_ADMIN_EXIT_OK)
			pad = card_admin_use_pad(s.card, o.source_given ? o.pin_source : NULL);
		if (rc == CVQ_ADMIN_EXIT_OK && !pad)
			rc = card_admin_secret(o.pin_source, "PIN:", old, sizeof(old));
	} else if (strcmp(sub, "change") == 0) {
		rc = card_admin_secret(o.pin_source, o.puk ? "Current PUK:" : "Current PIN:",
		                       old, sizeof(old));
		if (rc == CVQ_ADMIN_EXIT_OK)
			rc = read_new(o.new_source, what, new1, sizeof(new1));
	} else if (strcmp(sub, "unblock") == 0) {
		rc = card_admin_secret(o.pin_source, "PUK:", old, sizeof(old));
		if (rc == CVQ_ADMIN_EXIT_OK)
			rc = read_new(o.new_source, "PIN", new1, sizeof(new1));
	} else {
		cvq_admin_error("card pin: unknown command '%s'", sub);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (rc)
		goto out;
	if (s.card == NULL)
		rc = card_admin_open(o.reader, &s);
	if (rc)
		goto out;
	if (pad)
		err = cvq_card_verify_pin_pinpad(s.card, 0, &tries);
	else if (strcmp(sub, "verify") == 0)
		err = cvq_card_pin_verify(s.card, old, &tries);
	else if (strcmp(sub, "change") == 0)
		err = cvq_card_pin_change(s.card, o.puk ? CVQ_CARD_PUK : CVQ_CARD_PIN, old,
		                          new1, &tries);
	else
		err = cvq_card_pin_unblock(s.card, old, new1, &tries);
	if (err) {
		bool puk = o.puk || strcmp(sub, "unblock") == 0;
		char msg[64];
		snprintf(msg, sizeof(msg), "pin %s", sub);
		/* The library's words say PIN; at the counter the PUK is another
		 * thing, so name it. */
		if (puk && err == CVQ_CARD_ERR_PIN_WRONG) {
			cvq_admin_error("%s: wrong PUK (%d tries left)", msg, tries);
			rc = CVQ_ADMIN_EXIT_PIN;
		} else if (puk && err == CVQ_CARD_ERR_PIN_BLOCKED) {
			cvq_admin_error("%s: PUK blocked", msg);
			rc = CVQ_ADMIN_EXIT_PIN;
		} else {
			rc = card_admin_fail(msg, err, tries);
		}
		goto out;
	}
	report(opts, strcmp(sub, "verify") == 0 ? "PIN verified" :
	             strcmp(sub, "change") == 0 ? (o.puk ? "PUK changed" : "PIN changed")
	                                        : "PIN unblocked", -1);
out:
	OPENSSL_cleanse(old, sizeof(old));
	OPENSSL_cleanse(new1, sizeof(new1));
	if (s.card != NULL)
		card_admin_close(&s, true);
	return rc;
}

int
card_cmd_reset(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	struct card_session s;
	struct pin_opts o;
	cvq_card_err err;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	if (!o.yes) {
		cvq_admin_error("reset erases every key, certificate and object on the card "
		                "and sets PIN 123456, PUK 12345678: add --yes");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = card_admin_open(o.reader, &s);
	if (rc)
		return rc;
	err = cvq_card_yk_reset(s.card);
	if (err == CVQ_CARD_ERR_UNSUPPORTED)
		cvq_admin_error("this card has no factory reset (Yubico extension)");
	if (err)
		rc = card_admin_fail("reset", err, -1);
	else
		report(opts, "card reset to factory state", -1);
	card_admin_close(&s, true);
	return rc;
}
