/* libcvqverify version (docs/layout.md). */
#ifndef CVQ_VERIFY_VERSION_H
#define CVQ_VERIFY_VERSION_H

#define CVQ_VERIFY_VERSION_MAJOR 0
#define CVQ_VERIFY_VERSION_MINOR 1
#define CVQ_VERIFY_VERSION_PATCH 0

#endif
