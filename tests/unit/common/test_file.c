/* common/file.c: modes exact whatever the umask; looser files refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "cvq/util.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cvq-test-file.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t
mode_of(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static void
test_create_exact(void **state)
{
	static const mode_t masks[] = {0, 022, 077, 0277};
	char p[128];
	mode_t old;
	size_t i;
	int fd;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		old = umask(masks[i]);
		snprintf(p, sizeof(p), "%s/pub%zu", dir, i);
		fd = cvq_util_file_create(p, O_WRONLY | O_EXCL, 0644);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(mode_of(p), 0644);
		/* O_EXCL: never reused. */
		assert_int_equal(cvq_util_file_create(p, O_WRONLY | O_EXCL, 0644), -1);
		assert_int_equal(errno, EEXIST);
		snprintf(p, sizeof(p), "%s/priv%zu", dir, i);
		f = cvq_util_fopen_create(p, 0600);
		assert_non_null(f);
		fclose(f);
		assert_int_equal(mode_of(p), 0600);
		snprintf(p, sizeof(p), "%s/d%zu", dir, i);
		assert_int_equal(cvq_util_dir_create(p, 0755), 0);
		assert_int_equal(mode_of(p), 0755);
		umask(old);
	}
	/* A symlink is not followed. */
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("/tmp/cvq-test-file-target-none", p), 0);
	assert_int_equal(cvq_util_file_create(p, O_WRONLY, 0600), -1);
	assert_int_equal(cvq_util_file_create(NULL, O_WRONLY, 0600), -1);
	assert_int_equal(cvq_util_file_create(p, O_WRONLY, 04755), -1);
	/* A name the user gave (--out) may be a symlink to a file of hers. */
	snprintf(p, sizeof(p), "%s/pub0", dir);
	assert_int_equal(chmod(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/link2", dir);
	assert_int_equal(symlink("pub0", p), 0);
	f = cvq_util_fopen_create(p, 0644);
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mode_of(p), 0644);
}

static void
test_device_untouched(void **state)
{
	char p[128];
	FILE *f;

	(void)state;
	/* `--out /dev/null` as root: the device keeps its mode. */
	snprintf(p, sizeof(p), "%s/null", dir);
	if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) != 0)
		skip(); /* not root */
	assert_int_equal(chmod(p, 0666), 0);
	f = cvq_util_fopen_create(p, 0600);
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mode_of(p), 0666);
}

static void
test_check_mode(void **state)
{
	char p[128], why[512];
	int fd;

	(void)state;
	snprintf(p, sizeof(p), "%s/store", dir);
	fd = cvq_util_file_create(p, O_WRONLY | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cvq_util_check_mode(p, 0660, false, why, sizeof(why)), CVQ_UTIL_ERR_MODE);
	assert_non_null(strstr(why, "is mode 0644, more open than 0660"));
	assert_non_null(strstr(why, "chmod 0640"));
	assert_int_equal(mode_of(p), 0644); /* refused, not touched */
	assert_int_equal(cvq_util_check_mode(p, 0660, true, why, sizeof(why)), CVQ_UTIL_OK);
	assert_int_equal(mode_of(p), 0640);
	assert_int_equal(cvq_util_check_mode(p, 0660, false, why, sizeof(why)), CVQ_UTIL_OK);
	snprintf(p, sizeof(p), "%s/none", dir);
	assert_int_equal(cvq_util_check_mode(p, 0600, false, why, sizeof(why)), CVQ_UTIL_ERR_IO);
}

static void
test_db_prepare(void **state)
{
	char p[128], side[140], why[512];
	mode_t old;
	int fd;

	(void)state;
	snprintf(p, sizeof(p), "%s/j.sqlite", dir);
	/* Missing without create: SQLite's to report. */
	assert_int_equal(cvq_util_db_prepare(p, 0600, 0640, false, false, why, sizeof(why)), CVQ_UTIL_OK);
	assert_int_equal(access(p, F_OK), -1);
	old = umask(0);
	assert_int_equal(cvq_util_db_prepare(p, 0600, 0640, true, false, why, sizeof(why)), CVQ_UTIL_OK);
	umask(old);
	assert_int_equal(mode_of(p), 0600);
	/* A side file left more open is refused too. */
	snprintf(side, sizeof(side), "%s-wal", p);
	fd = cvq_util_file_create(side, O_WRONLY | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cvq_util_db_prepare(p, 0600, 0640, true, false, why, sizeof(why)), CVQ_UTIL_ERR_MODE);
	assert_non_null(strstr(why, "-wal is mode 0644"));
	assert_int_equal(cvq_util_db_prepare(p, 0600, 0640, true, true, why, sizeof(why)), CVQ_UTIL_OK);
	assert_int_equal(mode_of(side), 0640);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_exact),
		cmocka_unit_test(test_device_untouched),
		cmocka_unit_test(test_check_mode),
		cmocka_unit_test(test_db_prepare),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
