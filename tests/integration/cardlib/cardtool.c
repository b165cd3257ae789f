/*
 * cardtool — drives libcvqcard in the integration tests: what cvq-admin
 * card does not (enrolment-like set-up, loops, recovery after pcscd or a
 * card went away). Not installed. PINs come from --pin-source, never argv.
 *
 *   cardtool setup  --reader R --master-file F [--key p256|p384|rsa2048]
 *                   [--mgmt aes192|aes128|aes256|3des] [--cert-dir DIR] [--gzip]
 *   cardtool mgmt   --reader R --master-file F [--mgmt ALG]   derived-key auth
 *   cardtool retries --reader R --master-file F --pin-source S  PIN 5, PUK 4 tries
 *   cardtool sign-loop --reader R --pin-source S        sign until an error
 *   cardtool recover --reader R                          survive a pcscd restart
 *   cardtool swap   --reader R                           removal + another card
 *   cardtool reset-seen --reader R --pin-source S        another app resets the card
 *   cardtool cancel                                      wait, cancelled by a thread
 *   cardtool sign-n --reader R --pin-source S --count N  APDUs per 9C signature
 *   cardtool authentic --reader R --trust CA.pem         APDUs of the insertion check
 */
#include <getopt.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cvq/card.h"
#include "cvq/piv.h"
#include "cvq/piv_authentic.h"
#include "cvq/profile.h"
#include "cvq/util.h"

static const char *reader, *master_file, *pin_source = "tty", *cert_dir = ".", *trust_file;
static long count = 10;
static bool gzip_9c;
static cvq_card_alg key_alg = CVQ_CARD_ALG_ECCP256;
static cvq_card_alg mgmt_alg = CVQ_CARD_MGMT_ALG_DEFAULT;

static int
die(const char *what, cvq_card_err err)
{
	fprintf(stderr, "cardtool: %s: %s\n", what, cvq_card_strerror(err));
	return 1;
}

#define CHECK(what, expr) do { cvq_card_err e_ = (expr); \
	if (e_) { rc = die(what, e_); goto out; } } while (0)

static int
read_master(uint8_t *m, size_t cap, size_t *len)
{
	FILE *f = fopen(master_file, "rb");

	if (f == NULL)
		return -1;
	*len = fread(m, 1, cap, f);
	fclose(f);
	return *len >= CVQ_CARD_MASTER_MIN ? 0 : -1;
}

/* A self-signed certificate for the generated key, signed by a throw-away
 * key (the test only needs the card's public key in it). */
static X509 *
make_cert(EVP_PKEY *pub, const char *cn)
{
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	uint8_t serial[8];
	BIGNUM *bn;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7F;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	X509_set_version(x, 2);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_UTF8,
	                           (const unsigned char *)"cardtool test CA", -1, -1, 0);
	X509_set_pubkey(x, pub);
	X509_sign(x, ca, EVP_sha256());
	EVP_PKEY_free(ca);
	return x;
}

static void
save_pub(EVP_PKEY *k, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cert_dir, name);
	f = fopen(path, "w");
	if (f != NULL) {
		PEM_write_PUBKEY(f, k);
		fclose(f);
	}
}

