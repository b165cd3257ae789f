/* cvq-admin — helpers shared by the CA command groups (ca, cert, crl, ...). */
#ifndef CVQ_ADMIN_CA_COMMON_H
#define CVQ_ADMIN_CA_COMMON_H

#include <jansson.h>

#include <cvq/ca.h>

#include "admin.h"

/* --config, else $CVQ_CA_CONFIG, else ./ca.conf */
int cvq_admin_ca_config(const struct cvq_admin_opts *opts, struct cvq_ca_config **cfg);
/* Load the configuration and open the CA; prints the reason on failure. */
int cvq_admin_ca_open(const struct cvq_admin_opts *opts, const char *pass, unsigned flags,
                      struct cvq_ca_config **cfg, cvq_ca **ca);
void cvq_admin_ca_close(struct cvq_ca_config *cfg, cvq_ca *ca);
/* Exit code for a libcvqca error. */
int cvq_admin_ca_exit(cvq_ca_err err);
/* Print "what: strerror (details)" and return the exit code. */
int cvq_admin_ca_fail(cvq_ca *ca, cvq_ca_err err, const char *what);
/* Print a JSON value to stdout (and free it). */
void cvq_admin_json_print(json_t *v);
json_t *cvq_admin_json_cert(const struct cvq_ca_cert_info *c);
/* ISO 8601 UTC, "" for 0. */
const char *cvq_admin_time(int64_t t, char buf[32]);
/* A whole small file (< 1 MiB; free() it). */
bool cvq_admin_read_file(const char *path, uint8_t **buf, size_t *len);
/* DER certificate to PEM at path (NULL: stdout); 0 on failure. */
int cvq_admin_write_pem(const uint8_t *der, size_t len, const char *path);
/* cmd_ca_request.c: ca request | approve | reject | requests */
int cvq_admin_ca_request(int argc, char **argv, const struct cvq_admin_opts *opts);
/* A positive decimal number for an option, or -1. */
long cvq_admin_number(const char *s);

#endif
