/*
 * libcvqcades — the signature timestamp (EN 319 122-1 5.3): a TimeStampReq
 * over the signer's signature value, the checks of the TSA's answer
 * against that request, and the token as the unsigned attribute
 * id-aa-signatureTimeStampToken.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include <cvq/cades.h>

#include "cades_int.h"

static cvq_cades_err
sig_digest(const uint8_t *sig, size_t sig_len, unsigned char md[32])
{
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING *v;
	cvq_cades_err rc = cades_cms_parse(sig, sig_len, &cms, &si);

	if (rc != CVQ_CADES_OK)
		return rc;
	v = CMS_SignerInfo_get0_signature(si);
	rc = v && ASN1_STRING_length(v) > 0 &&
	     EVP_Digest(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), md, NULL,
	                EVP_sha256(), NULL) ? CVQ_CADES_OK : CVQ_CADES_ERR_FORMAT;
	CMS_ContentInfo_free(cms);
	return rc;
}

cvq_cades_err
cvq_cades_ts_request(const uint8_t *sig, size_t sig_len, const char *policy_oid,
                     uint8_t **req_out, size_t *req_len)
{
	unsigned char md[32], nb[8];
	TS_REQ *req = NULL;
	TS_MSG_IMPRINT *mi = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_INTEGER *nonce = NULL;
	ASN1_OBJECT *pol = NULL;
	BIGNUM *bn = NULL;
	unsigned char *d = NULL;
	cvq_cades_err rc;
	int n;

	if (!req_out || !req_len)
		return CVQ_CADES_ERR_ARG;
	*req_out = NULL;
	rc = sig_digest(sig, sig_len, md);
	if (rc != CVQ_CADES_OK)
		return rc;
	rc = CVQ_CADES_ERR_CRYPTO;
	if (policy_oid && !(pol = OBJ_txt2obj(policy_oid, 1))) {
		rc = CVQ_CADES_ERR_ARG;
		goto out;
	}
	/* 63 random bits: positive, and at most the 64 bits RFC 3161 clients
	 * are told to expect. */
	if (RAND_bytes(nb, sizeof(nb)) != 1)
		goto out;
	nb[0] &= 0x7f;
	nb[0] |= 0x01;
	req = TS_REQ_new();
	mi = TS_MSG_IMPRINT_new();
	alg = X509_ALGOR_new();
	bn = BN_bin2bn(nb, sizeof(nb), NULL);
	if (!req || !mi || !alg || !bn || !(nonce = BN_to_ASN1_INTEGER(bn, NULL)) ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(mi, alg) || !TS_MSG_IMPRINT_set_msg(mi, md, sizeof(md)) ||
	    !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) ||
	    !TS_REQ_set_nonce(req, nonce) || !TS_REQ_set_cert_req(req, 1) ||
	    (pol && !TS_REQ_set_policy_id(req, pol)))
		goto out;
	n = i2d_TS_REQ(req, &d);
	if (n <= 0)
		goto out;
	*req_out = malloc((size_t)n);
	if (!*req_out) {
		rc = CVQ_CADES_ERR_NOMEM;
		goto out;
	}
	memcpy(*req_out, d, (size_t)n);
	*req_len = (size_t)n;
	rc = CVQ_CADES_OK;
out:
	OPENSSL_free(d);
	BN_free(bn);
	ASN1_INTEGER_free(nonce);
	ASN1_OBJECT_free(pol);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	ERR_clear_error();
	return rc;
}

