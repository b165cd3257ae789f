/*
 * cvq-admin — the PIV content signer (issue #17): the key that signs the
 * CHUID and the Security Object of every card enrolled here, with its
 * certificate from the city CA (profile content-signing).
 *
 * It lives beside the CA configuration as content-signer.key (PEM, mode
 * 0600, like the master secret it sits with) and content-signer.pem. The
 * first enrolment that needs it makes it, under a lock so that the
 * readers of a batch do not make two; the CA's audit log records the
 * issuance. A certificate that has expired, or that no longer matches the
 * key, is refused (never silently replaced: cards signed with it exist).
 *
 * It is the in-process issuer's (issuer_ca.c: chuid_sign, secobj_build):
 * the state machine never holds the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/util.h>

#include "issuer.h"

static int
load(const char *kpath, const char *cpath, X509 **cert, EVP_PKEY **key, char *why,
     size_t why_len)
{
	struct stat st;
	FILE *f;

	f = fopen(kpath, "re");
	if (!f)
		return -1;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		fclose(f);
		snprintf(why, why_len, "%s: must be a regular file of mode 0600", kpath);
		return -2;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(cpath, "re");
	if (f) {
		*cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	ERR_clear_error();
	if (!*key || !*cert || X509_check_private_key(*cert, *key) != 1) {
		snprintf(why, why_len, "content signer %s / %s: unreadable, or the key does not "
		         "match the certificate", kpath, cpath);
		return -2;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(*cert)) <= 0) {
		snprintf(why, why_len, "content signer %s has expired: have the CA officer issue a "
		         "new one (move the old files away first)", cpath);
		return -2;
	}
	return 0;
}

/* The content signer's certificate through the issuing agent (--agent):
 * the same request, signed by the agent's key. */
static cvq_ca_err
issue_by_agent(struct cvq_admin_issuer *st, const struct cvq_ca_issue_req *req, X509_REQ *csr,
               X509 **cert, char *why, size_t why_len)
{
	struct cvq_ca_agent_msg m = {.op = CVQ_CA_AGENT_ISSUE, .req = *req};
	unsigned char *der = NULL;
	const unsigned char *p;
	uint8_t *out = NULL;
	size_t out_len = 0;
	char w[200] = "";
	cvq_ca_err err;
	int n;

	n = i2d_X509_REQ(csr, &der);
	if (n <= 0)
		return CVQ_CA_ERR_CRYPTO;
	m.csr = der;
	m.csr_len = (size_t)n;
	err = cvq_admin_link_call_msg(&st->link, &m, &out, &out_len, w, sizeof(w));
	OPENSSL_free(der);
	if (err) {
		snprintf(why, why_len, "issuing the content signer certificate through the agent: "
		         "%s (%s)", cvq_ca_strerror(err), w);
		return err;
	}
	p = out;
	*cert = d2i_X509(NULL, &p, (long)out_len);
	free(out);
	return *cert ? CVQ_CA_OK : CVQ_CA_ERR_REQUEST;
}

