/*
 * cvq-admin citizen — the Infoville subscriptions and their cards:
 * add, show, list, export (everything held about one citizen, as JSON,
 * for a GDPR access request), add-card, card-status.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca_common.h"
#include "enrol.h" /* issue #7: citizen cards */

static void
citizen_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin citizen add --id ID --given NAME --family NAME [--email ADDR]\n"
	"       cvq-admin citizen show ID\n"
	"       cvq-admin citizen list\n"
	"       cvq-admin citizen export ID              (JSON: citizen, cards, certificates)\n"
	"       cvq-admin citizen add-card ID GUID [--days N]\n"
	"       cvq-admin citizen card-status GUID active|suspended|lost|stolen|destroyed|returned\n");
}

static json_t *
citizen_json(const struct cvq_ca_citizen *c)
{
	char t[32];

	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", c->ext_id, "given_name", c->given_name,
	                 "family_name", c->family_name, "email", c->email,
	                 "created", cvq_admin_time(c->created, t));
}

static json_t *
card_json(const struct cvq_ca_card *k)
{
	char t1[32], t2[32], t3[32];

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "guid", k->guid, "holder", k->holder,
	                 "status", cvq_ca_card_status_name(k->status),
	                 "created", cvq_admin_time(k->created, t1),
	                 "expires", cvq_admin_time(k->expires, t2),
	                 "updated", cvq_admin_time(k->updated, t3));
}