static int
cmd_setup(void)
{
	static const cvq_card_slot slots[] = {CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN};
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	uint8_t master[64], guid[16], key[32], chuid[64];
	size_t mlen = 0, clen = 0, i, plen = 0;
	char hex[33];
	cvq_card_printed pr = {0};
	uint8_t pbuf[256];
	EVP_PKEY *pub = NULL;
	X509 *x = NULL;
	int rc = 0;

	if (read_master(master, sizeof(master), &mlen)) {
		fprintf(stderr, "cardtool: cannot read the master secret\n");
		return 1;
	}
	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("begin", cvq_card_begin(card));
	CHECK("factory key", cvq_card_mgmt_auth(card, CVQ_CARD_ALG_3DES,
	                                        cvq_card_default_mgmt_key, 24));
	RAND_bytes(guid, sizeof(guid));
	CHECK("chuid build", cvq_card_chuid_build(guid, "20361231", chuid, sizeof(chuid), &clen));
	CHECK("write chuid", cvq_card_write_object(card, CVQ_CARD_OBJ_CHUID, chuid, clen));
	strcpy(pr.name, "Marie Dupont");
	strcpy(pr.expiry, "2036DEC31");
	strcpy(pr.issuer, "Ville d'Alencon");
	CHECK("printed build", cvq_card_printed_build(&pr, pbuf, sizeof(pbuf), &plen));
	CHECK("write printed", cvq_card_write_object(card, CVQ_CARD_OBJ_PRINTED, pbuf, plen));
	for (i = 0; i < 2; i++) {
		CHECK("generate", cvq_card_generate(card, slots[i], key_alg, &pub));
		save_pub(pub, i == 0 ? "9a.pub.pem" : "9c.pub.pem");
		x = make_cert(pub, i == 0 ? "Marie Dupont (auth)" : "Marie Dupont (sign)");
		/* --gzip: 9C compressed (yubico-piv-tool 2.2 cannot read that). */
		CHECK("write cert", cvq_card_write_cert(card, slots[i], x, i == 1 && gzip_9c));
		X509_free(x);
		x = NULL;
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	CHECK("derive", cvq_card_mgmt_key_derive(master, mlen, guid, mgmt_alg, key));
	CHECK("set mgmt key", cvq_card_mgmt_set_key(card, mgmt_alg, key,
	                                            cvq_card_mgmt_key_len(mgmt_alg)));
	cvq_card_end(card, false);
	cvq_card_guid_hex(guid, hex);
	printf("%s\n", hex);
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(master, sizeof(master));
	EVP_PKEY_free(pub);
	X509_free(x);
	cvq_card_disconnect(card, true);
	cvq_card_ctx_free(ctx);
	return rc;
}

static int
cmd_mgmt(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	uint8_t master[64];
	size_t mlen = 0;
	int rc = 0;

	if (read_master(master, sizeof(master), &mlen))
		return 1;
	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("derived key", cvq_card_mgmt_auth_derived(card, master, mlen, mgmt_alg));
	printf("management key ok\n");
out:
	OPENSSL_cleanse(master, sizeof(master));
	cvq_card_disconnect(card, true);
	cvq_card_ctx_free(ctx);
	return rc;
}

static int
cmd_retries(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	uint8_t master[64];
	size_t mlen = 0;
	char pin[16];
	int rc = 0;

	if (read_master(master, sizeof(master), &mlen) ||
	    cvq_secret_read(pin_source, "PIN:", pin, sizeof(pin)))
		return 1;
	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("begin", cvq_card_begin(card));
	CHECK("derived key", cvq_card_mgmt_auth_derived(card, master, mlen, mgmt_alg));
	CHECK("verify", cvq_card_pin_verify(card, pin, NULL));
	CHECK("retries", cvq_card_yk_set_retries(card, 5, 4));
	cvq_card_end(card, false);
	printf("retries set\n");
out:
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(pin, sizeof(pin));
	cvq_card_disconnect(card, true);
	cvq_card_ctx_free(ctx);
	return rc;
}

static int
cmd_sign_loop(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	char pin[16];
	uint8_t dg[32] = {0}, *sig = NULL;
	size_t sl;
	cvq_card_sign_req req = {CVQ_CARD_SLOT_SIGN, NULL, NULL, CVQ_CARD_PAD_PKCS1,
	                         dg, sizeof(dg), pin};
	cvq_card_err err;
	unsigned long n;
	int rc = 0;

	if (cvq_secret_read(pin_source, "PIN:", pin, sizeof(pin)))
		return 1;
	req.md = EVP_sha256();
	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	for (n = 0;; n++) {
		err = cvq_card_sign(card, &req, &sig, &sl, NULL);
		free(sig);
		sig = NULL;
		if (err) {
			printf("after %lu signatures: %s\n", n, cvq_card_strerror(err));
			rc = err == CVQ_CARD_ERR_CARD_REMOVED ? 0 : 1;
			break;
		}
		if (n == 0) {
			printf("signing\n");
			fflush(stdout);
		}
	}
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	cvq_card_disconnect(card, true);
	cvq_card_ctx_free(ctx);
	return rc;
}

static int
cmd_sign_n(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	char pin[16];
	uint8_t dg[32] = {0}, *sig = NULL;
	size_t sl;
	cvq_card_sign_req req = {CVQ_CARD_SLOT_SIGN, NULL, NULL, CVQ_CARD_PAD_PKCS1,
	                         dg, sizeof(dg), pin};
	unsigned long first, before;
	long i;
	int rc = 0;

	if (cvq_secret_read(pin_source, "PIN:", pin, sizeof(pin)))
		return 1;
	req.md = EVP_sha256();
	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("sign", cvq_card_sign(card, &req, &sig, &sl, NULL));
	free(sig);
	sig = NULL;
	first = cvq_card_apdu_count(card);
	before = first;
	for (i = 0; i < count; i++) {
		CHECK("sign", cvq_card_sign(card, &req, &sig, &sl, NULL));
		free(sig);
		sig = NULL;
	}
	printf("first 9C signature %lu APDUs (SELECT + GET DATA 9C cert + VERIFY + "
	       "GENERAL AUTHENTICATE), then %.1f APDUs per 9C signature over %ld\n",
	       first, (double)(cvq_card_apdu_count(card) - before) / (double)count, count);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	cvq_card_disconnect(card, true);
	cvq_card_ctx_free(ctx);
	return rc;
}

/*
 * The authenticity check as cvqd runs it at insertion (issue #17): on a
 * fresh connection after the probe (card status: CHUID, 9A/9C), quick
 * mode; then alone on another fresh connection; then the full check.
 * Exit 0 only when the card is authentic.
 */
static int
cmd_authentic(void)
{
	static const unsigned modes[3] = {CVQ_PIV_AUTH_QUICK, CVQ_PIV_AUTH_QUICK, 0};
	static const char *const what[3] = {"after the probe (cvqd at insertion)",
	                                    "alone, quick", "alone, full (card info)"};
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	cvq_piv_authenticity a;
	cvq_card_status st;
	X509_STORE *trust = X509_STORE_new();
	unsigned long before;
	int rc = 0, i;

	if (!trust_file || !trust || X509_STORE_load_file(trust, trust_file) != 1) {
		fprintf(stderr, "cardtool: --trust FILE needed\n");
		X509_STORE_free(trust);
		return 2;
	}
	CHECK("context", cvq_card_ctx_new(&ctx));
	for (i = 0; i < 3; i++) {
		CHECK("connect", cvq_card_connect(ctx, reader, &card));
		if (i == 0)
			CHECK("status", cvq_card_get_status(card, &st));
		before = cvq_card_apdu_count(card);
		CHECK("authenticate", cvq_piv_authenticate(card, trust, modes[i], &a));
		printf("%s: %s (%s), %lu APDUs\n", what[i], a.authentic ? "authentic" : "NOT authentic",
		       cvq_piv_auth_reason_name(a.reason), cvq_card_apdu_count(card) - before);
		if (!a.authentic)
			rc = 1;
		cvq_card_disconnect(card, false);
		card = NULL;
	}
out:
	cvq_card_disconnect(card, false);
	cvq_card_ctx_free(ctx);
	X509_STORE_free(trust);
	return rc;
}

/* Wait for an event of this type on our reader (or any, for SERVICE_*). */
static cvq_card_err
wait_for(cvq_card_ctx *ctx, cvq_card_event_type type, int timeout_ms)
{
	cvq_card_event ev;
	cvq_card_err err;

	for (;;) {
		err = cvq_card_wait_event(ctx, timeout_ms, &ev);
		if (err)
			return err;
		printf("event %s %s\n", cvq_card_event_name(ev.type), ev.reader);
		fflush(stdout);
		if (ev.type == type && (ev.reader[0] == '\0' || reader == NULL ||
		                        strcmp(ev.reader, reader) == 0))
			return CVQ_CARD_OK;
	}
}

static int
cmd_recover(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	uint8_t g1[16], g2[16];
	char hex[33];
	int rc = 0;

	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("guid", cvq_card_guid(card, g1));
	/* Drain the initial state, then say we are ready. */
	CHECK("initial", wait_for(ctx, CVQ_CARD_EV_CARD_INSERTED, 5000));
	printf("ready\n");
	fflush(stdout);
	CHECK("service lost", wait_for(ctx, CVQ_CARD_EV_SERVICE_LOST, 30000));
	CHECK("service back", wait_for(ctx, CVQ_CARD_EV_SERVICE_BACK, 30000));
	CHECK("card again", wait_for(ctx, CVQ_CARD_EV_CARD_INSERTED, 30000));
	/* The old handle belongs to the dead pcscd: a fresh one on the same
	 * context, which re-establishes itself. */
	cvq_card_disconnect(card, false);
	card = NULL;
	CHECK("connect again", cvq_card_connect(ctx, reader, &card));
	CHECK("guid again", cvq_card_guid(card, g2));
	cvq_card_guid_hex(g2, hex);
	printf("recovered %s %s\n", hex, memcmp(g1, g2, 16) == 0 ? "same" : "different");
out:
	cvq_card_disconnect(card, false);
	cvq_card_ctx_free(ctx);
	return rc;
}

static int
cmd_swap(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	cvq_card_chuid c;
	X509 *x = NULL;
	cvq_card_err err;
	char hex[33];
	int rc = 0;

	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("chuid", cvq_card_read_chuid(card, &c));
	cvq_card_guid_hex(c.guid, hex);
	printf("first %s\n", hex);
	CHECK("initial", wait_for(ctx, CVQ_CARD_EV_CARD_INSERTED, 5000));
	printf("ready\n");
	fflush(stdout);
	CHECK("removed", wait_for(ctx, CVQ_CARD_EV_CARD_REMOVED, 30000));
	err = cvq_card_read_chuid(card, &c);
	printf("while out: %s\n", cvq_card_strerror(err));
	CHECK("inserted", wait_for(ctx, CVQ_CARD_EV_CARD_INSERTED, 30000));
	err = cvq_card_reconnect(card);
	printf("reconnect: %s\n", cvq_card_strerror(err));
	if (err != CVQ_CARD_OK && err != CVQ_CARD_ERR_CARD_CHANGED) {
		rc = 1;
		goto out;
	}
	CHECK("chuid again", cvq_card_read_chuid(card, &c));
	cvq_card_guid_hex(c.guid, hex);
	printf("now %s\n", hex);
	err = cvq_card_read_cert(card, CVQ_CARD_SLOT_AUTH, &x);
	printf("cert 9a: %s\n", cvq_card_strerror(err));
	if (x != NULL) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		char *h = BN_bn2hex(bn);
		printf("serial 9a %s\n", h);
		OPENSSL_free(h);
		BN_free(bn);
	}
	X509_free(x);
out:
	cvq_card_disconnect(card, false);
	cvq_card_ctx_free(ctx);
	return rc;
}

