/*
 * The IFD handler entry points (pcsc-lite ifdhandler.h, API v3). One slot
 * per reader. The card side is vpcd's protocol, so cvq-vcard plugs in
 * unchanged: we listen on 127.0.0.1:PORT, the card connects; messages
 * are a 2-byte big-endian length and a payload; 1-byte payloads are
 * control messages (power off 00, on 01, reset 02, get ATR 04), longer
 * ones APDUs.
 *
 * reader.conf:  DEVICENAME PORT:KEYPAD_SCRIPT   (IFDHCreateChannelByName)
 *               or CHANNELID PORT with the script in $CVQ_PINPAD_KEYS.
 * Each PIN entry appends one line to KEYPAD_SCRIPT.log (never the PIN).
 *
 * State: pcscd calls us through plain functions with a Lun, so the
 * per-reader state has to live in a table keyed by Lun (the IFD API
 * leaves no other place); the table is guarded by a mutex. pcscd
 * serialises calls per reader, and we say TAG_IFD_THREAD_SAFE so that a
 * holder slow on one pad never stalls another reader.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include "pinpad.h"

#define N_READERS 16
#define DEFAULT_TIMEOUT_S 30
#define CLASS2_IOCTL_MAGIC 0x330000
#define IOCTL_FEATURE(f) SCARD_CTL_CODE(CLASS2_IOCTL_MAGIC + (f))

struct rdr {
	bool used;
	DWORD lun;
	int lfd;                 /* listening socket */
	int cfd;                 /* the card, or -1 */
	char keys[1024];         /* keypad script path, or "" */
	UCHAR atr[MAX_ATR_SIZE];
	DWORD atr_len;
};

static struct {
	pthread_mutex_t lock;
	struct rdr r[N_READERS];
} tab = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct rdr *
find(DWORD lun)
{
	struct rdr *r = NULL;

	pthread_mutex_lock(&tab.lock);
	for (size_t i = 0; i < N_READERS && r == NULL; i++)
		if (tab.r[i].used && tab.r[i].lun == lun)
			r = &tab.r[i];
	pthread_mutex_unlock(&tab.lock);
	return r;
}

static void
pad_log(const struct rdr *r, const char *what)
{
	char path[1100];
	FILE *f;

	if (!r->keys[0] || snprintf(path, sizeof(path), "%s.log", r->keys) >= (int)sizeof(path))
		return;
	f = fopen(path, "a");
	if (f != NULL) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

/* ---- the card's socket ------------------------------------------------ */

static void
card_drop(struct rdr *r)
{
	if (r->cfd >= 0)
		close(r->cfd);
	r->cfd = -1;
	r->atr_len = 0;
}

static int
io_full(int fd, uint8_t *p, size_t n, bool wr)
{
	ssize_t k;

	while (n > 0) {
		k = wr ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
card_send(struct rdr *r, const uint8_t *buf, size_t len)
{
	uint8_t msg[2 + PP_APDU_MAX];
	int rc;

	if (r->cfd < 0 || len > PP_APDU_MAX)
		return -1;
	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	memcpy(msg + 2, buf, len);
	rc = io_full(r->cfd, msg, len + 2, true);
	explicit_bzero(msg, sizeof(msg));  /* a VERIFY's PIN */
	if (rc != 0)
		card_drop(r);
	return rc;
}

/* One message into buf[cap]; -1 (card dropped) on error or when too big. */
static int
card_recv(struct rdr *r, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t h[2];
	size_t n;

	if (r->cfd < 0 || io_full(r->cfd, h, 2, false) != 0)
		goto fail;
	n = (size_t)h[0] << 8 | h[1];
	if (n == 0 || n > cap || io_full(r->cfd, buf, n, false) != 0)
		goto fail;
	*len = n;
	return 0;
fail:
	card_drop(r);
	return -1;
}

static int
card_get_atr(struct rdr *r)
{
	uint8_t c = 0x04;
	size_t n;

	/* An ATR longer than MAX_ATR_SIZE drops the card (card_recv). */
	if (card_send(r, &c, 1) != 0 || card_recv(r, r->atr, sizeof(r->atr), &n) != 0)
		return -1;
	r->atr_len = (DWORD)n;
	return 0;
}

/* A card that connected since the last look is inserted now. */
static void
card_accept(struct rdr *r)
{
	struct timeval tv = {10, 0};
	int one = 1, fd;

	if (r->cfd >= 0 || r->lfd < 0)
		return;
	fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A card that stops answering is a card pulled out. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r->cfd = fd;
}

static int
listen_on(unsigned port)
{
	struct sockaddr_in a;
	int one = 1, fd;

	if (port == 0 || port > 65535)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- channels --------------------------------------------------------- */

static RESPONSECODE
open_channel(DWORD lun, unsigned port, const char *keys)
{
	struct rdr *r = NULL;
	int fd = listen_on(port);

	if (fd < 0)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&tab.lock);
	for (size_t i = 0; i < N_READERS && r == NULL; i++)
		if (!tab.r[i].used)
			r = &tab.r[i];
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		r->used = true;
		r->lun = lun;
		r->lfd = fd;
		r->cfd = -1;
		snprintf(r->keys, sizeof(r->keys), "%s", keys ? keys : "");
	}
	pthread_mutex_unlock(&tab.lock);
	if (r == NULL) {
		close(fd);
		return IFD_COMMUNICATION_ERROR;
	}
	return IFD_SUCCESS;
}

RESPONSECODE
IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	char *end = NULL;
	unsigned long port;

	if (DeviceName == NULL)
		return IFD_COMMUNICATION_ERROR;
	errno = 0;
	port = strtoul(DeviceName, &end, 0);
	if (errno != 0 || end == DeviceName || (*end != ':' && *end != '\0'))
		return IFD_COMMUNICATION_ERROR;
	return open_channel(Lun, (unsigned)port, *end == ':' ? end + 1 : getenv("CVQ_PINPAD_KEYS"));
}

RESPONSECODE
IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	return open_channel(Lun, (unsigned)Channel, getenv("CVQ_PINPAD_KEYS"));
}

