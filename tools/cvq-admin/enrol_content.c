/*
 * cvq-admin — the PIV content signer (issue #17): the key that signs the
 * CHUID and the Security Object of every card enrolled here, with its
 * certificate from the city CA (profile content-signing).
 *
 * It lives beside the CA configuration as content-signer.key (PEM, mode
 * 0600, like the master secret it sits with) and content-signer.pem
 * (content_signer.h). It makes every card "authentic", so it is minted
 * under two-person control (issue #13): one officer asks, another
 * approves (`cvq-admin card content-signer init`, cmd_content_signer.c).
 * The enrolment never makes one: without it, step 8 stops with the
 * command to run, and the journal keeps the card's place. A certificate
 * that has expired, or that no longer matches the key, is refused (never
 * silently replaced: cards signed with it exist).
 *
 * It is the in-process issuer's (issuer_ca.c: chuid_sign, secobj_build):
 * the state machine never holds the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cvq/util.h>

#include "content_signer.h"
#include "issuer.h"

int
cvq_admin_cs_files(const struct cvq_ca_config *cfg, struct cvq_admin_cs_files *f)
{
	f->key = cvq_ca_config_path(cfg, "content-signer.key");
	f->cert = cvq_ca_config_path(cfg, "content-signer.pem");
	f->request = cvq_ca_config_path(cfg, "content-signer.request");
	f->lock = cvq_ca_config_path(cfg, "content-signer.lock");
	if (f->key && f->cert && f->request && f->lock)
		return 0;
	cvq_admin_cs_files_free(f);
	return -1;
}

void
cvq_admin_cs_files_free(struct cvq_admin_cs_files *f)
{
	free(f->key);
	free(f->cert);
	free(f->request);
	free(f->lock);
	memset(f, 0, sizeof(*f));
}

int
cvq_admin_cs_lock(const struct cvq_admin_cs_files *f, int how, char *why, size_t why_len)
{
	int fd = cvq_util_file_create(f->lock, O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, how) != 0) {
		snprintf(why, why_len, "%s: %s", f->lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
cvq_admin_cs_load(const struct cvq_admin_cs_files *fs, X509 **cert, EVP_PKEY **key, char *why,
                  size_t why_len)
{
	struct stat st;
	FILE *f;

	*cert = NULL;
	*key = NULL;
	f = fopen(fs->key, "re");
	if (!f)
		return -1;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		fclose(f);
		snprintf(why, why_len, "%s: must be a regular file of mode 0600", fs->key);
		return -2;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(fs->cert, "re");
	if (!f) {
		int e = errno;

		EVP_PKEY_free(*key);
		*key = NULL;
		errno = e;
		return -1;
	}
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!*key || !*cert || X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		snprintf(why, why_len, "content signer %s / %s: unreadable, or the key does not "
		         "match the certificate", fs->key, fs->cert);
		return -2;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(*cert)) <= 0) {
		snprintf(why, why_len, "content signer %s has expired: two officers make a new one "
		         "(move the old files away, then cvq-admin card content-signer init)", fs->cert);
		return -2;
	}
	return 0;
}

int64_t
cvq_admin_cs_pending(const struct cvq_admin_cs_files *fs)
{
	char buf[32], *end = NULL;
	FILE *f = fopen(fs->request, "re");
	size_t n;
	long long id;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Our own file, but read strictly: digits and one newline, nothing more. */
	if (n == 0 || buf[0] < '1' || buf[0] > '9')
		return 0;
	errno = 0;
	id = strtoll(buf, &end, 10);
	if (errno || id <= 0 || (strcmp(end, "\n") != 0 && *end != '\0'))
		return 0;
	return (int64_t)id;
}

cvq_enrol_err
cvq_admin_issuer_content_signer(struct cvq_admin_issuer *st, char *why, size_t why_len)
{
	struct cvq_admin_cs_files fs;
	cvq_enrol_err rc = CVQ_ENROL_ERR_ISSUER;
	int lock, r;
	int64_t id;

	if (st->cs_cert && st->cs_key)
		return CVQ_ENROL_OK;
	if (!st->cfg) {
		snprintf(why, why_len, "no CA configuration: no content signer here");
		return CVQ_ENROL_ERR_ISSUER;
	}
	if (cvq_admin_cs_files(st->cfg, &fs) != 0) {
		snprintf(why, why_len, "out of memory");
		return CVQ_ENROL_ERR_ISSUER;
	}
	/* Shared: `content-signer init --finish` writes under the exclusive lock. */
	lock = cvq_admin_cs_lock(&fs, LOCK_SH, why, why_len);
	if (lock < 0)
		goto out;
	r = cvq_admin_cs_load(&fs, &st->cs_cert, &st->cs_key, why, why_len);
	if (r == 0) {
		rc = CVQ_ENROL_OK;
	} else if (r == -1 && errno == ENOENT) {
		/* An issuer error, not a refusal: the enrolment pauses at step 8
		 * and carries on once the two officers have made it. */
		id = cvq_admin_cs_pending(&fs);
		if (id)
			snprintf(why, why_len, "no content signer: request %" PRId64 " waits for "
			         "another officer (cvq-admin ca approve %" PRId64 "), then cvq-admin "
			         "card content-signer init --finish %" PRId64, id, id, id);
		else
			snprintf(why, why_len, "no content signer: two officers make it with "
			         "`cvq-admin card content-signer init`");
	} else if (r == -1) {
		snprintf(why, why_len, "%s: %s", fs.key, strerror(errno));
	}
	close(lock);
out:
	if (rc) {
		X509_free(st->cs_cert);
		EVP_PKEY_free(st->cs_key);
		st->cs_cert = NULL;
		st->cs_key = NULL;
	}
	cvq_admin_cs_files_free(&fs);
	return rc;
}
