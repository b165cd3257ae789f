/* cvq-admin audit — check the hash chain (verify), print it (show), sign its head. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca_common.h"

static void
audit_usage(FILE *f)
{
	fprintf(f, "usage: cvq-admin audit verify\n"
	           "       cvq-admin audit show [--from SEQ]\n"
	           "       cvq-admin audit sign [--pass SOURCE]\n"
	           "verify exits 6 when an entry was changed, removed or reordered.\n");
}

static int
show_cb(void *ctx, const struct cvq_ca_audit_entry *e)
{
	char t[32], h[65];
	int i;

	for (i = 0; i < 32; i++)
		snprintf(h + 2 * i, 3, "%02x", e->hash[i]);
	if (ctx)
		json_array_append_new(ctx, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
		        "seq", (json_int_t)e->seq, "time", cvq_admin_time(e->ts, t), "actor", e->actor,
		        "action", e->action, "object", e->object, "detail", e->detail, "hash", h,
		        "signed", e->signed_head));
	else
		printf("%6lld %s %-10s %-13s %-34s %s%s\n", (long long)e->seq, cvq_admin_time(e->ts, t),
		       e->actor, e->action, e->object, e->detail, e->signed_head ? " [signed]" : "");
	return 0;
}

int
cvq_admin_cmd_audit(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"from", required_argument, NULL, 'f'}, {"pass", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	struct cvq_ca_config *cfg;
	const char *sub, *pass = NULL;
	uint64_t entries = 0, heads = 0;
	int64_t bad = 0;
	long from = 1;
	json_t *arr;
	cvq_ca *ca;
	cvq_ca_err err;
	int c, rc;

	if (argc < 2 || (strcmp(argv[1], "verify") && strcmp(argv[1], "show") && strcmp(argv[1], "sign"))) {
		audit_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "f:p:", lo, NULL)) != -1) {
		switch (c) {
		case 'f': from = cvq_admin_number(optarg); if (from < 0) return CVQ_ADMIN_EXIT_USAGE; break;
		case 'p': pass = optarg; break;
		default: audit_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	rc = cvq_admin_ca_open(opts, pass, strcmp(sub, "sign") == 0 ? 0 : CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (strcmp(sub, "sign") == 0) {
		err = cvq_ca_audit_sign_head(ca);
		if (err != CVQ_CA_OK)
			rc = cvq_admin_ca_fail(ca, err, "audit sign");
	} else if (strcmp(sub, "show") == 0) {
		arr = opts->json ? json_array() : NULL;
		err = cvq_ca_audit_list(ca, from, show_cb, arr);
		if (err != CVQ_CA_OK) {
			json_decref(arr);
			rc = cvq_admin_ca_fail(ca, err, "audit show");
		} else {
			cvq_admin_json_print(arr);
		}
	} else {
		err = cvq_ca_audit_verify(ca, &bad, &entries, &heads);
		if (opts->json)
			cvq_admin_json_print(json_pack("{s:b, s:I, s:I, s:o?}", "ok", err == CVQ_CA_OK,
			        "entries", (json_int_t)entries, "signed_heads", (json_int_t)heads,
			        "first_bad", err == CVQ_CA_ERR_AUDIT ? json_integer(bad) : NULL));
		if (err != CVQ_CA_OK)
			rc = cvq_admin_ca_fail(ca, err, "audit verify");
		else if (!opts->json)
			printf("audit chain ok: %llu entries, %llu signed heads\n",
			       (unsigned long long)entries, (unsigned long long)heads);
	}
	cvq_admin_ca_close(cfg, ca);
	return rc;
}
