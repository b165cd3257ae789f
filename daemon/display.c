#include "display.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "display_builtin.h"

#define MAX_TYPES 64
#define MAX_FIELDS 16
#define MAX_SENTENCE 1024

enum kind { K_NAME, K_TEXT, K_REFERENCE, K_AMOUNT, K_CURRENCY, K_DATE, K_TIME, K_COUNT };

static const char *const kind_names[] = {
	[K_NAME] = "name", [K_TEXT] = "text", [K_REFERENCE] = "reference",
	[K_AMOUNT] = "amount", [K_CURRENCY] = "currency", [K_DATE] = "date",
	[K_TIME] = "time", [K_COUNT] = "count",
};

struct field {
	char name[33];
	enum kind kind;
	bool required;
};

struct type {
	char name[33];
	struct field f[MAX_FIELDS];
	size_t nf;
	char *sentence[2]; /* fr, en */
	json_t *def;
};

struct cvqd_display {
	cvqd_text *text;
	struct type t[MAX_TYPES];
	size_t nt;
};

static const char *const langs[2] = { "fr", "en" };

const char *cvqd_display_lang(const char *lang)
{
	return lang && !strncmp(lang, "fr", 2) ? "fr" : "en";
}

static const struct field *find_field(const struct type *ty, const char *name, size_t n)
{
	for (size_t i = 0; i < ty->nf; i++)
		if (strlen(ty->f[i].name) == n && !memcmp(ty->f[i].name, name, n))
			return &ty->f[i];
	return NULL;
}

static const struct type *find_type(const cvqd_display *d, const char *name)
{
	for (size_t i = 0; i < d->nt; i++)
		if (!strcmp(d->t[i].name, name))
			return &d->t[i];
	return NULL;
}

/*
 * One pass over a sentence. check: the load-time rules (every placeholder
 * a field, no nesting, one optional field per group, required ones
 * outside groups), *shown gets a bit per field shown. Else render tx into
 * out (a group only when its optional field is present).
 */
struct walk {
	const struct type *ty;
	const cvqd_display *d;
	const json_t *tx;        /* NULL: check only */
	const char *lang;
	char *out;
	size_t len, pos;
	bool overflow;
	unsigned shown;
	cvqd_display_refusal *why;
};

static void emit(struct walk *w, const char *s, size_t n)
{
	if (!w->tx)
		return;
	if (w->pos + n + 1 > w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->out + w->pos, s, n);
	w->pos += n;
	w->out[w->pos] = '\0';
}

static void refuse(cvqd_display_refusal *why, const char *field, const char *reason,
                   const char *fmt, ...)
{
	if (!why)
		return;
	va_list ap;
	snprintf(why->field, sizeof why->field, "%s", field);
	snprintf(why->reason, sizeof why->reason, "%s", reason);
	va_start(ap, fmt);
	vsnprintf(why->message, sizeof why->message, fmt, ap);
	va_end(ap);
}

static const char *value(const json_t *tx, const char *k)
{
	return json_string_value(json_object_get(tx, k));
}

/* The field as the dialog shows it; the value passed its kind's check. */
static int show_field(struct walk *w, const struct field *f)
{
	char buf[256];
	const char *v = value(w->tx, f->name);
	switch (f->kind) {
	case K_AMOUNT:
		if (cvqd_text_amount(v, value(w->tx, "currency"), w->lang, buf, sizeof buf))
			return -1;
		emit(w, buf, strlen(buf));
		return 0;
	case K_DATE:
		if (cvqd_text_date(v, w->lang, buf, sizeof buf))
			return -1;
		emit(w, buf, strlen(buf));
		return 0;
	default:
		emit(w, v, strlen(v));
		return 0;
	}
}

