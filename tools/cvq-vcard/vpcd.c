/* The vpcd transport (vsmartcard's virtual reader driver for pcscd). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "vpcd.h"

int
vc_vpcd_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	/* Small request/response messages: no Nagle delay. */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * vpcd writes the length and the message in two send() calls, so Nagle's
 * algorithm on its side holds the message back until our ACK of the
 * length, which delayed ACK holds for 40 ms: every APDU would cost tens
 * of milliseconds. Quick ACK (it has to be set again before each read)
 * removes the wait.
 */
static void
quickack(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int
vc_vpcd_recv(int fd, uint8_t *buf, size_t *len)
{
	uint8_t h[2];
	size_t n;

	quickack(fd);
	if (read_full(fd, h, 2) != 0)
		return -1;
	quickack(fd);
	n = (size_t)h[0] << 8 | h[1];
	if (n == 0 || read_full(fd, buf, n) != 0)
		return -1;
	*len = n;
	return 0;
}

int
vc_vpcd_send(int fd, const uint8_t *buf, size_t len)
{
	uint8_t msg[2 + VPCD_MSG_MAX];
	size_t off = 0;
	ssize_t w;

	if (len > VPCD_MSG_MAX)
		return -1;
	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	memcpy(msg + 2, buf, len);
	len += 2;
	while (off < len) {
		w = send(fd, msg + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* The response copy: a GET RESPONSE may carry an ECDH secret. */
	OPENSSL_cleanse(msg, len);
	return off == len ? 0 : -1;
}
