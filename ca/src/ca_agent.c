/*
 * libcvqca — the issuing agent: the CA key stays unlocked in one process
 * and clients on a private Unix socket ask for certificates.
 *
 * What a client can get is what `cvq-admin cert issue` could: the request
 * is a CSR, a profile and options (ca_agent_msg.c), issued by
 * cvq_ca_issue_csr_der() — the one issuance path — so the profile, the
 * proof of possession, the row committed before the answer and the audit
 * entry (actor = the peer's user, detail "via=agent") all hold. No bytes
 * of the client's choosing are ever signed.
 *
 * Who may ask: the socket lives in a directory of its own (0700, or 0750
 * for a configured group), the socket is 0600 (0660), and every
 * connection's SO_PEERCRED is checked (same uid, or the group). One
 * request per connection, served one at a time (the store has one writer
 * anyway); each read and write times out, so a silent client delays the
 * others by a few seconds at most. Signals arrive through a signalfd: no
 * handler, no global state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/crypto.h>

#include <cvq/util.h>

#include "ca_int.h"

#define IO_TIMEOUT_S 5
#define CALL_TIMEOUT_S 60

/*
 * One agent. Requests come from the Unix socket (run loop, below) and from
 * fronts that identify their peers themselves (cvq_ca_agent_handle: the
 * TLS listener, docs/enrolment.md); mu makes them one at a time, as the
 * CA handle (its actor, its one store writer) needs.
 */
struct cvq_ca_agent {
	cvq_ca *ca;
	struct cvq_ca_agent_opts o;
	pthread_mutex_t mu;
	uint64_t issued, refused;
	time_t started, last;
	bool stop;
	int lfd, lockfd, sfd, wake[2];
	sigset_t old_mask;
	bool mask_set;
	char why[160];
};

/* What one request gets back: status(1) || payload, built under mu and
 * sent after it is released. */
struct answer {
	uint8_t *b;
	size_t len;
};

char *
cvq_ca_agent_socket(const struct cvq_ca_config *cfg)
{
	char *db, *slash, *out;
	size_t n;

	if (!cfg || !cfg->db)
		return NULL;
	db = cvq_ca_config_path(cfg, cfg->db);
	if (!db)
		return NULL;
	slash = strrchr(db, '/');
	if (slash)
		slash[1] = '\0';
	n = strlen(slash ? db : "./") + sizeof("agent/socket");
	out = malloc(n);
	if (out)
		snprintf(out, n, "%sagent/socket", slash ? db : "./");
	free(db);
	return out;
}

