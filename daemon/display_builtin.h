/* cvqd — the built-in transaction types (display.h), as schema JSON. */
#ifndef CVQD_DISPLAY_BUILTIN_H
#define CVQD_DISPLAY_BUILTIN_H

extern const char cvqd_display_builtin[];

#endif
