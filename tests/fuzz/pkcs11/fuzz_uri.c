/* libFuzzer target: the PKCS#11 URI parser, matcher and formatter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cvq/uri.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	cvq_p11_uri *u = NULL, *again = NULL;
	char out[16384];
	size_t len;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cvq_p11_uri_parse(text, &u) == CVQ_P11_OK) {
		(void)cvq_p11_uri_get(u, CVQ_P11_URI_ID, &len);
		(void)cvq_p11_uri_match_token(u, "cvq-test", "SoftHSM", "model", "1");
		(void)cvq_p11_uri_match_object(u, "key", (const uint8_t *)"\x01", 1);
		/* what we print must parse back: a canonical form is a fixed point */
		if (cvq_p11_uri_format(u, out, sizeof(out)) == CVQ_P11_OK) {
			if (cvq_p11_uri_parse(out, &again) != CVQ_P11_OK)
				abort();
			cvq_p11_uri_free(again);
		}
		cvq_p11_uri_free(u);
	}
	free(text);
	return 0;
}
