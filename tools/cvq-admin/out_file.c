/* Output files written to a temporary name and renamed: out_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out_file.h"

int
cvq_admin_out_open(struct cvq_admin_out *o, const char *path)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	unsigned n;
	int fd = -1;

	memset(o, 0, sizeof(*o));
	if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A dot name beside the final one: same file system (rename is atomic),
	 * and `ls DIR` or a *.pem glob does not list it. O_EXCL with the pid
	 * and a counter: never someone else's file. */
	for (n = 0; fd < 0 && n < 100; n++) {
		snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.%ld.%u.tmp", dirlen, path,
		         path + dirlen, (long)getpid(), n);
		fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	/* Certificates and CRLs are public: 0644 whatever the umask
	 * (docs/files.md), set before a byte is written. */
	if (fchmod(fd, 0644) != 0) {
		int e = errno;

		close(fd);
		unlink(o->tmp);
		errno = e;
		return -1;
	}
	o->f = fdopen(fd, "wb");
	if (!o->f) {
		int e = errno;

		close(fd);
		unlink(o->tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int
cvq_admin_out_commit(struct cvq_admin_out *o)
{
	int ok = fflush(o->f) == 0 && !ferror(o->f);
	int e;

	ok = fclose(o->f) == 0 && ok;
	o->f = NULL;
	if (ok && rename(o->tmp, o->path) == 0)
		return 0;
	e = errno;
	unlink(o->tmp);
	errno = e;
	return -1;
}

void
cvq_admin_out_abort(struct cvq_admin_out *o)
{
	int e = errno;

	if (o->f)
		fclose(o->f);
	o->f = NULL;
	unlink(o->tmp);
	errno = e;
}
