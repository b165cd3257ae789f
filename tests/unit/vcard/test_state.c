/* cvq-vcard: state file encode/decode and atomic save/load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "helpers.h"

static const uint8_t mgmt_default[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

/* A card with a changed PIN, a spent PUK try, an AES management key, two
 * keys and two objects. */
static struct vc_card *
busy_card(void)
{
	struct vc_card *c = vc_card_new(424242);
	uint8_t aes[16];

	memset(aes, 0x61, sizeof(aes));
	assert_int_equal(th_send(c, "00240080 10 313233343536FFFF 3131313131313131", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00240081 10 3030303030303030 3131313131313131", NULL, NULL), 0x63C2);
	assert_int_equal(th_mgmt_auth(c, 0x03, mgmt_default, 24), 0x9000);
	assert_int_equal(th_send(c, "0047009A 05 AC03800111", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00470082 05 AC03800114", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00DB3FFF 0C 5C035FC102 53053410AABBCC", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00DB3FFF 0A 5C035FC105 5303 700100", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00FFFFFF 13 089B10 61616161616161616161616161616161", NULL, NULL), 0x9000);
	(void)aes;
	return c;
}

static void
check_busy(struct vc_card *c)
{
	uint8_t d[300], aes[16];
	size_t n;

	memset(aes, 0x61, sizeof(aes));
	assert_int_equal(vc_card_serial(c), 424242);
	assert_int_equal(th_send(c, "00200080", NULL, NULL), 0x63C3);
	assert_int_equal(th_send(c, "00200080 08 3131313131313131", NULL, NULL), 0x9000);
	assert_int_equal(th_send(c, "00F70081", d, &n), 0x9000);
	assert_memory_equal(d + n - 4, "\x06\x02\x03\x02", 4);  /* PUK 2 of 3 */
	assert_int_equal(th_mgmt_auth(c, 0x08, aes, 16), 0x9000);
	assert_int_equal(th_send(c, "00F7009A", d, &n), 0x9000);
	assert_int_equal(d[2], 0x11);
	assert_int_equal(th_send(c, "00F70082", d, &n), 0x9000);
	assert_int_equal(d[2], 0x14);
	assert_int_equal(th_send(c, "00F7009C", d, &n), 0x6A88);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC102", d, &n), 0x9000);
	assert_memory_equal(d, "\x53\x05\x34\x10\xAA\xBB\xCC", 7);
	assert_int_equal(th_send(c, "00CB3FFF 05 5C035FC105", d, &n), 0x9000);
	/* The loaded key signs. */
	assert_int_equal(th_send(c, "0087119A 26 7C24 8200 8120 4242424242424242424242424242424242424242424242424242424242424242", d, &n), 0x9000);
}

static void
test_roundtrip(void **state)
{
	struct vc_card *c = busy_card(), *back = NULL;
	char *buf = NULL, *buf2 = NULL;
	size_t len, len2;

	(void)state;
	assert_int_equal(vc_state_encode(c, &buf, &len), VC_OK);
	assert_int_equal(vc_state_decode(buf, len, &back), VC_OK);
	assert_int_equal(vc_state_encode(back, &buf2, &len2), VC_OK);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	check_busy(back);
	OPENSSL_clear_free(buf, len);
	OPENSSL_clear_free(buf2, len2);
	vc_card_free(back);
	vc_card_free(c);
}

static void
test_save_load(void **state)
{
	struct vc_card *c = busy_card(), *back = NULL;
	char dir[] = "/tmp/vcard-test-XXXXXX", path[64];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/card.state", dir);
	assert_int_equal(vc_state_load(path, &back), VC_ERR_IO);
	assert_int_equal(vc_state_save(c, path), VC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Saved again over the old one: still one file, no temp left. */
	assert_int_equal(vc_state_save(c, path), VC_OK);
	snprintf(path, sizeof(path), "%s/card.state.tmp", dir);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/card.state", dir);
	assert_int_equal(vc_state_load(path, &back), VC_OK);
	check_busy(back);
	vc_card_free(back);
	unlink(path);
	rmdir(dir);
	vc_card_free(c);
}

/* A save that fails after the temp file was written (here: the state
 * path is a directory, rename fails) leaves no copy of the keys behind. */
static void
test_save_fails_no_temp(void **state)
{
	struct vc_card *c = busy_card();
	char dir[] = "/tmp/vcard-test-XXXXXX", path[64], tmp[80];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/card.state", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(vc_state_save(c, path), VC_ERR_IO);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(stat(tmp, &st), 0);
	unlink(tmp);
	rmdir(path);
	rmdir(dir);
	vc_card_free(c);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"cvq-vcard-state 2\nend\n",
		"cvq-vcard-state 1\nend\n",  /* missing records */
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\nmgmt 03 010203040506070801020304050607080102030405060708\n",  /* no end */
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 4 3\npuk 3132333435363738 3 3\nmgmt 03 010203040506070801020304050607080102030405060708\nend\n",
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\nmgmt 08 0102030405060708\nend\n",
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\nmgmt 03 010203040506070801020304050607080102030405060708\nkey 9a 11 3077\nend\n",
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\nmgmt 03 010203040506070801020304050607080102030405060708\nobject 5fc102 0\nend\n",
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\nmgmt 03 010203040506070801020304050607080102030405060708\nbogus\nend\n",
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\nmgmt 03 010203040506070801020304050607080102030405060708\nend\nserial 6\n",
	};
	static const char good[] =
		"cvq-vcard-state 1\nserial 5\npin 313233343536ffff 3 3\npuk 3132333435363738 3 3\n"
		"mgmt 03 010203040506070801020304050607080102030405060708\nobject 5fc102 3410\nend\n";
	struct vc_card *c = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vc_state_decode(bad[i], strlen(bad[i]), &c), VC_ERR_FORMAT);
		assert_null(c);
	}
	assert_int_equal(vc_state_decode(good, strlen(good), &c), VC_OK);
	assert_int_equal(vc_card_serial(c), 5);
	vc_card_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_save_fails_no_temp),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
