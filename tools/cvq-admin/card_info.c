/*
 * cvq-admin card readers | watch | info — what is plugged in and what a
 * card holds. Reads only; never spends a PIN try.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "ca_common.h"
#include "card_admin.h"
#include "cvq/piv_authentic.h"
#include "cvq/profile.h"

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", b[i]);
	out[2 * n] = '\0';
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	fflush(stdout);
}

static json_t *
event_json(const cvq_card_event *ev)
{
	char atr[2 * CVQ_CARD_ATR_MAX + 1];
	json_t *o = json_object();

	json_object_set_new(o, "event", json_string(cvq_card_event_name(ev->type)));
	if (ev->reader[0])
		json_object_set_new(o, "reader", json_string(ev->reader));
	if (ev->type == CVQ_CARD_EV_CARD_INSERTED) {
		hex(ev->atr, ev->atr_len, atr);
		json_object_set_new(o, "atr", json_string(atr));
	}
	return o;
}

int
card_cmd_readers(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	cvq_card_ctx *ctx = NULL;
	cvq_card_event ev;
	cvq_card_err err;
	json_t *arr = json_array(), *o;
	size_t i;
	char atr[2 * CVQ_CARD_ATR_MAX + 1];

	(void)argv;
	if (argc > 1) {
		cvq_admin_error("usage: cvq-admin card readers");
		json_decref(arr);
		return CVQ_ADMIN_EXIT_USAGE;
	}
	err = cvq_card_ctx_new(&ctx);
	if (err) {
		json_decref(arr);
		return card_admin_fail("PC/SC", err, -1);
	}
	/* The first events are the current state: readers, then cards. */
	while ((err = cvq_card_wait_event(ctx, 0, &ev)) == CVQ_CARD_OK) {
		if (ev.type == CVQ_CARD_EV_READER_ADDED) {
			o = json_object();
			json_object_set_new(o, "reader", json_string(ev.reader));
			json_object_set_new(o, "card", json_false());
			json_array_append_new(arr, o);
		} else if (ev.type == CVQ_CARD_EV_CARD_INSERTED) {
			json_array_foreach(arr, i, o) {
				if (strcmp(json_string_value(json_object_get(o, "reader")), ev.reader) == 0) {
					hex(ev.atr, ev.atr_len, atr);
					json_object_set_new(o, "card", json_true());
					json_object_set_new(o, "atr", json_string(atr));
				}
			}
		}
	}
	cvq_card_ctx_free(ctx);
	if (err != CVQ_CARD_ERR_TIMEOUT) {
		json_decref(arr);
		return card_admin_fail("PC/SC", err, -1);
	}
	if (opts->json) {
		print_json(arr);
	} else {
		json_array_foreach(arr, i, o) {
			json_t *a = json_object_get(o, "atr");
			printf("%s\t%s%s%s\n", json_string_value(json_object_get(o, "reader")),
			       json_is_true(json_object_get(o, "card")) ? "card" : "empty",
			       a ? "\t" : "", a ? json_string_value(a) : "");
		}
		if (json_array_size(arr) == 0)
			printf("no reader\n");
	}
	json_decref(arr);
	return CVQ_ADMIN_EXIT_OK;
}

static volatile sig_atomic_t stop_watch;

static void
on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

