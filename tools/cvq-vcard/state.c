/*
 * The state file: a small line-oriented text format (docs/vcard.md),
 *
 *   cvq-vcard-state 1
 *   serial 12345678
 *   pin HEX16 TRIES MAX
 *   puk HEX16 TRIES MAX
 *   mgmt ALG HEXKEY
 *   key SLOT ALG HEXDER [imported]  (private key, OpenSSL type-specific DER;
 *                              "imported": put in by FE, never attested)
 *   object TAG HEX             (value of the 53 template)
 *   end
 *
 * saved atomically: PATH.tmp (0600), fsync, rename, fsync of the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "card_int.h"
#include "cvq/util.h"

#define STATE_MAGIC "cvq-vcard-state 1"
#define STATE_MAX (4u << 20)

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		/* Grow by copying, so no stale copy of secrets is left behind. */
		if ((np = OPENSSL_malloc(cap)) == NULL) {
			b->failed = true;
			return;
		}
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			OPENSSL_clear_free(b->p, b->cap);
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_hex(struct sbuf *b, const uint8_t *v, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	char two[2];
	size_t i;

	for (i = 0; i < n; i++) {
		two[0] = hx[v[i] >> 4];
		two[1] = hx[v[i] & 15];
		sb_add(b, two, 2);
	}
}

static void sb_fmt(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = true;
	else
		sb_add(b, tmp, (size_t)n);
}

vc_err
vc_state_encode(const struct vc_card *c, char **out, size_t *len)
{
	struct sbuf b = {0};
	unsigned char *der = NULL;
	int derlen, i;
	size_t j;

	if (c == NULL || out == NULL || len == NULL)
		return VC_ERR_ARG;
	sb_str(&b, STATE_MAGIC "\n");
	sb_fmt(&b, "serial %u\n", (unsigned)c->serial);
	sb_str(&b, "pin ");
	sb_hex(&b, c->pin, VC_REF_LEN);
	sb_fmt(&b, " %u %u\n", c->pin_tries, c->pin_max);
	sb_str(&b, "puk ");
	sb_hex(&b, c->puk, VC_REF_LEN);
	sb_fmt(&b, " %u %u\n", c->puk_tries, c->puk_max);
	sb_fmt(&b, "mgmt %02x ", c->mgmt_alg);
	sb_hex(&b, c->mgmt_key, c->mgmt_len);
	sb_str(&b, "\n");
	for (i = 0; i < VC_NKEYS; i++) {
		if (c->keys[i].pkey == NULL)
			continue;
		der = NULL;
		if ((derlen = i2d_PrivateKey(c->keys[i].pkey, &der)) <= 0) {
			b.failed = true;
			break;
		}
		sb_fmt(&b, "key %02x %02x ", vc_key_ref(i), c->keys[i].alg);
		sb_hex(&b, der, (size_t)derlen);
		sb_str(&b, c->keys[i].imported ? " imported\n" : "\n");
		OPENSSL_clear_free(der, (size_t)derlen);
	}
	for (j = 0; j < c->nobjs; j++) {
		sb_fmt(&b, "object %06x ", (unsigned)c->objs[j].tag);
		sb_hex(&b, c->objs[j].data, c->objs[j].len);
		sb_str(&b, "\n");
	}
	sb_str(&b, "end\n");
	if (b.failed) {
		if (b.p != NULL)
			OPENSSL_clear_free(b.p, b.cap);
		return VC_ERR_NOMEM;
	}
	*out = b.p;
	*len = b.len;
	return VC_OK;
}

