/* The INI configuration: defaults, values, and refusals with line numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"

static void test_defaults(void **state)
{
	cvqd_config c;
	char err[200];
	assert_int_equal(cvqd_config_parse(&c, "", err, sizeof err), 0);
	assert_string_equal(c.socket_path, "/run/cvqd/cvqd.sock");
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(c.n_allow_uids, 1);
	assert_int_equal(c.allow_uids[0], 0);
	assert_true(c.require_crl);
	assert_string_equal(c.language, "fr");
	assert_string_equal(c.scripts, "Latin");
	assert_int_equal(c.n_schemas, 0);
	assert_int_equal(c.max_clients_per_caller, 32);
	assert_int_equal(c.max_refused_clients, 4);
	assert_int_equal(c.max_card_ops_per_caller, 2);
	cvqd_config_free(&c);
}

static void test_values(void **state)
{
	cvqd_config c;
	char err[200];
	const char *text =
		"; kiosk\n[daemon]\nsocket = /tmp/x.sock\nsocket_mode = 0600\nallow_users = 0, 1000\n"
		"allow_groups = 33\nlog_level = debug\nmax_body = 4096\n"
		"[trust]\nanchors = /a.pem, /b.pem\ncrls = /c.crl\nrequire_crl = no\n"
		"[pin]\npinentry = /usr/bin/pinentry-tty\ntimeout = 30\n"
		"[card]\nbackend = none\nwait = 5\n"
		"[display]\nscripts = Latin, Greek\nschemas = /etc/cvq/types.json, /etc/cvq/more.json\n"
		"[daemon]\nmax_clients_per_caller = 8\nmax_refused_clients = 1\nmax_card_ops_per_caller = 3\n";
	assert_int_equal(cvqd_config_parse(&c, text, err, sizeof err), 0);
	assert_string_equal(c.scripts, "Latin, Greek");
	assert_int_equal(c.n_schemas, 2);
	assert_string_equal(c.schemas[1], "/etc/cvq/more.json");
	assert_int_equal(c.max_clients_per_caller, 8);
	assert_int_equal(c.max_refused_clients, 1);
	assert_int_equal(c.max_card_ops_per_caller, 3);
	assert_string_equal(c.socket_path, "/tmp/x.sock");
	assert_int_equal(c.socket_mode, 0600);
	assert_int_equal(c.n_allow_uids, 2);
	assert_int_equal(c.allow_uids[1], 1000);
	assert_int_equal(c.n_allow_gids, 1);
	assert_int_equal(c.log_level, CVQD_LOG_DEBUG);
	assert_int_equal(c.max_body, 4096);
	assert_int_equal(c.n_anchors, 2);
	assert_string_equal(c.anchors[1], "/b.pem");
	assert_false(c.require_crl);
	assert_string_equal(c.backend, "none");
	assert_int_equal(c.card_wait, 5);
	cvqd_config_free(&c);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"[daemon]\nsockett = /x\n",
		"[nope]\na = b\n",
		"[daemon]\nsocket_mode = 999\n",
		"[daemon]\nmax_body = -1\n",
		"[daemon]\nlog_level = loud\n",
		"[daemon]\nallow_users = no-such-user-cvq\n",
		"[card]\nbackend = magic\n",
		"[trust]\nrequire_crl = maybe\n",
		"no section = here\n",
		"[daemon]\nmax_card_ops_per_caller = 0\n",
		"[daemon]\nmax_clients_per_caller = 0\n",
		"[daemon]\nmax_refused_clients = many\n",
		"[display]\nfonts = big\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cvqd_config c;
		char err[200];
		assert_int_equal(cvqd_config_parse(&c, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "line "));
		cvqd_config_free(&c);
	}
}

static void test_first_error_reported(void **state)
{
	cvqd_config c;
	char err[200];
	assert_int_equal(cvqd_config_parse(&c, "[daemon]\nallow_groups = no-such-group-cvq\nlog_level = info\n",
	                                   err, sizeof err), -1);
	assert_string_equal(err, "line 2: unknown group 'no-such-group-cvq'");
	cvqd_config_free(&c);
}

/* [seal] (#14): off when absent; a PIN source, never a PIN; a journal required. */
static void test_seal(void **state)
{
	static const char *bad[] = {
		"[seal]\nkey = /k.pem\ncert = /c.pem\n",                       /* no journal */
		"[daemon]\njournal = /j\n[seal]\ncert = /c.pem\n",              /* no key */
		"[daemon]\njournal = /j\n[seal]\nkey = /k.pem\n",               /* no cert */
		"[daemon]\njournal = /j\n[seal]\npin = 1234\n",
		"[daemon]\njournal = /j\n[seal]\nmax_document = 100\n",
		"[daemon]\njournal = /j\n[seal]\ntsa_url = https://tsa/\n",
		"[daemon]\njournal = /j\n[seal]\nallow_users = no-such-user-cvq\n",
		"[daemon]\njournal = /j\n[seal]\nkeys = /k.pem\n",
	};
	cvqd_config c;
	char err[200];
	assert_int_equal(cvqd_config_parse(&c, "", err, sizeof err), 0);
	assert_false(c.seal);
	assert_int_equal(c.seal_max_document, 16u << 20);
	cvqd_config_free(&c);
	assert_int_equal(cvqd_config_parse(&c, "[daemon]\njournal = /j\nallow_users = 0\n[seal]\n"
	                                       "key = pkcs11:token=t;object=seal\npin = fd:3\ncert = /c.pem\n"
	                                       "crls = /a.crl, /b.crl\nallow_users = 0, 4242\n"
	                                       "allow_groups = 0\nmax_document = 2048\n",
	                                   err, sizeof err), 0);
	assert_true(c.seal);
	assert_string_equal(c.seal_pin, "fd:3");
	assert_int_equal(c.n_seal_crls, 2);
	assert_int_equal(c.n_seal_uids, 2);
	assert_int_equal(c.seal_uids[1], 4242);
	assert_int_equal(c.n_seal_gids, 1);
	assert_int_equal(c.n_allow_uids, 1);  /* [daemon]'s list untouched */
	assert_int_equal(c.seal_max_document, 2048);
	cvqd_config_free(&c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(cvqd_config_parse(&c, bad[i], err, sizeof err), -1);
		cvqd_config_free(&c);
	}
}

