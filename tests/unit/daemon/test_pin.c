/* The PIN dialog text: French from the catalogue, English without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pin.h"

static json_t *payment(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "payment",
	                 "payee", "École de musique", "amount", "45.00", "currency", "EUR",
	                 "reference", "INSCR-2026-0042");
}

static void setup_lang(const char *lang)
{
	cvqd_config c;
	char err[200], text[512];
	snprintf(text, sizeof text, "[pin]\nlanguage = %s\nlocaledir = %s\n", lang, TEST_LOCALEDIR);
	assert_int_equal(cvqd_config_parse(&c, text, err, sizeof err), 0);
	cvqd_i18n_setup(&c);
	cvqd_config_free(&c);
}

static void test_french(void **state)
{
	char out[512];
	json_t *tx = payment();
	setup_lang("fr");
	assert_int_equal(cvqd_pin_describe_transaction(tx, out, sizeof out), 0);
	assert_string_equal(out, "Paiement de 45,00 € à École de musique — réf. INSCR-2026-0042");
	json_object_set_new(tx, "description", json_string("Piano, 1er trimestre"));
	assert_int_equal(cvqd_pin_describe_transaction(tx, out, sizeof out), 0);
	assert_string_equal(out, "Paiement de 45,00 € à École de musique — réf. INSCR-2026-0042\n"
	                         "Piano, 1er trimestre");
	assert_int_equal(cvqd_pin_describe_login("https://portail.example", "Marie Dupont", out, sizeof out), 0);
	assert_string_equal(out, "Connexion à https://portail.example en tant que Marie Dupont");
	json_decref(tx);
}

static void test_english_fallback(void **state)
{
	char out[512];
	json_t *tx = payment();
	setup_lang("en");
	assert_int_equal(cvqd_pin_describe_transaction(tx, out, sizeof out), 0);
	assert_string_equal(out, "Payment of 45.00 € to École de musique — ref. INSCR-2026-0042");
	json_decref(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_french),
		cmocka_unit_test(test_english_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