/*
 * Verify the PIN, then let another process reset the card (it is told
 * "ready" and answers on stdin): the handle must notice, check the GUID,
 * go on, and know the PIN is no longer verified.
 */
static int
cmd_reset_seen(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card *card = NULL;
	uint8_t g1[16], g2[16];
	char pin[16], line[16];
	unsigned long before;
	bool verified = true;
	int rc = 0, tries = -1;

	if (cvq_secret_read(pin_source, "PIN:", pin, sizeof(pin)))
		return 1;
	CHECK("context", cvq_card_ctx_new(&ctx));
	CHECK("connect", cvq_card_connect(ctx, reader, &card));
	CHECK("guid", cvq_card_guid(card, g1));
	CHECK("verify", cvq_card_pin_verify(card, pin, NULL));
	CHECK("status", cvq_card_pin_status(card, &tries, &verified));
	printf("verified before: %s\nready\n", verified ? "yes" : "no");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		rc = 1;
		goto out;
	}
	before = cvq_card_apdu_count(card);
	CHECK("status after reset", cvq_card_pin_status(card, &tries, &verified));
	CHECK("guid after reset", cvq_card_guid(card, g2));
	printf("verified after: %s, tries %d, same card: %s, %lu APDUs\n",
	       verified ? "yes" : "no", tries, memcmp(g1, g2, 16) == 0 ? "yes" : "no",
	       cvq_card_apdu_count(card) - before);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	cvq_card_disconnect(card, false);
	cvq_card_ctx_free(ctx);
	return rc;
}