static int walk(struct walk *w, const char *s)
{
	const char *group = NULL;     /* start of the open group */
	const struct field *gopt = NULL;
	bool skip = false;            /* rendering a group whose field is absent */
	for (const char *p = s; *p;) {
		if (*p == '[') {
			if (group)
				goto bad_nesting;
			group = p++;
			gopt = NULL;
			/* Look ahead for the group's optional field to know whether to show it. */
			const char *q = p;
			skip = false;
			while (*q && *q != ']') {
				if (*q == '{') {
					size_t n = strcspn(q + 1, "}");
					const struct field *f = find_field(w->ty, q + 1, n);
					if (f && !f->required && f->kind != K_CURRENCY && w->tx &&
					    !json_object_get(w->tx, f->name))
						skip = true;
					q += n + (q[n + 1] ? 2 : 1);
				} else {
					q++;
				}
			}
			continue;
		}
		if (*p == ']') {
			if (!group)
				goto bad_nesting;
			if (!gopt) {
				refuse(w->why, w->ty->name, "schema", "a [...] group must show one optional field");
				return -1;
			}
			group = NULL;
			skip = false;
			p++;
			continue;
		}
		if (*p == '}')
			goto bad_nesting;
		if (*p != '{') {
			size_t n = strcspn(p, "[]{}");
			if (!skip)
				emit(w, p, n);
			p += n;
			continue;
		}
		size_t n = strcspn(p + 1, "}[]{");
		if (p[1 + n] != '}') {
			refuse(w->why, w->ty->name, "schema", "unclosed placeholder");
			return -1;
		}
		const struct field *f = find_field(w->ty, p + 1, n);
		if (!f) {
			refuse(w->why, w->ty->name, "schema", "placeholder {%.*s} names no field",
			       (int)(n > 40 ? 40 : n), p + 1);
			return -1;
		}
		if (!w->tx) {
			if (f->required && group) {
				refuse(w->why, w->ty->name, "schema",
				       "required field %s inside [...]: it could go unshown", f->name);
				return -1;
			}
			if (!f->required && f->kind != K_CURRENCY && !group) {
				refuse(w->why, w->ty->name, "schema",
				       "optional field %s outside [...]", f->name);
				return -1;
			}
			if (!f->required && f->kind != K_CURRENCY && group) {
				if (gopt && gopt != f) {
					refuse(w->why, w->ty->name, "schema",
					       "a [...] group shows two optional fields");
					return -1;
				}
				gopt = f;
			}
			w->shown |= 1u << (f - w->ty->f);
			if (f->kind == K_AMOUNT) {
				const struct field *c = find_field(w->ty, "currency", 8);
				if (c)
					w->shown |= 1u << (c - w->ty->f);
			}
		} else {
			if (group && !f->required && f->kind != K_CURRENCY)
				gopt = f;
			if (!skip && show_field(w, f))
				return -1;
		}
		p += n + 2;
	}
	if (group)
		goto bad_nesting;
	return 0;
bad_nesting:
	refuse(w->why, w->ty->name, "schema", "unbalanced [ ] or { } in the sentence");
	return -1;
}

static int parse_kind(const char *s, enum kind *k)
{
	for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
		if (!strcmp(s, kind_names[i])) {
			*k = (enum kind)i;
			return 0;
		}
	return -1;
}

static void type_clear(struct type *ty)
{
	free(ty->sentence[0]);
	free(ty->sentence[1]);
	json_decref(ty->def);
	memset(ty, 0, sizeof *ty);
}

