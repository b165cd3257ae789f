/*
 * The pinentry client against a real Assuan speaker (tests/bench/fake-pinentry),
 * and secret input from files and descriptors.
 */
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

#include "cvq/util.h"

struct fixture {
	char dir[64];
	char pin_file[128];
	char log_file[128];
	const char *program;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/cvq-pinentry-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->pin_file, sizeof(f->pin_file), "%s/pins", f->dir);
	snprintf(f->log_file, sizeof(f->log_file), "%s/log", f->dir);
	f->program = getenv("CVQ_FAKE_PINENTRY");
	if (f->program == NULL)
		return -1;
	setenv("CVQ_FAKE_PIN_FILE", f->pin_file, 1);
	setenv("CVQ_FAKE_PINENTRY_LOG", f->log_file, 1);
	unsetenv("CVQ_FAKE_PINENTRY_CANCEL");
	unsetenv("CVQ_FAKE_CONFIRM");
	unsetenv("CVQ_FAKE_PINENTRY_DELAY");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
test_getpin_shows_text_and_returns_pin(void **state)
{
	struct fixture *f = *state;
	struct cvq_pinentry_prompt p = {
		.title = "Carte de vie quotidienne",
		.description = "Paiement de 45,00 € à École de musique\n— réf. INSCR-2026-0042",
		.prompt = "Code PIN :",
		.cancel_fd = -1,
	};
	char pin[16], *log;

	write_file(f->pin_file, "12%3 4\n", 0600);
	assert_int_equal(cvq_pinentry_getpin(f->program, &p, pin, sizeof(pin)), CVQ_UTIL_OK);
	assert_string_equal(pin, "12%3 4");
	log = slurp(f->log_file);
	assert_non_null(log);
	assert_non_null(strstr(log, "SETDESC Paiement de 45,00 € à École de musique\n— réf. INSCR-2026-0042"));
	assert_non_null(strstr(log, "SETPROMPT Code PIN :"));
	assert_null(strstr(log, "12%3 4"));
}

static void
test_getpin_cancel_and_too_long(void **state)
{
	struct fixture *f = *state;
	struct cvq_pinentry_prompt p = {.prompt = "PIN", .cancel_fd = -1};
	char pin[8];

	write_file(f->pin_file, "123456789012\n", 0600);
	assert_int_equal(cvq_pinentry_getpin(f->program, &p, pin, sizeof(pin)), CVQ_UTIL_ERR_TOO_LONG);
	assert_int_equal(pin[0], 0);
	setenv("CVQ_FAKE_PINENTRY_CANCEL", "1", 1);
	assert_int_equal(cvq_pinentry_getpin(f->program, &p, pin, sizeof(pin)), CVQ_UTIL_ERR_CANCELLED);
	unsetenv("CVQ_FAKE_PINENTRY_CANCEL");
	assert_int_equal(cvq_pinentry_getpin("/nonexistent/pinentry", &p, pin, sizeof(pin)),
	                 CVQ_UTIL_ERR_SPAWN);
}

/* A description that would be shown cut is refused: no dialog at all. */
static void
test_getpin_description_too_long(void **state)
{
	struct fixture *f = *state;
	struct cvq_pinentry_prompt p = {.prompt = "PIN", .cancel_fd = -1};
	char desc[1100], pin[16];

	write_file(f->pin_file, "123456\n", 0600);
	/* "SETDESC " + 990 bytes + "%0A" = 1001 > 1000: refused. */
	memset(desc, 'a', 990);
	desc[990] = '\n';
	desc[991] = '\0';
	p.description = desc;
	assert_int_equal(cvq_pinentry_getpin(f->program, &p, pin, sizeof(pin)),
	                 CVQ_UTIL_ERR_TOO_LONG);
	assert_int_equal(pin[0], 0);
	assert_null(slurp(f->log_file));
	/* One byte less fits exactly (1000): shown whole. */
	desc[989] = '\n';
	desc[990] = '\0';
	assert_int_equal(cvq_pinentry_getpin(f->program, &p, pin, sizeof(pin)), CVQ_UTIL_OK);
	assert_string_equal(pin, "123456");
	/* The log has the decoded text: all 989 bytes. */
	desc[989] = '\0';
	assert_non_null(strstr(slurp(f->log_file), desc));
}

static void
test_cancel_fd_aborts_dialog(void **state)
{
	struct fixture *f = *state;
	struct cvq_pinentry_prompt p = {.prompt = "PIN", .cancel_fd = -1};
	int fds[2];
	char pin[16];

	write_file(f->pin_file, "123456\n", 0600);
	setenv("CVQ_FAKE_PINENTRY_DELAY", "30", 1);
	assert_int_equal(pipe(fds), 0);
	close(fds[1]); /* the client went away: the read end hangs up at once */
	p.cancel_fd = fds[0];
	assert_int_equal(cvq_pinentry_getpin(f->program, &p, pin, sizeof(pin)), CVQ_UTIL_ERR_CANCELLED);
	close(fds[0]);
	unsetenv("CVQ_FAKE_PINENTRY_DELAY");
}

static void
test_confirm(void **state)
{
	struct fixture *f = *state;
	struct cvq_pinentry_prompt p = {.description = "Continuer ?", .cancel_fd = -1};
	bool yes = false;

	(void)f;
	assert_int_equal(cvq_pinentry_confirm(f->program, &p, &yes), CVQ_UTIL_OK);
	assert_true(yes);
	setenv("CVQ_FAKE_CONFIRM", "no", 1);
	assert_int_equal(cvq_pinentry_confirm(f->program, &p, &yes), CVQ_UTIL_OK);
	assert_false(yes);
	unsetenv("CVQ_FAKE_CONFIRM");
}

static void
test_secret_sources(void **state)
{
	struct fixture *f = *state;
	char path[160], src[200], buf[32];
	int fds[2];

	snprintf(path, sizeof(path), "%s/pass", f->dir);
	write_file(path, "correct horse\nsecond line\n", 0644);
	snprintf(src, sizeof(src), "file:%s", path);
	assert_int_equal(cvq_secret_read(src, NULL, buf, sizeof(buf)), CVQ_UTIL_ERR_PERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(cvq_secret_read(src, NULL, buf, sizeof(buf)), CVQ_UTIL_OK);
	assert_string_equal(buf, "correct horse");

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "from-fd\r\nrest", 13), 13);
	close(fds[1]);
	snprintf(src, sizeof(src), "fd:%d", fds[0]);
	assert_int_equal(cvq_secret_read(src, NULL, buf, sizeof(buf)), CVQ_UTIL_OK);
	assert_string_equal(buf, "from-fd");
	close(fds[0]);

	assert_int_equal(cvq_secret_read("fd:x", NULL, buf, sizeof(buf)), CVQ_UTIL_ERR_ARG);
	assert_int_equal(cvq_secret_read("env:HOME", NULL, buf, sizeof(buf)), CVQ_UTIL_ERR_ARG);

	write_file(f->pin_file, "654321\n", 0600);
	snprintf(src, sizeof(src), "pinentry:%s", f->program);
	assert_int_equal(cvq_secret_read(src, "Code PIN :", buf, sizeof(buf)), CVQ_UTIL_OK);
	assert_string_equal(buf, "654321");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getpin_shows_text_and_returns_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_getpin_cancel_and_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_getpin_description_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_fd_aborts_dialog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_sources, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
