/* p11drv — test driver of libcvqp11 (see p11drv.c). */
#ifndef P11DRV_H
#define P11DRV_H

#include <cvq/p11.h>

int p11drv_fail(const char *what, cvq_p11_ctx *ctx, cvq_p11_err err);
int p11drv_keygen(cvq_p11_ctx *ctx, char **argv);
int p11drv_sign(cvq_p11_ctx *ctx, char **argv, int argc);
int p11drv_pubkey(cvq_p11_ctx *ctx, const char *uri, const char *out);
int p11drv_multi(cvq_p11_ctx *ctx, char **argv);
int p11drv_x509(cvq_p11_ctx *ctx, char **argv);
int p11drv_bench(cvq_p11_ctx *ctx, const char *module, const char *uri, int n);

#endif
