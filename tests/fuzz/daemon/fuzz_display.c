/*
 * Fuzz the display model: input is "SCHEMA\nTRANSACTION". A non-empty
 * first line is loaded as more types (cvqd_display_add_json: the loader
 * must refuse any schema that would sign a field without showing it);
 * the rest is a transaction checked and rendered in both languages. A
 * rendered transaction must make canonical receipt/2 content whose
 * parse gives back the same transaction and the same dialog text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "display.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void rendered(const json_t *tx, const char *lang, const char *text)
{
	char why[200], nonce[80], *l = NULL, *dl = NULL;
	size_t len;
	time_t t;
	if (cvqd_canon_check_transaction(tx, why, sizeof why))
		return; /* the handler answers 400 for these too */
	char *c = cvqd_canon_receipt_shown(tx, lang, text, 1795000000, "q83vEjRWeJCrze8SNFZ4kA", &len);
	if (!c)
		abort(); /* a dialog text the receipt cannot carry */
	json_t *back = cvqd_canon_parse_receipt_shown(c, len, &t, nonce, sizeof nonce, &l, &dl, why, sizeof why);
	if (!back || !json_equal(back, tx) || !dl || strcmp(dl, text) || strcmp(l, lang))
		abort();
	json_decref(back);
	free(l);
	free(dl);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvqd_display *builtin;
	char err[200], out[4096];
	const char *nl = memchr(data, '\n', size);
	size_t slen = nl ? (size_t)(nl - (const char *)data) : 0;
	cvqd_display *d = NULL;
	if (!builtin && !(builtin = cvqd_display_new(NULL, NULL, 0, err, sizeof err)))
		abort();
	if (slen) {
		if (!(d = cvqd_display_new(NULL, NULL, 0, err, sizeof err)))
			abort();
		if (cvqd_display_add_json(d, (const char *)data, slen, err, sizeof err)) {
			cvqd_display_free(d);
			return 0;
		}
	}
	const char *txt = nl ? nl + 1 : (const char *)data;
	size_t tlen = size - (size_t)(txt - (const char *)data);
	json_error_t je;
	json_t *tx = json_loadb(txt, tlen, JSON_REJECT_DUPLICATES, &je);
	if (tx) {
		static const char *const langs[] = { "fr", "en" };
		for (int i = 0; i < 2; i++) {
			cvqd_display_refusal why;
			if (cvqd_display_render(d ? d : builtin, tx, langs[i], out, sizeof out, &why) == 0)
				rendered(tx, langs[i], out);
			else if (!why.field[0] || !why.reason[0])
				abort(); /* every refusal names a field and a reason */
		}
		json_decref(tx);
	}
	cvqd_display_free(d);
	return 0;
}