static int load_type(const cvqd_display *d, struct type *ty, const char *name, json_t *def,
                     char *err, size_t errlen)
{
	json_t *fields = json_object_get(def, "fields"), *sent = json_object_get(def, "sentence");
	const char *k;
	json_t *v;
	cvqd_display_refusal why;
	memset(ty, 0, sizeof *ty);
	if (!cvqd_canon_key_ok(name)) {
		snprintf(err, errlen, "type name '%.40s' must match [a-z][a-z0-9_]{0,31}", name);
		return -1;
	}
	snprintf(ty->name, sizeof ty->name, "%s", name);
	if (!json_is_object(def) || json_object_size(def) != 2 || !json_is_object(fields) ||
	    !json_is_object(sent) || json_object_size(sent) != 2) {
		snprintf(err, errlen, "%s: needs exactly \"fields\" and \"sentence\" {\"fr\", \"en\"}", name);
		return -1;
	}
	size_t amounts = 0;
	json_object_foreach(fields, k, v) {
		json_t *kind = json_object_get(v, "kind"), *req = json_object_get(v, "required");
		if (ty->nf == MAX_FIELDS) {
			snprintf(err, errlen, "%s: more than %d fields", name, MAX_FIELDS);
			return -1;
		}
		struct field *f = &ty->f[ty->nf];
		if (!cvqd_canon_key_ok(k) || !strcmp(k, "type")) {
			snprintf(err, errlen, "%s: bad field name '%.40s'", name, k);
			return -1;
		}
		if (!json_is_object(v) || !json_is_string(kind) || (req && !json_is_boolean(req)) ||
		    json_object_size(v) != (req ? 2u : 1u) || parse_kind(json_string_value(kind), &f->kind)) {
			snprintf(err, errlen, "%s.%s: needs \"kind\" (name, text, reference, amount, "
			         "currency, date, time, count) and at most \"required\"", name, k);
			return -1;
		}
		snprintf(f->name, sizeof f->name, "%s", k);
		f->required = json_is_true(req);
		if (f->kind == K_AMOUNT)
			amounts++;
		if (f->kind == K_CURRENCY && strcmp(k, "currency")) {
			snprintf(err, errlen, "%s.%s: the currency field must be named \"currency\"", name, k);
			return -1;
		}
		ty->nf++;
	}
	const struct field *cur = find_field(ty, "currency", 8), *amt = NULL;
	for (size_t i = 0; i < ty->nf; i++)
		if (ty->f[i].kind == K_AMOUNT)
			amt = &ty->f[i];
	if (amounts > 1 || !amt != !cur || (amt && amt->required != cur->required)) {
		snprintf(err, errlen, "%s: at most one amount, with a \"currency\" field as required as it", name);
		return -1;
	}
	for (int l = 0; l < 2; l++) {
		json_t *s = json_object_get(sent, langs[l]);
		if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > MAX_SENTENCE ||
		    strlen(json_string_value(s)) != json_string_length(s)) {
			snprintf(err, errlen, "%s: sentence.%s must be a string of 1 to %d bytes",
			         name, langs[l], MAX_SENTENCE);
			return -1;
		}
		long cp;
		const char *bad = cvqd_text_literal(d->text, json_string_value(s), json_string_length(s), &cp);
		if (bad) {
			/* What the sentence adds is shown too: no control or bidi character. */
			snprintf(err, errlen, "%s: sentence.%s: %s (U+%04lX)", name, langs[l], bad, (unsigned long)cp);
			return -1;
		}
		struct walk w = { .ty = ty, .why = &why };
		if (walk(&w, json_string_value(s))) {
			snprintf(err, errlen, "%s: sentence.%s: %s", name, langs[l], why.message);
			return -1;
		}
		for (size_t i = 0; i < ty->nf; i++)
			if (!(w.shown & (1u << i))) {
				snprintf(err, errlen, "%s: sentence.%s does not show field %s: every field "
				         "must be shown", name, langs[l], ty->f[i].name);
				return -1;
			}
		if (!(ty->sentence[l] = strdup(json_string_value(s)))) {
			snprintf(err, errlen, "out of memory");
			type_clear(ty);
			return -1;
		}
	}
	ty->def = json_incref(def);
	return 0;
}

int cvqd_display_add_json(cvqd_display *d, const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	const char *k;
	json_t *v;
	int rc = -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object of types: %.120s", root ? "" : je.text);
		goto out;
	}
	json_object_foreach(root, k, v) {
		struct type ty;
		if (load_type(d, &ty, k, v, err, errlen)) {
			type_clear(&ty);
			goto out;
		}
		struct type *slot = (struct type *)find_type(d, k);
		if (!slot) {
			if (d->nt == MAX_TYPES) {
				snprintf(err, errlen, "more than %d types", MAX_TYPES);
				type_clear(&ty);
				goto out;
			}
			slot = &d->t[d->nt++];
		} else {
			type_clear(slot);
		}
		*slot = ty;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
			*len = fread(buf, 1, (size_t)n, f);
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

cvqd_display *cvqd_display_new(const char *scripts, char *const *files, size_t n,
                               char *err, size_t errlen)
{
	char sub[200];
	cvqd_display *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!(d->text = cvqd_text_new(scripts, err, errlen)))
		goto fail;
	if (cvqd_display_add_json(d, cvqd_display_builtin, strlen(cvqd_display_builtin), sub, sizeof sub)) {
		snprintf(err, errlen, "built-in schemas: %s", sub);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		char *text = read_file(files[i], &len);
		if (!text) {
			snprintf(err, errlen, "%s: cannot read", files[i]);
			goto fail;
		}
		int rc = cvqd_display_add_json(d, text, len, sub, sizeof sub);
		free(text);
		if (rc) {
			snprintf(err, errlen, "%s: %s", files[i], sub);
			goto fail;
		}
	}
	return d;
fail:
	cvqd_display_free(d);
	return NULL;
}

void cvqd_display_free(cvqd_display *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nt; i++)
		type_clear(&d->t[i]);
	cvqd_text_free(d->text);
	free(d);
}

const cvqd_text *cvqd_display_text(const cvqd_display *d)
{
	return d->text;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* [A-Za-z0-9][A-Za-z0-9._/-]{0,39}: ASCII only, so nothing to confuse. */
static bool reference_ok(const char *s, size_t n)
{
	if (n < 1 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || !strchr("._/-", c)))
			return false;
	}
	return true;
}

