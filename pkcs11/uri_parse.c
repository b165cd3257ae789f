/* RFC 7512 PKCS#11 URI parser: pkcs11:path?query, values %-decoded. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "uri_int.h"

#define URI_MAX 8192

static const char *const attr_names[CVQ_P11_URI__COUNT] = {
	[CVQ_P11_URI_TOKEN] = "token",
	[CVQ_P11_URI_MANUFACTURER] = "manufacturer",
	[CVQ_P11_URI_SERIAL] = "serial",
	[CVQ_P11_URI_MODEL] = "model",
	[CVQ_P11_URI_LIBRARY_MANUFACTURER] = "library-manufacturer",
	[CVQ_P11_URI_LIBRARY_DESCRIPTION] = "library-description",
	[CVQ_P11_URI_LIBRARY_VERSION] = "library-version",
	[CVQ_P11_URI_SLOT_DESCRIPTION] = "slot-description",
	[CVQ_P11_URI_SLOT_MANUFACTURER] = "slot-manufacturer",
	[CVQ_P11_URI_SLOT_ID] = "slot-id",
	[CVQ_P11_URI_OBJECT] = "object",
	[CVQ_P11_URI_ID] = "id",
	[CVQ_P11_URI_TYPE] = "type",
	[CVQ_P11_URI_MODULE_PATH] = "module-path",
	[CVQ_P11_URI_MODULE_NAME] = "module-name",
	[CVQ_P11_URI_PIN_SOURCE] = "pin-source",
	[CVQ_P11_URI_PIN_VALUE] = "pin-value",
};

const char *cvq_p11_uri_attr_name(cvq_p11_uri_attr a)
{
	return (unsigned)a < CVQ_P11_URI__COUNT ? attr_names[a] : NULL;
}

/*
 * RFC 7512 pk11-path-res-avail / pk11-query-res-avail plus unreserved;
 * the query also allows '/', '?' and '|'. Everything else must be
 * %-escaped, which keeps spaces and control bytes out of raw URIs.
 */
static bool raw_ok(unsigned char c, bool query)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	if (strchr("-._~:[]@!$'()*+,=", c) != NULL && c != '\0')
		return true;
	if (!query && c == '&')
		return true;
	if (query && (c == '/' || c == '?' || c == '|'))
		return true;
	return false;
}

/* Decode src[0..n) into a new NUL-terminated buffer; *out_len excludes NUL. */
static cvq_p11_err decode(const char *src, size_t n, bool query, char **out,
                          size_t *out_len)
{
	char *dst = malloc(n + 1);
	size_t i, j = 0;

	if (dst == NULL)
		return CVQ_P11_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '%') {
			int hi, lo;
			if (n - i < 3)
				goto bad;
			hi = OPENSSL_hexchar2int((unsigned char)src[i + 1]);
			lo = OPENSSL_hexchar2int((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			dst[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (raw_ok(c, query)) {
			dst[j++] = (char)c;
		} else {
			goto bad;
		}
	}
	dst[j] = '\0';
	*out = dst;
	*out_len = j;
	return CVQ_P11_OK;
bad:
	OPENSSL_cleanse(dst, n + 1);
	free(dst);
	return CVQ_P11_ERR_URI;
}

static int find_attr(const char *name, size_t n, bool query)
{
	int a, first = query ? CVQ_P11_URI_MODULE_PATH : 0;
	int last = query ? CVQ_P11_URI__COUNT : CVQ_P11_URI_MODULE_PATH;

	for (a = first; a < last; a++)
		if (strlen(attr_names[a]) == n && memcmp(attr_names[a], name, n) == 0)
			return a;
	return -1;
}

static cvq_p11_err parse_type(cvq_p11_uri *u)
{
	static const struct { const char *s; cvq_p11_uri_type t; } types[] = {
		{ "private", CVQ_P11_URI_TYPE_PRIVATE },
		{ "public", CVQ_P11_URI_TYPE_PUBLIC },
		{ "cert", CVQ_P11_URI_TYPE_CERT },
		{ "secret-key", CVQ_P11_URI_TYPE_SECRET_KEY },
		{ "data", CVQ_P11_URI_TYPE_DATA },
	};
	const char *v = u->val[CVQ_P11_URI_TYPE];
	size_t i;

	if (v == NULL)
		return CVQ_P11_OK;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(v, types[i].s) == 0) {
			u->type = types[i].t;
			return CVQ_P11_OK;
		}
	}
	return CVQ_P11_ERR_URI;
}