/* Decode exactly n hex chars at s into out (n even). */
static bool
unhex(const char *s, size_t n, uint8_t *out)
{
	size_t i;
	int hi, lo;

	if (n % 2 != 0)
		return false;
	for (i = 0; i < n / 2; i++) {
		if ((hi = OPENSSL_hexchar2int((unsigned char)s[2 * i])) < 0 ||
		    (lo = OPENSSL_hexchar2int((unsigned char)s[2 * i + 1])) < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Split a line into at most max words (space separated, no empties). */
static size_t
split(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (n == max)
			return max + 1;
		w[n++] = t;
	}
	return n;
}

static bool
parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *v <= max;
}

static bool
parse_hexnum(const char *s, size_t digits, unsigned long *v)
{
	size_t i;
	int d;

	if (strlen(s) != digits)
		return false;
	for (*v = 0, i = 0; i < digits; i++) {
		if ((d = OPENSSL_hexchar2int((unsigned char)s[i])) < 0)
			return false;
		*v = (*v << 4) | (unsigned long)d;
	}
	return true;
}

static bool
parse_ref(char **w, uint8_t ref[VC_REF_LEN], uint8_t *tries, uint8_t *max)
{
	unsigned long t, m;

	if (strlen(w[1]) != 2 * VC_REF_LEN || !unhex(w[1], 2 * VC_REF_LEN, ref) ||
	    !parse_uint(w[2], 15, &t) || !parse_uint(w[3], 15, &m) || m == 0 || t > m)
		return false;
	*tries = (uint8_t)t;
	*max = (uint8_t)m;
	return true;
}

static int
key_bits(uint8_t alg)
{
	switch (alg) {
	case ALG_RSA1024: return 1024;
	case ALG_RSA2048: return 2048;
	case ALG_P256: return 256;
	default: return 384;
	}
}

static bool
parse_key(struct vc_card *c, char **w)
{
	unsigned long ref, alg;
	size_t n = strlen(w[3]);
	uint8_t *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;
	int idx;
	bool ok = false;

	if (!parse_hexnum(w[1], 2, &ref) || !parse_hexnum(w[2], 2, &alg) ||
	    (idx = vc_key_index((uint8_t)ref)) < 0 || c->keys[idx].pkey != NULL ||
	    n == 0 || n % 2 != 0)
		return false;
	if (alg != ALG_RSA1024 && alg != ALG_RSA2048 && alg != ALG_P256 && alg != ALG_P384)
		return false;
	if ((der = OPENSSL_malloc(n / 2)) == NULL || !unhex(w[3], n, der))
		goto out;
	p = der;
	if ((pkey = d2i_AutoPrivateKey(NULL, &p, (long)(n / 2))) == NULL ||
	    p != der + n / 2)
		goto out;
	if ((alg == ALG_P256 || alg == ALG_P384) ? !EVP_PKEY_is_a(pkey, "EC")
	                                         : !EVP_PKEY_is_a(pkey, "RSA"))
		goto out;
	if (EVP_PKEY_get_bits(pkey) != key_bits((uint8_t)alg))
		goto out;
	c->keys[idx].pkey = pkey;
	c->keys[idx].alg = (uint8_t)alg;
	pkey = NULL;
	ok = true;
out:
	EVP_PKEY_free(pkey);
	if (der != NULL)
		OPENSSL_clear_free(der, n / 2);
	return ok;
}

static bool
parse_object(struct vc_card *c, char **w)
{
	unsigned long tag;
	size_t n = strlen(w[2]);
	uint8_t *v;
	bool ok;

	if (!parse_hexnum(w[1], 6, &tag) || n % 2 != 0 || n == 0 ||
	    n / 2 > VC_MAX_OBJ_LEN || vc_obj_find(c, (uint32_t)tag) != NULL)
		return false;
	if ((v = OPENSSL_malloc(n / 2)) == NULL)
		return false;
	ok = unhex(w[2], n, v) && vc_obj_set(c, (uint32_t)tag, v, n / 2);
	OPENSSL_free(v);
	return ok;
}

static bool
parse_line(struct vc_card *c, char *line, unsigned *seen)
{
	char *w[6];
	size_t n = split(line, w, 5);
	unsigned long v;
	size_t klen;

	if (n == 0 || n > 5 || (n == 5 && strcmp(w[0], "key") != 0))
		return false;
	if (strcmp(w[0], "serial") == 0 && n == 2) {
		if (!parse_uint(w[1], 0xFFFFFFFFul, &v) || v == 0)
			return false;
		c->serial = (uint32_t)v;
		*seen |= 1;
		return true;
	}
	if (strcmp(w[0], "pin") == 0 && n == 4) {
		*seen |= 2;
		return parse_ref(w, c->pin, &c->pin_tries, &c->pin_max);
	}
	if (strcmp(w[0], "puk") == 0 && n == 4) {
		*seen |= 4;
		return parse_ref(w, c->puk, &c->puk_tries, &c->puk_max);
	}
	if (strcmp(w[0], "mgmt") == 0 && n == 3) {
		if (!parse_hexnum(w[1], 2, &v) || (klen = vc_mgmt_keylen((uint8_t)v)) == 0 ||
		    strlen(w[2]) != 2 * klen)
			return false;
		OPENSSL_cleanse(c->mgmt_key, sizeof(c->mgmt_key));
		if (!unhex(w[2], 2 * klen, c->mgmt_key))
			return false;
		c->mgmt_alg = (uint8_t)v;
		c->mgmt_len = klen;
		*seen |= 8;
		return true;
	}
	if (strcmp(w[0], "key") == 0 && (n == 4 || (n == 5 && strcmp(w[4], "imported") == 0))) {
		if (!parse_key(c, w))
			return false;
		c->keys[vc_key_index((uint8_t)strtoul(w[1], NULL, 16))].imported = n == 5;
		return true;
	}
	if (strcmp(w[0], "object") == 0 && n == 3)
		return parse_object(c, w);
	return false;
}

vc_err
vc_state_decode(const char *buf, size_t len, struct vc_card **out)
{
	struct vc_card *c = NULL;
	char *copy = NULL, *line, *nl;
	unsigned seen = 0;
	bool ended = false;
	vc_err err = VC_ERR_FORMAT;

	if (buf == NULL || out == NULL)
		return VC_ERR_ARG;
	*out = NULL;
	if (len > STATE_MAX || memchr(buf, '\0', len) != NULL)
		return VC_ERR_FORMAT;
	if ((copy = OPENSSL_malloc(len + 1)) == NULL)
		return VC_ERR_NOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if ((c = vc_card_new(1)) == NULL) {
		err = VC_ERR_NOMEM;
		goto out;
	}
	line = copy;
	if ((nl = strchr(line, '\n')) == NULL)
		goto out;
	*nl = '\0';
	if (strcmp(line, STATE_MAGIC) != 0)
		goto out;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			goto out;  /* every line ends with a newline */
		*nl = '\0';
		if (ended)
			goto out;
		if (strcmp(line, "end") == 0) {
			ended = true;
			continue;
		}
		if (!parse_line(c, line, &seen))
			goto out;
	}
	if (!ended || seen != 15)
		goto out;
	*out = c;
	c = NULL;
	err = VC_OK;
out:
	vc_card_free(c);
	OPENSSL_clear_free(copy, len + 1);
	return err;
}

