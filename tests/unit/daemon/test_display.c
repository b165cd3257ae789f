/*
 * The display model: each built-in type rendered in French and English
 * (amounts and dates by ICU), every refusal with its field and reason,
 * schemas that would sign a field without showing it refused at load,
 * and the Web eID origin rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display.h"

static cvqd_display *d;

static int setup(void **state)
{
	char err[200];
	d = cvqd_display_new(NULL, NULL, 0, err, sizeof err);
	if (!d)
		fprintf(stderr, "%s\n", err);
	return d ? 0 : -1;
}

static int teardown(void **state)
{
	cvqd_display_free(d);
	return 0;
}

static char *render(const char *json, const char *lang, cvqd_display_refusal *why)
{
	static char out[2048];
	json_error_t je;
	json_t *tx = json_loads(json, 0, &je);
	assert_non_null(tx);
	int rc = cvqd_display_render(d, tx, lang, out, sizeof out, why);
	json_decref(tx);
	return rc ? NULL : out;
}

#define NNBSP "\xe2\x80\xaf" /* U+202F, ICU's French group separator */
#define NBSP "\xc2\xa0"      /* U+00A0, before the currency sign */

static void test_sentences(void **state)
{
	cvqd_display_refusal why;
	static const struct { const char *tx, *fr, *en; } ok[] = {
		{ "{\"type\":\"payment\",\"payee\":\"École de musique\",\"amount\":\"45.00\",\"currency\":\"EUR\",\"reference\":\"INSCR-2026-0042\"}",
		  "Paiement de 45,00" NBSP "€ à École de musique — réf. INSCR-2026-0042",
		  "Payment of €45.00 to École de musique — ref. INSCR-2026-0042" },
		{ "{\"type\":\"payment\",\"payee\":\"Piscine\",\"amount\":\"4500.00\",\"currency\":\"EUR\",\"reference\":\"P-1\",\"description\":\"Abonnement annuel\"}",
		  "Paiement de 4" NNBSP "500,00" NBSP "€ à Piscine — réf. P-1\nAbonnement annuel",
		  "Payment of €4,500.00 to Piscine — ref. P-1\nAbonnement annuel" },
		{ "{\"type\":\"payment\",\"payee\":\"Musée\",\"amount\":\"1500\",\"currency\":\"JPY\",\"reference\":\"J-1\"}",
		  "Paiement de 1" NNBSP "500" NBSP "JPY à Musée — réf. J-1", "Payment of ¥1,500 to Musée — ref. J-1" },
		{ "{\"type\":\"payment\",\"payee\":\"Ambassade\",\"amount\":\"12.345\",\"currency\":\"KWD\",\"reference\":\"K-1\"}",
		  "Paiement de 12,345" NBSP "KWD à Ambassade — réf. K-1", "Payment of KWD" NBSP "12.345 to Ambassade — ref. K-1" },
		{ "{\"type\":\"school_registration\",\"pupil\":\"Léa Martin\",\"school\":\"École Jules Ferry\",\"school_year\":\"2026-2027\",\"reference\":\"SR-7\"}",
		  "Inscription de Léa Martin à École Jules Ferry pour l’année 2026-2027 — réf. SR-7",
		  "Registration of Léa Martin at École Jules Ferry for the year 2026-2027 — ref. SR-7" },
		{ "{\"type\":\"booking\",\"facility\":\"Salle des fêtes\",\"date\":\"2026-09-01\",\"time\":\"14:30\",\"reference\":\"B-1\",\"amount\":\"80.00\",\"currency\":\"EUR\"}",
		  "Réservation : Salle des fêtes le 1 septembre 2026 à 14:30 — réf. B-1 — prix : 80,00" NBSP "€",
		  "Booking: Salle des fêtes on September 1, 2026 at 14:30 — ref. B-1 — price: €80.00" },
		{ "{\"type\":\"booking\",\"facility\":\"Court de tennis\",\"date\":\"2026-09-01\",\"time\":\"09:00\",\"reference\":\"B-2\"}",
		  "Réservation : Court de tennis le 1 septembre 2026 à 09:00 — réf. B-2",
		  "Booking: Court de tennis on September 1, 2026 at 09:00 — ref. B-2" },
		{ "{\"type\":\"rental\",\"item\":\"Vélo électrique\",\"start\":\"2026-07-01\",\"end\":\"2026-07-15\",\"amount\":\"30.00\",\"currency\":\"EUR\",\"reference\":\"R-9\"}",
		  "Location de Vélo électrique du 1 juillet 2026 au 15 juillet 2026 pour 30,00" NBSP "€ — réf. R-9",
		  "Rental of Vélo électrique from July 1, 2026 to July 15, 2026 for €30.00 — ref. R-9" },
		{ "{\"type\":\"document_consent\",\"document\":\"Justificatif de domicile\",\"recipient\":\"Caisse des écoles\",\"purpose\":\"inscription à la cantine\",\"until\":\"2027-06-30\",\"reference\":\"DC-3\"}",
		  "Consentement : transmettre Justificatif de domicile à Caisse des écoles pour inscription à la cantine, jusqu’au 30 juin 2027 — réf. DC-3",
		  "Consent: share Justificatif de domicile with Caisse des écoles for inscription à la cantine, until June 30, 2027 — ref. DC-3" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *fr = render(ok[i].tx, "fr", &why);
		if (!fr)
			fail_msg("%s: %s %s", ok[i].tx, why.field, why.reason);
		assert_string_equal(fr, ok[i].fr);
		char *en = render(ok[i].tx, "en", &why);
		assert_non_null(en);
		assert_string_equal(en, ok[i].en);
	}
}

static void test_refusals(void **state)
{
	static const struct { const char *tx, *field, *reason; } bad[] = {
#define PAY(extra) "{\"type\":\"payment\",\"payee\":\"École\",\"amount\":\"45.00\",\"currency\":\"EUR\",\"reference\":\"R-1\"" extra "}"
		{ "{\"type\":\"sepa_mandate_recurring\"}", "transaction.type", "unknown_type" },
		{ "{\"payee\":\"x\"}", "transaction.type", "missing" },
		{ PAY(",\"iban\":\"FR76\""), "transaction.iban", "unknown_field" },
		{ PAY(",\"recurrence\":\"monthly\""), "transaction.recurrence", "unknown_field" },
		{ PAY(",\"description\":1"), "transaction.description", "not_a_string" },
		{ "{\"type\":\"payment\",\"amount\":\"45.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "missing" },
		{ "{\"type\":\"payment\",\"payee\":\"\\u009b1GPaiement\",\"amount\":\"4500.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "control" },
		{ "{\"type\":\"payment\",\"payee\":\"École\\u0085x\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "control" },
		{ "{\"type\":\"payment\",\"payee\":\"\\u202eeloc\\u00c9\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "bidi_control" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\u2066b\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "bidi_control" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\u200bb\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "format" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\ufeffb\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "format" },
		{ "{\"type\":\"payment\",\"payee\":\"E\\u0301cole\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "not_nfc" },
		{ "{\"type\":\"payment\",\"payee\":\"E\\u0336cole\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "combining_mark" },
		{ "{\"type\":\"payment\",\"payee\":\"\\u00c9\\u0441\\u043ele\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "script" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\udb40\\udc41\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "tag" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\u2028b\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "line_separator" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\ufe0fb\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "variation_selector" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\ue000\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "private_use" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\u0378\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "unassigned" },
		{ "{\"type\":\"payment\",\"payee\":\"a\\u00a0b\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "space" },
		{ "{\"type\":\"payment\",\"payee\":\"a  b\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "space" },
		{ "{\"type\":\"payment\",\"payee\":\"\\uff25cole\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.payee", "compatibility_form" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1.00\",\"currency\":\"ZZZ\",\"reference\":\"R\"}", "transaction.currency", "unknown_currency" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1.00\",\"currency\":\"XAU\",\"reference\":\"R\"}", "transaction.currency", "not_legal_tender" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1.00\",\"currency\":\"eur\",\"reference\":\"R\"}", "transaction.currency", "not_iso4217" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1.00\",\"currency\":\"JPY\",\"reference\":\"R\"}", "transaction.amount", "decimals" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1.0\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.amount", "decimals" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"0.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.amount", "zero" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1234567890123.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.amount", "too_large" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"-1.00\",\"currency\":\"EUR\",\"reference\":\"R\"}", "transaction.amount", "syntax" },
		{ "{\"type\":\"payment\",\"payee\":\"x\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"reference\":\"R 1\"}", "transaction.reference", "syntax" },
		{ "{\"type\":\"booking\",\"facility\":\"x\",\"date\":\"2026-02-30\",\"time\":\"14:30\",\"reference\":\"R\"}", "transaction.date", "not_a_date" },
		{ "{\"type\":\"booking\",\"facility\":\"x\",\"date\":\"2026-02-01\",\"time\":\"24:00\",\"reference\":\"R\"}", "transaction.time", "syntax" },
		{ "{\"type\":\"booking\",\"facility\":\"x\",\"date\":\"2026-02-01\",\"time\":\"14:00\",\"reference\":\"R\",\"currency\":\"EUR\"}", "transaction.currency", "requires_amount" },
		{ "{\"type\":\"booking\",\"facility\":\"x\",\"date\":\"2026-02-01\",\"time\":\"14:00\",\"reference\":\"R\",\"amount\":\"1.00\"}", "transaction.amount", "requires_currency" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cvqd_display_refusal why;
		memset(&why, 0, sizeof why);
		if (render(bad[i].tx, "fr", &why))
			fail_msg("accepted: %s", bad[i].tx);
		if (strcmp(why.field, bad[i].field) || strcmp(why.reason, bad[i].reason))
			fail_msg("%s: got %s %s, want %s %s", bad[i].tx, why.field, why.reason,
			         bad[i].field, bad[i].reason);
	}
}

static void test_schemas(void **state)
{
	char err[200];
	static const char *const bad[] = {
		/* a field the sentence does not show */
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true},\"b\":{\"kind\":\"text\",\"required\":true}},\"sentence\":{\"fr\":\"{a}\",\"en\":\"{a} {b}\"}}}",
		/* an optional field outside [...] */
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\"}},\"sentence\":{\"fr\":\"{a}\",\"en\":\"[{a}]\"}}}",
		/* a required field inside [...] */
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true},\"b\":{\"kind\":\"name\"}},\"sentence\":{\"fr\":\"[{a} {b}]\",\"en\":\"{a}[{b}]\"}}}",
		/* unknown placeholder, unknown kind, a member too many, bad nesting */
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true}},\"sentence\":{\"fr\":\"{a}{z}\",\"en\":\"{a}\"}}}",
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"iban\",\"required\":true}},\"sentence\":{\"fr\":\"{a}\",\"en\":\"{a}\"}}}",
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true,\"hidden\":true}},\"sentence\":{\"fr\":\"{a}\",\"en\":\"{a}\"}}}",
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\"}},\"sentence\":{\"fr\":\"[[{a}]]\",\"en\":\"[{a}]\"}}}",
		/* an amount without its currency; a field named type */
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"amount\",\"required\":true}},\"sentence\":{\"fr\":\"{a}\",\"en\":\"{a}\"}}}",
		"{\"t\":{\"fields\":{\"type\":{\"kind\":\"name\",\"required\":true}},\"sentence\":{\"fr\":\"{type}\",\"en\":\"{type}\"}}}",
		/* control and bidi characters in the sentence itself (found by the fuzzer) */
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true}},\"sentence\":{\"fr\":\"\\u007f{a}\",\"en\":\"{a}\"}}}",
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true}},\"sentence\":{\"fr\":\"{a}\",\"en\":\"\\u202e{a}\"}}}",
		"{\"t\":{\"fields\":{\"a\":{\"kind\":\"name\",\"required\":true}},\"sentence\":{\"fr\":\"\\u009b2K{a}\",\"en\":\"{a}\"}}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (cvqd_display_add_json(d, bad[i], strlen(bad[i]), err, sizeof err) == 0)
			fail_msg("schema accepted: %s", bad[i]);
	const char *good = "{\"parking_permit\":{\"fields\":{\"plate\":{\"kind\":\"reference\",\"required\":true},"
	                   "\"street\":{\"kind\":\"name\",\"required\":true}},"
	                   "\"sentence\":{\"fr\":\"Vignette {plate}, rue {street}\",\"en\":\"Permit {plate}, {street}\"}}}";
	assert_int_equal(cvqd_display_add_json(d, good, strlen(good), err, sizeof err), 0);
	cvqd_display_refusal why;
	char *out = render("{\"type\":\"parking_permit\",\"plate\":\"AB-123-CD\",\"street\":\"de la Paix\"}", "fr", &why);
	assert_non_null(out);
	assert_string_equal(out, "Vignette AB-123-CD, rue de la Paix");
}

static void test_origin(void **state)
{
	char ascii[300], shown[1100];
	const cvqd_text *t = cvqd_display_text(d);
	assert_null(cvqd_text_origin(t, "https://portail.ville.example", ascii, sizeof ascii, shown, sizeof shown));
	assert_string_equal(ascii, "https://portail.ville.example");
	assert_null(cvqd_text_origin(t, "https://portail.ville.example:8443", ascii, sizeof ascii, shown, sizeof shown));
	assert_string_equal(ascii, "https://portail.ville.example:8443");
	assert_null(cvqd_text_origin(t, "https://mairie-alençon.example", ascii, sizeof ascii, shown, sizeof shown));
	assert_string_equal(ascii, "https://xn--mairie-alenon-sgb.example");
	assert_string_equal(shown, "https://mairie-alençon.example");
	assert_null(cvqd_text_origin(t, "https://xn--mairie-alenon-sgb.example", ascii, sizeof ascii, shown, sizeof shown));
	assert_string_equal(shown, "https://mairie-alençon.example");
	static const struct { const char *o, *why; } bad[] = {
		{ "http://portail.example", "not_https" },
		{ "https://portail.example/", "has_path" },
		{ "https://portail.example/login", "has_path" },
		{ "https://portail.example?x=1", "has_path" },
		{ "https://portail.example#f", "has_path" },
		{ "https://user@portail.example", "has_userinfo" },
		{ "https://portail.example:0", "bad_port" },
		{ "https://portail.example:65536", "bad_port" },
		{ "https://portail.example:08443", "bad_port" },
		{ "https://PORTAIL.example", "not_canonical" },
		{ "https://portail.example.", "bad_host" },
		{ "https://Connexion sécurisée", "bad_host" },
		{ "https://a\xc2\xa0" "b.example", "space" },
		{ "https://p\xc2\x9b" "1Gortail.example", "control" },
		{ "https://\xe2\x80\xae" "elpmaxe.liatrop", "bidi_control" },
		{ "https://xn--80ak6aa92e.com", "script" },   /* аррӏе.com in Cyrillic */
		{ "https://p\xd0\xb0ypal.example", "script" }, /* Cyrillic а */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *why = cvqd_text_origin(t, bad[i].o, ascii, sizeof ascii, shown, sizeof shown);
		if (!why || strcmp(why, bad[i].why))
			fail_msg("%s: got %s, want %s", bad[i].o, why ? why : "accepted", bad[i].why);
	}
}

static void test_scripts(void **state)
{
	char err[200];
	cvqd_text *t = cvqd_text_new("Latin,Cyrillic", err, sizeof err);
	assert_non_null(t);
	/* Allowed one by one, but mixed in a name; and a whole-script confusable. */
	assert_string_equal(cvqd_text_check(t, "\xc3\x89\xd1\x81\xd0\xbele", 8, 80, true, NULL), "mixed_script");
	const char *why = cvqd_text_check(t, "\xd1\x81\xd0\xbe\xd1\x80\xd0\xb5", 8, 80, true, NULL);
	assert_non_null(why);
	assert_string_equal(why, "confusable");
	assert_null(cvqd_text_check(t, "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", 12, 80, true, NULL));
	cvqd_text_free(t);
	assert_null(cvqd_text_new("Klingon", err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sentences),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_schemas),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_scripts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