static bool
set_timeouts(int fd, int secs)
{
	struct timeval tv = {.tv_sec = secs};

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * All n bytes in or out (EINTR retried; a timeout or a closed peer fails).
 * deadline (now_ms() clock, 0: none) bounds the whole transfer: the socket
 * timeouts bound each call only, and a client sending a byte every few
 * seconds would otherwise hold the agent for hours.
 */
static bool
io_all(int fd, uint8_t *b, size_t n, bool out, int64_t deadline)
{
	struct pollfd pf = {.fd = fd, .events = out ? POLLOUT : POLLIN};
	int64_t left;
	ssize_t r;

	while (n) {
		if (deadline) {
			left = deadline - now_ms();
			if (left <= 0)
				return false;
			r = poll(&pf, 1, (int)(left > 60000 ? 60000 : left));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return false;
		}
		r = out ? send(fd, b, n, MSG_NOSIGNAL | (deadline ? MSG_DONTWAIT : 0))
		        : recv(fd, b, n, deadline ? MSG_DONTWAIT : 0);
		if (r < 0 && (errno == EINTR || (deadline && (errno == EAGAIN || errno == EWOULDBLOCK))))
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

static bool
read_all(int fd, uint8_t *b, size_t n, int64_t deadline)
{
	return io_all(fd, b, n, false, deadline);
}

static bool
write_all(int fd, const void *b, size_t n)
{
	return io_all(fd, (uint8_t *)(uintptr_t)b, n, true, 0);
}

/* frame := length(4, big-endian) body; an answer's body is status(1) payload. */
static bool
send_frame(int fd, uint8_t status, const void *payload, size_t n, bool answer)
{
	uint8_t h[5];
	size_t k = answer ? 5 : 4, len = n + (answer ? 1 : 0);

	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	h[4] = status;
	return write_all(fd, h, k) && write_all(fd, payload, n);
}

/* A frame's body (malloc'd), at most CVQ_CA_AGENT_MAX_MSG bytes, whole
 * before deadline (0: none). */
static cvq_ca_err
recv_frame(int fd, uint8_t **body, size_t *len, int64_t deadline)
{
	uint8_t h[4];
	size_t n;

	*body = NULL;
	if (!read_all(fd, h, 4, deadline))
		return CVQ_CA_ERR_NET;
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n == 0 || n > CVQ_CA_AGENT_MAX_MSG)
		return CVQ_CA_ERR_REQUEST;
	*body = malloc(n);
	if (!*body)
		return CVQ_CA_ERR_NOMEM;
	if (!read_all(fd, *body, n, deadline)) {
		free(*body);
		*body = NULL;
		return CVQ_CA_ERR_NET;
	}
	*len = n;
	return CVQ_CA_OK;
}

static void
answer_err(int fd, cvq_ca_err err, const char *msg)
{
	send_frame(fd, (uint8_t)err, msg, strlen(msg), true);
}

/* The answer of a request: status and payload (a copy). NULL b: no memory. */
static void
ans_set(struct answer *ans, cvq_ca_err status, const void *payload, size_t n)
{
	free(ans->b);
	ans->len = 0;
	ans->b = malloc(n + 1);
	if (!ans->b)
		return;
	ans->b[0] = (uint8_t)status;
	if (n)
		memcpy(ans->b + 1, payload, n);
	ans->len = n + 1;
}

static void
ans_text(struct answer *ans, cvq_ca_err status, const char *text)
{
	ans_set(ans, status, text, strlen(text));
}

/* The caller's identity for one request, and back to ours after it. */
struct as_peer {
	char actor[64];
	unsigned uid, roles;
};

static void
peer_save(struct cvq_ca_agent *a, struct as_peer *saved)
{
	memcpy(saved->actor, a->ca->actor, sizeof(saved->actor));
	saved->uid = a->ca->caller_uid;
	saved->roles = a->ca->caller_roles;
	a->ca->via_agent = true;
	a->ca->errmsg[0] = '\0';
}

static void
peer_leave(struct cvq_ca_agent *a, const struct as_peer *saved)
{
	a->ca->via_agent = false;
	memcpy(a->ca->actor, saved->actor, sizeof(saved->actor));
	a->ca->caller_uid = saved->uid;
	a->ca->caller_roles = saved->roles;
}

/* A refusal by role: answered, counted and on record with the peer as actor. */
static void
refuse_peer(struct cvq_ca_agent *a, struct answer *ans, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
refuse_peer(struct cvq_ca_agent *a, struct answer *ans, const char *what, const char *fmt, ...)
{
	char msg[200], roles[64], detail[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ca_roles_text(a->ca->caller_roles, roles, sizeof(roles));
	snprintf(detail, sizeof(detail), "refused: %s (roles: %s) via=agent", msg, roles);
	cvq_ca_audit_record(a->ca, "agent.refuse", what, detail);
	a->refused++;
	ans_text(ans, CVQ_CA_ERR_DENIED, msg);
}

static void
ans_ca_err(struct cvq_ca_agent *a, struct answer *ans, cvq_ca_err err)
{
	a->refused++;
	ans_text(ans, err, a->ca->errmsg[0] ? a->ca->errmsg : cvq_ca_strerror(err));
}

static void
answer_der(struct cvq_ca_agent *a, struct answer *ans, cvq_ca_err err, uint8_t *der, size_t len)
{
	if (err != CVQ_CA_OK) {
		ans_ca_err(a, ans, err);
		return;
	}
	a->issued++;
	/* Committed: the certificate may leave now. */
	ans_set(ans, CVQ_CA_OK, der, len);
	OPENSSL_free(der);
}

static void
do_issue(struct cvq_ca_agent *a, struct answer *ans, const struct cvq_ca_agent_msg *m)
{
	const char *prof = cvq_ca_profile_name(m->req.profile);
	uint8_t *der = NULL;
	size_t len = 0;
	cvq_ca_err err;

	if (!cvq_ca_roles_allow(ca_roles_cfg(a->ca), a->ca->caller_roles, m->req.profile)) {
		refuse_peer(a, ans, prof, "%s may not ask for %s certificates", a->ca->actor, prof);
		return;
	}
	err = cvq_ca_issue_csr_der(a->ca, &m->req, m->csr, m->csr_len, &der, &len);
	answer_der(a, ans, err, der, len);
}

static void
do_request(struct cvq_ca_agent *a, struct answer *ans, const struct cvq_ca_agent_msg *m)
{
	char line[64];
	int64_t id = 0;
	cvq_ca_err err;

	err = m->op == CVQ_CA_AGENT_ROLES ? cvq_ca_request_roles(a->ca, &id)
	                                  : cvq_ca_request_submit(a->ca, &m->req, m->csr, m->csr_len, &id);
	if (err != CVQ_CA_OK) {
		ans_ca_err(a, ans, err);
		return;
	}
	snprintf(line, sizeof(line), "request %lld pending", (long long)id);
	ans_text(ans, CVQ_CA_OK, line);
}

static void
do_approve(struct cvq_ca_agent *a, struct answer *ans, const struct cvq_ca_agent_msg *m)
{
	struct cvq_ca_request_info info;
	uint8_t *der = NULL;
	size_t len = 0;
	char line[64];
	cvq_ca_err err;

	if (m->op == CVQ_CA_AGENT_REJECT) {
		err = cvq_ca_request_reject(a->ca, (int64_t)m->request_id);
		if (err == CVQ_CA_OK)
			ans_text(ans, CVQ_CA_OK, "rejected");
		else
			ans_text(ans, err, a->ca->errmsg[0] ? a->ca->errmsg : cvq_ca_strerror(err));
		return;
	}
	err = cvq_ca_request_approve(a->ca, (int64_t)m->request_id, &der, &len);
	if (err == CVQ_CA_OK && !der) {
		/* More approvals needed: the answer is text, not a certificate. */
		if (cvq_ca_request_get(a->ca, (int64_t)m->request_id, &info) != CVQ_CA_OK)
			info.approvals = 0, info.needed = 0, info.state = CVQ_CA_REQUEST_PENDING;
		if (info.state == CVQ_CA_REQUEST_ISSUED)
			snprintf(line, sizeof(line), "roles in force");
		else
			snprintf(line, sizeof(line), "pending %u/%u", info.approvals, info.needed);
		ans_text(ans, CVQ_CA_OK, line);
		return;
	}
	answer_der(a, ans, err, der, len);
}

static void
do_status(struct cvq_ca_agent *a, struct answer *ans)
{
	char line[512], subject[256];
	time_t now = time(NULL);

	X509_NAME_oneline(X509_get_subject_name(a->ca->cert), subject, sizeof(subject));
	/* secure_heap: bytes of OpenSSL's locked heap in use (the key's numbers). */
	snprintf(line, sizeof(line), "ca=%s pid=%ld issued=%llu refused=%llu up=%lds idle=%lds "
	         "lock_after=%us secure_heap=%zu",
	         subject, (long)getpid(), (unsigned long long)a->issued,
	         (unsigned long long)a->refused, (long)(now - a->started), (long)(now - a->last),
	         a->o.idle_seconds, CRYPTO_secure_malloc_initialized() ? CRYPTO_secure_used() : 0);
	ans_text(ans, CVQ_CA_OK, line);
}

/*
 * The op of a request, without parsing the rest: ops from
 * CVQ_CA_AGENT_EXT_FIRST on are the extension's, which parses its own
 * fields (cvq_ca_agent_parse refuses them). 0: no op field.
 */
static unsigned
peek_op(const uint8_t *b, size_t len)
{
	const uint8_t *p = b + 4, *end = b + len;
	size_t n;

	if (len < 4 || memcmp(b, "CVQ1", 4) != 0)
		return 0;
	while (end - p >= 3) {
		n = (size_t)p[1] << 8 | p[2];
		if ((size_t)(end - p - 3) < n)
			return 0;
		if (p[0] == 1)
			return n == 1 ? p[3] : 0;
		p += 3 + n;
	}
	return 0;
}

static void
do_ext(struct cvq_ca_agent *a, struct answer *ans, const uint8_t *body, size_t len)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	char why[256] = "";
	cvq_ca_err err;

	if (!a->o.ext) {
		ans_text(ans, CVQ_CA_ERR_REQUEST, "malformed request");
		return;
	}
	err = a->o.ext(a->o.ext_ctx, a->ca, body, len, &payload, &plen, why, sizeof(why));
	if (err == CVQ_CA_OK) {
		ans_set(ans, CVQ_CA_OK, payload, plen);
	} else {
		a->refused++;
		ans_text(ans, err, why[0] ? why : a->ca->errmsg[0] ? a->ca->errmsg : cvq_ca_strerror(err));
	}
	if (payload) {
		OPENSSL_cleanse(payload, plen); /* may be a key or a PUK */
		free(payload);
	}
}

/*
 * One request of an identified peer, under a->mu: the caller is set on
 * the CA handle (actor and roles, audited via=agent) for its duration.
 * owner: the agent's own uid, which may always ask the status and stop.
 */
static void
dispatch(struct cvq_ca_agent *a, bool owner, const uint8_t *body, size_t len, struct answer *ans)
{
	struct cvq_ca_agent_msg m;
	unsigned op = peek_op(body, len);

	if (op >= CVQ_CA_AGENT_EXT_FIRST) {
		/* Admitted to the socket is not yet allowed: the peer needs a role. */
		if (!a->ca->caller_roles) {
			refuse_peer(a, ans, "agent", "%s has no role in this CA", a->ca->actor);
			return;
		}
		a->last = time(NULL);
		do_ext(a, ans, body, len);
		return;
	}
	if (cvq_ca_agent_parse(body, len, &m) != CVQ_CA_OK) {
		ans_text(ans, CVQ_CA_ERR_REQUEST, "malformed request");
		return;
	}
	if (!a->ca->caller_roles &&
	    !(owner && (m.op == CVQ_CA_AGENT_STATUS || m.op == CVQ_CA_AGENT_STOP))) {
		refuse_peer(a, ans, "agent", "%s has no role in this CA", a->ca->actor);
		return;
	}
	switch (m.op) {
	case CVQ_CA_AGENT_ISSUE:
		/* Only issuing keeps the key unlocked: a monitoring loop asking
		 * for the status must not hold it open for ever. */
		a->last = time(NULL);
		do_issue(a, ans, &m);
		break;
	case CVQ_CA_AGENT_REQUEST:
	case CVQ_CA_AGENT_ROLES:
		a->last = time(NULL);
		do_request(a, ans, &m);
		break;
	case CVQ_CA_AGENT_APPROVE:
	case CVQ_CA_AGENT_REJECT:
		a->last = time(NULL);
		do_approve(a, ans, &m);
		break;
	case CVQ_CA_AGENT_STATUS:
		do_status(a, ans);
		break;
	case CVQ_CA_AGENT_STOP:
		/* Locking the CA away is the owner's or an officer's call. */
		if (!owner && !(a->ca->caller_roles & (1u << CVQ_CA_ROLE_OFFICER))) {
			refuse_peer(a, ans, "agent", "%s may not stop the agent", a->ca->actor);
			break;
		}
		ans_text(ans, CVQ_CA_OK, "stopping");
		snprintf(a->why, sizeof(a->why), "stopped on request");
		a->stop = true;
		if (a->wake[1] >= 0)
			(void)!write(a->wake[1], "s", 1);
		break;
	}
}

cvq_ca_err
cvq_ca_agent_handle(cvq_ca_agent *a, const struct cvq_ca_agent_peer *p, const uint8_t *body,
                    size_t len, uint8_t **answer, size_t *answer_len)
{
	struct answer ans = {0};
	struct as_peer saved;

	if (!a || !p || !p->actor || !body || !answer || !answer_len)
		return CVQ_CA_ERR_ARG;
	*answer = NULL;
	*answer_len = 0;
	if (len > CVQ_CA_AGENT_MAX_MSG)
		return CVQ_CA_ERR_REQUEST;
	pthread_mutex_lock(&a->mu);
	if (a->stop) {
		pthread_mutex_unlock(&a->mu);
		return CVQ_CA_ERR_NET; /* locked away: as if no agent answered */
	}
	peer_save(a, &saved);
	cvq_ca_set_actor(a->ca, p->actor);
	a->ca->caller_uid = (unsigned)-1;
	a->ca->caller_roles = p->roles;
	dispatch(a, false, body, len, &ans);
	peer_leave(a, &saved);
	pthread_mutex_unlock(&a->mu);
	if (!ans.b)
		return CVQ_CA_ERR_NOMEM;
	*answer = ans.b;
	*answer_len = ans.len;
	return CVQ_CA_OK;
}

cvq_ca *
cvq_ca_agent_ca(cvq_ca_agent *a)
{
	return a ? a->ca : NULL;
}

/*
 * The peer's primary group, or one of its supplementary groups (SO_PEERGROUPS,
 * Linux 4.13), is the agent's group: `--group` admits its members however
 * they got the group, as file permissions would.
 */
static bool
peer_in_group(int fd, const struct ucred *cr, gid_t group)
{
	gid_t gids[256];
	socklen_t len = sizeof(gids);
	size_t i;

	if (cr->gid == group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids, &len) != 0)
		return false; /* more than 256 groups, or an older kernel: primary only */
	for (i = 0; i < len / sizeof(gids[0]); i++)
		if (gids[i] == group)
			return true;
	return false;
}

static void
serve_one(struct cvq_ca_agent *a, int fd)
{
	struct answer ans = {0};
	struct as_peer saved;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	uint8_t *body = NULL;
	size_t len = 0;
	cvq_ca_err err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
	    !(cr.uid == geteuid() || (a->o.group_set && peer_in_group(fd, &cr, (gid_t)a->o.group)))) {
		pthread_mutex_lock(&a->mu);
		a->refused++;
		pthread_mutex_unlock(&a->mu);
		answer_err(fd, CVQ_CA_ERR_PERM, "not allowed to use this agent");
		return;
	}
	if (!set_timeouts(fd, IO_TIMEOUT_S))
		return;
	/* The whole request within IO_TIMEOUT_S, however it trickles in. */
	err = recv_frame(fd, &body, &len, now_ms() + IO_TIMEOUT_S * 1000);
	if (err != CVQ_CA_OK) {
		if (err != CVQ_CA_ERR_NET)
			answer_err(fd, CVQ_CA_ERR_REQUEST, "malformed request");
		free(body);
		return;
	}
	pthread_mutex_lock(&a->mu);
	peer_save(a, &saved);
	cvq_ca_set_caller(a->ca, (unsigned)cr.uid);
	dispatch(a, cr.uid == geteuid(), body, len, &ans);
	peer_leave(a, &saved);
	pthread_mutex_unlock(&a->mu);
	if (ans.b && ans.len)
		send_frame(fd, ans.b[0], ans.b + 1, ans.len - 1, true);
	if (ans.b) {
		OPENSSL_cleanse(ans.b, ans.len);
		free(ans.b);
	}
	free(body);
}

/* Another agent answering on this path? */
static bool
alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0)
		return false;
	up = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return up;
}