/* The reason a value fails its kind, or NULL; *cp the offending character. */
static const char *check_value(const cvqd_display *d, const struct field *f, const json_t *tx,
                               const char *s, size_t n, long *cp)
{
	char buf[256];
	int digits;
	*cp = -1;
	switch (f->kind) {
	case K_NAME:
		return cvqd_text_check(d->text, s, n, 80, true, cp);
	case K_TEXT:
		return n > CVQD_CANON_MAX_VALUE ? "too_long" : cvqd_text_check(d->text, s, n, 200, false, cp);
	case K_REFERENCE:
		return reference_ok(s, n) ? NULL : "syntax";
	case K_CURRENCY:
		return cvqd_text_currency(s, &digits);
	case K_AMOUNT:
		if (!json_is_string(json_object_get(tx, "currency")))
			return "requires_currency";
		if (cvqd_text_currency(value(tx, "currency"), &digits))
			return NULL; /* the currency field reports it */
		return cvqd_text_amount(s, value(tx, "currency"), "en", buf, sizeof buf);
	case K_DATE:
		return cvqd_text_date(s, "en", buf, sizeof buf);
	case K_TIME:
		if (n != 5 || s[2] != ':' || !all_digits(s, 2) || !all_digits(s + 3, 2) ||
		    (s[0] - '0') * 10 + (s[1] - '0') > 23 || s[3] > '5')
			return "syntax";
		return NULL;
	case K_COUNT:
		return all_digits(s, n) && n <= 4 && s[0] != '0' ? NULL : "syntax";
	}
	return "syntax";
}

int cvqd_display_render(const cvqd_display *d, const json_t *tx, const char *lang,
                        char *out, size_t len, cvqd_display_refusal *why)
{
	const char *k;
	json_t *v;
	char fname[48];
	if (!json_is_object(tx)) {
		refuse(why, "transaction", "not_an_object", "transaction must be an object");
		return -1;
	}
	json_t *jt = json_object_get(tx, "type");
	if (!json_is_string(jt)) {
		refuse(why, "transaction.type", jt ? "not_a_string" : "missing",
		       "transaction.type is required: one of the types in docs/api.md");
		return -1;
	}
	const struct type *ty = find_type(d, json_string_value(jt));
	if (!ty) {
		refuse(why, "transaction.type", "unknown_type", "transaction.type: no such type");
		return -1;
	}
	/* Unknown fields first: nothing the schema does not show is ever signed. */
	json_object_foreach((json_t *)tx, k, v) {
		if (!strcmp(k, "type"))
			continue;
		snprintf(fname, sizeof fname, "transaction.%.32s", k);
		if (!find_field(ty, k, strlen(k))) {
			refuse(why, fname, "unknown_field", "%s: not a field of type %s", fname, ty->name);
			return -1;
		}
		if (!json_is_string(v)) {
			refuse(why, fname, "not_a_string", "%s must be a string", fname);
			return -1;
		}
	}
	for (size_t i = 0; i < ty->nf; i++) {
		const struct field *f = &ty->f[i];
		json_t *fv = json_object_get(tx, f->name);
		snprintf(fname, sizeof fname, "transaction.%s", f->name);
		if (!fv) {
			if (f->required) {
				refuse(why, fname, "missing", "%s is required for type %s", fname, ty->name);
				return -1;
			}
			if (f->kind == K_CURRENCY && json_object_get(tx, "amount")) {
				refuse(why, fname, "missing", "%s is required with an amount", fname);
				return -1;
			}
			continue;
		}
		long cp;
		const char *r = check_value(d, f, tx, json_string_value(fv), json_string_length(fv), &cp);
		if (!r && f->kind == K_CURRENCY) {
			bool has_amount = false;
			for (size_t j = 0; j < ty->nf; j++)
				if (ty->f[j].kind == K_AMOUNT && json_object_get(tx, ty->f[j].name))
					has_amount = true;
			if (!has_amount)
				r = "requires_amount";
		}
		if (r) {
			if (cp >= 0)
				refuse(why, fname, r, "%s: %s (U+%04lX)", fname, r, (unsigned long)cp);
			else
				refuse(why, fname, r, "%s: %s", fname, r);
			return -1;
		}
	}
	const char *l = cvqd_display_lang(lang);
	struct walk w = { .ty = ty, .d = d, .tx = tx, .lang = l, .out = out, .len = len, .why = why };
	if (len)
		out[0] = '\0';
	if (walk(&w, ty->sentence[!strcmp(l, "fr") ? 0 : 1]) || w.overflow) {
		refuse(why, "transaction", "too_long_to_show",
		       "transaction text too long to show in the PIN dialog");
		return -1;
	}
	return 0;
}

json_t *cvqd_display_describe(const cvqd_display *d)
{
	json_t *j = json_object();
	for (size_t i = 0; i < d->nt; i++)
		json_object_set(j, d->t[i].name, d->t[i].def);
	return j;
}
