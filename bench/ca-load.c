/*
 * ca-load — helpers for the CA benchmarks (bench/ca-*.sh):
 *
 *   ca-load csrs DIR N
 *       N fresh P-256 keys and their CSRs (DIR/<i>.csr), fast.
 *   ca-load ocsp HOST PORT ISSUER.pem SERIALS CLIENTS SECONDS
 *       CLIENTS threads POST OCSP requests (SHA-1 CertIDs of the hex
 *       serials listed in SERIALS, no nonce), one connection per request as
 *       most OCSP clients do, for SECONDS. Prints requests/s, errors and
 *       latency percentiles.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static int
make_csrs(const char *dir, long n)
{
	char path[4096];
	long i;

	for (i = 0; i < n; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509_REQ *r = X509_REQ_new();
		FILE *f;

		snprintf(path, sizeof(path), "CN=bench %ld", i);
		if (!k || !r ||
		    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
		                                (const unsigned char *)path + 3, -1, -1, 0) ||
		    !X509_REQ_set_pubkey(r, k) || !X509_REQ_sign(r, k, EVP_sha256()))
			return 1;
		snprintf(path, sizeof(path), "%s/%ld.csr", dir, i);
		f = fopen(path, "w");
		if (!f || !PEM_write_X509_REQ(f, r) || fclose(f) != 0)
			return 1;
		X509_REQ_free(r);
		EVP_PKEY_free(k);
	}
	return 0;
}

struct req {
	unsigned char *der;
	int len;
};

struct load {
	struct sockaddr_in sa;
	const char *host;
	struct req *reqs;
	size_t nreqs;
	double deadline;
	/* per thread results */
	double *lat;
	size_t nlat, cap;
	long errors;
	unsigned seed;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
one(struct load *l, const struct req *r)
{
	char hdr[256], buf[8192];
	ssize_t n;
	size_t got = 0;
	int fd, hl, one_ = 1;
	struct timeval tv = {5, 0};

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&l->sa, sizeof(l->sa)) != 0)
		goto fail;
	hl = snprintf(hdr, sizeof(hdr), "POST /ocsp HTTP/1.0\r\nHost: %s\r\n"
	              "Content-Type: application/ocsp-request\r\nContent-Length: %d\r\n\r\n",
	              l->host, r->len);
	memcpy(buf, hdr, (size_t)hl);
	memcpy(buf + hl, r->der, (size_t)r->len);
	if (write(fd, buf, (size_t)(hl + r->len)) != hl + r->len)
		goto fail;
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
		if (got >= sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (got < 12 || strncmp(buf + 9, "200", 3) != 0)
		return -1;
	return 0;
fail:
	close(fd);
	return -1;
}

static void *
worker(void *arg)
{
	struct load *l = arg;
	double t0, t1;
	size_t i;

	while ((t0 = now_s()) < l->deadline) {
		i = (size_t)rand_r(&l->seed) % l->nreqs;
		if (one(l, &l->reqs[i]) != 0) {
			l->errors++;
			continue;
		}
		t1 = now_s();
		if (l->nlat == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 4096;
			l->lat = realloc(l->lat, l->cap * sizeof(double));
			if (!l->lat)
				abort();
		}
		l->lat[l->nlat++] = (t1 - t0) * 1000.0;
	}
	return NULL;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
ocsp_load(char **argv)
{
	const char *host = argv[0];
	int port = atoi(argv[1]), clients = atoi(argv[4]);
	double secs = atof(argv[5]), start, elapsed;
	struct load *ls;
	struct req *reqs = NULL;
	size_t nreqs = 0, cap = 0, total = 0, k, i;
	pthread_t *th;
	char line[256];
	long errors = 0;
	double *all;
	X509 *issuer;
	FILE *f;

	f = fopen(argv[2], "r");
	issuer = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	f = fopen(argv[3], "r");
	if (!issuer || !f || clients <= 0 || secs <= 0)
		return 2;
	while (fgets(line, sizeof(line), f)) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *s;
		OCSP_REQUEST *q = OCSP_REQUEST_new();
		OCSP_CERTID *id;

		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || !BN_hex2bn(&bn, line))
			continue;
		s = BN_to_ASN1_INTEGER(bn, NULL);
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
		                      X509_get0_pubkey_bitstr(issuer), s);
		OCSP_request_add0_id(q, id);
		if (nreqs == cap) {
			cap = cap ? cap * 2 : 1024;
			reqs = realloc(reqs, cap * sizeof(*reqs));
		}
		reqs[nreqs].der = NULL;
		reqs[nreqs].len = i2d_OCSP_REQUEST(q, &reqs[nreqs].der);
		nreqs++;
		OCSP_REQUEST_free(q);
		ASN1_INTEGER_free(s);
		BN_free(bn);
	}
	fclose(f);
	if (!nreqs)
		return 2;
	ls = calloc((size_t)clients, sizeof(*ls));
	th = calloc((size_t)clients, sizeof(*th));
	start = now_s();
	for (k = 0; k < (size_t)clients; k++) {
		ls[k].sa.sin_family = AF_INET;
		ls[k].sa.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &ls[k].sa.sin_addr);
		ls[k].host = host;
		ls[k].reqs = reqs;
		ls[k].nreqs = nreqs;
		ls[k].deadline = start + secs;
		ls[k].seed = (unsigned)k * 7919u + 1;
		pthread_create(&th[k], NULL, worker, &ls[k]);
	}
	for (k = 0; k < (size_t)clients; k++) {
		pthread_join(th[k], NULL);
		total += ls[k].nlat;
		errors += ls[k].errors;
	}
	elapsed = now_s() - start;
	all = malloc((total ? total : 1) * sizeof(double));
	for (i = 0, k = 0; k < (size_t)clients; k++) {
		memcpy(all + i, ls[k].lat, ls[k].nlat * sizeof(double));
		i += ls[k].nlat;
		free(ls[k].lat);
	}
	qsort(all, total, sizeof(double), cmp_d);
	printf("requests %zu errors %ld rps %.0f p50_ms %.3f p99_ms %.3f max_ms %.3f\n", total, errors,
	       (double)total / elapsed, total ? all[total / 2] : 0.0,
	       total ? all[(size_t)((double)total * 0.99)] : 0.0, total ? all[total - 1] : 0.0);
	free(all);
	free(ls);
	free(th);
	for (i = 0; i < nreqs; i++)
		OPENSSL_free(reqs[i].der);
	free(reqs);
	X509_free(issuer);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "csrs") == 0)
		return make_csrs(argv[2], atol(argv[3]));
	if (argc == 8 && strcmp(argv[1], "ocsp") == 0)
		return ocsp_load(argv + 2);
	fprintf(stderr, "usage: ca-load csrs DIR N\n"
	                "       ca-load ocsp HOST PORT ISSUER.pem SERIALS CLIENTS SECONDS\n");
	return 2;
}
