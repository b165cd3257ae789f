/*
 * p11drv — drives libcvqp11 for the integration tests and the benchmark.
 *
 *   p11drv MODULE tokens
 *   p11drv MODULE keygen TOKEN_URI ec256|ec384|rsa2048|rsa3072 LABEL IDHEX PUB.pem
 *   p11drv MODULE sign KEY_URI ecdsa|pkcs1|pss sha256|sha384|sha512 IN SIG [N]
 *   p11drv MODULE pubkey KEY_URI OUT.pem          (public key; cert.pem too if any)
 *   p11drv MODULE x509 KEY_URI CERT.pem CRL.pem OCSP.der
 *   p11drv MODULE multi KEY1_URI KEY2_URI IN SIG1 SIG2   (frees key 1 first)
 *   p11drv MODULE pinstatus TOKEN_URI
 *   p11drv MODULE login TOKEN_URI
 *   p11drv MODULE wait TIMEOUT_MS
 *   p11drv MODULE bench KEY_URI N                 (libcvqp11 vs raw C_Sign)
 *
 * PIN: read from the file named by $P11DRV_PIN_FILE each time the library
 * asks, or from the i-th file of $P11DRV_PIN_FILES=a:b:c (never argv); every prompt is counted and reported on stderr as
 * "pin-prompts: N" so tests can check how often a PIN was asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cvq/p11.h>

#include "p11drv.h"

static int prompts;

static int pin_cb(void *ctx, const char *label, char *buf, size_t cap)
{
	const char *path = getenv("P11DRV_PIN_FILE");
	const char *list = getenv("P11DRV_PIN_FILES");
	char one[4096];
	FILE *f;
	size_t n;

	(void)ctx;
	/* P11DRV_PIN_FILES=a:b:c — prompt i reads file i (the last one repeats) */
	if (list != NULL) {
		const char *p = list, *end;
		int i;
		for (i = 0; i < prompts && strchr(p, ':') != NULL; i++)
			p = strchr(p, ':') + 1;
		end = strchr(p, ':');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n >= sizeof(one))
			return -1;
		memcpy(one, p, n);
		one[n] = '\0';
		path = one;
	}
	prompts++;
	if (buf == NULL) {
		fprintf(stderr, "p11drv: type the PIN on the reader for %s\n", label);
		return 0;
	}
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int p11drv_fail(const char *what, cvq_p11_ctx *ctx, cvq_p11_err err)
{
	fprintf(stderr, "p11drv: %s: %s (CK_RV 0x%lx)\n", what,
	        cvq_p11_strerror(err), ctx != NULL ? cvq_p11_last_rv(ctx) : 0UL);
	return 1;
}

static int cmd_tokens(cvq_p11_ctx *ctx)
{
	struct cvq_p11_token_info t[16];
	size_t n, i;
	cvq_p11_err err = cvq_p11_tokens(ctx, t, 16, &n);

	if (err != CVQ_P11_OK)
		return p11drv_fail("tokens", ctx, err);
	for (i = 0; i < n && i < 16; i++)
		printf("slot=%lu label=%s serial=%s model=%s login=%d pinpad=%d\n",
		       t[i].slot_id, t[i].label, t[i].serial, t[i].model,
		       t[i].login_required, t[i].protected_auth);
	return 0;
}

static int cmd_pinstatus(cvq_p11_ctx *ctx, const char *uri)
{
	struct cvq_p11_pin_status st;
	cvq_p11_err err = cvq_p11_pin_status(ctx, uri, &st);

	if (err != CVQ_P11_OK)
		return p11drv_fail("pinstatus", ctx, err);
	printf("tries_left=%d count_low=%d final_try=%d locked=%d\n",
	       st.tries_left, st.count_low, st.final_try, st.locked);
	return 0;
}

static int cmd_login(cvq_p11_ctx *ctx, const char *uri)
{
	cvq_p11_err err = cvq_p11_login(ctx, uri);

	if (err != CVQ_P11_OK) {
		p11drv_fail("login", ctx, err);
		cmd_pinstatus(ctx, uri);
		return 1;
	}
	printf("logged in\n");
	return 0;
}

static int cmd_wait(cvq_p11_ctx *ctx, const char *timeout)
{
	unsigned long slot;
	bool present;
	cvq_p11_err err;
	FILE *f;

	/* the ctx is open: events from now on are seen (order for tests) */
	if (getenv("P11DRV_READY_FILE") != NULL &&
	    (f = fopen(getenv("P11DRV_READY_FILE"), "w")) != NULL)
		fclose(f);
	err = cvq_p11_wait(ctx, atoi(timeout), &slot, &present);

	if (err != CVQ_P11_OK)
		return p11drv_fail("wait", ctx, err);
	printf("event slot=%lu present=%d\n", slot, present);
	return 0;
}

int main(int argc, char **argv)
{
	cvq_p11_ctx *ctx = NULL;
	cvq_p11_err err;
	int rc = 2;

	if (argc < 3) {
		fprintf(stderr, "usage: p11drv MODULE COMMAND ...\n");
		return 2;
	}
	/* MODULE is a path, or a PKCS#11 URI naming the module */
	if (strncmp(argv[1], "pkcs11:", 7) == 0)
		err = cvq_p11_open_uri(argv[1], &ctx);
	else
		err = cvq_p11_open(argv[1], &ctx);
	if (err != CVQ_P11_OK)
		return p11drv_fail("open", NULL, err);
	cvq_p11_set_pin_callback(ctx, pin_cb, NULL);
	if (strcmp(argv[2], "tokens") == 0)
		rc = cmd_tokens(ctx);
	else if (strcmp(argv[2], "pinstatus") == 0 && argc == 4)
		rc = cmd_pinstatus(ctx, argv[3]);
	else if (strcmp(argv[2], "login") == 0 && argc == 4)
		rc = cmd_login(ctx, argv[3]);
	else if (strcmp(argv[2], "wait") == 0 && argc == 4)
		rc = cmd_wait(ctx, argv[3]);
	else if (strcmp(argv[2], "keygen") == 0 && argc == 8)
		rc = p11drv_keygen(ctx, argv + 3);
	else if (strcmp(argv[2], "sign") == 0 && (argc == 8 || argc == 9))
		rc = p11drv_sign(ctx, argv + 3, argc - 3);
	else if (strcmp(argv[2], "pubkey") == 0 && argc == 5)
		rc = p11drv_pubkey(ctx, argv[3], argv[4]);
	else if (strcmp(argv[2], "multi") == 0 && argc == 8)
		rc = p11drv_multi(ctx, argv + 3);
	else if (strcmp(argv[2], "x509") == 0 && argc == 7)
		rc = p11drv_x509(ctx, argv + 3);
	else if (strcmp(argv[2], "bench") == 0 && argc == 5)
		rc = p11drv_bench(ctx, argv[1], argv[3], atoi(argv[4]));
	else
		fprintf(stderr, "p11drv: bad command\n");
	cvq_p11_close(ctx);
	fprintf(stderr, "pin-prompts: %d\n", prompts);
	return rc;
}
