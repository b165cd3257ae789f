/* cvq_util_no_core_dumps: the process can no longer leave a core file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "cvq/util.h"

static void
test_no_core_dumps(void **state)
{
	struct rlimit rl;

	(void)state;
	assert_int_equal(cvq_util_no_core_dumps(), CVQ_UTIL_OK);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_true(rl.rlim_cur == 0 && rl.rlim_max == 0);
	/* A second call is harmless (the limit can still be lowered to 0). */
	assert_int_equal(cvq_util_no_core_dumps(), CVQ_UTIL_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_core_dumps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