static bool
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

vc_err
vc_state_save(const struct vc_card *c, const char *path)
{
	char *buf = NULL, *tmp = NULL, *dcopy = NULL;
	size_t len = 0, plen;
	int fd = -1, dfd = -1;
	bool renamed = false;
	vc_err err;

	if (c == NULL || path == NULL)
		return VC_ERR_ARG;
	if ((err = vc_state_encode(c, &buf, &len)) != VC_OK)
		return err;
	err = VC_ERR_NOMEM;
	plen = strlen(path);
	if ((tmp = malloc(plen + 5)) == NULL || (dcopy = strdup(path)) == NULL)
		goto out;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	err = VC_ERR_IO;
	fd = cvq_util_file_create(tmp, O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || !write_all(fd, buf, len) ||
	    fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	renamed = true;
	/* The rename is durable only once the directory is. */
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0)
		goto out;
	err = VC_OK;
out:
	if (fd >= 0)
		close(fd);
	/* The temp file holds the PIN, PUK, management and private keys:
	 * never leave it behind (a failed write, close or rename). */
	if (tmp != NULL && !renamed)
		unlink(tmp);
	if (dfd >= 0)
		close(dfd);
	if (buf != NULL)
		OPENSSL_clear_free(buf, len);
	free(tmp);
	free(dcopy);
	return err;
}

vc_err
vc_state_load(const char *path, struct vc_card **out)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd;
	vc_err err = VC_ERR_IO;

	if (path == NULL || out == NULL)
		return VC_ERR_ARG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return VC_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((size_t)st.st_size > STATE_MAX) {
		err = VC_ERR_FORMAT;
		goto out;
	}
	if ((buf = OPENSSL_malloc((size_t)st.st_size + 1)) == NULL) {
		err = VC_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	err = vc_state_decode(buf, got, out);
out:
	close(fd);
	if (buf != NULL)
		OPENSSL_clear_free(buf, (size_t)st.st_size + 1);
	return err;
}
