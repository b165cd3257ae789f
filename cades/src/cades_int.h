/* libcvqcades internals shared by the files of cades/src. */
#ifndef CADES_INT_H
#define CADES_INT_H

#include <openssl/cms.h>

#include <cvq/cades.h>

/* The DER of cms, malloc'd. */
cvq_cades_err cades_cms_der(CMS_ContentInfo *cms, uint8_t **der, size_t *der_len);
/* A whole DER SignedData with exactly one signer (si borrowed from cms). */
cvq_cades_err cades_cms_parse(const uint8_t *der, size_t len, CMS_ContentInfo **cms,
                              CMS_SignerInfo **si);

#endif