int
card_cmd_watch(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct sigaction sa;
	cvq_card_ctx *ctx = NULL;
	cvq_card_event ev;
	cvq_card_err err;
	long count = -1, seen = 0;
	double timeout = -1;
	long long waited = 0;
	int c, rc = CVQ_ADMIN_EXIT_OK;

	while ((c = getopt_long(argc, argv, "n:t:", lo, NULL)) != -1) {
		char *end = NULL;

		errno = 0;
		switch (c) {
		case 'n': count = strtol(optarg, &end, 10); break;
		case 't': timeout = strtod(optarg, &end); break;
		default: return CVQ_ADMIN_EXIT_USAGE;
		}
		/* Whole numbers only, and a timeout whose milliseconds fit a
		 * long long (no NaN, no 1e300). */
		if (errno != 0 || end == optarg || *end != '\0' ||
		    (c == 'n' && count < 0) ||
		    (c == 't' && !(timeout >= 0 && timeout <= 1e9))) {
			cvq_admin_error("watch: bad --%s '%s'", c == 'n' ? "count" : "timeout",
			                optarg);
			return CVQ_ADMIN_EXIT_USAGE;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = cvq_card_ctx_new(&ctx);
	if (err)
		return card_admin_fail("PC/SC", err, -1);
	/* Short waits, so a signal ends the watch within 200 ms. */
	while (!stop_watch && (count < 0 || seen < count)) {
		if (timeout >= 0 && waited >= (long long)(timeout * 1000))
			break;
		err = cvq_card_wait_event(ctx, 200, &ev);
		if (err == CVQ_CARD_ERR_TIMEOUT) {
			waited += 200;
			continue;
		}
		if (err) {
			rc = card_admin_fail("watch", err, -1);
			break;
		}
		seen++;
		if (opts->json) {
			json_t *o = event_json(&ev);
			print_json(o);
			json_decref(o);
		} else {
			char atr[2 * CVQ_CARD_ATR_MAX + 1] = "";
			if (ev.type == CVQ_CARD_EV_CARD_INSERTED)
				hex(ev.atr, ev.atr_len, atr);
			printf("%s%s%s%s%s\n", cvq_card_event_name(ev.type),
			       ev.reader[0] ? "\t" : "", ev.reader, atr[0] ? "\t" : "", atr);
			fflush(stdout);
		}
	}
	cvq_card_ctx_free(ctx);
	return rc;
}

static char *
name_str(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *p;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &p);
		s = strndup(p, (size_t)len);
	}
	BIO_free(b);
	return s;
}

static json_t *
cert_json(cvq_card_slot slot, X509 *x)
{
	json_t *o = json_object();
	EVP_PKEY *k = X509_get0_pubkey(x);
	char *subj = name_str(X509_get_subject_name(x));
	char *iss = name_str(X509_get_issuer_name(x));
	char slotname[3], when[32] = "", key[48] = "?";
	struct tm tm;
	const char *role = cvq_card_role_name(slot);

	snprintf(slotname, sizeof(slotname), "%02x", (unsigned)slot);
	json_object_set_new(o, "slot", json_string(slotname));
	if (role != NULL)
		json_object_set_new(o, "role", json_string(role));
	json_object_set_new(o, "subject", json_string(subj ? subj : ""));
	json_object_set_new(o, "issuer", json_string(iss ? iss : ""));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "not_after", json_string(when));
	if (k != NULL)
		snprintf(key, sizeof(key), "%s-%d", EVP_PKEY_get0_type_name(k),
		         EVP_PKEY_get_bits(k));
	json_object_set_new(o, "key", json_string(key));
	{
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		char *h = bn != NULL ? BN_bn2hex(bn) : NULL;
		json_object_set_new(o, "serial", json_string(h != NULL ? h : ""));
		OPENSSL_free(h);
		BN_free(bn);
	}
	free(subj);
	free(iss);
	return o;
}

/*
 * Who the card must come from: --trust FILE (PEM certificates), else the
 * CA of the configuration (its certificate and chain). A sub-CA is
 * enough as an anchor. NULL when neither is there.
 */
