/*
 * cvq-admin ca request | approve | reject | requests — two-person control
 * (issue #13): one officer asks for a sub-CA, OCSP signer or TSA
 * certificate, another approves, and only then is it signed.
 *
 * Through the issuing agent when one runs (each officer is then who the
 * kernel says connects: SO_PEERCRED), else on the CA directly (the
 * officer is getuid()).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent_link.h"
#include "ca_agent.h"
#include "ca_common.h"

static void
usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin ca request --profile subca|ocsp-signer|tsa [--subject /CN=..]\n"
	"                 [--dns NAME] [--days N] [--no-agent] [--pass SOURCE] CSR\n"
	"       cvq-admin ca request --roles [--no-agent] [--pass SOURCE]\n"
	"                 (put the [roles] of ca.conf in force once approved)\n"
	"       cvq-admin ca approve [--out FILE] [--no-agent] [--pass SOURCE] ID\n"
	"       cvq-admin ca reject [--no-agent] [--pass SOURCE] ID\n"
	"       cvq-admin [--json] ca requests\n"
	"request, approve and reject also take\n" CVQ_ADMIN_LINK_USAGE
	"An officer requests; cfg [dual] approvals other officers approve; the last\n"
	"approval issues the certificate (to --out, or stdout).\n");
}

static const char *const state_names[] = {"pending", "issued", "rejected"};

static int
list_cb(void *ctx, const struct cvq_ca_request_info *r)
{
	json_t *arr = ctx;
	char t[32];

	if (arr) {
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s}",
		        "id", (json_int_t)r->id, "created", cvq_admin_time(r->created, t),
		        "requester", r->requester, "profile", r->roles ? "roles" : cvq_ca_profile_name(r->profile),
		        "state", state_names[r->state % 3], "approvals", (int)r->approvals,
		        "needed", (int)r->needed, "subject", r->subject, "serial", r->serial));
		return 0;
	}
	printf("%-5lld %-9s %-12s %u/%u %-20s %s %s\n", (long long)r->id, state_names[r->state % 3],
	       r->roles ? "roles" : cvq_ca_profile_name(r->profile), r->approvals, r->needed, r->requester,
	       r->subject[0] ? r->subject : "(CSR's subject)", r->serial);
	return 0;
}

/* Through the agent: 1 = no agent answered on the socket, else an exit
 * code (an https agent is the only one asked). */
static int
by_agent(const struct cvq_admin_opts *opts, struct cvq_admin_link *link,
         struct cvq_ca_agent_msg *m, const char *out)
{
	uint8_t *ans = NULL;
	size_t len = 0;
	char *owned = NULL, why[256] = "";
	cvq_ca_err err;
	int rc = CVQ_ADMIN_EXIT_OK;

	if (!cvq_admin_link_ready(link, opts, &owned))
		return link->url ? CVQ_ADMIN_EXIT_FAIL : 1;
	err = cvq_admin_link_call_msg(link, m, &ans, &len, why, sizeof(why));
	cvq_admin_link_done(link, owned);
	if (err == CVQ_CA_ERR_NET && !link->url)
		return 1;
	if (err != CVQ_CA_OK) {
		cvq_admin_error("%s", why[0] ? why : cvq_ca_strerror(err));
		return cvq_admin_ca_exit(err);
	}
	/* A certificate (DER SEQUENCE) or a line of text. */
	if (len && ans[0] == 0x30 && m->op == CVQ_CA_AGENT_APPROVE) {
		if (!cvq_admin_write_pem(ans, len, out))
			rc = CVQ_ADMIN_EXIT_FAIL;
		else if (out)
			printf("issued\n");
	} else {
		printf("%s\n", (char *)ans);
	}
	free(ans);
	return rc;
}

