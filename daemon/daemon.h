/* cvqd — start, reload and stop the daemon (main.c drives the signals). */
#ifndef CVQD_DAEMON_H
#define CVQD_DAEMON_H

#include "cvqd.h"

/* Takes the configuration's content (cfg is zeroed). NULL on failure (logged). */
struct cvqd *cvqd_start(cvqd_config *cfg);
/* SIGHUP: new trust anchors and CRLs; the old set stays on failure. */
int cvqd_reload_trust(struct cvqd *d);
/* SIGTERM: stop accepting, cancel PIN dialogs, wait for threads, free. */
void cvqd_stop(struct cvqd *d);

#endif
