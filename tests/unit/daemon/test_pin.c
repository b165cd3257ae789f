/* The PIN dialog chrome: French from the catalogue, English without it (transactions: test_display.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pin.h"

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
	setup_lang("fr");
	assert_int_equal(cvqd_pin_describe_login("https://portail.example", "Marie Dupont", out, sizeof out), 0);
	assert_string_equal(out, "Connexion à https://portail.example en tant que Marie Dupont");
	assert_int_equal(cvqd_pin_pad_text("x", out, sizeof out), 0);
	assert_string_equal(out, "x\nConfirmez, puis tapez votre code sur le clavier du lecteur");
}

static void test_english_fallback(void **state)
{
	char out[512];
	setup_lang("en");
	assert_int_equal(cvqd_pin_describe_login("https://portail.example", NULL, out, sizeof out), 0);
	assert_string_equal(out, "Log in to https://portail.example");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_french),
		cmocka_unit_test(test_english_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