int
cvq_admin_ca_request(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"profile", required_argument, NULL, 'P'}, {"subject", required_argument, NULL, 's'},
		{"dns", required_argument, NULL, 'D'}, {"days", required_argument, NULL, 'n'},
		{"pass", required_argument, NULL, 'p'}, {"out", required_argument, NULL, 'o'},
		{"no-agent", no_argument, NULL, 'N'}, {"roles", no_argument, NULL, 'r'},
		CVQ_ADMIN_LINK_LONGOPTS, {NULL, 0, NULL, 0},
	};
	struct cvq_admin_link link = {0};
	struct cvq_ca_agent_msg m = {.req = {.profile = CVQ_CA_PROFILE__COUNT}};
	const char *cmd = argv[0], *pass = NULL, *out = NULL;
	struct cvq_ca_config *cfg = NULL;
	uint8_t *csr = NULL, *der = NULL;
	size_t csr_len = 0, der_len = 0;
	bool no_agent = false, roles = false;
	cvq_ca *ca = NULL;
	cvq_ca_err err;
	int c, rc;
	long v;

	while ((c = getopt_long(argc, argv, "P:s:D:n:p:o:Nr", lo, NULL)) != -1) {
		switch (c) {
		case 'r': roles = true; break;
		case 'P':
			if (cvq_ca_profile_parse(optarg, &m.req.profile) != CVQ_CA_OK) {
				cvq_admin_error("unknown profile %s", optarg);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			break;
		case 's': m.req.subject = optarg; break;
		case 'D': m.req.dns_name = optarg; break;
		case 'n':
			v = cvq_admin_number(optarg);
			if (v <= 0 || v > 36500)
				return CVQ_ADMIN_EXIT_USAGE;
			m.req.days = (unsigned)v;
			break;
		case 'p': pass = optarg; break;
		case 'o': out = optarg; break;
		case 'N': no_agent = true; break;
		default:
			if (cvq_admin_link_option(&link, c, optarg))
				break;
			usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (strcmp(cmd, "requests") == 0) {
		json_t *arr = opts->json ? json_array() : NULL;

		rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
		if (rc != CVQ_ADMIN_EXIT_OK) {
			json_decref(arr);
			return rc;
		}
		err = cvq_ca_request_list(ca, list_cb, arr);
		if (err != CVQ_CA_OK)
			rc = cvq_admin_ca_fail(ca, err, "requests");
		if (arr)
			cvq_admin_json_print(arr);
		cvq_admin_ca_close(cfg, ca);
		return rc;
	}
	if (strcmp(cmd, "request") == 0 && roles) {
		if (argc != optind) {
			usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
		m.op = CVQ_CA_AGENT_ROLES;
	} else if (argc - optind != 1) {
		usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	} else if (strcmp(cmd, "request") == 0) {
		if (m.req.profile == CVQ_CA_PROFILE__COUNT) {
			usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
		if (!cvq_admin_read_file(argv[optind], &csr, &csr_len)) {
			cvq_admin_error("cannot read %s", argv[optind]);
			return CVQ_ADMIN_EXIT_FAIL;
		}
		m.op = CVQ_CA_AGENT_REQUEST;
		m.csr = csr;
		m.csr_len = csr_len;
	} else {
		v = cvq_admin_number(argv[optind]);
		if (v <= 0) {
			usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
		m.op = strcmp(cmd, "approve") == 0 ? CVQ_CA_AGENT_APPROVE : CVQ_CA_AGENT_REJECT;
		m.request_id = (uint64_t)v;
	}
	if (link.url && no_agent) {
		cvq_admin_error("--no-agent and an https agent: which one?");
		rc = CVQ_ADMIN_EXIT_USAGE;
		goto out;
	}
	if (!no_agent) {
		rc = by_agent(opts, &link, &m, out);
		if (rc != 1)
			goto out;
	}
	rc = cvq_admin_ca_open(opts, pass, 0, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		goto out;
	if (m.op == CVQ_CA_AGENT_REQUEST || m.op == CVQ_CA_AGENT_ROLES) {
		int64_t id = 0;

		err = m.op == CVQ_CA_AGENT_ROLES ? cvq_ca_request_roles(ca, &id)
		                                 : cvq_ca_request_submit(ca, &m.req, csr, csr_len, &id);
		if (err == CVQ_CA_OK)
			printf("request %lld pending\n", (long long)id);
	} else if (m.op == CVQ_CA_AGENT_REJECT) {
		err = cvq_ca_request_reject(ca, (int64_t)m.request_id);
		if (err == CVQ_CA_OK)
			printf("rejected\n");
	} else {
		err = cvq_ca_request_approve(ca, (int64_t)m.request_id, &der, &der_len);
		if (err == CVQ_CA_OK && !der) {
			struct cvq_ca_request_info info;

			if (cvq_ca_request_get(ca, (int64_t)m.request_id, &info) == CVQ_CA_OK)
				printf(info.state == CVQ_CA_REQUEST_ISSUED ? "roles in force\n" : "pending %u/%u\n",
				       info.approvals, info.needed);
		} else if (err == CVQ_CA_OK && !cvq_admin_write_pem(der, der_len, out)) {
			rc = CVQ_ADMIN_EXIT_FAIL;
		}
	}
	if (err != CVQ_CA_OK)
		rc = cvq_admin_ca_fail(ca, err, cmd);
out:
	free(csr);
	OPENSSL_free(der);
	cvq_admin_ca_close(cfg, ca);
	return rc;
}
