#include "canon.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trust.h"

bool cvqd_canon_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > 32 || k[0] < 'a' || k[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

static bool text_ok(const char *s, size_t n)
{
	if (n == 0 || n > CVQD_CANON_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int cvqd_canon_check_transaction(const json_t *tx, char *why, size_t whylen)
{
	const char *k;
	json_t *v;
	if (!json_is_object(tx)) {
		snprintf(why, whylen, "transaction must be an object");
		return -1;
	}
	if (json_object_size(tx) > CVQD_CANON_MAX_FIELDS) {
		snprintf(why, whylen, "transaction has more than %d fields", CVQD_CANON_MAX_FIELDS);
		return -1;
	}
	if (!json_is_string(json_object_get(tx, "type"))) {
		snprintf(why, whylen, "transaction.type is required");
		return -1;
	}
	json_object_foreach((json_t *)tx, k, v) {
		if (!cvqd_canon_key_ok(k)) {
			snprintf(why, whylen, "transaction field names must match [a-z][a-z0-9_]{0,31}");
			return -1;
		}
		if (!json_is_string(v)) {
			snprintf(why, whylen, "transaction.%s must be a string", k);
			return -1;
		}
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (!text_ok(s, n)) {
			snprintf(why, whylen, "transaction.%s must be 1 to %d bytes without control characters",
			         k, CVQD_CANON_MAX_VALUE);
			return -1;
		}
	}
	return 0;
}

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put_str(struct buf *b, const char *s, size_t n)
{
	put(b, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			put(b, s + start, i - start);
			put(b, "\\", 1);
			start = i;
		} else if (s[i] == '\n') {
			/* Only the dialog text holds a line break (checked by the caller). */
			put(b, s + start, i - start);
			put(b, "\\n", 2);
			start = i + 1;
		}
	}
	put(b, s + start, n - start);
	put(b, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A flat object of strings, keys sorted. The caller checked it. */
static void put_object(struct buf *b, const json_t *o)
{
	const char *keys[CVQD_CANON_MAX_FIELDS];
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		if (n < CVQD_CANON_MAX_FIELDS)
			keys[n++] = k;
	}
	qsort(keys, n, sizeof keys[0], cmp_keys);
	put(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		json_t *val = json_object_get(o, keys[i]);
		if (i)
			put(b, ",", 1);
		put_str(b, keys[i], strlen(keys[i]));
		put(b, ":", 1);
		put_str(b, json_string_value(val), json_string_length(val));
	}
	put(b, "}", 1);
}

static bool nonce_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 16 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* The dialog text: UTF-8 (jansson checked), line breaks only as control characters. */
static bool dialog_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CVQD_CANON_MAX_DIALOG)
		return false;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f)
			return false;
	return true;
}

static bool lang_ok(const char *s)
{
	return s && (!strcmp(s, "fr") || !strcmp(s, "en"));
}

static char *receipt(const json_t *tx, const char *lang, const char *dialog, time_t t,
                     const char *nonce, size_t *len)
{
	char why[160], ts[32];
	struct buf b = { 0 };
	if (cvqd_canon_check_transaction(tx, why, sizeof why) || !nonce || !nonce_ok(nonce))
		return NULL;
	if (dialog && (!dialog_ok(dialog) || !lang_ok(lang)))
		return NULL;
	cvqd_time_rfc3339(t, ts, sizeof ts);
	/* Top-level keys in sorted order: cvq < dialog < lang < nonce < time < transaction. */
	put(&b, "{\"cvq\":", 7);
	if (dialog) {
		put_str(&b, CVQD_CANON_FORMAT, strlen(CVQD_CANON_FORMAT));
		put(&b, ",\"dialog\":", 10);
		put_str(&b, dialog, strlen(dialog));
		put(&b, ",\"lang\":", 8);
		put_str(&b, lang, strlen(lang));
	} else {
		put_str(&b, CVQD_CANON_FORMAT_V1, strlen(CVQD_CANON_FORMAT_V1));
	}
	put(&b, ",\"nonce\":", 9);
	put_str(&b, nonce, strlen(nonce));
	put(&b, ",\"time\":", 8);
	put_str(&b, ts, strlen(ts));
	put(&b, ",\"transaction\":", 15);
	put_object(&b, tx);
	put(&b, "}", 1);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

char *cvqd_canon_receipt(const json_t *tx, time_t t, const char *nonce, size_t *len)
{
	return receipt(tx, NULL, NULL, t, nonce, len);
}

char *cvqd_canon_receipt_shown(const json_t *tx, const char *lang, const char *dialog,
                               time_t t, const char *nonce, size_t *len)
{
	if (!dialog)
		return NULL;
	return receipt(tx, lang, dialog, t, nonce, len);
}

/* "2026-11-28T14:43:03Z" exactly. */
static int parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se;
	char z;
	if (strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 ||
	    z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return 0;
}

json_t *cvqd_canon_parse_receipt_shown(const char *buf, size_t len, time_t *t,
                                       char *nonce, size_t noncecap, char **lang, char **dialog,
                                       char *why, size_t whylen)
{
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je), *tx = NULL;
	char *again = NULL;
	size_t alen = 0;
	const char *fmt = json_string_value(json_object_get(root, "cvq"));
	bool v2 = fmt && !strcmp(fmt, CVQD_CANON_FORMAT);
	if (lang)
		*lang = NULL;
	if (dialog)
		*dialog = NULL;
	if (!json_is_object(root) || !fmt || (!v2 && strcmp(fmt, CVQD_CANON_FORMAT_V1) != 0)) {
		snprintf(why, whylen, "content is not a cvq receipt");
		goto fail;
	}
	if (json_object_size(root) != (v2 ? 6u : 4u)) {
		snprintf(why, whylen, "content is not a cvq receipt");
		goto fail;
	}
	const char *n = json_string_value(json_object_get(root, "nonce"));
	const char *ts = json_string_value(json_object_get(root, "time"));
	const char *dl = json_string_value(json_object_get(root, "dialog"));
	const char *lg = json_string_value(json_object_get(root, "lang"));
	tx = json_object_get(root, "transaction");
	if (!n || !nonce_ok(n) || strlen(n) >= noncecap || !ts || parse_time(ts, t)) {
		snprintf(why, whylen, "bad nonce or time in the receipt");
		goto fail;
	}
	if (v2 && (!dl || !lg)) {
		snprintf(why, whylen, "content is not a cvq receipt");
		goto fail;
	}
	if (cvqd_canon_check_transaction(tx, why, whylen))
		goto fail;
	again = receipt(tx, lg, v2 ? dl : NULL, *t, n, &alen);
	if (!again || alen != len || memcmp(again, buf, len) != 0) {
		snprintf(why, whylen, "receipt content is not in canonical form");
		goto fail;
	}
	if ((lang && v2 && !(*lang = strdup(lg))) || (dialog && v2 && !(*dialog = strdup(dl)))) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	strcpy(nonce, n);
	json_incref(tx);
	free(again);
	json_decref(root);
	return tx;
fail:
	if (lang) {
		free(*lang);
		*lang = NULL;
	}
	if (dialog) {
		free(*dialog);
		*dialog = NULL;
	}
	free(again);
	json_decref(root);
	return NULL;
}

json_t *cvqd_canon_parse_receipt(const char *buf, size_t len, time_t *t,
                                 char *nonce, size_t noncecap, char *why, size_t whylen)
{
	return cvqd_canon_parse_receipt_shown(buf, len, t, nonce, noncecap, NULL, NULL, why, whylen);
}
