/* Keeping secrets out of core files and away from same-user debuggers. */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cvq/util.h"

cvq_util_err
cvq_util_no_core_dumps(void)
{
	struct rlimit none = {0, 0};
	cvq_util_err err = CVQ_UTIL_OK;

	/* Both: a core pattern that pipes to a helper ignores RLIMIT_CORE,
	 * and the limit also covers children started after this call. */
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		err = CVQ_UTIL_ERR_IO;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		err = CVQ_UTIL_ERR_IO;
	return err;
}