static cvq_p11_err parse_slot_id(cvq_p11_uri *u)
{
	const char *v = u->val[CVQ_P11_URI_SLOT_ID];
	unsigned long long n = 0;

	if (v == NULL)
		return CVQ_P11_OK;
	if (*v == '\0' || strlen(v) > 19)
		return CVQ_P11_ERR_URI;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return CVQ_P11_ERR_URI;
		n = n * 10 + (unsigned)(*v - '0');
	}
	if (n > (unsigned long)-1)
		return CVQ_P11_ERR_URI;
	u->slot_id = (unsigned long)n;
	u->has_slot_id = true;
	return CVQ_P11_OK;
}

/* One "name=value" component of the path (sep ';') or query (sep '&'). */
static cvq_p11_err parse_component(cvq_p11_uri *u, const char *s, size_t n,
                                   bool query)
{
	const char *eq = memchr(s, '=', n);
	size_t name_len;
	int a;
	cvq_p11_err err;

	if (n == 0)
		return query ? CVQ_P11_ERR_URI : CVQ_P11_OK;
	if (eq == NULL || eq == s)
		return CVQ_P11_ERR_URI;
	name_len = (size_t)(eq - s);
	a = find_attr(s, name_len, query);
	if (a < 0) {
		/* vendor-specific attributes: allowed, not interpreted */
		if (name_len > 2 && s[0] == 'x' && s[1] == '-')
			return CVQ_P11_OK;
		return CVQ_P11_ERR_URI;
	}
	/* RFC 7512: a path attribute appears once; we hold the query to that too */
	if (u->val[a] != NULL)
		return CVQ_P11_ERR_URI;
	err = decode(eq + 1, n - name_len - 1, query, &u->val[a], &u->len[a]);
	if (err != CVQ_P11_OK)
		return err;
	/* text attributes must not hide a NUL; only id is binary */
	if (a != CVQ_P11_URI_ID && strlen(u->val[a]) != u->len[a])
		return CVQ_P11_ERR_URI;
	return CVQ_P11_OK;
}

static cvq_p11_err parse_list(cvq_p11_uri *u, const char *s, size_t n,
                              char sep, bool query)
{
	size_t start = 0, i;
	cvq_p11_err err;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == sep) {
			err = parse_component(u, s + start, i - start, query);
			if (err != CVQ_P11_OK)
				return err;
			start = i + 1;
		}
	}
	return CVQ_P11_OK;
}

cvq_p11_err cvq_p11_uri_parse(const char *text, cvq_p11_uri **out)
{
	cvq_p11_uri *u = NULL;
	const char *path, *q;
	size_t n;
	cvq_p11_err err;

	if (out != NULL)
		*out = NULL;
	if (text == NULL || out == NULL)
		return CVQ_P11_ERR_ARG;
	n = strnlen(text, URI_MAX + 1);
	if (n > URI_MAX || n < 7 || strncasecmp(text, "pkcs11:", 7) != 0)
		return CVQ_P11_ERR_URI;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return CVQ_P11_ERR_NOMEM;
	path = text + 7;
	q = memchr(path, '?', n - 7);
	err = parse_list(u, path, q != NULL ? (size_t)(q - path) : n - 7, ';', false);
	if (err == CVQ_P11_OK && q != NULL)
		err = parse_list(u, q + 1, (size_t)(text + n - q - 1), '&', true);
	if (err == CVQ_P11_OK)
		err = parse_type(u);
	if (err == CVQ_P11_OK)
		err = parse_slot_id(u);
	if (err != CVQ_P11_OK) {
		cvq_p11_uri_free(u);
		return err;
	}
	*out = u;
	return CVQ_P11_OK;
}

void cvq_p11_uri_free(cvq_p11_uri *u)
{
	int a;

	if (u == NULL)
		return;
	for (a = 0; a < CVQ_P11_URI__COUNT; a++) {
		if (u->val[a] != NULL) {
			OPENSSL_cleanse(u->val[a], u->len[a]);
			free(u->val[a]);
		}
	}
	OPENSSL_cleanse(u, sizeof(*u));
	free(u);
}

const char *cvq_p11_uri_get(const cvq_p11_uri *u, cvq_p11_uri_attr a,
                            size_t *len)
{
	if (u == NULL || (unsigned)a >= CVQ_P11_URI__COUNT || u->val[a] == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = u->len[a];
	return u->val[a];
}

cvq_p11_uri_type cvq_p11_uri_get_type(const cvq_p11_uri *u)
{
	return u != NULL ? u->type : CVQ_P11_URI_TYPE_ANY;
}

bool cvq_p11_uri_slot_id(const cvq_p11_uri *u, unsigned long *slot_id)
{
	if (u == NULL || !u->has_slot_id)
		return false;
	if (slot_id != NULL)
		*slot_id = u->slot_id;
	return true;
}
