/*
 * libcvqenrol — the PIN letter: the one place a citizen's PIN is written.
 * Written to a temporary file of mode 0600 in the same directory, synced,
 * then renamed over the destination, so a reader never sees half a letter
 * and no other user ever can read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cvq/util.h>

#include <cvq/enrol.h>

static bool
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		n -= (size_t)w;
	}
	return true;
}

bool
cvq_enrol_letter_default(char *out, size_t cap, const char *dir, const char *ext_id)
{
	size_t i, n;
	int w;

	/* The subscription number comes from outside: keep it a file name. */
	w = snprintf(out, cap, "%s%spin-letter-", dir ? dir : "", dir ? "/" : "");
	if (w < 0 || (size_t)w >= cap)
		return false;
	n = (size_t)w;
	for (i = 0; ext_id[i] && n + 1 < cap; i++) {
		char c = ext_id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_' || (c == '.' && i > 0);

		out[n++] = ok ? c : '_';
	}
	w = snprintf(out + n, cap - n, ".txt");
	return !ext_id[i] && w == 4 && (size_t)w < cap - n;
}

cvq_enrol_err
cvq_enrol_letter_write(const struct cvq_enrol_letter *l)
{
	char text[2048], tmp[4096], exp[16] = "-";
	cvq_enrol_err err = CVQ_ENROL_ERR_IO;
	time_t t;
	struct tm tm;
	int fd, n;

	if (!l || !l->path || !l->pin || !l->guid || !l->given_name ||
	    !l->family_name || !l->ext_id)
		return CVQ_ENROL_ERR_ARG;
	t = (time_t)l->expires;
	if (l->expires && gmtime_r(&t, &tm))
		strftime(exp, sizeof(exp), "%Y-%m-%d", &tm);
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", l->path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return CVQ_ENROL_ERR_ARG;
	n = snprintf(text, sizeof(text),
	    "Ville — Point Infoville\n"
	    "Carte de vie quotidienne (CVQ)\n"
	    "\n"
	    "%s %s (abonnement %s)\n"
	    "\n"
	    "%s\n"
	    "\n"
	    "    Code PIN : %s\n"
	    "\n"
	    "Carte %s, valable jusqu'au %s.\n"
	    "Ne gardez pas ce code avec la carte. Après trois codes faux, la carte\n"
	    "se bloque : le Point Infoville la débloque sur présentation d'une\n"
	    "pièce d'identité.\n"
	    "\n"
	    "Your PIN is above. Keep it apart from the card; three wrong PINs block\n"
	    "the card, and the Point Infoville unblocks it.\n",
	    l->given_name, l->family_name, l->ext_id,
	    l->unblock ? "Votre carte a été débloquée. Voici votre nouveau code :"
	               : "Voici le code de votre nouvelle carte :",
	    l->pin, l->guid, exp);
	if (n < 0 || (size_t)n >= sizeof(text))
		goto out;
	unlink(tmp);
	fd = cvq_util_file_create(tmp, O_WRONLY | O_EXCL, 0600);
	if (fd < 0)
		goto out;
	if (write_all(fd, text, (size_t)n) && fsync(fd) == 0)
		err = CVQ_ENROL_OK;
	if (close(fd) != 0)
		err = CVQ_ENROL_ERR_IO;
	if (err == CVQ_ENROL_OK && rename(tmp, l->path) != 0)
		err = CVQ_ENROL_ERR_IO;
	if (err)
		unlink(tmp);
out:
	OPENSSL_cleanse(text, sizeof(text));
	return err;
}