static void *
canceller(void *arg)
{
	struct timespec ts = {0, 300 * 1000000L};

	nanosleep(&ts, NULL);
	cvq_card_cancel(arg);
	return NULL;
}

static int
cmd_cancel(void)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card_event ev;
	cvq_card_err err;
	pthread_t th;
	int rc = 0;

	CHECK("context", cvq_card_ctx_new(&ctx));
	while ((err = cvq_card_wait_event(ctx, 0, &ev)) == CVQ_CARD_OK)
		;
	pthread_create(&th, NULL, canceller, ctx);
	err = cvq_card_wait_event(ctx, -1, &ev);
	pthread_join(th, NULL);
	printf("wait: %s\n", cvq_card_strerror(err));
	rc = err == CVQ_CARD_ERR_CANCELLED ? 0 : 1;
out:
	cvq_card_ctx_free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"reader", required_argument, NULL, 'r'},
		{"master-file", required_argument, NULL, 'm'},
		{"pin-source", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"mgmt", required_argument, NULL, 'M'},
		{"cert-dir", required_argument, NULL, 'd'},
		{"count", required_argument, NULL, 'n'},
		{"gzip", no_argument, NULL, 'z'},
		{"trust", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd;
	int c;

	if (argc < 2)
		return 2;
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "r:m:p:k:M:d:n:zt:", lo, NULL)) != -1) {
		switch (c) {
		case 'r': reader = optarg; break;
		case 'm': master_file = optarg; break;
		case 'p': pin_source = optarg; break;
		case 'd': cert_dir = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'z': gzip_9c = true; break;
		case 't': trust_file = optarg; break;
		case 'k':
			key_alg = strcmp(optarg, "rsa2048") == 0 ? CVQ_CARD_ALG_RSA2048 :
			          strcmp(optarg, "p384") == 0 ? CVQ_CARD_ALG_ECCP384 :
			                                        CVQ_CARD_ALG_ECCP256;
			break;
		case 'M':
			mgmt_alg = strcmp(optarg, "3des") == 0 ? CVQ_CARD_ALG_3DES :
			           strcmp(optarg, "aes128") == 0 ? CVQ_CARD_ALG_AES128 :
			           strcmp(optarg, "aes256") == 0 ? CVQ_CARD_ALG_AES256 :
			                                           CVQ_CARD_ALG_AES192;
			break;
		default: return 2;
		}
	}
	if (strcmp(cmd, "setup") == 0) return cmd_setup();
	if (strcmp(cmd, "mgmt") == 0) return cmd_mgmt();
	if (strcmp(cmd, "retries") == 0) return cmd_retries();
	if (strcmp(cmd, "sign-loop") == 0) return cmd_sign_loop();
	if (strcmp(cmd, "recover") == 0) return cmd_recover();
	if (strcmp(cmd, "swap") == 0) return cmd_swap();
	if (strcmp(cmd, "cancel") == 0) return cmd_cancel();
	if (strcmp(cmd, "reset-seen") == 0) return cmd_reset_seen();
	if (strcmp(cmd, "sign-n") == 0) return cmd_sign_n();
	if (strcmp(cmd, "authentic") == 0) return cmd_authentic();
	return 2;
}