/* [tsa]: no url by default (B-B receipts), refuse when it is set. */
static void test_tsa(void **state)
{
	static const char *bad[] = {
		"[tsa]\nurl = https://tsa.example/tsa\n",
		"[tsa]\nunavailable = maybe\n",
		"[tsa]\ntimeout = 0\n",
		"[tsa]\ntimeout = 301\n",
		"[tsa]\nurll = http://x/\n",
	};
	cvqd_config c;
	char err[200];
	assert_int_equal(cvqd_config_parse(&c, "", err, sizeof err), 0);
	assert_string_equal(c.tsa_url, "");
	assert_true(c.tsa_refuse);
	assert_int_equal(c.tsa_timeout, 5);
	cvqd_config_free(&c);
	assert_int_equal(cvqd_config_parse(&c, "[tsa]\nurl = http://127.0.0.1:8080/tsa\ntimeout = 2\n"
	                                       "unavailable = basic\npolicy = 1.2.3\nanchors = /a.pem, /b.pem\n",
	                                   err, sizeof err), 0);
	assert_string_equal(c.tsa_url, "http://127.0.0.1:8080/tsa");
	assert_int_equal(c.tsa_timeout, 2);
	assert_false(c.tsa_refuse);
	assert_string_equal(c.tsa_policy, "1.2.3");
	assert_int_equal(c.n_tsa_anchors, 2);
	cvqd_config_free(&c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(cvqd_config_parse(&c, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "line 2"));
		cvqd_config_free(&c);
	}
}

/* [crl] (issue #16): off unless the section has a key; bounds refused. */
static void test_crl(void **state)
{
	static const char *bad[] = {
		"[crl]\ninterval = 0\n",
		"[crl]\ntimeout = 301\n",
		"[crl]\ncache_dir = relative/dir\n",
		"[crl]\nmax_size = 10\n",
		"[crl]\nfrom_certificates = perhaps\n",
		"[crl]\nurl = http://x/\n",
	};
	cvqd_config c;
	char err[200];
	assert_int_equal(cvqd_config_parse(&c, "", err, sizeof err), 0);
	assert_false(c.crl_fetch);
	assert_true(c.crl_from_certs);
	assert_string_equal(c.crl_cache_dir, "/var/lib/cvqd/crl");
	assert_int_equal(c.crl_interval, 3600);
	cvqd_config_free(&c);
	assert_int_equal(cvqd_config_parse(&c, "[crl]\nurls = http://a/ca.crl, http://b/x.crl\n"
	                                       "interval = 60\nretry_min = 5\nretry_max = 600\n"
	                                       "timeout = 3\nmax_size = 4096\nfrom_certificates = false\n"
	                                       "cache_dir = /tmp/crl\n", err, sizeof err), 0);
	assert_true(c.crl_fetch);
	assert_string_equal(c.crl_urls, "http://a/ca.crl, http://b/x.crl");
	assert_int_equal(c.crl_interval, 60);
	assert_int_equal(c.crl_retry_min, 5);
	assert_int_equal(c.crl_retry_max, 600);
	assert_int_equal(c.crl_timeout, 3);
	assert_int_equal(c.crl_max_size, 4096);
	assert_false(c.crl_from_certs);
	assert_string_equal(c.crl_cache_dir, "/tmp/crl");
	cvqd_config_free(&c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(cvqd_config_parse(&c, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "line 2"));
		cvqd_config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_first_error_reported),
		cmocka_unit_test(test_tsa),
		cmocka_unit_test(test_crl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
