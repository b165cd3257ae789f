/*
 * cvq-admin card sign — sign SHA-256 of a file with slot 9A or 9C: a
 * counter check that a card works, and the operation the benchmark times.
 * On a selected card it costs VERIFY + GENERAL AUTHENTICATE.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cvq/util.h>

#include "card_admin.h"
#include "cvq/card_pinpad.h"

static int
digest_file(const char *path, uint8_t out[32])
{
	FILE *f = path != NULL ? fopen(path, "rb") : stdin;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t buf[4096];
	size_t n;
	int ok = 0;

	if (f == NULL || c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(c, buf, n) != 1)
			goto out;
	ok = !ferror(f) && EVP_DigestFinal_ex(c, out, NULL) == 1;
out:
	EVP_MD_CTX_free(c);
	if (f != NULL && f != stdin)
		fclose(f);
	return ok;
}

int
card_cmd_sign(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"reader", required_argument, NULL, 'r'},
		{"slot", required_argument, NULL, 's'},
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"pin-source", required_argument, NULL, 'p'},
		{"pss", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	const char *reader = NULL, *in = NULL, *out = NULL, *src = "tty";
	char pin[CARD_PIN_MAX];
	uint8_t dg[32], *sig = NULL;
	size_t sl = 0;
	struct card_session s = {0};
	cvq_card_sign_req req = {0};
	cvq_card_err err;
	FILE *f;
	int c, rc, tries = -1;
	bool src_given = false, pad = false;

	(void)opts;
	req.slot = 0;
	req.padding = CVQ_CARD_PAD_PKCS1;
	while ((c = getopt_long(argc, argv, "r:s:i:o:p:P", lo, NULL)) != -1) {
		switch (c) {
		case 'r': reader = optarg; break;
		case 's': req.slot = (cvq_card_slot)strtoul(optarg, NULL, 16); break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'p': src = optarg; src_given = true; break;
		case 'P': req.padding = CVQ_CARD_PAD_PSS; break;
		default: return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (req.slot != CVQ_CARD_SLOT_AUTH && req.slot != CVQ_CARD_SLOT_SIGN &&
	    req.slot != CVQ_CARD_SLOT_CARDAUTH && req.slot != CVQ_CARD_SLOT_KEYMGMT) {
		cvq_admin_error("sign: --slot 9a, 9c, 9d or 9e");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (!digest_file(in, dg)) {
		cvq_admin_error("sign: cannot read %s", in ? in : "stdin");
		return CVQ_ADMIN_EXIT_FAIL;
	}
	memset(pin, 0, sizeof(pin));
	rc = card_admin_open(reader, &s);
	if (rc)
		goto out;
	/* 9E never needs the PIN; the others get it before any transaction,
	 * or have it typed on the reader's PIN pad (it never comes here). */
	if (req.slot != CVQ_CARD_SLOT_CARDAUTH) {
		pad = card_admin_use_pad(s.card, src_given ? src : NULL);
		if (!pad) {
			rc = card_admin_secret(src, "PIN:", pin, sizeof(pin));
			if (rc)
				goto out;
			req.pin = pin;
		}
	}
	req.md = EVP_sha256();
	req.digest = dg;
	req.digest_len = sizeof(dg);
	if (pad) {
		/* The pad's VERIFY right before the signature (9C: PIN always). */
		err = cvq_card_begin(s.card);
		if (err == CVQ_CARD_OK) {
			err = cvq_card_verify_pin_pinpad(s.card, 0, &tries);
			if (err == CVQ_CARD_OK)
				err = cvq_card_sign(s.card, &req, &sig, &sl, &tries);
			cvq_card_end(s.card, false);
		}
	} else {
		err = cvq_card_sign(s.card, &req, &sig, &sl, &tries);
	}
	if (err) {
		rc = card_admin_fail("sign", err, tries);
		goto out;
	}
	/* What the citizen signed is her business: 0600. */
	f = out != NULL ? cvq_util_fopen_create(out, 0600) : stdout;
	if (f != NULL) {
		bool ok = fwrite(sig, 1, sl, f) == sl;
		/* A full disk shows at fclose/fflush, not at fwrite. */
		ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
		if (!ok)
			f = NULL;
	}
	if (f == NULL) {
		cvq_admin_error("sign: cannot write %s", out ? out : "stdout");
		rc = CVQ_ADMIN_EXIT_FAIL;
	}
	if (opts->verbose)
		fprintf(stderr, "cvq-admin: %lu APDUs\n", cvq_card_apdu_count(s.card));
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	free(sig);
	if (s.card != NULL)
		card_admin_close(&s, true);
	return rc;
}