static int
citizen_add(int argc, char **argv, cvq_ca *ca, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"id", required_argument, NULL, 'i'}, {"given", required_argument, NULL, 'g'},
		{"family", required_argument, NULL, 'f'}, {"email", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	struct cvq_ca_citizen c = {0};
	const char *id = NULL, *given = NULL, *family = NULL, *email = "";
	cvq_ca_err err;
	int o;

	while ((o = getopt_long(argc, argv, "i:g:f:e:", lo, NULL)) != -1) {
		switch (o) {
		case 'i': id = optarg; break;
		case 'g': given = optarg; break;
		case 'f': family = optarg; break;
		case 'e': email = optarg; break;
		default: return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (!id || !given || !family || optind != argc ||
	    strlen(id) >= sizeof(c.ext_id) || strlen(given) >= sizeof(c.given_name) ||
	    strlen(family) >= sizeof(c.family_name) || strlen(email) >= sizeof(c.email)) {
		citizen_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	snprintf(c.ext_id, sizeof(c.ext_id), "%s", id);
	snprintf(c.given_name, sizeof(c.given_name), "%s", given);
	snprintf(c.family_name, sizeof(c.family_name), "%s", family);
	snprintf(c.email, sizeof(c.email), "%s", email);
	err = cvq_ca_citizen_add(ca, &c, NULL);
	if (err != CVQ_CA_OK)
		return cvq_admin_ca_fail(ca, err, "citizen add");
	if (!opts->json)
		printf("citizen %s added\n", id);
	else
		cvq_admin_json_print(json_pack("{s:s}", "id", id));
	return CVQ_ADMIN_EXIT_OK;
}

static int
card_cb(void *ctx, const struct cvq_ca_card *k)
{
	json_array_append_new(ctx, card_json(k));
	return 0;
}

static int
cert_cb(void *ctx, const struct cvq_ca_cert_info *c)
{
	json_array_append_new(ctx, cvq_admin_json_cert(c));
	return 0;
}

static int
citizen_show(const char *id, cvq_ca *ca, const struct cvq_admin_opts *opts, bool export)
{
	struct cvq_ca_citizen c;
	json_t *v, *cards, *certs;
	cvq_ca_err err;
	size_t i;

	err = cvq_ca_citizen_get(ca, id, &c);
	if (err != CVQ_CA_OK)
		return cvq_admin_ca_fail(ca, err, id);
	v = citizen_json(&c);
	cards = json_array();
	err = cvq_ca_card_list(ca, id, card_cb, cards);
	if (export) {
		certs = json_array();
		for (i = 0; err == CVQ_CA_OK && i < json_array_size(cards); i++)
			err = cvq_ca_cert_list(ca, json_string_value(json_object_get(
			        json_array_get(cards, i), "guid")), cert_cb, certs);
		json_object_set_new(v, "certificates", certs);
	}
	json_object_set_new(v, "cards", cards);
	if (err != CVQ_CA_OK) {
		json_decref(v);
		return cvq_admin_ca_fail(ca, err, id);
	}
	if (opts->json || export) {
		cvq_admin_json_print(v);
		return CVQ_ADMIN_EXIT_OK;
	}
	printf("id:      %s\nname:    %s %s\nemail:   %s\n", c.ext_id, c.given_name, c.family_name,
	       c.email[0] ? c.email : "-");
	for (i = 0; i < json_array_size(cards); i++) {
		json_t *k = json_array_get(cards, i);

		printf("card:    %s %s\n", json_string_value(json_object_get(k, "guid")),
		       json_string_value(json_object_get(k, "status")));
	}
	json_decref(v);
	return CVQ_ADMIN_EXIT_OK;
}

static int
list_cb(void *ctx, const struct cvq_ca_citizen *c)
{
	if (ctx)
		json_array_append_new(ctx, citizen_json(c));
	else
		printf("%-16s %s %s\n", c->ext_id, c->given_name, c->family_name);
	return 0;
}

static int
add_card(int argc, char **argv, cvq_ca *ca, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {{"days", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
	cvq_ca_err err;
	long days = 1825;
	int o;

	while ((o = getopt_long(argc, argv, "d:", lo, NULL)) != -1) {
		days = o == 'd' ? cvq_admin_number(optarg) : -1;
		if (days <= 0 || days > 36500)
			return CVQ_ADMIN_EXIT_USAGE;
	}
	if (argc - optind != 2) {
		citizen_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	err = cvq_ca_card_add(ca, argv[optind + 1], argv[optind],
	                      (int64_t)time(NULL) + (int64_t)days * 86400, NULL);
	if (err != CVQ_CA_OK)
		return cvq_admin_ca_fail(ca, err, "add-card");
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:s, s:s}", "holder", argv[optind], "guid", argv[optind + 1]));
	else
		printf("card %s added to %s\n", argv[optind + 1], argv[optind]);
	return CVQ_ADMIN_EXIT_OK;
}

int
cvq_admin_cmd_citizen(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	struct cvq_ca_config *cfg;
	enum cvq_ca_card_status s;
	const char *sub;
	json_t *arr;
	cvq_ca *ca;
	cvq_ca_err err;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		citizen_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CVQ_ADMIN_EXIT_USAGE : CVQ_ADMIN_EXIT_OK;
	}
	sub = argv[1];
	/* issue #7 (card_care.c): a citizen's cards with their enrolment state. */
	if (strcmp(sub, "cards") == 0)
		return cvq_admin_citizen_cards(argc - 1, argv + 1, opts);
	if (strcmp(sub, "add") && strcmp(sub, "show") && strcmp(sub, "list") && strcmp(sub, "export") &&
	    strcmp(sub, "add-card") && strcmp(sub, "card-status")) {
		cvq_admin_error("unknown 'citizen' command '%s'", sub);
		citizen_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_admin_ca_open(opts, NULL, CVQ_CA_OPEN_NOKEY, &cfg, &ca);
	if (rc != CVQ_ADMIN_EXIT_OK)
		return rc;
	if (strcmp(sub, "add") == 0) {
		rc = citizen_add(argc - 1, argv + 1, ca, opts);
	} else if (strcmp(sub, "add-card") == 0) {
		rc = add_card(argc - 1, argv + 1, ca, opts);
	} else if (strcmp(sub, "list") == 0) {
		arr = opts->json ? json_array() : NULL;
		err = cvq_ca_citizen_list(ca, list_cb, arr);
		if (err != CVQ_CA_OK) {
			json_decref(arr);
			rc = cvq_admin_ca_fail(ca, err, "citizen list");
		} else {
			cvq_admin_json_print(arr);
		}
	} else if (argc != 3 + (strcmp(sub, "card-status") == 0)) {
		citizen_usage(stderr);
		rc = CVQ_ADMIN_EXIT_USAGE;
	} else if (strcmp(sub, "card-status") == 0) {
		if (cvq_ca_card_status_parse(argv[3], &s) != CVQ_CA_OK) {
			rc = CVQ_ADMIN_EXIT_USAGE;
		} else {
			err = cvq_ca_card_set_status(ca, argv[2], s);
			if (err != CVQ_CA_OK)
				rc = cvq_admin_ca_fail(ca, err, "card-status");
		}
	} else {
		rc = citizen_show(argv[2], ca, opts, strcmp(sub, "export") == 0);
	}
	cvq_admin_ca_close(cfg, ca);
	return rc;
}