static X509_STORE *
trust_load(const char *file, const struct cvq_admin_opts *opts)
{
	struct cvq_ca_config *cfg = NULL;
	X509_STORE *st = X509_STORE_new();
	char *cert = NULL, *chain = NULL;
	bool ok = false;

	if (st == NULL)
		return NULL;
	if (file) {
		ok = X509_STORE_load_file(st, file) == 1;
		if (!ok)
			cvq_admin_error("%s: no certificate to trust in it", file);
	} else if ((opts->config || getenv("CVQ_CA_CONFIG") || access("ca.conf", F_OK) == 0) &&
	           cvq_admin_ca_config(opts, &cfg) == CVQ_ADMIN_EXIT_OK && cfg->cert) {
		/* (no CA configuration here, as on a kiosk: "not checked", quietly) */
		cert = cvq_ca_config_path(cfg, cfg->cert);
		chain = cfg->chain ? cvq_ca_config_path(cfg, cfg->chain) : NULL;
		ok = cert && X509_STORE_load_file(st, cert) == 1 &&
		     (!chain || X509_STORE_load_file(st, chain) == 1);
	}
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	free(cert);
	free(chain);
	if (cfg)
		cvq_ca_config_free(cfg);
	ERR_clear_error();
	if (!ok) {
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

static cvq_card_err
authenticity(struct card_session *s, X509_STORE *trust, json_t *o)
{
	cvq_piv_authenticity a;
	json_t *j = json_object();
	cvq_card_err err;

	if (trust == NULL) {
		json_object_set_new(j, "checked", json_false());
		json_object_set_new(j, "why", json_string("no trust anchor: give --trust FILE "
		                                          "or a CA configuration"));
		json_object_set_new(o, "authenticity", j);
		return CVQ_CARD_OK;
	}
	err = cvq_piv_authenticate(s->card, trust, 0, &a);
	if (err) {
		json_decref(j);
		return err;
	}
	json_object_set_new(j, "checked", json_true());
	json_object_set_new(j, "authentic", json_boolean(a.authentic));
	json_object_set_new(j, "reason", json_string(cvq_piv_auth_reason_name(a.reason)));
	json_object_set_new(j, "why", json_string(cvq_piv_auth_reason_text(a.reason)));
	if (a.detail[0])
		json_object_set_new(j, "detail", json_string(a.detail));
	if (a.signer[0])
		json_object_set_new(j, "content_signer", json_string(a.signer));
	json_object_set_new(j, "chuid_signature", json_boolean(a.chuid_signed));
	json_object_set_new(j, "security_object", json_boolean(a.secobj_ok));
	json_object_set_new(j, "card_authentication", json_boolean(a.cardauth_ok));
	json_object_set_new(j, "objects_hashed", json_integer(a.objects_hashed));
	json_object_set_new(j, "objects_not_readable", json_integer(a.objects_skipped));
	json_object_set_new(o, "authenticity", j);
	return CVQ_CARD_OK;
}

/* Everything `info` shows, read in one transaction. */
static int
collect_info(struct card_session *s, X509_STORE *trust, json_t *o)
{
	static const cvq_card_slot slots[] = {CVQ_CARD_SLOT_AUTH, CVQ_CARD_SLOT_SIGN,
	                                      CVQ_CARD_SLOT_KEYMGMT,
	                                      CVQ_CARD_SLOT_CARDAUTH};
	char buf[2 * CVQ_CARD_ATR_MAX + 1], guid[33];
	const uint8_t *atr;
	size_t atr_len, i;
	cvq_card_status st;
	cvq_card_discovery d;
	cvq_card_printed pr;
	uint8_t v[3];
	json_t *certs = json_array();
	cvq_card_err err;
	X509 *x;

	json_object_set_new(o, "reader", json_string(cvq_card_reader_name(s->card)));
	atr = cvq_card_atr(s->card, &atr_len);
	hex(atr, atr_len, buf);
	json_object_set_new(o, "atr", json_string(buf));
	err = cvq_card_begin(s->card);
	if (err)
		goto out;
	err = cvq_card_get_status(s->card, &st);
	if (err)
		goto end;
	json_object_set_new(o, "state", json_string(cvq_card_state_name(st.state)));
	if (st.has_guid) {
		cvq_card_guid_hex(st.guid, guid);
		json_object_set_new(o, "guid", json_string(guid));
		if (st.expiry[0])
			json_object_set_new(o, "chuid_expiry", json_string(st.expiry));
	}
	json_object_set_new(o, "pin_tries", json_integer(st.pin_tries));
	json_object_set_new(o, "pin_verified", json_boolean(st.pin_verified));
	json_object_set_new(o, "puk_tries", st.puk_tries >= 0 ? json_integer(st.puk_tries)
	                                                      : json_null());
	if (cvq_card_yk_version(s->card, v) == CVQ_CARD_OK) {
		snprintf(buf, sizeof(buf), "%u.%u.%u", v[0], v[1], v[2]);
		json_object_set_new(o, "yubico_version", json_string(buf));
	}
	if (cvq_card_read_discovery(s->card, &d) == CVQ_CARD_OK) {
		json_t *dj = json_object();
		hex(d.aid, d.aid_len, buf);
		json_object_set_new(dj, "aid", json_string(buf));
		snprintf(buf, sizeof(buf), "%04X", d.pin_policy);
		json_object_set_new(dj, "pin_policy", json_string(buf));
		json_object_set_new(o, "discovery", dj);
	}
	/* Printed Information usually needs the PIN: shown when readable. */
	if (cvq_card_read_printed(s->card, &pr) == CVQ_CARD_OK) {
		json_t *pj = json_object();
		json_object_set_new(pj, "name", json_string(pr.name));
		json_object_set_new(pj, "expiry", json_string(pr.expiry));
		json_object_set_new(pj, "issuer", json_string(pr.issuer));
		json_object_set_new(o, "printed", pj);
	}
	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		/* 9A, 9C, 9E are cached by get_status: only 9D costs an APDU. */
		if (cvq_card_read_cert(s->card, slots[i], &x) == CVQ_CARD_OK) {
			json_array_append_new(certs, cert_json(slots[i], x));
			X509_free(x);
		}
	}
	if (st.state != CVQ_CARD_STATE_BLANK)
		err = authenticity(s, trust, o);
end:
	cvq_card_end(s->card, false);
out:
	json_object_set_new(o, "certificates", certs);
	return err ? card_admin_fail("info", err, -1) : CVQ_ADMIN_EXIT_OK;
}

/* A string member for printing: "?" when absent (json_string refuses
 * text that is not UTF-8, and a card may send such bytes). */
static const char *
text_of(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "?";
}

static void
print_text(json_t *o)
{
	const char *k;
	json_t *v, *c;
	size_t i;

	json_object_foreach(o, k, v) {
		if (json_is_string(v))
			printf("%-14s %s\n", k, json_string_value(v));
		else if (json_is_integer(v))
			printf("%-14s %lld\n", k, (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			printf("%-14s %s\n", k, json_is_true(v) ? "yes" : "no");
		else if (json_is_null(v))
			printf("%-14s unknown\n", k);
	}
	if ((v = json_object_get(o, "discovery")) != NULL)
		printf("%-14s AID %s, PIN policy %s\n", "discovery",
		       text_of(v, "aid"), text_of(v, "pin_policy"));
	if ((v = json_object_get(o, "printed")) != NULL)
		printf("%-14s %s, expires %s\n", "printed",
		       text_of(v, "name"), text_of(v, "expiry"));
	if ((v = json_object_get(o, "authenticity")) != NULL) {
		if (!json_is_true(json_object_get(v, "checked")))
			printf("%-14s not checked: %s\n", "authentic", text_of(v, "why"));
		else if (json_is_true(json_object_get(v, "authentic")))
			printf("%-14s yes: %s\n", "authentic", text_of(v, "why"));
		else
			printf("%-14s NO: %s%s%s%s\n", "authentic", text_of(v, "why"),
			       json_object_get(v, "detail") ? " (" : "",
			       json_object_get(v, "detail") ? text_of(v, "detail") : "",
			       json_object_get(v, "detail") ? ")" : "");
		if (json_object_get(v, "content_signer"))
			printf("%-14s %s\n", "content signer", text_of(v, "content_signer"));
	}
	json_array_foreach(json_object_get(o, "certificates"), i, c) {
		printf("certificate %s %s\n  subject   %s\n  issuer    %s\n  not after %s\n  key       %s\n",
		       text_of(c, "slot"),
		       json_object_get(c, "role") ? text_of(c, "role") : "",
		       text_of(c, "subject"), text_of(c, "issuer"),
		       text_of(c, "not_after"), text_of(c, "key"));
	}
}

int
card_cmd_info(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"reader", required_argument, NULL, 'r'},
		{"trust", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct card_session s;
	const char *reader = NULL, *trust_file = NULL;
	X509_STORE *trust;
	json_t *o;
	int c, rc;

	while ((c = getopt_long(argc, argv, "r:t:", lo, NULL)) != -1) {
		if (c == 'r')
			reader = optarg;
		else if (c == 't')
			trust_file = optarg;
		else
			return CVQ_ADMIN_EXIT_USAGE;
	}
	trust = trust_load(trust_file, opts);
	if (trust == NULL && trust_file)
		return CVQ_ADMIN_EXIT_USAGE;
	rc = card_admin_open(reader, &s);
	if (rc) {
		X509_STORE_free(trust);
		return rc;
	}
	o = json_object();
	rc = collect_info(&s, trust, o);
	X509_STORE_free(trust);
	if (rc == CVQ_ADMIN_EXIT_OK) {
		if (opts->json)
			print_json(o);
		else
			print_text(o);
	}
	if (opts->verbose)
		fprintf(stderr, "cvq-admin: %lu APDUs\n", cvq_card_apdu_count(s.card));
	json_decref(o);
	card_admin_close(&s, false);
	return rc;
}
