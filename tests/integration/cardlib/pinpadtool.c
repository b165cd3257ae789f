/*
 * pinpadtool — cardlib's PIN-pad calls for the integration tests (not
 * installed). The PIN is typed on the bench pad (its keypad script),
 * never given here.
 *   pinpadtool has READER                 "yes" or "no"
 *   pinpadtool verify READER              "ok" or "ERROR tries=N"
 *   pinpadtool sign READER PUB.pem IN OUT  9C signature (DER) of SHA-256(IN)
 *   pinpadtool modify READER              PIV PIN change typed on the pad
 *                                         (raw FEATURE_MODIFY_PIN_DIRECT:
 *                                         cardlib has no such call); the SW
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/reader.h>
#include <PCSC/winscard.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cvq/card.h"
#include "cvq/card_pinpad.h"
#include "cvq/piv.h"

static int
report(cvq_card_err err, int tries)
{
	if (err == CVQ_CARD_OK)
		printf("ok\n");
	else
		printf("%s tries=%d\n", cvq_card_strerror(err), tries);
	return err == CVQ_CARD_OK ? 0 : 1;
}

static int
sign(cvq_card *card, const char *pubf, const char *in, const char *out)
{
	uint8_t data[4096], dg[32], *sig = NULL;
	size_t n, slen = 0;
	int tries = -1;
	FILE *f = fopen(pubf, "r");
	EVP_PKEY *pub = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	cvq_card_err err;

	if (f)
		fclose(f);
	f = fopen(in, "rb");
	if (pub == NULL || f == NULL)
		return 2;
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	EVP_Digest(data, n, dg, NULL, EVP_sha256(), NULL);
	cvq_card_sign_req req = {
		.slot = CVQ_CARD_SLOT_SIGN, .pub = pub, .md = EVP_sha256(),
		.digest = dg, .digest_len = sizeof(dg), .pin = NULL,
	};
	/* PIN always: the pad's VERIFY and the signature in one transaction. */
	err = cvq_card_begin(card);
	if (err == CVQ_CARD_OK) {
		err = cvq_card_verify_pin_pinpad(card, 10, &tries);
		if (err == CVQ_CARD_OK)
			err = cvq_card_sign(card, &req, &sig, &slen, &tries);
		cvq_card_end(card, true);
	}
	EVP_PKEY_free(pub);
	if (err == CVQ_CARD_OK && (f = fopen(out, "wb")) != NULL) {
		fwrite(sig, 1, slen, f);
		fclose(f);
	}
	free(sig);
	return report(err, tries);
}

/* CHANGE REFERENCE DATA 00 24 00 80 10: current PIN, then new PIN. */
static int
modify(const char *reader)
{
	static const uint8_t hdr[24] = {
		30, 30, 0x82, 0x08, 0x00, 0, 8, 8, 6, 0x03, 0x02, 0x03, 0x0C, 0x04,
		0, 1, 2, 0, 0, 0, 21, 0, 0, 0,
	};
	uint8_t in[64], rsp[258], feat[256];
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto, n = 0;
	cvq_card_pinpad_features f;
	int rc = 2;

	memcpy(in, hdr, sizeof(hdr));
	memcpy(in + 24, "\x00\x24\x00\x80\x10", 5);
	memset(in + 29, 0xFF, 16);
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
		return 2;
	if (SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
	                 &h, &proto) != SCARD_S_SUCCESS)
		goto out;
	if (SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, feat, sizeof(feat), &n) ==
	        SCARD_S_SUCCESS &&
	    cvq_card_pinpad_parse_features(feat, n, &f) == CVQ_CARD_OK && f.modify_pin_direct &&
	    SCardControl(h, f.modify_pin_direct, in, 24 + 21, rsp, sizeof(rsp), &n) ==
	        SCARD_S_SUCCESS && n >= 2) {
		printf("%02X%02X\n", rsp[n - 2], rsp[n - 1]);
		rc = 0;
	}
	SCardDisconnect(h, SCARD_RESET_CARD);
out:
	SCardReleaseContext(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	cvq_card_err err;
	bool has = false;
	int rc = 2, tries = -1;

	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "modify") == 0)
		return modify(argv[2]);
	err = cvq_card_ctx_new(&ctx);
	if (err == CVQ_CARD_OK)
		err = cvq_card_connect(ctx, argv[2], &card);
	if (err) {
		fprintf(stderr, "pinpadtool: %s\n", cvq_card_strerror(err));
		goto out;
	}
	if (strcmp(argv[1], "has") == 0) {
		err = cvq_card_has_pinpad(card, &has);
		printf("%s\n", err ? cvq_card_strerror(err) : has ? "yes" : "no");
		rc = err ? 1 : 0;
	} else if (strcmp(argv[1], "verify") == 0) {
		err = cvq_card_verify_pin_pinpad(card, 10, &tries);
		rc = report(err, tries);
	} else if (strcmp(argv[1], "sign") == 0 && argc == 6) {
		rc = sign(card, argv[3], argv[4], argv[5]);
	}
out:
	cvq_card_disconnect(card, true);
	cvq_card_ctx_free(ctx);
	return rc;
}
