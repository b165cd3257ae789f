/*
 * cvq-admin ca-agent — the issuing agent: unlock the CA key once, then
 * `cert issue` asks the agent instead of decrypting the key every time.
 *
 *   start   ask the passphrase (file/fd/pinentry/tty), open the CA, serve
 *           in the background (or --foreground) until stopped, SIGTERM or
 *           --idle seconds without an issuance (it then exits: the key is
 *           freed and wiped, and `cert issue` asks for the passphrase again)
 *   stop    ask it to stop
 *   status  is it there, and what has it done
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cvq/util.h>

#include "agent_enrol.h"
#include "agent_tls.h"
#include "ca_agent.h"
#include "ca_common.h"

#define DEFAULT_IDLE 900

static void
agent_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin ca-agent start [--pass SOURCE] [--socket PATH] [--idle SECONDS]\n"
	"                                [--group NAME|GID] [--foreground]\n"
	"                                [--master-key-file FILE]\n"
	"                                [--content-signer KEY.pem --content-signer-cert CERT.pem]\n"
	"                                [--listen HOST:PORT --tls-cert FILE --tls-key FILE]\n"
	"       cvq-admin ca-agent stop [--socket PATH]\n"
	"       cvq-admin [--json] ca-agent status [--socket PATH]\n"
	"The agent keeps the CA key unlocked and issues for `cvq-admin cert issue`\n"
	"(same user, or --group members). It locks itself (exits, wiping the key)\n"
	"after --idle seconds without an issuance (default %d; 0 = never) and on SIGTERM.\n"
	"Default socket: agent/socket beside the store. The agent also serves the\n"
	"counters' enrolment (card enrol --agent) with the cards' master secret and the\n"
	"PIV content signer (default: master.key, content-signer.key/.pem beside the CA\n"
	"configuration, mode 0600; without them those operations are refused). --listen adds the TLS\n"
	"front for other machines (client certificates of this CA required; EST paths,\n"
	"docs/enrolment.md): --tls-cert/--tls-key, a service certificate of the CA.\n",
	DEFAULT_IDLE);
}

/* No operands left after the options; else the usage. */
static bool
no_operands(int argc)
{
	if (optind == argc)
		return true;
	agent_usage(stderr);
	return false;
}

/* --socket, else the default beside the store (malloc'd); NULL + message on error. */
char *
cvq_admin_agent_socket(const struct cvq_admin_opts *opts, const char *flag)
{
	struct cvq_ca_config *cfg = NULL;
	char *s;

	if (flag)
		return strdup(flag);
	if (cvq_admin_ca_config(opts, &cfg) != CVQ_ADMIN_EXIT_OK)
		return NULL;
	s = cvq_ca_agent_socket(cfg);
	cvq_ca_config_free(cfg);
	return s;
}

/* The key is about to live here for hours: no core, no ptrace, locked pages
 * for OpenSSL's private key numbers (its secure heap). */
static int
harden(void)
{
	if (cvq_util_no_core_dumps() != CVQ_UTIL_OK) {
		cvq_admin_error("cannot disable core dumps");
		return CVQ_ADMIN_EXIT_FAIL;
	}
	if (!CRYPTO_secure_malloc_initialized() && CRYPTO_secure_malloc_init(64 * 1024, 32) == 0)
		cvq_admin_error("warning: no locked memory for the key (RLIMIT_MEMLOCK?)");
	return CVQ_ADMIN_EXIT_OK;
}

/*
 * The agent, with its TLS front beside the socket when --listen asks for
 * one: started after cvq_ca_agent_new (its thread inherits the blocked
 * signals), stopped before the agent is freed.
 */