/* The socket's directory: ours, and nobody else's to enter (or write). */
static cvq_ca_err
private_dir(const char *sock, const struct cvq_ca_agent_opts *o, char *why, size_t why_len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	mode_t mode = o->group_set ? 0750 : 0700;
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", sock);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return CVQ_CA_OK; /* the current directory or "/": the caller's choice */
	*slash = '\0';
	if (mkdir(dir, mode) == 0) {
		if ((o->group_set && chown(dir, (uid_t)-1, (gid_t)o->group) != 0) || chmod(dir, mode) != 0) {
			snprintf(why, why_len, "cannot set up %s: %s", dir, strerror(errno));
			return CVQ_CA_ERR_IO;
		}
		return CVQ_CA_OK;
	}
	if (errno != EEXIST || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, why_len, "cannot make %s: %s", dir, strerror(errno));
		return CVQ_CA_ERR_IO;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (o->group_set ? 027 : 077))) {
		snprintf(why, why_len, "%s must be ours and mode %o", dir, (unsigned)mode);
		return CVQ_CA_ERR_PERM;
	}
	return CVQ_CA_OK;
}

static cvq_ca_err
listen_on(const struct cvq_ca_agent_opts *o, int *out, int *lock_out, char *why, size_t why_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t mode = o->group_set ? 0660 : 0600;
	char lock[sizeof(sa.sun_path) + 8];
	cvq_ca_err err;
	int fd;

	*out = -1;
	*lock_out = -1;
	if (strlen(o->socket) >= sizeof(sa.sun_path)) {
		snprintf(why, why_len, "socket path too long (max %zu)", sizeof(sa.sun_path) - 1);
		return CVQ_CA_ERR_ARG;
	}
	memcpy(sa.sun_path, o->socket, strlen(o->socket) + 1);
	err = private_dir(o->socket, o, why, why_len);
	if (err != CVQ_CA_OK)
		return err;
	/*
	 * One agent per socket, held by a lock for its whole life: without it
	 * two agents started at once could both find no one answering, and the
	 * second would unlink the first's socket.
	 */
	snprintf(lock, sizeof(lock), "%s.lock", o->socket);
	fd = cvq_util_file_create(lock, O_RDWR, 0600);
	if (fd < 0) {
		snprintf(why, why_len, "cannot open %s: %s", lock, strerror(errno));
		return CVQ_CA_ERR_IO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || alive(&sa)) {
		snprintf(why, why_len, "an agent already serves %s", o->socket);
		close(fd);
		return CVQ_CA_ERR_EXISTS;
	}
	*lock_out = fd;
	unlink(o->socket); /* a stale socket of an agent that died */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (o->group_set && chown(o->socket, (uid_t)-1, (gid_t)o->group) != 0) ||
	    chmod(o->socket, mode) != 0 || listen(fd, 64) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", o->socket, strerror(errno));
		if (fd >= 0)
			close(fd);
		close(*lock_out);
		*lock_out = -1;
		return CVQ_CA_ERR_IO;
	}
	*out = fd;
	return CVQ_CA_OK;
}

