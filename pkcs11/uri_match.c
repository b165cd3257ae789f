/* Matching tokens and objects against a parsed URI; canonical output. */
#include <stdio.h>
#include <string.h>

#include "uri_int.h"

/* PKCS#11 token strings are blank-padded to a fixed width. */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

static bool match_str(const cvq_p11_uri *u, cvq_p11_uri_attr a, const char *s)
{
	size_t n;

	if (u->val[a] == NULL)
		return true;
	if (s == NULL)
		s = "";
	n = trimmed_len(s);
	return n == u->len[a] && memcmp(s, u->val[a], n) == 0;
}

bool cvq_p11_uri_match_token(const cvq_p11_uri *u, const char *label,
                             const char *manufacturer, const char *model,
                             const char *serial)
{
	if (u == NULL)
		return false;
	return match_str(u, CVQ_P11_URI_TOKEN, label) &&
	       match_str(u, CVQ_P11_URI_MANUFACTURER, manufacturer) &&
	       match_str(u, CVQ_P11_URI_MODEL, model) &&
	       match_str(u, CVQ_P11_URI_SERIAL, serial);
}

bool cvq_p11_uri_match_object(const cvq_p11_uri *u, const char *label,
                              const unsigned char *id, size_t id_len)
{
	if (u == NULL)
		return false;
	if (u->val[CVQ_P11_URI_OBJECT] != NULL &&
	    (label == NULL || strcmp(label, u->val[CVQ_P11_URI_OBJECT]) != 0))
		return false;
	if (u->val[CVQ_P11_URI_ID] != NULL &&
	    (id_len != u->len[CVQ_P11_URI_ID] ||
	     (id_len > 0 && (id == NULL ||
	                     memcmp(id, u->val[CVQ_P11_URI_ID], id_len) != 0))))
		return false;
	return true;
}

static bool keep_raw(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || o->cap - o->len <= n) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_value(struct out *o, const char *v, size_t n, bool is_id,
                      bool is_path)
{
	char esc[4];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		/* ids are always fully escaped, like p11tool and p11-kit do */
		if (!is_id && (keep_raw(c) || (!is_path && c == '/'))) {
			put(o, (const char *)&c, 1);
		} else {
			snprintf(esc, sizeof(esc), "%%%02x", c);
			put(o, esc, 3);
		}
	}
}

cvq_p11_err cvq_p11_uri_format(const cvq_p11_uri *u, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };
	bool first = true, q_first = true;
	int a;

	if (u == NULL || buf == NULL || cap == 0)
		return CVQ_P11_ERR_ARG;
	buf[0] = '\0';
	put(&o, "pkcs11:", 7);
	for (a = 0; a < CVQ_P11_URI__COUNT; a++) {
		bool query = a >= CVQ_P11_URI_MODULE_PATH;
		const char *name = cvq_p11_uri_attr_name((cvq_p11_uri_attr)a);

		if (u->val[a] == NULL || a == CVQ_P11_URI_PIN_VALUE)
			continue;
		if (query) {
			put(&o, q_first ? "?" : "&", 1);
			q_first = false;
		} else if (!first) {
			put(&o, ";", 1);
		}
		first = false;
		put(&o, name, strlen(name));
		put(&o, "=", 1);
		put_value(&o, u->val[a], u->len[a], a == CVQ_P11_URI_ID, !query);
	}
	if (o.overflow) {
		buf[0] = '\0';
		return CVQ_P11_ERR_TOO_SMALL;
	}
	return CVQ_P11_OK;
}