static cvq_ca_err
run_agent(const struct cvq_ca_config *cfg, cvq_ca *ca, const struct cvq_ca_agent_opts *ao,
          const struct cvq_admin_agent_tls_opts *tls, char *why, size_t why_len)
{
	cvq_admin_agent_tls *front = NULL;
	cvq_ca_agent *a = NULL;
	cvq_ca_err err;

	if (!tls->listen)
		return cvq_ca_agent_serve(ca, ao, why, why_len);
	err = cvq_ca_agent_new(ca, ao, &a, why, why_len);
	if (err != CVQ_CA_OK)
		return err;
	err = cvq_admin_agent_tls_start(a, cfg, tls, &front, why, why_len);
	if (err != CVQ_CA_OK) {
		/* Not serving: the parent waiting on ready_fd is told why. */
		if (ao->ready_fd >= 0) {
			char msg[1 + 256];
			int n = snprintf(msg, sizeof(msg), "0%s", why);

			(void)!write(ao->ready_fd, msg, n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : 1);
		}
		cvq_ca_agent_free(a);
		return err;
	}
	err = cvq_ca_agent_run(a, why, why_len);
	cvq_admin_agent_tls_stop(front);
	cvq_ca_agent_free(a);
	return err;
}

/*
 * The enrolment service (agent_enrol.c): the master secret and the
 * content signer, loaded after the CA and held as long as the key is.
 */
static int
enrol_service_load(const struct cvq_ca_config *cfg, const struct cvq_admin_enrol_svc_opts *so,
                   struct cvq_admin_enrol_svc *svc, struct cvq_ca_agent_opts *ao)
{
	char why[256] = "";