RESPONSECODE
IFDHCloseChannel(DWORD Lun)
{
	struct rdr *r = find(Lun);

	if (r == NULL)
		return IFD_NO_SUCH_DEVICE;
	card_drop(r);
	close(r->lfd);
	pthread_mutex_lock(&tab.lock);
	r->used = false;
	pthread_mutex_unlock(&tab.lock);
	return IFD_SUCCESS;
}

/* ---- capabilities ----------------------------------------------------- */

static RESPONSECODE
put_byte(PDWORD Length, PUCHAR Value, UCHAR v)
{
	if (*Length < 1)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	*Length = 1;
	Value[0] = v;
	return IFD_SUCCESS;
}

RESPONSECODE
IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	struct rdr *r = find(Lun);

	if (r == NULL || Length == NULL || Value == NULL)
		return IFD_COMMUNICATION_ERROR;
	switch (Tag) {
	case TAG_IFD_ATR:
	case SCARD_ATTR_ATR_STRING:
		if (*Length < r->atr_len)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		memcpy(Value, r->atr, r->atr_len);
		*Length = r->atr_len;
		return IFD_SUCCESS;
	case TAG_IFD_SLOTS_NUMBER:
		return put_byte(Length, Value, 1);
	case TAG_IFD_SIMULTANEOUS_ACCESS:
		return put_byte(Length, Value, N_READERS);
	case TAG_IFD_THREAD_SAFE:
		return put_byte(Length, Value, 1);
	case TAG_IFD_SLOT_THREAD_SAFE:
		return put_byte(Length, Value, 0);
	default:
		return IFD_ERROR_TAG;
	}
}

RESPONSECODE
IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	return IFD_NOT_SUPPORTED;
}

RESPONSECODE
IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                          UCHAR PTS2, UCHAR PTS3)
{
	/* A virtual card speaks every protocol it is asked to. */
	return find(Lun) ? IFD_SUCCESS : IFD_NO_SUCH_DEVICE;
}

/* ---- the card --------------------------------------------------------- */

RESPONSECODE
IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	struct rdr *r = find(Lun);
	uint8_t c;

	if (AtrLength != NULL && Action == IFD_POWER_DOWN)
		*AtrLength = 0;
	if (r == NULL)
		return IFD_NO_SUCH_DEVICE;
	card_accept(r);
	switch (Action) {
	case IFD_POWER_DOWN: c = 0x00; break;
	case IFD_POWER_UP:   c = 0x01; break;
	case IFD_RESET:      c = 0x02; break;
	default: return IFD_NOT_SUPPORTED;
	}
	if (card_send(r, &c, 1) != 0)
		return IFD_ERROR_POWER_ACTION;
	if (Action == IFD_POWER_DOWN)
		return IFD_SUCCESS;
	if (card_get_atr(r) != 0 || Atr == NULL || AtrLength == NULL ||
	    *AtrLength < r->atr_len)
		return IFD_ERROR_POWER_ACTION;
	memcpy(Atr, r->atr, r->atr_len);
	*AtrLength = r->atr_len;
	return IFD_SUCCESS;
}