cvq_ca_err
cvq_ca_agent_new(cvq_ca *ca, const struct cvq_ca_agent_opts *o, cvq_ca_agent **out, char *why,
                 size_t why_len)
{
	cvq_ca_agent *a;
	sigset_t set;
	cvq_ca_err err;
	char dummy[1];

	if (!why || !why_len)
		why = dummy, why_len = sizeof(dummy);
	why[0] = '\0';
	if (!ca || !o || !o->socket || !out)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	if (!ca->key) {
		snprintf(why, why_len, "the CA was opened without its key");
		return CVQ_CA_ERR_KEY;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return CVQ_CA_ERR_NOMEM;
	a->ca = ca;
	a->o = *o;
	a->lfd = a->lockfd = a->sfd = a->wake[0] = a->wake[1] = -1;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		return CVQ_CA_ERR_NOMEM;
	}
	/* Blocked in every thread started after this one (a front's), read
	 * through the signalfd by the run loop: no handler, no global state. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, &a->old_mask) != 0) {
		err = CVQ_CA_ERR_IO;
		goto fail;
	}
	a->mask_set = true;
	a->sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (a->sfd < 0 || pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(why, why_len, "signalfd: %s", strerror(errno));
		err = CVQ_CA_ERR_IO;
		goto fail;
	}
	err = listen_on(o, &a->lfd, &a->lockfd, why, why_len);
	if (err != CVQ_CA_OK)
		goto fail;
	a->started = a->last = time(NULL);
	*out = a;
	return CVQ_CA_OK;
fail:
	/* Never served: the process waiting on ready_fd (detached from our
	 * stderr) is told why. */
	if (o->ready_fd >= 0) {
		char msg[1 + 256];
		int ml = snprintf(msg, sizeof(msg), "0%s", why);

		(void)!write(o->ready_fd, msg, ml < 0 ? 1 : (size_t)ml < sizeof(msg) ? (size_t)ml : sizeof(msg) - 1);
		close(o->ready_fd);
		a->o.ready_fd = -1;
	}
	cvq_ca_agent_free(a);
	return err;
}

