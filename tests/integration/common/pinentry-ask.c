/*
 * Asks for a PIN through cvq_secret_read and reports only its length and
 * whether it equals the digits 1..9 cycled to that length (what the test
 * types). Never prints the PIN itself.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cvq/util.h"

int
main(int argc, char **argv)
{
	char pin[64];
	cvq_util_err err;
	size_t i, n;
	int expected = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: pinentry-ask SOURCE\n");
		return 2;
	}
	err = cvq_secret_read(argv[1], "Code PIN :", pin, sizeof(pin));
	if (err) {
		printf("error: %s\n", cvq_util_strerror(err));
		return 1;
	}
	n = strlen(pin);
	for (i = 0; i < n; i++)
		if (pin[i] != (char)('1' + (int)(i % 9)))
			expected = 0;
	OPENSSL_cleanse(pin, sizeof(pin));
	printf("got %zu characters, %s\n", n, expected ? "as typed" : "NOT as typed");
	return expected ? 0 : 1;
}
