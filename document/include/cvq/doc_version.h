/* libcvqdoc version (docs/layout.md). */
#ifndef CVQ_DOC_VERSION_H
#define CVQ_DOC_VERSION_H

#define CVQ_DOC_VERSION_MAJOR 0
#define CVQ_DOC_VERSION_MINOR 1
#define CVQ_DOC_VERSION_PATCH 0

#include <cvq/export.h>

/* The library's version at run time ("0.1.0"), to compare with the macros. */
CVQ_EXPORT const char *cvq_doc_version(void);

#endif