static time_t
gen_time_of(TS_RESP *resp)
{
	TS_TST_INFO *ti = TS_RESP_get_tst_info(resp);
	const ASN1_GENERALIZEDTIME *g = ti ? TS_TST_INFO_get_time(ti) : NULL;
	struct tm tm;

	if (!g || ASN1_TIME_to_tm(g, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/*
 * What the request asked, the answer must say: OpenSSL's own verifier
 * built from the request (version, imprint, nonce, policy when asked),
 * plus the signature and the TSA's chain (purpose timestampsign) when we
 * have anchors.
 */
static cvq_cades_err
check_response(const uint8_t *req_der, size_t req_len, TS_RESP *resp, X509_STORE *trust)
{
	const unsigned char *p = req_der;
	TS_REQ *req = d2i_TS_REQ(NULL, &p, (long)req_len);
	TS_VERIFY_CTX *v = NULL;
	TS_STATUS_INFO *st = TS_RESP_get_status_info(resp);
	const ASN1_INTEGER *status = st ? TS_STATUS_INFO_get0_status(st) : NULL;
	cvq_cades_err rc = CVQ_CADES_ERR_TSA_TOKEN;

	if (!req || p != req_der + req_len) {
		rc = CVQ_CADES_ERR_ARG;
		goto out;
	}
	/* granted (0) or grantedWithMods (1) */
	if (!status || ASN1_INTEGER_get(status) > 1 || !TS_RESP_get_token(resp)) {
		rc = CVQ_CADES_ERR_TSA_REFUSED;
		goto out;
	}
	v = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
	if (!v) {
		rc = CVQ_CADES_ERR_NOMEM;
		goto out;
	}
	if (trust) {
		if (!X509_STORE_up_ref(trust))
			goto out;
		TS_VERIFY_CTX_set_store(v, trust);
		TS_VERIFY_CTX_add_flags(v, TS_VFY_SIGNATURE);
	}
	if (TS_RESP_verify_response(v, resp) == 1)
		rc = CVQ_CADES_OK;
out:
	TS_VERIFY_CTX_free(v);
	TS_REQ_free(req);
	ERR_clear_error();
	return rc;
}

cvq_cades_err
cvq_cades_add_timestamp(const uint8_t *sig, size_t sig_len, const uint8_t *req, size_t req_len,
                        const uint8_t *resp_der, size_t resp_len, X509_STORE *tsa_trust,
                        uint8_t **out, size_t *out_len, time_t *gen_time)
{
	const unsigned char *p = resp_der;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	TS_RESP *resp = NULL;
	unsigned char *tok = NULL, md[32];
	int n;
	cvq_cades_err rc;

	if (!sig || !req || !resp_der || !out || !out_len || resp_len > (1u << 20))
		return CVQ_CADES_ERR_ARG;
	*out = NULL;
	resp = d2i_TS_RESP(NULL, &p, (long)resp_len);
	if (!resp || p != resp_der + resp_len) {
		rc = CVQ_CADES_ERR_HTTP;
		goto out;
	}
	rc = check_response(req, req_len, resp, tsa_trust);
	if (rc != CVQ_CADES_OK)
		goto out;
	/* The request was for this signature: the imprint says so. */
	rc = sig_digest(sig, sig_len, md);
	if (rc != CVQ_CADES_OK)
		goto out;
	{
		TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(TS_RESP_get_tst_info(resp));
		ASN1_OCTET_STRING *m = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;

		if (!m || ASN1_STRING_length(m) != 32 ||
		    memcmp(ASN1_STRING_get0_data(m), md, 32) != 0 ||
		    OBJ_obj2nid(TS_MSG_IMPRINT_get_algo(mi)->algorithm) != NID_sha256) {
			rc = CVQ_CADES_ERR_TSA_TOKEN;
			goto out;
		}
	}
	rc = cades_cms_parse(sig, sig_len, &cms, &si);
	if (rc != CVQ_CADES_OK)
		goto out;
	rc = CVQ_CADES_ERR_CRYPTO;
	n = i2d_PKCS7(TS_RESP_get_token(resp), &tok);
	if (n <= 0 ||
	    !CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE,
	                                   tok, n))
		goto out;
	rc = cades_cms_der(cms, out, out_len);
	if (rc == CVQ_CADES_OK && gen_time)
		*gen_time = gen_time_of(resp);
out:
	OPENSSL_free(tok);
	CMS_ContentInfo_free(cms);
	TS_RESP_free(resp);
	ERR_clear_error();
	return rc;
}

cvq_cades_err
cvq_cades_timestamp(const uint8_t *sig, size_t sig_len, const struct cvq_cades_tsa *tsa,
                    uint8_t **out, size_t *out_len, time_t *gen_time)
{
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len = 0, resp_len = 0;
	cvq_cades_err rc;

	if (!tsa || !tsa->url || !out || !out_len)
		return CVQ_CADES_ERR_ARG;
	*out = NULL;
	rc = cvq_cades_ts_request(sig, sig_len, tsa->policy_oid, &req, &req_len);
	if (rc == CVQ_CADES_OK)
		rc = cvq_cades_ts_fetch(tsa->url, req, req_len, tsa->timeout_s, &resp, &resp_len);
	if (rc == CVQ_CADES_OK)
		rc = cvq_cades_add_timestamp(sig, sig_len, req, req_len, resp, resp_len, tsa->trust,
		                             out, out_len, gen_time);
	free(req);
	free(resp);
	return rc;
}
