/*
 * libcvqca — a key of authority (sub-CA, TSA) made here and certified
 * under two-person control (issue #13): the CSR the new key signs, which
 * goes into a request of its requester, and the certificate picked up
 * once other officers have approved and the request is issued.
 *
 * The private key never leaves the process (or token) that made it: the
 * store holds the CSR, the approvers see and sign only that, and the one
 * who made the key takes the certificate back from the store. An approver
 * therefore never handles a secret of the thing it vouches for, and a
 * requester never gets a certificate on its own say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "ca_int.h"

cvq_ca_err
ca_key_request(cvq_ca *ca, EVP_PKEY *key, X509_NAME *name, enum cvq_ca_profile p, unsigned days,
               int64_t *id)
{
	struct cvq_ca_issue_req req = {.profile = p, .days = days};
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	int len = 0;
	cvq_ca_err err = CVQ_CA_ERR_CRYPTO;

	*id = 0;
	if (!r)
		return CVQ_CA_ERR_NOMEM;
	/* Signed by the new key: the request carries its proof of possession. */
	if (X509_REQ_set_version(r, 0) && X509_REQ_set_subject_name(r, name) &&
	    X509_REQ_set_pubkey(r, key) && X509_REQ_sign(r, key, ca_key_md(key)) > 0)
		len = i2d_X509_REQ(r, &der);
	if (len > 0)
		err = cvq_ca_request_submit(ca, &req, der, (size_t)len, id);
	else
		ca_fail(ca, err, "cannot make the CSR of the new key");
	ERR_clear_error();
	OPENSSL_free(der);
	X509_REQ_free(r);
	return err;
}

cvq_ca_err
ca_key_pickup(cvq_ca *ca, int64_t id, enum cvq_ca_profile p, EVP_PKEY *key, X509 **out)
{
	struct cvq_ca_request_info info;
	struct cvq_ca_cert_info ci;
	X509 *x = NULL;
	cvq_ca_err err;

	*out = NULL;
	err = cvq_ca_request_get(ca, id, &info);
	if (err != CVQ_CA_OK)
		return err;
	if (info.roles || info.profile != p)
		return ca_fail(ca, CVQ_CA_ERR_ARG, "request %lld is not for a %s certificate",
		               (long long)id, cvq_ca_profile_name(p));
	if (info.state == CVQ_CA_REQUEST_REJECTED)
		return ca_fail(ca, CVQ_CA_ERR_POLICY, "request %lld was rejected", (long long)id);
	if (info.state != CVQ_CA_REQUEST_ISSUED || !info.serial[0])
		return ca_fail(ca, CVQ_CA_ERR_POLICY, "request %lld is pending (%u/%u approvals): "
		               "another officer approves it first (cvq-admin ca approve %lld)",
		               (long long)id, info.approvals, info.needed, (long long)id);
	err = cvq_ca_cert_get(ca, info.serial, &ci, &x);
	if (err != CVQ_CA_OK)
		return ca_fail(ca, err, "the certificate %s of request %lld is not in the store",
		               info.serial, (long long)id);
	/* Someone else's request of the same profile gives nothing here. */
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		X509_free(x);
		return ca_fail(ca, CVQ_CA_ERR_KEY, "the certificate of request %lld is not for this key",
		               (long long)id);
	}
	*out = x;
	return CVQ_CA_OK;
}