static int
make(struct cvq_admin_issuer *st, const char *kpath, const char *cpath, X509 **cert,
     EVP_PKEY **key, char *why, size_t why_len)
{
	struct cvq_ca_issue_req req = {.profile = CVQ_CA_PROFILE_CONTENT_SIGNING};
	char subject[160];
	X509_REQ *csr = NULL;
	cvq_ca_err cerr;
	FILE *f = NULL;
	int fd = -1, rc = -2;
	char org[65] = "";

	/* The issuer's organisation: the configuration's, else the CA's own O=. */
	if (st->cfg->org)
		snprintf(org, sizeof(org), "%s", st->cfg->org);
	else if (X509_NAME_get_text_by_NID(X509_get_subject_name(cvq_ca_cert(st->ca)),
	                                   NID_organizationName, org, sizeof(org)) <= 0)
		snprintf(org, sizeof(org), "cvq");
	/* '/' would start another attribute in the "/O=.../CN=..." form. */
	for (char *q = org; *q; q++)
		if (*q == '/' || *q == '\\')
			*q = ' ';
	snprintf(subject, sizeof(subject), "/O=%s/CN=PIV content signer", org);
	req.subject = subject;
	*key = EVP_EC_gen("P-256");
	csr = X509_REQ_new();
	if (!*key || !csr || X509_REQ_set_pubkey(csr, *key) != 1 ||
	    X509_REQ_sign(csr, *key, EVP_sha256()) <= 0) {
		snprintf(why, why_len, "cannot make the content signer's key");
		goto out;
	}
	if (st->agent) {
		if (issue_by_agent(st, &req, csr, cert, why, why_len) != CVQ_CA_OK)
			goto out;
	} else {
		cerr = cvq_ca_issue_csr(st->ca, &req, csr, cert);
		st->last = cerr;
		if (cerr) {
			const char *m = cvq_ca_errmsg(st->ca);

			snprintf(why, why_len, "issuing the content signer certificate: %s%s%s%s",
			         cvq_ca_strerror(cerr), m[0] ? " (" : "", m, m[0] ? ")" : "");
			goto out;
		}
	}
	fd = cvq_util_file_create(kpath, O_WRONLY | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(why, why_len, "%s: %s", kpath, strerror(errno));
		goto out;
	}
	fd = -1;
	if (PEM_write_PrivateKey(f, *key, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) ||
	    fsync(fileno(f))) {
		snprintf(why, why_len, "%s: cannot write the key", kpath);
		goto out;
	}
	fclose(f);
	/* A certificate: public, 0644 whatever the umask (docs/files.md). */
	f = cvq_util_fopen_create(cpath, 0644);
	if (!f || PEM_write_X509(f, *cert) != 1 || fclose(f)) {
		f = NULL;
		snprintf(why, why_len, "%s: cannot write the certificate", cpath);
		goto out;
	}
	f = NULL;
	snprintf(st->cs_made, sizeof(st->cs_made), "%s", cpath);
	rc = 0;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	X509_REQ_free(csr);
	ERR_clear_error();
	return rc;
}

cvq_enrol_err
cvq_admin_issuer_content_signer(struct cvq_admin_issuer *st, char *why, size_t why_len)
{
	char *kpath = NULL, *cpath = NULL, *lpath = NULL;
	cvq_enrol_err rc = CVQ_ENROL_ERR_ISSUER;
	int lock = -1, r;

	if (st->cs_cert && st->cs_key)
		return CVQ_ENROL_OK;
	if (!st->cfg) {
		snprintf(why, why_len, "no CA configuration: no content signer here");
		return CVQ_ENROL_ERR_ISSUER;
	}
	kpath = cvq_ca_config_path(st->cfg, "content-signer.key");
	cpath = cvq_ca_config_path(st->cfg, "content-signer.pem");
	lpath = cvq_ca_config_path(st->cfg, "content-signer.lock");
	if (!kpath || !cpath || !lpath) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	lock = cvq_util_file_create(lpath, O_RDWR | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) != 0) {
		snprintf(why, why_len, "%s: %s", lpath, strerror(errno));
		goto out;
	}
	r = load(kpath, cpath, &st->cs_cert, &st->cs_key, why, why_len);
	if (r == -1 && errno == ENOENT)
		r = make(st, kpath, cpath, &st->cs_cert, &st->cs_key, why, why_len);
	if (r == 0)
		rc = CVQ_ENROL_OK;
	else if (r == -1)
		snprintf(why, why_len, "%s: %s", kpath, strerror(errno));
out:
	if (rc) {
		X509_free(st->cs_cert);
		EVP_PKEY_free(st->cs_key);
		st->cs_cert = NULL;
		st->cs_key = NULL;
	}
	if (lock >= 0)
		close(lock);
	free(kpath);
	free(cpath);
	free(lpath);
	return rc;
}
