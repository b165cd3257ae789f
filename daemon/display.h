/*
 * cvqd — the display model: what a transaction may hold and how the PIN
 * dialog says it. Each transaction "type" is a closed schema (built in:
 * display_builtin.c; more from [display] schemas = JSON files): its
 * fields, which are required, each field's kind (its syntax and how it is
 * shown), and one sentence per language that shows every field:
 *
 *   "payment": {
 *     "fields": { "payee": {"kind": "name", "required": true}, … },
 *     "sentence": { "fr": "Paiement de {amount} à {payee} — réf. {reference}[\n{description}]",
 *                   "en": "Payment of {amount} to {payee} — ref. {reference}[\n{description}]" } }
 *
 * "{f}" is field f as shown (an amount with its currency, a date in
 * words); "[…]" is shown only when its optional fields are present. A
 * schema is refused at load when a sentence leaves a field out, or shows
 * an optional one outside "[…]": no field can be signed and not shown.
 * A transaction is refused when its type or any field is unknown, a
 * required field is missing, or a value fails its kind's check; the
 * refusal names the field and a stable reason code (docs/api.md).
 */
#ifndef CVQD_DISPLAY_H
#define CVQD_DISPLAY_H

#include <jansson.h>
#include <stddef.h>

#include "text.h"

typedef struct cvqd_display cvqd_display;

typedef struct cvqd_display_refusal {
	char field[48];      /* "transaction.payee", "transaction", "origin" */
	char reason[32];     /* stable code: "unknown_field", "bidi_control", … */
	char message[200];   /* for people */
} cvqd_display_refusal;

/*
 * The built-in schemas, then each file of `files` (n of them; a type
 * defined again replaces the built-in one). scripts as for cvqd_text_new.
 * NULL with a reason (file: type: problem).
 */
cvqd_display *cvqd_display_new(const char *scripts, char *const *files, size_t n,
                               char *err, size_t errlen);
void cvqd_display_free(cvqd_display *d);

/* Add (or replace) the types of one JSON text; 0, or -1 with a reason. */
int cvqd_display_add_json(cvqd_display *d, const char *json, size_t len,
                          char *err, size_t errlen);

const cvqd_text *cvqd_display_text(const cvqd_display *d);

/*
 * Check tx against its type's schema and write the dialog text in lang
 * ("fr", "en"; others fall back to "en") to out. 0, or -1 with *why.
 */
int cvqd_display_render(const cvqd_display *d, const json_t *tx, const char *lang,
                        char *out, size_t len, cvqd_display_refusal *why);

/* The language rendered for lang: "fr" or "en". */
const char *cvqd_display_lang(const char *lang);

/* The types as JSON (for docs and tests): {"payment": {"fields":…, "sentence":…}, …}. */
json_t *cvqd_display_describe(const cvqd_display *d);

#endif
