/*
 * p11drv bench: signatures per second through libcvqp11 against a loop of
 * raw C_SignInit/C_Sign on the same key, in the same process, interleaved
 * in blocks so that both see the same machine. The raw loop does the same
 * work the layer asks of the token: hash in OpenSSL, then CKM_ECDSA on the
 * digest, or CKM_RSA_PKCS on DigestInfo‖digest.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "p11drv.h"

#define BLOCK 50

static const unsigned char sha256_prefix[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
	0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct raw {
	CK_FUNCTION_LIST_PTR fl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key;
	bool ec;
};

static int raw_open(struct raw *r, const char *module, cvq_p11_key *key)
{
	CK_C_GetFunctionList get;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	size_t id_len;
	const unsigned char *id = cvq_p11_key_id(key, &id_len);
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
	                      { CKA_ID, (void *)id, id_len } };
	CK_ULONG n = 0;
	void *dl = dlopen(module, RTLD_NOW | RTLD_NOLOAD);

	if (dl == NULL)
		return -1;
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&r->fl) != CKR_OK)
		return -1;
	/* the module is already initialised and logged in by libcvqp11 */
	if (r->fl->C_OpenSession(cvq_p11_key_slot_id(key), CKF_SERIAL_SESSION,
	                         NULL, NULL, &r->h) != CKR_OK)
		return -1;
	if (r->fl->C_FindObjectsInit(r->h, t, 2) != CKR_OK ||
	    r->fl->C_FindObjects(r->h, &r->key, 1, &n) != CKR_OK)
		return -1;
	r->fl->C_FindObjectsFinal(r->h);
	r->ec = EVP_PKEY_get_base_id(cvq_p11_key_pkey(key)) == EVP_PKEY_EC;
	return n == 1 ? 0 : -1;
}

static int raw_sign(struct raw *r, const unsigned char *msg, size_t len)
{
	unsigned char in[sizeof(sha256_prefix) + 32], sig[1024];
	unsigned int dlen = 32;
	CK_MECHANISM m = { r->ec ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0 };
	CK_ULONG sig_len = sizeof(sig), in_len;
	size_t off = r->ec ? 0 : sizeof(sha256_prefix);

	memcpy(in, sha256_prefix, sizeof(sha256_prefix));
	if (!EVP_Digest(msg, len, in + off, &dlen, EVP_sha256(), NULL))
		return -1;
	in_len = off + dlen;
	if (r->fl->C_SignInit(r->h, &m, r->key) != CKR_OK ||
	    r->fl->C_Sign(r->h, in, in_len, sig, &sig_len) != CKR_OK)
		return -1;
	return 0;
}

int p11drv_bench(cvq_p11_ctx *ctx, const char *module, const char *uri, int n)
{
	cvq_p11_key *key = NULL;
	struct raw r;
	unsigned char msg[64], sig[1024];
	double t_raw = 0, t_lib = 0, t0;
	cvq_p11_sig alg;
	cvq_p11_err err;
	int done = 0, i, rc = 1;

	memset(msg, 0x5a, sizeof(msg));
	err = cvq_p11_key_find(ctx, uri, &key);
	if (err != CVQ_P11_OK)
		return p11drv_fail("find", ctx, err);
	/* a first signature logs in, outside the timed loops */
	alg = EVP_PKEY_get_base_id(cvq_p11_key_pkey(key)) == EVP_PKEY_EC ?
	      CVQ_P11_SIG_ECDSA : CVQ_P11_SIG_RSA_PKCS1;
	{
		size_t l = sizeof(sig);
		err = cvq_p11_sign(key, alg, EVP_sha256(), msg, sizeof(msg), sig, &l);
		if (err != CVQ_P11_OK) {
			p11drv_fail("sign", ctx, err);
			goto out;
		}
	}
	if (raw_open(&r, module, key) != 0) {
		fprintf(stderr, "p11drv: raw PKCS#11 setup failed\n");
		goto out;
	}
	while (done < n) {
		int b = n - done < BLOCK ? n - done : BLOCK;
		t0 = now_s();
		for (i = 0; i < b; i++) {
			msg[0] = (unsigned char)i;
			if (raw_sign(&r, msg, sizeof(msg)) != 0) {
				fprintf(stderr, "p11drv: raw C_Sign failed\n");
				goto out;
			}
		}
		t_raw += now_s() - t0;
		t0 = now_s();
		for (i = 0; i < b; i++) {
			size_t l = sizeof(sig);
			msg[0] = (unsigned char)i;
			err = cvq_p11_sign(key, alg, EVP_sha256(), msg, sizeof(msg),
			                   sig, &l);
			if (err != CVQ_P11_OK) {
				p11drv_fail("sign", ctx, err);
				goto out;
			}
		}
		t_lib += now_s() - t0;
		done += b;
	}
	r.fl->C_CloseSession(r.h);
	printf("signatures=%d raw_per_s=%.1f lib_per_s=%.1f overhead_pct=%.2f\n",
	       n, n / t_raw, n / t_lib, (t_lib - t_raw) / t_raw * 100.0);
	rc = 0;
out:
	cvq_p11_key_free(key);
	return rc;
}
