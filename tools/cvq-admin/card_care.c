/*
 * cvq-admin — after-care of enrolled cards at the Point Infoville (renew
 * and unblock are libcvqenrol's cvq_enrol_renew, cvq_enrol_unblock):
 *   card renew                      new keys and certificates, old ones superseded
 *   card lost|stolen|destroyed      revoke everything on the card, new CRL
 *   card unblock                    new PIN with the PUK the city keeps
 *   card show                       what the CA, the journal and the card say
 *   citizen cards                   a citizen's cards
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <cvq/profile.h>
#include <cvq/util.h>

#include "ca_common.h"
#include "enrol.h"
#include "out_file.h"

static void
care_usage(FILE *f)
{
	fprintf(f,
	"usage: cvq-admin card renew [--reader NAME] [--pin-source SOURCE]\n"
	"                            [--pass SOURCE] [--master-key-file FILE]\n"
	"       cvq-admin card lost|stolen|destroyed GUID|--citizen ID [--since TIME] [--crl FILE]\n"
	"                            [--pass SOURCE]\n"
	"       cvq-admin card unblock --citizen ID [--reader NAME] [--letter FILE]\n"
	"                              [--pin-length 6|7|8] [--master-key-file FILE]\n"
	"       cvq-admin [--json] card show [GUID | --reader NAME]\n"
	"       cvq-admin [--json] citizen cards ID\n"
	"each of them also takes\n"
	CVQ_ENROL_AGENT_USAGE
	"(the CA's issuing agent does what the CA side does; no CA key here).\n"
	"SOURCE (PIN or passphrase) is file:PATH, fd:N, pinentry:PROGRAM or tty; the\n"
	"default PIN source is pinentry:/usr/bin/pinentry. Secrets never go on the command line.\n"
	"--since (lost, stolen): when the card left the holder's hands, YYYY-MM-DDTHH:MM:SSZ or\n"
	"Unix time; default now. Receipts timestamped before it stay valid (docs/verify.md).\n");
}

/* The card in the reader and its GUID (card show --reader). */
static int
card_in_reader(struct cvq_enrol_ctx *e, const char *reader, uint8_t guid[16], char hex[33])
{
	cvq_card_err err;
	int rc;

	rc = cvq_enrol_ctx_card(e, reader);
	if (rc)
		return rc;
	err = cvq_card_guid(e->card, guid);
	if (err == CVQ_CARD_ERR_NOT_FOUND) {
		cvq_admin_error("the card in \"%s\" is blank (no CHUID): enrol it first",
		                cvq_card_reader_name(e->card));
		return CVQ_ADMIN_EXIT_NOT_FOUND;
	}
	if (err)
		return cvq_enrol_card_fail(err, "reading the card's identity");
	cvq_card_guid_hex(guid, hex);
	return CVQ_ADMIN_EXIT_OK;
}

/* A record of the CA: the card's (k, by its GUID) or the citizen's (c, by
 * the citizen's ID). An exit code; the reason printed, as for a missing op. */
static int
record_get(struct cvq_enrol_ctx *e, const char *id, struct cvq_enrol_card_rec *k,
           struct cvq_enrol_citizen *c)
{
	const struct cvq_enrol_issuer_ops *ops = e->issuer.ops;
	char why[256] = "";
	cvq_enrol_err err = CVQ_ENROL_ERR_ISSUER;

	if (k && ops->card_get)
		err = ops->card_get(e->issuer.ctx, id, k, why, sizeof(why));
	else if (c && ops->citizen_get)
		err = ops->citizen_get(e->issuer.ctx, id, c, why, sizeof(why));
	return err ? cvq_enrol_issuer_fail(e, err, why, id) : CVQ_ADMIN_EXIT_OK;
}

static int
card_get(struct cvq_enrol_ctx *e, const char *hex, struct cvq_enrol_card_rec *k)
{
	return record_get(e, hex, k, NULL);
}

static int
citizen_get(struct cvq_enrol_ctx *e, const char *id, struct cvq_enrol_citizen *c)
{
	return record_get(e, id, NULL, c);
}