RESPONSECODE
IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
                  DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
                  PSCARD_IO_HEADER RecvPci)
{
	struct rdr *r = find(Lun);
	size_t n;
	DWORD cap;

	if (RxLength == NULL)
		return IFD_COMMUNICATION_ERROR;
	cap = *RxLength;
	*RxLength = 0;
	if (r == NULL)
		return IFD_NO_SUCH_DEVICE;
	if (TxLength < 2 || card_send(r, TxBuffer, TxLength) != 0 ||
	    card_recv(r, RxBuffer, cap, &n) != 0)
		return IFD_COMMUNICATION_ERROR;
	*RxLength = (DWORD)n;
	return IFD_SUCCESS;
}

RESPONSECODE
IFDHICCPresence(DWORD Lun)
{
	struct rdr *r = find(Lun);

	if (r == NULL)
		return IFD_NO_SUCH_DEVICE;
	card_accept(r);
	/* Ask for the ATR: a card that went away closed its socket. */
	if (r->cfd >= 0 && card_get_atr(r) == 0)
		return IFD_ICC_PRESENT;
	return IFD_ICC_NOT_PRESENT;
}

/* ---- PC/SC part 10 ---------------------------------------------------- */

/*
 * One PIN typed on the keypad: 0, or the status word the pad answers
 * instead (cancel, timeout), logged as "OP cancel" / "OP timeout".
 */
static unsigned
take_pin(struct rdr *r, const char *op, unsigned timeout_s, char *pin, size_t cap)
{
	char line[64];

	switch (pp_keypad_next(r->keys[0] ? r->keys : NULL,
	                       timeout_s ? timeout_s : DEFAULT_TIMEOUT_S, pin, cap)) {
	case PP_KEY_PIN:
		return 0;
	case PP_KEY_CANCEL:
		snprintf(line, sizeof(line), "%s cancel", op);
		pad_log(r, line);
		return PP_SW_CANCELLED;
	case PP_KEY_TIMEOUT:
	default:
		snprintf(line, sizeof(line), "%s timeout", op);
		pad_log(r, line);
		return PP_SW_TIMEOUT;
	}
}

/* The APDU to the card, its answer to the host; or the pad's own SW. */
static RESPONSECODE
finish(struct rdr *r, const char *op, unsigned sw, const uint8_t *apdu, size_t alen,
       PUCHAR out, DWORD cap, LPDWORD ret)
{
	char line[64];
	size_t n = 0;

	if (sw != 0) {
		if (sw != PP_SW_CANCELLED && sw != PP_SW_TIMEOUT) {
			snprintf(line, sizeof(line), "%s %s", op,
			         sw == PP_SW_BAD_LEN ? "bad-length" :
			         sw == PP_SW_MISMATCH ? "mismatch" : "bad-structure");
			pad_log(r, line);
		}
		out[0] = (UCHAR)(sw >> 8);
		out[1] = (UCHAR)sw;
		*ret = 2;
		return IFD_SUCCESS;
	}
	snprintf(line, sizeof(line), "%s pin", op);
	pad_log(r, line);
	if (card_send(r, apdu, alen) != 0 || card_recv(r, out, cap, &n) != 0)
		return IFD_COMMUNICATION_ERROR;
	*ret = (DWORD)n;
	return IFD_SUCCESS;
}

static RESPONSECODE
verify_pin_direct(struct rdr *r, const UCHAR *in, DWORD in_len, PUCHAR out,
                  DWORD cap, LPDWORD ret)
{
	pp_verify v;
	char pin[PP_PIN_MAX + 1];
	uint8_t apdu[PP_APDU_MAX];
	size_t alen = 0;
	unsigned sw;
	RESPONSECODE rc;

	if (cap < 2)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	sw = pp_verify_parse(in, in_len, &v) != 0 ? PP_SW_BAD_PARAM
	                                          : take_pin(r, "verify", v.timeout, pin, sizeof(pin));
	if (sw == 0)
		sw = pp_verify_build(&v, pin, strlen(pin), apdu, &alen);
	rc = finish(r, "verify", sw, apdu, alen, out, cap, ret);
	explicit_bzero(pin, sizeof(pin));
	explicit_bzero(apdu, sizeof(apdu));
	explicit_bzero(&v, sizeof(v));
	return rc;
}

