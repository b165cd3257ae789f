/*
 * cvq-vcard: command line, signals and the event loop that joins the
 * vpcd transport, the card logic and the state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cvq/util.h>

#include "trace.h"
#include "vcard.h"
#include "vpcd.h"

#define RECONNECT_MS 200

/* A generic ATR: T=1, historical bytes "cvq-vcard" (not a YubiKey's, so
 * OpenSC finds the card through its PIV driver). */
static const uint8_t atr[] = {
	0x3B, 0x89, 0x80, 0x01, 'c', 'v', 'q', '-', 'v', 'c', 'a', 'r', 'd', 0x23,
};

struct opts {
	const char *state, *host, *port, *trace, *pidfile;
	bool init, verbose;
	int remove_ins;        /* -1: none */
	unsigned remove_nth;
};

struct loop {
	struct opts o;
	struct vc_card *card;
	struct vc_trace *trace;
	int fd, sfd;
	bool removed;
	unsigned remove_seen;
};

static void logv(const struct opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
logv(const struct opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->verbose)
		return;
	va_start(ap, fmt);
	fputs("cvq-vcard: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
usage(FILE *f)
{
	fputs("usage: cvq-vcard --state FILE [--init] [--host H] [--port P]\n"
	      "                 [--trace FILE] [--pidfile FILE] [--remove-at INS[:N]]\n"
	      "                 [--verbose] [--help] [--version]\n"
	      "A virtual PIV card (NIST SP 800-73-4) for pcscd's vpcd driver.\n"
	      "  --state FILE      card state (keys, objects, PIN counters), mode 0600\n"
	      "  --init            create a blank card with factory defaults in FILE\n"
	      "  --host H          vpcd host (default 127.0.0.1)\n"
	      "  --port P          vpcd port (default 35963)\n"
	      "  --trace FILE      append an APDU trace (secrets redacted)\n"
	      "  --pidfile FILE    write the process id\n"
	      "  --remove-at INS[:N]  pull the card out instead of answering the\n"
	      "                    N-th (default 1st) command with this INS (hex)\n"
	      "  --verbose         log connections and events to stderr\n"
	      "Signals: USR1 removes the card, USR2 inserts it, TERM/INT exit.\n", f);
}

static bool
parse_remove_at(const char *s, struct opts *o)
{
	char *end;
	unsigned long ins, n = 1;

	errno = 0;
	ins = strtoul(s, &end, 16);
	if (errno || end == s || ins > 0xFF)
		return false;
	if (*end == ':') {
		s = end + 1;
		n = strtoul(s, &end, 10);
		if (errno || end == s || n == 0 || n > 1000000)
			return false;
	}
	if (*end != '\0')
		return false;
	o->remove_ins = (int)ins;
	o->remove_nth = (unsigned)n;
	return true;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"state", required_argument, NULL, 's'},
		{"init", no_argument, NULL, 'i'},
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"trace", required_argument, NULL, 't'},
		{"pidfile", required_argument, NULL, 'P'},
		{"remove-at", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = "35963";
	o->remove_ins = -1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o->state = optarg; break;
		case 'i': o->init = true; break;
		case 'H': o->host = optarg; break;
		case 'p': o->port = optarg; break;
		case 't': o->trace = optarg; break;
		case 'P': o->pidfile = optarg; break;
		case 'v': o->verbose = true; break;
		case 'r':
			if (!parse_remove_at(optarg, o)) {
				fprintf(stderr, "cvq-vcard: bad --remove-at '%s' (INS[:N], INS in hex)\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cvq-vcard %s\n", CVQ_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || o->state == NULL) {
		usage(stderr);
		return 2;
	}
	return -1;
}

static bool
write_pidfile(const char *path)
{
	char tmp[4096], buf[32];
	int fd, n;
	bool ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return false;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if ((fd = cvq_util_file_create(tmp, O_WRONLY | O_TRUNC, 0644)) < 0)
		return false;
	ok = write(fd, buf, (size_t)n) == n;
	ok = (close(fd) == 0) && ok;
	/* Renamed into place so that a reader never sees it half written. */
	return ok && rename(tmp, path) == 0;
}

static void
disconnect(struct loop *l, const char *event)
{
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	vc_card_reset(l->card);
	vc_trace_event(l->trace, event);
	logv(&l->o, "%s", event);
}

/* Handle one APDU; false when the card was pulled out (--remove-at). */
static bool
handle_apdu(struct loop *l, const uint8_t *cmd, size_t n)
{
	uint8_t resp[VC_RESP_MAX];
	size_t rlen;
	vc_err err;

	vc_trace_apdu(l->trace, true, cmd, n);
	if (l->o.remove_ins >= 0 && n >= 2 && cmd[1] == l->o.remove_ins &&
	    ++l->remove_seen == l->o.remove_nth) {
		l->removed = true;
		disconnect(l, "remove");
		return false;
	}
	rlen = vc_card_process(l->card, cmd, n, resp, sizeof(resp));
	/* Persist before answering: the host must never see an effect
	 * (a spent PIN try, a new key) that a crash could undo. */
	if (vc_card_take_dirty(l->card) &&
	    (err = vc_state_save(l->card, l->o.state)) != VC_OK) {
		fprintf(stderr, "cvq-vcard: saving %s: %s\n", l->o.state, vc_strerror(err));
		resp[0] = 0x65;
		resp[1] = 0x81;
		rlen = 2;
	}
	vc_trace_response(l->trace, vc_trace_secret_response(cmd, n), resp, rlen);
	if (vc_vpcd_send(l->fd, resp, rlen) != 0)
		disconnect(l, "disconnect");
	OPENSSL_cleanse(resp, sizeof(resp));
	return true;
}

static void
handle_message(struct loop *l)
{
	static const char *const events[] = {"power-off", "power-on", "reset"};
	uint8_t *msg = malloc(VPCD_MSG_MAX);
	size_t n = 0;

	if (msg == NULL || vc_vpcd_recv(l->fd, msg, &n) != 0) {
		disconnect(l, "disconnect");
		/* A short read may still have brought part of a VERIFY. */
		if (msg != NULL)
			OPENSSL_clear_free(msg, VPCD_MSG_MAX);
		return;
	}
	if (n == 1) {
		switch (msg[0]) {
		case VPCD_POWER_OFF:
		case VPCD_POWER_ON:
		case VPCD_RESET:
			vc_card_reset(l->card);
			vc_trace_event(l->trace, events[msg[0]]);
			break;
		case VPCD_GET_ATR:
			if (vc_vpcd_send(l->fd, atr, sizeof(atr)) != 0)
				disconnect(l, "disconnect");
			break;
		default:
			break;
		}
	} else {
		handle_apdu(l, msg, n);
	}
	/* It carried VERIFY / CHANGE / RESET data, key imports, mgmt keys. */
	OPENSSL_clear_free(msg, n);
}

/* Returns false when the program should exit. */
static bool
handle_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return true;
	switch (si.ssi_signo) {
	case SIGUSR1:
		if (!l->removed) {
			l->removed = true;
			disconnect(l, "remove");
		}
		return true;
	case SIGUSR2:
		if (l->removed) {
			l->removed = false;
			vc_trace_event(l->trace, "insert");
			logv(&l->o, "insert");
		}
		return true;
	default:
		return false;
	}
}

static int
run(struct loop *l)
{
	struct pollfd pf[2];
	int n, timeout;

	for (;;) {
		if (!l->removed && l->fd < 0) {
			l->fd = vc_vpcd_connect(l->o.host, l->o.port);
			if (l->fd >= 0) {
				vc_card_reset(l->card);
				vc_trace_event(l->trace, "connect");
				logv(&l->o, "connected to vpcd %s:%s", l->o.host, l->o.port);
			}
		}
		pf[0].fd = l->sfd;
		pf[0].events = POLLIN;
		pf[1].fd = l->fd;
		pf[1].events = POLLIN;
		timeout = (!l->removed && l->fd < 0) ? RECONNECT_MS : -1;
		n = poll(pf, l->fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			return 1;
		if (n <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			if (!handle_signal(l))
				return 0;
			continue;  /* the socket may be gone now */
		}
		if (l->fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			handle_message(l);
	}
}

int
main(int argc, char **argv)
{
	struct loop l;
	sigset_t set;
	vc_err err;
	int rc;

	memset(&l, 0, sizeof(l));
	l.fd = l.sfd = -1;
	if ((rc = parse_args(argc, argv, &l.o)) >= 0)
		return rc;
	rc = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (l.sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		perror("cvq-vcard: signalfd");
		goto out;
	}

	if (l.o.init) {
		if ((l.card = vc_card_new(0)) == NULL) {
			fputs("cvq-vcard: cannot create a card\n", stderr);
			goto out;
		}
		if ((err = vc_state_save(l.card, l.o.state)) != VC_OK) {
			fprintf(stderr, "cvq-vcard: %s: %s\n", l.o.state, vc_strerror(err));
			goto out;
		}
	} else if ((err = vc_state_load(l.o.state, &l.card)) != VC_OK) {
		fprintf(stderr, "cvq-vcard: %s: %s%s\n", l.o.state, vc_strerror(err),
		        err == VC_ERR_IO ? " (use --init for a new card)" : "");
		goto out;
	}
	if (l.o.trace != NULL && (l.trace = vc_trace_open(l.o.trace)) == NULL) {
		fprintf(stderr, "cvq-vcard: cannot open trace %s: %s\n", l.o.trace, strerror(errno));
		goto out;
	}
	if (l.o.pidfile != NULL && !write_pidfile(l.o.pidfile)) {
		fprintf(stderr, "cvq-vcard: cannot write %s\n", l.o.pidfile);
		goto out;
	}
	logv(&l.o, "card serial %u, state %s", vc_card_serial(l.card), l.o.state);
	rc = run(&l);
	if (l.fd >= 0)
		close(l.fd);
	vc_trace_event(l.trace, "exit");
out:
	if (l.sfd >= 0)
		close(l.sfd);
	vc_trace_close(l.trace);
	vc_card_free(l.card);
	return rc;
}