/* ---- renew ---- */

/* The holder's PIN, when the library asks (before any card transaction). */
struct pin_src {
	const char *src;
	cvq_util_err uerr;
};

static cvq_enrol_err
read_pin(void *ctx, char *pin, size_t cap)
{
	struct pin_src *p = ctx;

	p->uerr = cvq_secret_read(p->src, "Code PIN :", pin, cap);
	return p->uerr ? CVQ_ENROL_ERR_IO : CVQ_ENROL_OK;
}

static int
renew(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"reader", required_argument, NULL, 'r'}, {"pin-source", required_argument, NULL, 's'},
		{"pass", required_argument, NULL, 'p'}, {"master-key-file", required_argument, NULL, 'm'},
		CVQ_ENROL_AGENT_OPTIONS, {NULL, 0, NULL, 0},
	};
	struct cvq_enrol_open_opts oo = {.need = CVQ_ENROL_NEED_KEY | CVQ_ENROL_NEED_MASTER};
	struct pin_src ps = {.src = "pinentry:/usr/bin/pinentry"};
	struct cvq_enrol_result res;
	struct cvq_enrol_env env;
	struct cvq_enrol_ctx e;
	const char *reader = NULL;
	char why[512] = "";
	cvq_enrol_err err;
	int c, rc;

	while ((c = cvq_enrol_getopt(argc, argv, "r:s:p:m:", lo, &oo)) != -1) {
		switch (c) {
		case 'r': reader = optarg; break;
		case 's': ps.src = optarg; break;
		case 'p': oo.pass = optarg; break;
		case 'm': oo.master_file = optarg; break;
		default: care_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (optind != argc || (cvq_enrol_has_agent(&oo) && oo.pass)) {
		care_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_enrol_ctx_open(&e, opts, &oo);
	if (rc)
		return rc;
	rc = cvq_enrol_ctx_card(&e, reader);
	if (rc)
		goto out;
	cvq_enrol_env_of(&e, &env);
	err = cvq_enrol_renew(&env, read_pin, &ps, &res, why, sizeof(why));
	if (ps.uerr) {
		cvq_admin_error("PIN: %s", cvq_util_strerror(ps.uerr));
		rc = ps.uerr == CVQ_UTIL_ERR_CANCELLED ? CVQ_ADMIN_EXIT_PIN : CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	rc = cvq_enrol_exit(&e, err, &res, why);
	if (rc == CVQ_ADMIN_EXIT_OK && opts->json)
		cvq_admin_json_print(json_pack("{s:s, s:s, s:s, s:i}", "guid", res.guid, "auth",
		                               res.serial[0], "sign", res.serial[1], "superseded",
		                               (int)res.superseded));
out:
	cvq_enrol_ctx_close(&e);
	return rc;
}

/* ---- lost, stolen, destroyed ---- */

struct active_cards {
	char (*guid)[33];
	size_t n;
	bool nomem;                /* the list is short: nothing may be reported */
};

static int
active_cb(void *ctx, const struct cvq_enrol_card_rec *k)
{
	struct active_cards *a = ctx;
	void *p;

	if (k->status != CVQ_ENROL_CARD_ACTIVE)
		return 0;
	p = realloc(a->guid, (a->n + 1) * sizeof(*a->guid));
	if (!p) {
		a->nomem = true;
		return 1;
	}
	a->guid = p;
	snprintf(a->guid[a->n++], 33, "%s", k->guid);
	return 0;
}

static int
write_crl(const char *pem, size_t len, const char *path)
{
	struct cvq_admin_out o;
	int ok = cvq_admin_out_open(&o, path) == 0;

	if (ok && fwrite(pem, 1, len, o.f) != len) {
		cvq_admin_out_abort(&o);
		ok = 0;
	} else if (ok) {
		ok = cvq_admin_out_commit(&o) == 0;
	}
	if (!ok)
		cvq_admin_error("cannot write the CRL to %s", path);
	return ok ? CVQ_ADMIN_EXIT_OK : CVQ_ADMIN_EXIT_FAIL;
}

/* --since: RFC 3339 UTC or Unix time, not in the future; -1 if neither. */
static int64_t
parse_since(const char *s)
{
	struct tm tm = {0};
	char z = 0, extra;
	long n;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &extra) == 7 && z == 'Z') {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		time_t t = timegm(&tm);
		return t > 0 && t <= time(NULL) ? (int64_t)t : -1;
	}
	n = cvq_admin_number(s);
	return n > 0 && n <= (long)time(NULL) ? (int64_t)n : -1;
}

static int
report(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"citizen", required_argument, NULL, 'c'}, {"crl", required_argument, NULL, 'o'},
		{"pass", required_argument, NULL, 'p'}, {"since", required_argument, NULL, 's'},
		CVQ_ENROL_AGENT_OPTIONS, {NULL, 0, NULL, 0},
	};
	struct cvq_enrol_open_opts oo = {.need = CVQ_ENROL_NEED_KEY};
	struct active_cards a = {0};
	const char *what = argv[0], *citizen = NULL, *crl_out = NULL, *reason_name;
	const struct cvq_enrol_issuer_ops *ops;
	int status;
	struct cvq_enrol_ctx e;
	struct cvq_enrol_card_rec k;
	char *crl = NULL, why[256] = "";
	size_t crl_len = 0;
	int64_t number = 0;
	unsigned count, total = 0, unlogged = 0;
	cvq_enrol_err err;
	json_t *arr;
	int c, rc, reason;
	int64_t since = 0;
	size_t i;

	while ((c = cvq_enrol_getopt(argc, argv, "c:o:p:s:", lo, &oo)) != -1) {
		switch (c) {
		case 'c': citizen = optarg; break;
		case 'o': crl_out = optarg; break;
		case 'p': oo.pass = optarg; break;
		case 's':
			if ((since = parse_since(optarg)) < 0) {
				cvq_admin_error("--since %s: not a time in the past (YYYY-MM-DDTHH:MM:SSZ or Unix time)",
				                optarg);
				return CVQ_ADMIN_EXIT_USAGE;
			}
			break;
		default: care_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if ((citizen != NULL) == (optind < argc) || argc - optind > 1) {
		care_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	/* Lost and stolen keys may be in other hands: keyCompromise, dated
	 * now. A destroyed card's keys went with it: cessationOfOperation. */
	/* RFC 5280 CRLReason: cessationOfOperation (5), keyCompromise (1). */
	if (strcmp(what, "destroyed") == 0) {
		status = CVQ_ENROL_CARD_DESTROYED;
		reason = 5;
		reason_name = "cessationOfOperation";
	} else {
		status = strcmp(what, "lost") == 0 ? CVQ_ENROL_CARD_LOST : CVQ_ENROL_CARD_STOLEN;
		reason = 1;
		reason_name = "keyCompromise";
	}
	if (since && status == CVQ_ENROL_CARD_DESTROYED) {
		cvq_admin_error("--since is for a lost or stolen card (a destroyed one signs nothing)");
		return CVQ_ADMIN_EXIT_USAGE;
	}
	/* The invalidity date: from when the key may sign for someone else. */
	if (!since)
		since = (int64_t)time(NULL);
	rc = cvq_enrol_ctx_open(&e, opts, &oo);
	if (rc)
		return rc;
	ops = e.issuer.ops;
	if (!ops->card_list || !ops->revoke_card || !ops->crl_issue) {
		rc = cvq_enrol_issuer_fail(&e, CVQ_ENROL_ERR_ISSUER, "the issuer cannot revoke cards",
		                           what);
		goto out;
	}
	if (citizen) {
		err = ops->card_list(e.issuer.ctx, citizen, active_cb, &a, why, sizeof(why));
		if (a.nomem) {
			cvq_admin_error("out of memory listing the cards of %s: nothing revoked", citizen);
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
		if (err) {
			rc = cvq_enrol_issuer_fail(&e, err, why, citizen);
			goto out;
		}
		if (a.n == 0) {
			cvq_admin_error("citizen %s has no active card", citizen);
			rc = CVQ_ADMIN_EXIT_NOT_FOUND;
			goto out;
		}
	} else {
		rc = card_get(&e, argv[optind], &k);
		if (rc)
			goto out;
		a.guid = calloc(1, sizeof(*a.guid));
		if (!a.guid) {
			cvq_admin_error("out of memory: card %s not reported, nothing revoked", argv[optind]);
			rc = CVQ_ADMIN_EXIT_FAIL;
			goto out;
		}
		snprintf(a.guid[0], 33, "%s", k.guid);
		a.n = 1;
	}
	arr = json_array();
	if (!arr) {
		cvq_admin_error("out of memory: nothing revoked");
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		err = ops->revoke_card(e.issuer.ctx, a.guid[i], reason, since, status, &count, why,
		                       sizeof(why));
		if (err) {
			json_decref(arr);
			rc = cvq_enrol_issuer_fail(&e, err, why, a.guid[i]);
			goto out;
		}
		total += count;
		if (cvq_enrol_record(e.st, &e.issuer, a.guid[i], "card.reported", what) !=
		    CVQ_ENROL_OK)
			unlogged++;
		json_array_append_new(arr, json_string(a.guid[i]));
		cvq_enrol_say(&e, "Card %s reported %s: %u certificate(s) revoked (%s).", a.guid[i],
		              what, count, reason_name);
	}
	err = ops->crl_issue(e.issuer.ctx, &crl, &crl_len, &number, why, sizeof(why));
	if (err) {
		json_decref(arr);
		rc = cvq_enrol_issuer_fail(&e, err, why, "issuing the CRL");
		goto out;
	}
	cvq_enrol_say(&e, "New CRL number %llu issued%s%s.", (unsigned long long)number,
	              crl_out ? " and written to " : "", crl_out ? crl_out : "");
	if (crl_out)
		rc = write_crl(crl, crl_len, crl_out);
	if (unlogged) {
		/* Revoked and in the new CRL all the same: only the record is missing. */
		cvq_admin_error("%u card(s) revoked but not recorded in the journal and audit log",
		                unlogged);
		rc = CVQ_ADMIN_EXIT_FAIL;
	}
	if (opts->json)
		cvq_admin_json_print(json_pack("{s:o, s:s, s:s, s:i, s:I, s:I}", "cards", arr, "status",
		                               cvq_enrol_card_status_name(status), "reason",
		                               reason_name, "revoked", (int)total,
		                               "crl_number", (json_int_t)number,
		                               "invalidity", (json_int_t)since));
	else
		json_decref(arr);
out:
	free(crl);
	free(a.guid);
	cvq_enrol_ctx_close(&e);
	return rc;
}

/* ---- unblock ---- */

static int
unblock(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"citizen", required_argument, NULL, 'c'}, {"reader", required_argument, NULL, 'r'},
		{"letter", required_argument, NULL, 'l'}, {"pin-length", required_argument, NULL, 'n'},
		{"master-key-file", required_argument, NULL, 'm'}, CVQ_ENROL_AGENT_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cvq_enrol_open_opts oo = {.need = CVQ_ENROL_NEED_MASTER};
	struct cvq_enrol_unblock_opts uo = {.pin_len = 6};
	struct cvq_enrol_result res;
	struct cvq_enrol_env env;
	struct cvq_enrol_ctx e;
	const char *reader = NULL;
	char why[512] = "";
	cvq_enrol_err err;
	long pin_len;
	int c, rc;

	while ((c = cvq_enrol_getopt(argc, argv, "c:r:l:n:m:", lo, &oo)) != -1) {
		switch (c) {
		case 'c': uo.citizen = optarg; break;
		case 'r': reader = optarg; break;
		case 'l': uo.letter = optarg; break;
		case 'n':
			pin_len = cvq_admin_number(optarg);
			if (pin_len < CVQ_ENROL_PIN_MIN || pin_len > CVQ_ENROL_PIN_MAX)
				return CVQ_ADMIN_EXIT_USAGE;
			uo.pin_len = (int)pin_len;
			break;
		case 'm': oo.master_file = optarg; break;
		default: care_usage(stderr); return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	/* --citizen is the staff's statement that they checked the holder's
	 * identity; the library checks it names the card's holder. */
	if (!uo.citizen || optind != argc) {
		care_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	rc = cvq_enrol_ctx_open(&e, opts, &oo);
	if (rc)
		return rc;
	rc = cvq_enrol_ctx_card(&e, reader);
	if (rc)
		goto out;
	cvq_enrol_env_of(&e, &env);
	err = cvq_enrol_unblock(&env, &uo, &res, why, sizeof(why));
	rc = cvq_enrol_exit(&e, err, &res, why);
	if (rc == CVQ_ADMIN_EXIT_OK && opts->json)
		cvq_admin_json_print(json_pack("{s:s, s:s}", "guid", res.guid, "letter", res.letter));
out:
	cvq_enrol_ctx_close(&e);
	return rc;
}

/* ---- show ---- */

struct cert_view {
	json_t *arr;
	const char *guid;
};

static int
cert_cb(void *ctx, const struct cvq_enrol_cert_rec *c)
{
	struct cert_view *v = ctx;
	char t[32];

	json_array_append_new(v->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "serial",
	                                        c->serial, "card", v->guid, "profile", c->profile,
	                                        "not_after", cvq_admin_time(c->not_after, t),
	                                        "status", c->revoked ? "revoked" : "good",
	                                        "reason", c->revoked ? c->reason : NULL));
	return 0;
}

static int
log_cb(void *ctx, const struct cvq_enrol_log_entry *l)
{
	char t[32];

	json_array_append_new(ctx, json_pack("{s:s, s:s, s:s}", "time", cvq_admin_time(l->ts, t),
	                                     "action", l->action, "detail", l->detail));
	return 0;
}

static json_t *
card_json(struct cvq_enrol_ctx *e, const struct cvq_enrol_card_rec *k)
{
	struct cvq_enrol_rec rec;
	struct cert_view cv = {.guid = k->guid};
	char t1[32], t2[32];
	json_t *v, *hist;

	v = json_pack("{s:s, s:s, s:s, s:s, s:s}", "guid", k->guid, "holder", k->holder,
	              "status", cvq_enrol_card_status_name(k->status),
	              "created", cvq_admin_time(k->created, t1),
	              "expires", cvq_admin_time(k->expires, t2));
	if (!v)
		return NULL;
	if (cvq_enrol_store_get(e->st, k->guid, &rec) == CVQ_ENROL_OK) {
		/* The journal's "active" means the enrolment is over; the card's
		 * own status (lost, ...) is the CA's "status" above. */
		json_object_set_new(v, "enrolment", json_pack("{s:s, s:s, s:s}", "state",
		        strcmp(rec.state, "active") == 0 ? "complete" : rec.state,
		        "step", cvq_enrol_step_name(rec.step), "error", rec.error));
		OPENSSL_cleanse(&rec, sizeof(rec));
	}
	cv.arr = json_array();
	if (e->issuer.ops->cert_list)
		(void)e->issuer.ops->cert_list(e->issuer.ctx, k->guid, cert_cb, &cv, NULL, 0);
	json_object_set_new(v, "certificates", cv.arr);
	hist = json_array();
	cvq_enrol_store_log_list(e->st, k->guid, log_cb, hist);
	json_object_set_new(v, "history", hist);
	return v;
}

static void
card_print(json_t *v)
{
	json_t *en = json_object_get(v, "enrolment"), *x;
	size_t i;

	printf("card:      %s\nholder:    %s\nstatus:    %s\ncreated:   %s\nexpires:   %s\n",
	       json_string_value(json_object_get(v, "guid")),
	       json_string_value(json_object_get(v, "holder")),
	       json_string_value(json_object_get(v, "status")),
	       json_string_value(json_object_get(v, "created")),
	       json_string_value(json_object_get(v, "expires")));
	if (en)
		printf("enrolment: %s (last step: %s)%s%s\n",
		       json_string_value(json_object_get(en, "state")),
		       json_string_value(json_object_get(en, "step")),
		       json_string_length(json_object_get(en, "error")) ? " — " : "",
		       json_string_value(json_object_get(en, "error")));
	json_array_foreach(json_object_get(v, "certificates"), i, x)
		printf("cert:      %s %-12s %-7s until %s%s%s\n",
		       json_string_value(json_object_get(x, "serial")),
		       json_string_value(json_object_get(x, "profile")),
		       json_string_value(json_object_get(x, "status")),
		       json_string_value(json_object_get(x, "not_after")),
		       json_is_string(json_object_get(x, "reason")) ? " " : "",
		       json_is_string(json_object_get(x, "reason"))
		               ? json_string_value(json_object_get(x, "reason")) : "");
	json_array_foreach(json_object_get(v, "history"), i, x)
		printf("history:   %s %s %s\n", json_string_value(json_object_get(x, "time")),
		       json_string_value(json_object_get(x, "action")),
		       json_string_value(json_object_get(x, "detail")));
	x = json_object_get(v, "card");
	if (x)
		printf("in reader: %s, state %s, PIN tries left %lld\n",
		       json_string_value(json_object_get(x, "reader")),
		       json_string_value(json_object_get(x, "state")),
		       json_integer_value(json_object_get(x, "pin_tries")));
}

static int
show(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {{"reader", required_argument, NULL, 'r'},
	                                   CVQ_ENROL_AGENT_OPTIONS, {NULL, 0, NULL, 0}};
	struct cvq_enrol_open_opts oo = {0};
	const char *reader = NULL;
	bool live = false;
	struct cvq_enrol_ctx e;
	struct cvq_enrol_card_rec k;
	cvq_card_status cs;
	uint8_t guid[16];
	char hex[33];
	json_t *v;
	int c, rc;

	while ((c = cvq_enrol_getopt(argc, argv, "r:", lo, &oo)) != -1) {
		if (c != 'r') {
			care_usage(stderr);
			return CVQ_ADMIN_EXIT_USAGE;
		}
		reader = optarg;
		live = true;
	}
	if (argc - optind > 1 || (live && argc - optind == 1)) {
		care_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	live = live || argc == optind;
	rc = cvq_enrol_ctx_open(&e, opts, &oo);
	if (rc)
		return rc;
	if (live) {
		rc = card_in_reader(&e, reader, guid, hex);
		if (rc)
			goto out;
	} else {
		snprintf(hex, sizeof(hex), "%s", argv[optind]);
	}
	rc = card_get(&e, hex, &k);
	if (rc)
		goto out;
	v = card_json(&e, &k);
	if (v && live) {
		cvq_card_err cerr = cvq_enrol_card_status(e.card, &cs);

		if (cerr)
			json_object_set_new(v, "card", json_pack("{s:s, s:s}", "reader",
			        cvq_card_reader_name(e.card), "error", cvq_card_strerror(cerr)));
		else
			json_object_set_new(v, "card", json_pack("{s:s, s:s, s:i, s:b, s:b}",
			        "reader", cvq_card_reader_name(e.card),
			        "state", cvq_card_state_name(cs.state), "pin_tries", cs.pin_tries,
			        "has_auth_cert", cs.has_cert_auth, "has_sign_cert", cs.has_cert_sign));
	}
	if (opts->json) {
		cvq_admin_json_print(v);
	} else if (v) {
		card_print(v);
		json_decref(v);
	}
out:
	cvq_enrol_ctx_close(&e);
	return rc;
}

/* ---- citizen cards ---- */

struct cards_ctx {
	struct cvq_enrol_ctx *e;
	json_t *arr;
};

static int
cards_cb(void *ctx, const struct cvq_enrol_card_rec *k)
{
	struct cards_ctx *c = ctx;
	json_t *v = card_json(c->e, k);

	if (v) {
		json_object_del(v, "history");
		json_array_append_new(c->arr, v);
	}
	return 0;
}

int
cvq_admin_citizen_cards(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {CVQ_ENROL_AGENT_OPTIONS,
	                                   {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct cvq_enrol_open_opts oo = {0};
	struct cvq_enrol_citizen cit;
	struct cvq_enrol_ctx e;
	struct cards_ctx cc;
	const char *id;
	char why[256] = "";
	cvq_enrol_err err;
	json_t *x, *en;
	size_t i;
	int c, rc;

	optind = 0;
	while ((c = cvq_enrol_getopt(argc, argv, "h", lo, &oo)) != -1) {
		care_usage(c == 'h' ? stdout : stderr);
		return c == 'h' ? CVQ_ADMIN_EXIT_OK : CVQ_ADMIN_EXIT_USAGE;
	}
	if (argc - optind != 1) {
		care_usage(stderr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	id = argv[optind];
	rc = cvq_enrol_ctx_open(&e, opts, &oo);
	if (rc)
		return rc;
	rc = citizen_get(&e, id, &cit);
	if (rc)
		goto out;
	cc.e = &e;
	cc.arr = json_array();
	err = e.issuer.ops->card_list
	              ? e.issuer.ops->card_list(e.issuer.ctx, id, cards_cb, &cc, why, sizeof(why))
	              : CVQ_ENROL_ERR_ISSUER;
	if (err) {
		json_decref(cc.arr);
		rc = cvq_enrol_issuer_fail(&e, err, why, id);
		goto out;
	}
	if (opts->json) {
		cvq_admin_json_print(cc.arr);
		goto out;
	}
	printf("%s %s (%s): %zu card(s)\n", cit.given_name, cit.family_name, cit.ext_id,
	       json_array_size(cc.arr));
	json_array_foreach(cc.arr, i, x) {
		en = json_object_get(x, "enrolment");
		printf("  %s %-9s expires %s  enrolment %s, %zu certificate(s)\n",
		       json_string_value(json_object_get(x, "guid")),
		       json_string_value(json_object_get(x, "status")),
		       json_string_value(json_object_get(x, "expires")),
		       en ? json_string_value(json_object_get(en, "state")) : "-",
		       json_array_size(json_object_get(x, "certificates")));
	}
	json_decref(cc.arr);
out:
	cvq_enrol_ctx_close(&e);
	return rc;
}

int
cvq_admin_card_care(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	const char *sub = argv[0];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			care_usage(stdout);
			return CVQ_ADMIN_EXIT_OK;
		}
	}
	if (strcmp(sub, "renew") == 0)
		return renew(argc, argv, opts);
	if (strcmp(sub, "lost") == 0 || strcmp(sub, "stolen") == 0 || strcmp(sub, "destroyed") == 0)
		return report(argc, argv, opts);
	if (strcmp(sub, "unblock") == 0)
		return unblock(argc, argv, opts);
	if (strcmp(sub, "show") == 0)
		return show(argc, argv, opts);
	care_usage(stderr);
	return CVQ_ADMIN_EXIT_USAGE;
}

bool
cvq_admin_card_is_enrol_cmd(const char *sub)
{
	static const char *const subs[] = {"enrol", "enrol-batch", "master-key", "renew", "lost",
	                                   "stolen", "destroyed", "unblock", "show"};
	size_t i;

	for (i = 0; sub && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(sub, subs[i]) == 0)
			return true;
	return false;
}

/* argv[0] is "card"; argv[1] the sub-command. */
int
cvq_admin_card_enrol_dispatch(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	const char *sub = argv[1];

	optind = 0;
	if (strcmp(sub, "enrol") == 0 || strcmp(sub, "master-key") == 0)
		return cvq_admin_enrol_main(argc - 1, argv + 1, opts);
	if (strcmp(sub, "enrol-batch") == 0)
		return cvq_admin_enrol_batch(argc - 1, argv + 1, opts);
	return cvq_admin_card_care(argc - 1, argv + 1, opts);
}