/* Current PIN (when asked), new PIN, its confirmation (when asked). */
static RESPONSECODE
modify_pin_direct(struct rdr *r, const UCHAR *in, DWORD in_len, PUCHAR out,
                  DWORD cap, LPDWORD ret)
{
	pp_modify m;
	char old[PP_PIN_MAX + 1] = "", new1[PP_PIN_MAX + 1] = "", new2[PP_PIN_MAX + 1] = "";
	uint8_t apdu[PP_APDU_MAX];
	size_t alen = 0;
	unsigned sw;
	RESPONSECODE rc;

	if (cap < 2)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	sw = pp_modify_parse(in, in_len, &m) != 0 ? PP_SW_BAD_PARAM : 0;
	if (sw == 0 && (m.confirm & PP_MODIFY_OLD))
		sw = take_pin(r, "modify", m.base.timeout, old, sizeof(old));
	if (sw == 0)
		sw = take_pin(r, "modify", m.base.timeout, new1, sizeof(new1));
	if (sw == 0 && (m.confirm & PP_MODIFY_CONFIRM)) {
		sw = take_pin(r, "modify", m.base.timeout, new2, sizeof(new2));
		if (sw == 0 && strcmp(new1, new2) != 0)
			sw = PP_SW_MISMATCH;
	}
	if (sw == 0)
		sw = pp_modify_build(&m, old, strlen(old), new1, strlen(new1), apdu, &alen);
	rc = finish(r, "modify", sw, apdu, alen, out, cap, ret);
	explicit_bzero(old, sizeof(old));
	explicit_bzero(new1, sizeof(new1));
	explicit_bzero(new2, sizeof(new2));
	explicit_bzero(apdu, sizeof(apdu));
	explicit_bzero(&m, sizeof(m));
	return rc;
}

RESPONSECODE
IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
            PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
	static const UCHAR features[] = {FEATURE_VERIFY_PIN_DIRECT, FEATURE_MODIFY_PIN_DIRECT,
	                                 FEATURE_IFD_PIN_PROPERTIES};
	struct rdr *r = find(Lun);
	DWORD code;
	size_t i;

	if (pdwBytesReturned == NULL)
		return IFD_COMMUNICATION_ERROR;
	*pdwBytesReturned = 0;
	if (r == NULL)
		return IFD_NO_SUCH_DEVICE;
	if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST) {
		if (RxLength < 6 * sizeof(features))
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		for (i = 0; i < sizeof(features); i++) {
			code = IOCTL_FEATURE(features[i]);
			RxBuffer[6 * i] = features[i];
			RxBuffer[6 * i + 1] = 4;
			/* Big-endian, PC/SC part 10 2.2. */
			RxBuffer[6 * i + 2] = (UCHAR)(code >> 24);
			RxBuffer[6 * i + 3] = (UCHAR)(code >> 16);
			RxBuffer[6 * i + 4] = (UCHAR)(code >> 8);
			RxBuffer[6 * i + 5] = (UCHAR)code;
		}
		*pdwBytesReturned = 6 * sizeof(features);
		return IFD_SUCCESS;
	}
	if (dwControlCode == IOCTL_FEATURE(FEATURE_IFD_PIN_PROPERTIES)) {
		if (RxLength < 4)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		/* wLcdLayout 0000: no display; validation by the OK key. */
		RxBuffer[0] = 0x00;
		RxBuffer[1] = 0x00;
		RxBuffer[2] = 0x02;
		RxBuffer[3] = 0x00;
		*pdwBytesReturned = 4;
		return IFD_SUCCESS;
	}
	if (dwControlCode == IOCTL_FEATURE(FEATURE_VERIFY_PIN_DIRECT)) {
		if (r->cfd < 0)
			return IFD_ICC_NOT_PRESENT;
		return verify_pin_direct(r, TxBuffer, TxLength, RxBuffer, RxLength,
		                         pdwBytesReturned);
	}
	if (dwControlCode == IOCTL_FEATURE(FEATURE_MODIFY_PIN_DIRECT)) {
		if (r->cfd < 0)
			return IFD_ICC_NOT_PRESENT;
		return modify_pin_direct(r, TxBuffer, TxLength, RxBuffer, RxLength,
		                         pdwBytesReturned);
	}
	return IFD_ERROR_NOT_SUPPORTED;
}
