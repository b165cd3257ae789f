/*
 * cvqd — what a key is asked to sign: the bytes and their digest. A PIV
 * card signs the digest; a PKCS#11 token hashes the bytes itself.
 */
#ifndef CVQD_TBS_H
#define CVQD_TBS_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cvqd_tbs {
	const uint8_t *msg;      /* the bytes that are signed */
	size_t msg_len;
	const uint8_t *digest;   /* md(msg) */
	size_t digest_len;
	const EVP_MD *md;
} cvqd_tbs;

#endif
