#include "canon.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trust.h"

static const char *const required[] = { "type", "payee", "amount", "currency", "reference" };

static bool key_ok(const char *k)
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

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "0.50", "45.00", "123456789012.99": two decimals, no sign, no leading 0. */
static bool amount_ok(const char *s, size_t n)
{
	if (n < 4 || s[n - 3] != '.' || !digits(s + n - 2, 2))
		return false;
	size_t ip = n - 3;
	if (ip > 12 || !digits(s, ip))
		return false;
	return !(ip > 1 && s[0] == '0');
}

static bool currency_ok(const char *s, size_t n)
{
	if (n != 3)
		return false;
	for (size_t i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

static bool type_ok(const char *s, size_t n)
{
	if (n < 1 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
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
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!json_object_get(tx, required[i])) {
			snprintf(why, whylen, "transaction.%s is required", required[i]);
			return -1;
		}
	json_object_foreach((json_t *)tx, k, v) {
		if (!key_ok(k)) {
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
		if (!strcmp(k, "amount") && !amount_ok(s, n)) {
			snprintf(why, whylen, "transaction.amount must look like \"45.00\"");
			return -1;
		}
		if (!strcmp(k, "currency") && !currency_ok(s, n)) {
			snprintf(why, whylen, "transaction.currency must be an ISO 4217 code like \"EUR\"");
			return -1;
		}
		if (!strcmp(k, "type") && !type_ok(s, n)) {
			snprintf(why, whylen, "transaction.type must match [a-z][a-z0-9_-]{0,31}");
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

char *cvqd_canon_receipt(const json_t *tx, time_t t, const char *nonce, size_t *len)
{
	char why[160], ts[32];
	struct buf b = { 0 };
	if (cvqd_canon_check_transaction(tx, why, sizeof why) || !nonce || !nonce_ok(nonce))
		return NULL;
	cvqd_time_rfc3339(t, ts, sizeof ts);
	/* Top-level keys, already in sorted order: cvq < nonce < time < transaction. */
	put(&b, "{\"cvq\":", 7);
	put_str(&b, CVQD_CANON_FORMAT, strlen(CVQD_CANON_FORMAT));
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

json_t *cvqd_canon_parse_receipt(const char *buf, size_t len, time_t *t,
                                 char *nonce, size_t noncecap, char *why, size_t whylen)
{
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je), *tx = NULL;
	char *again = NULL;
	size_t alen = 0;
	if (!json_is_object(root) || json_object_size(root) != 4) {
		snprintf(why, whylen, "content is not a cvq receipt");
		goto fail;
	}
	const char *fmt = json_string_value(json_object_get(root, "cvq"));
	const char *n = json_string_value(json_object_get(root, "nonce"));
	const char *ts = json_string_value(json_object_get(root, "time"));
	tx = json_object_get(root, "transaction");
	if (!fmt || strcmp(fmt, CVQD_CANON_FORMAT) != 0) {
		snprintf(why, whylen, "unknown receipt format");
		goto fail;
	}
	if (!n || !nonce_ok(n) || strlen(n) >= noncecap || !ts || parse_time(ts, t)) {
		snprintf(why, whylen, "bad nonce or time in the receipt");
		goto fail;
	}
	if (cvqd_canon_check_transaction(tx, why, whylen))
		goto fail;
	again = cvqd_canon_receipt(tx, *t, n, &alen);
	if (!again || alen != len || memcmp(again, buf, len) != 0) {
		snprintf(why, whylen, "receipt content is not in canonical form");
		goto fail;
	}
	strcpy(nonce, n);
	json_incref(tx);
	free(again);
	json_decref(root);
	return tx;
fail:
	free(again);
	json_decref(root);
	return NULL;
}
