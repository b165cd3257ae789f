/*
 * Files with the mode their content deserves, whatever the caller's umask
 * (issue #18, docs/files.md). open(O_CREAT, mode) gives mode & ~umask: the
 * umask can only take bits away, so the new file is never more open than
 * `mode`; an fchmod on the descriptor, before any byte is written, then
 * makes it exactly `mode` (a public CRL stays 0644 under umask 077, a
 * journal stays 0600 under umask 000 because 0600 is what was asked).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvq/util.h"

static int
create(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd, e;

	if (!path || (mode & ~(mode_t)0777)) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, flags | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	/* Only a regular file is ours to set: `--out /dev/null` run as root
	 * must not chmod the device. */
	if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && fchmod(fd, mode) != 0)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
cvq_util_file_create(const char *path, int flags, mode_t mode)
{
	return create(path, flags | O_NOFOLLOW, mode);
}

FILE *
cvq_util_fopen_create(const char *path, mode_t mode)
{
	/* A name the user gave (--out): a symlink to follow is theirs. */
	int fd = create(path, O_WRONLY | O_TRUNC, mode), e;
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int
cvq_util_dir_create(const char *path, mode_t mode)
{
	int fd, rc, e;

	if (!path || (mode & ~(mode_t)0777)) {
		errno = EINVAL;
		return -1;
	}
	if (mkdir(path, mode) != 0)
		return -1;
	/* fchmod on the directory we just made, not chmod on the name: a name
	 * swapped for a symlink meanwhile is not followed. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fchmod(fd, mode);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

cvq_util_err
cvq_util_check_mode(const char *path, mode_t allowed, bool fix, char *why, size_t why_len)
{
	struct stat st;
	mode_t m;

	if (!path)
		return CVQ_UTIL_ERR_ARG;
	if (stat(path, &st) != 0) {
		if (why && why_len)
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return CVQ_UTIL_ERR_IO;
	}
	m = st.st_mode & 07777;
	if ((m & ~allowed) == 0)
		return CVQ_UTIL_OK;
	if (fix && chmod(path, m & allowed) == 0)
		return CVQ_UTIL_OK;
	if (why && why_len)
		snprintf(why, why_len, "%s is mode %04o, more open than %04o allows "
		         "(it holds personal data or secrets): chmod %04o it%s", path,
		         (unsigned)m, (unsigned)allowed, (unsigned)(m & allowed),
		         fix ? " (tightening it failed)" : "");
	return CVQ_UTIL_ERR_MODE;
}

cvq_util_err
cvq_util_db_prepare(const char *path, mode_t mode, mode_t allowed, bool create, bool fix,
                    char *why, size_t why_len)
{
	static const char *const side[] = {"", "-wal", "-shm", "-journal"};
	char p[4096];
	cvq_util_err err;
	size_t i;
	int fd;

	if (!path || strlen(path) + 9 > sizeof(p))
		return CVQ_UTIL_ERR_ARG;
	if (create && access(path, F_OK) != 0 && errno == ENOENT) {
		/* SQLite takes a zero-length file for an empty database, and makes
		 * its -wal, -shm and -journal with the main file's mode (unix VFS:
		 * robust_open() fchmods a new one to it): creating the main file
		 * here with `mode` sets the mode of all of them. */
		fd = cvq_util_file_create(path, O_RDWR | O_EXCL, mode);
		if (fd < 0 && errno != EEXIST) {
			if (why && why_len)
				snprintf(why, why_len, "cannot create %s: %s", path, strerror(errno));
			return CVQ_UTIL_ERR_IO;
		}
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, side[i]);
		if (i > 0 && access(p, F_OK) != 0)
			continue; /* not made yet: it will get the main file's mode */
		err = cvq_util_check_mode(p, allowed, fix, why, why_len);
		/* A missing main file is SQLite's to report ("unable to open"). */
		if (err == CVQ_UTIL_ERR_IO && i == 0 && !create)
			return CVQ_UTIL_OK;
		if (err != CVQ_UTIL_OK)
			return err;
	}
	return CVQ_UTIL_OK;
}
