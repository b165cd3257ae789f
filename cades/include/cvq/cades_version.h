/* libcvqcades — its version, at build time and at run time. */
#ifndef CVQ_CADES_VERSION_H
#define CVQ_CADES_VERSION_H

#include <cvq/export.h>

#define CVQ_CADES_VERSION_MAJOR 0
#define CVQ_CADES_VERSION_MINOR 1
#define CVQ_CADES_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif

/* "0.1.0": the library actually loaded. */
CVQ_EXPORT const char *cvq_cades_version(void);

#ifdef __cplusplus
}
#endif
#endif