void
cvq_ca_agent_free(cvq_ca_agent *a)
{
	if (!a)
		return;
	if (a->lfd >= 0) {
		close(a->lfd);
		unlink(a->o.socket);
	}
	if (a->lockfd >= 0)
		close(a->lockfd); /* after the unlink: the next agent may start */
	if (a->sfd >= 0)
		close(a->sfd);
	if (a->wake[0] >= 0)
		close(a->wake[0]);
	if (a->wake[1] >= 0)
		close(a->wake[1]);
	if (a->mask_set)
		pthread_sigmask(SIG_SETMASK, &a->old_mask, NULL);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

cvq_ca_err
cvq_ca_agent_run(cvq_ca_agent *a, char *why, size_t why_len)
{
	struct signalfd_siginfo si;
	struct pollfd pf[3];
	cvq_ca_err err = CVQ_CA_OK;
	int timeout, fd;
	char dummy[1];
	bool stop;

	if (!why || !why_len)
		why = dummy, why_len = sizeof(dummy);
	why[0] = '\0';
	if (!a)
		return CVQ_CA_ERR_ARG;
	if (a->o.ready_fd >= 0) {
		(void)!write(a->o.ready_fd, "1", 1);
		close(a->o.ready_fd);
		a->o.ready_fd = -1;
	}
	for (;;) {
		pthread_mutex_lock(&a->mu);
		stop = a->stop;
		timeout = -1;
		if (!stop && a->o.idle_seconds) {
			time_t left = a->last + (time_t)a->o.idle_seconds - time(NULL);

			if (left <= 0) {
				snprintf(a->why, sizeof(a->why), "locked after %us idle", a->o.idle_seconds);
				stop = true;
			}
			timeout = left > 3600 ? 3600 * 1000 : (int)left * 1000;
		}
		pthread_mutex_unlock(&a->mu);
		if (stop)
			break;
		pf[0] = (struct pollfd){.fd = a->lfd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = a->sfd, .events = POLLIN};
		pf[2] = (struct pollfd){.fd = a->wake[0], .events = POLLIN};
		if (poll(pf, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(a->why, sizeof(a->why), "poll: %s", strerror(errno));
			err = CVQ_CA_ERR_IO;
			break;
		}
		if (pf[1].revents & POLLIN) {
			if (read(a->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				snprintf(a->why, sizeof(a->why), "stopped by signal %u", si.ssi_signo);
			break;
		}
		if (pf[2].revents & POLLIN) {
			char c[16];

			while (read(a->wake[0], c, sizeof(c)) > 0)
				;
		}
		if (pf[0].revents & POLLIN) {
			fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			serve_one(a, fd);
			close(fd);
		}
	}
	pthread_mutex_lock(&a->mu);
	a->stop = true; /* a front asking from now on is told the agent stops */
	snprintf(why, why_len, "%s", a->why);
	pthread_mutex_unlock(&a->mu);
	return err;
}

cvq_ca_err
cvq_ca_agent_serve(cvq_ca *ca, const struct cvq_ca_agent_opts *o, char *why, size_t why_len)
{
	cvq_ca_agent *a = NULL;
	cvq_ca_err err;

	err = cvq_ca_agent_new(ca, o, &a, why, why_len);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_agent_run(a, why, why_len);
	cvq_ca_agent_free(a);
	return err;
}

cvq_ca_err
cvq_ca_agent_call(const char *sock, const struct cvq_ca_agent_msg *m, uint8_t **out,
                  size_t *out_len, char *why, size_t why_len)
{
	uint8_t *req = NULL;
	size_t req_len = 0;
	cvq_ca_err err;

	if (why && why_len)
		why[0] = '\0';
	if (!sock || !m || !out || !out_len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	err = cvq_ca_agent_encode(m, &req, &req_len);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_ca_agent_call_raw(sock, req, req_len, out, out_len, why, why_len);
	free(req);
	return err;
}

cvq_ca_err
cvq_ca_agent_call_raw(const char *sock, const uint8_t *req, size_t req_len, uint8_t **out,
                      size_t *out_len, char *why, size_t why_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t *body = NULL;
	size_t len = 0;
	cvq_ca_err err;
	int fd = -1;
	char dummy[1];

	if (!why || !why_len)
		why = dummy, why_len = sizeof(dummy);
	why[0] = '\0';
	if (!sock || !req || !out || !out_len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	if (req_len == 0 || req_len > CVQ_CA_AGENT_MAX_MSG)
		return CVQ_CA_ERR_REQUEST;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return CVQ_CA_ERR_NET;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(why, why_len, "no agent at %s", sock);
		err = CVQ_CA_ERR_NET;
		goto out;
	}
	err = CVQ_CA_ERR_NET;
	if (!set_timeouts(fd, CALL_TIMEOUT_S) || !send_frame(fd, 0, req, req_len, false) ||
	    recv_frame(fd, &body, &len, 0) != CVQ_CA_OK) {
		snprintf(why, why_len, "the agent at %s did not answer", sock);
		goto out;
	}
	err = cvq_ca_agent_answer(body, len, out, out_len, why, why_len);
	if (err == CVQ_CA_ERR_NET)
		snprintf(why, why_len, "the agent at %s did not answer", sock);
out:
	if (fd >= 0)
		close(fd);
	if (body) {
		OPENSSL_cleanse(body, len);
		free(body);
	}
	return err;
}

cvq_ca_err
cvq_ca_agent_answer(const uint8_t *body, size_t len, uint8_t **out, size_t *out_len, char *why,
                    size_t why_len)
{
	cvq_ca_err err;
	size_t i;
	char dummy[1];

	if (!why || !why_len)
		why = dummy, why_len = sizeof(dummy);
	why[0] = '\0';
	if (!out || !out_len)
		return CVQ_CA_ERR_ARG;
	*out = NULL;
	*out_len = 0;
	if (!body || len < 1 || body[0] >= CVQ_CA_ERR__COUNT)
		return CVQ_CA_ERR_NET;
	err = (cvq_ca_err)body[0];
	if (err != CVQ_CA_OK) {
		/* The agent's reason, shown to a person: printable only. */
		for (i = 1; i < len && i < why_len; i++)
			why[i - 1] = body[i] >= 0x20 && body[i] < 0x7f ? (char)body[i] : '?';
		why[i - 1] = '\0';
		return err;
	}
	*out_len = len - 1;
	*out = malloc(len);
	if (!*out)
		return CVQ_CA_ERR_NOMEM;
	memcpy(*out, body + 1, len - 1);
	(*out)[len - 1] = 0; /* text answers end here */
	return CVQ_CA_OK;
}