	if (!cvq_admin_enrol_svc_load(svc, cfg, so, why, sizeof(why))) {
		cvq_admin_error("agent: %s", why);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	if (why[0])
		cvq_admin_error("warning: %s: no CHUID or Security Object signed", why);
	ao->ext = cvq_admin_enrol_svc_ext;
	ao->ext_ctx = svc;
	return CVQ_ADMIN_EXIT_OK;
}

/* --master-key-file, --content-signer, --content-signer-cert: 1 if c was one. */
static int
enrol_service_opt(int c, struct cvq_admin_enrol_svc_opts *so)
{
	switch (c) {
	case 'M': so->master_file = optarg; return 1;
	case 'K': so->cs_key = optarg; return 1;
	case 'C': so->cs_cert = optarg; return 1;
	default: return 0;
	}
}

static int
serve(const struct cvq_admin_opts *opts, const char *pass, struct cvq_ca_agent_opts *ao,
      const struct cvq_admin_enrol_svc_opts *so, const struct cvq_admin_agent_tls_opts *tls)
{
	struct cvq_admin_enrol_svc svc = {0};
	struct cvq_ca_config *cfg = NULL;
	cvq_ca *ca = NULL;
	char why[256] = "";
	cvq_ca_err err;
	int rc;

	rc = harden();
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	rc = cvq_admin_ca_open(opts, pass, 0, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	rc = enrol_service_load(cfg, so, &svc, ao);
	if (rc != CVQ_ADMIN_EXIT_OK) {
		cvq_admin_ca_close(cfg, ca);
		return rc;
	}
	if (ao->ready_fd >= 0) {
		/* Detach only now: a tty or pinentry prompt needed the terminal. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			close(null);
		}
	} else {
		fprintf(stderr, "cvq-admin: agent serving on %s%s%s\n", ao->socket,
		        tls->listen ? " and https://" : "", tls->listen ? tls->listen : "");
	}
	err = run_agent(cfg, ca, ao, tls, why, sizeof(why));
	if (err != CVQ_CA_OK) {
		cvq_admin_error("agent: %s (%s)", cvq_ca_strerror(err), why);
		rc = cvq_admin_ca_exit(err);
	} else if (ao->ready_fd < 0) {
		fprintf(stderr, "cvq-admin: agent %s\n", why);
	}
	/* Frees the key: OpenSSL wipes private key material as it frees it. */
	cvq_admin_ca_close(cfg, ca);
	cvq_admin_enrol_svc_clear(&svc);
	return rc;
}

/* --listen, --tls-cert, --tls-key (long options only): 1 if c was one. */
#define TLS_OPT 0x300
static int
tls_front_opt(int c, struct cvq_admin_agent_tls_opts *tls)
{
	switch (c) {
	case TLS_OPT: tls->listen = optarg; return 1;
	case TLS_OPT + 1: tls->cert_file = optarg; return 1;
	case TLS_OPT + 2: tls->key_file = optarg; return 1;
	default: return 0;
	}
}

/*
 * --listen: all three TLS options, and the program that has the front
 * (cvq-agentd) in our place, with the same arguments. -1: go on here.
 */
static int
tls_front_check(const struct cvq_admin_agent_tls_opts *tls, int argc, char **argv,
                const struct cvq_admin_opts *opts)
{
	static const char *const pre[] = {"--", "ca-agent", NULL};

	if (!tls->listen && !tls->cert_file && !tls->key_file)
		return -1;
	if (!tls->listen || !tls->cert_file || !tls->key_file) {
		cvq_admin_error("--listen, --tls-cert and --tls-key go together");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	if (cvq_admin_agent_tls_here())
		return -1;
	fflush(NULL);
	return cvq_admin_exec_sibling("cvq-agentd", true, pre, argc, argv, opts);
}

static int
agent_start(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"pass", required_argument, NULL, 'p'}, {"socket", required_argument, NULL, 'S'},
		{"idle", required_argument, NULL, 'i'}, {"group", required_argument, NULL, 'g'},
		{"foreground", no_argument, NULL, 'f'},
		{"master-key-file", required_argument, NULL, 'M'},
		{"content-signer", required_argument, NULL, 'K'},
		{"content-signer-cert", required_argument, NULL, 'C'},
		{"listen", required_argument, NULL, TLS_OPT}, {"tls-cert", required_argument, NULL, TLS_OPT + 1},
		{"tls-key", required_argument, NULL, TLS_OPT + 2}, {NULL, 0, NULL, 0},
	};
	struct cvq_ca_agent_opts ao = {.idle_seconds = DEFAULT_IDLE, .ready_fd = -1};
	struct cvq_admin_enrol_svc_opts so = {0};
	struct cvq_admin_agent_tls_opts tls = {0};
	const char *pass = NULL, *sock = NULL;
	bool fg = false;
	struct group *gr;
	char *path = NULL, buf[256];
	ssize_t n;
	int c, rc, p[2], st;
	pid_t pid;
	long v;

	while ((c = getopt_long(argc, argv, "p:S:i:g:f", lo, NULL)) != -1) {
		switch (c) {
		case 'p': pass = optarg; break;
		case 'S': sock = optarg; break;
		case 'i':
			v = strcmp(optarg, "0") == 0 ? 0 : cvq_admin_number(optarg);
			if (v < 0 || v > 7 * 86400)
				return CVQ_ADMIN_EXIT_USAGE;
			ao.idle_seconds = (unsigned)v;
			break;
		case 'g':
			gr = getgrnam(optarg);
			/* A bare gid too: a group the kernel knows, /etc/group or not. */
			v = gr ? (long)gr->gr_gid : cvq_admin_number(optarg);
			if (v <= 0) {
				cvq_admin_error("no group %s", optarg);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			ao.group_set = true;
			ao.group = (unsigned)v;
			break;
		case 'f': fg = true; break;
		default:
			if (enrol_service_opt(c, &so) || tls_front_opt(c, &tls))
				break;
			agent_usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (!no_operands(argc))
		return CVQ_ADMIN_EXIT_USAGE;
	rc = tls_front_check(&tls, argc, argv, opts);
	if (rc >= 0)
		return rc;
	path = cvq_admin_agent_socket(opts, sock);
	if (!path)
		return CVQ_ADMIN_EXIT_FAIL;
	ao.socket = path;
	if (fg) {
		rc = serve(opts, pass, &ao, &so, &tls);
		free(path);
		return rc;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		free(path);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(path);
		return CVQ_ADMIN_EXIT_FAIL;
	}
	if (pid == 0) {
		close(p[0]);
		ao.ready_fd = p[1];
		rc = serve(opts, pass, &ao, &so, &tls);
		free(path);
		_exit(rc);
	}
	close(p[1]);
	/*
	 * "1" once it serves; "0" and the reason if it failed after detaching
	 * from our stderr; EOF if it failed before (it said why on stderr).
	 */
	n = read(p[0], buf, 1);
	if (n == 1 && buf[0] == '0') {
		/* The reason follows, up to EOF. */
		ssize_t r;

		while (n < (ssize_t)sizeof(buf) - 1 &&
		       (r = read(p[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
			n += r;
	}
	if (n >= 1 && buf[0] == '1') {
		printf("agent %ld serving on %s%s%s\n", (long)pid, path, tls.listen ? " and https://" : "",
		       tls.listen ? tls.listen : "");
		rc = CVQ_ADMIN_EXIT_OK;
	} else {
		if (n > 1 && buf[0] == '0') {
			buf[n] = '\0';
			cvq_admin_error("agent: %s", buf + 1);
		}
		rc = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) ?
		     WEXITSTATUS(st) : CVQ_ADMIN_EXIT_FAIL;
	}
	close(p[0]);
	free(path);
	return rc;
}

static int
agent_call(int argc, char **argv, const struct cvq_admin_opts *opts, enum cvq_ca_agent_op op)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0},
	};
	struct cvq_ca_agent_msg m = {.op = op};
	const char *sock = NULL;
	uint8_t *out = NULL;
	size_t len;
	char *path, why[256];
	cvq_ca_err err;
	int c, rc = CVQ_ADMIN_EXIT_OK;

	while ((c = getopt_long(argc, argv, "S:", lo, NULL)) != -1) {
		if (c != 'S') {
			agent_usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
		sock = optarg;
	}
	if (!no_operands(argc))
		return CVQ_ADMIN_EXIT_USAGE;
	path = cvq_admin_agent_socket(opts, sock);
	if (!path)
		return CVQ_ADMIN_EXIT_FAIL;
	err = cvq_ca_agent_call(path, &m, &out, &len, why, sizeof(why));
	if (err == CVQ_CA_ERR_NET && op == CVQ_CA_AGENT_STATUS) {
		if (opts->json)
			cvq_admin_json_print(json_pack("{s:b, s:s}", "running", 0, "socket", path));
		else
			printf("no agent on %s\n", path);
		rc = CVQ_ADMIN_EXIT_NOT_FOUND;
	} else if (err != CVQ_CA_OK) {
		cvq_admin_error("agent: %s (%s)", cvq_ca_strerror(err), why);
		rc = err == CVQ_CA_ERR_NET ? CVQ_ADMIN_EXIT_NOT_FOUND : cvq_admin_ca_exit(err);
	} else if (op == CVQ_CA_AGENT_STATUS && opts->json) {
		cvq_admin_json_print(json_pack("{s:b, s:s, s:s}", "running", 1, "socket", path,
		                               "status", (const char *)out));
	} else {
		printf("%s\n", (const char *)out);
	}
	free(out);
	free(path);
	return rc;
}

int
cvq_admin_cmd_ca_agent(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		agent_usage(sub ? stdout : stderr);
		return sub ? CVQ_ADMIN_EXIT_OK : CVQ_ADMIN_EXIT_USAGE;
	}
	if (strcmp(sub, "start") == 0)
		return agent_start(argc - 1, argv + 1, opts);
	if (strcmp(sub, "stop") == 0)
		return agent_call(argc - 1, argv + 1, opts, CVQ_CA_AGENT_STOP);
	if (strcmp(sub, "status") == 0)
		return agent_call(argc - 1, argv + 1, opts, CVQ_CA_AGENT_STATUS);
	agent_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}
