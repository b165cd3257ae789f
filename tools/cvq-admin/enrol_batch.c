/*
 * cvq-admin card enrol-batch — enrol a list of citizens on cards in
 * several readers at once. One thread per reader, each with its own
 * issuer (CA handle or agent link), journal connection and PC/SC context (libcvqca handles are not
 * shared between threads); they take the next citizen from a common
 * queue. When a reader's card is done and citizens remain, the worker
 * waits for that card to be taken out and a blank one put in.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_common.h"
#include "enrol.h"

struct batch {
	const struct cvq_admin_opts *opts;
	struct cvq_enrol_open_opts oo;
	char **citizens;
	bool *taken;
	size_t n, done, failed;
	const char *letter_dir;
	int pin_len, key_alg;
	unsigned days;
	int wait_s;
	pthread_mutex_t mu;
};

struct worker {
	struct batch *b;
	const char *reader;
	pthread_t th;
	int rc;
};

static void
progress(struct batch *b, const char *reader, const char *citizen, const char *what)
{
	pthread_mutex_lock(&b->mu);
	flockfile(stdout);
	printf("[%zu/%zu done, %zu failed] %s: %s%s%s\n", b->done, b->n, b->failed, reader,
	       citizen, citizen[0] ? " " : "", what);
	fflush(stdout);
	funlockfile(stdout);
	pthread_mutex_unlock(&b->mu);
}

/* The first citizen nobody has taken; *idx gets its index. */
static const char *
take(struct batch *b, size_t *idx)
{
	const char *c = NULL;
	size_t i;

	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->n && !c; i++) {
		if (!b->taken[i]) {
			b->taken[i] = true;
			c = b->citizens[i];
			*idx = i;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return c;
}

/* Give back a citizen whose reader got no card: another reader may take it. */
static void
put_back(struct batch *b, size_t idx)
{
	pthread_mutex_lock(&b->mu);
	b->taken[idx] = false;
	pthread_mutex_unlock(&b->mu);
}

/* Wait until this reader's card is swapped for another. */
static bool
swap_card(struct worker *w, struct cvq_enrol_ctx *e)
{
	cvq_card_event ev;
	bool removed = false;
	cvq_card_err err;

	cvq_card_disconnect(e->card, true);
	e->card = NULL;
	progress(w->b, w->reader, "", "take the card out and put the next blank card in");
	for (;;) {
		err = cvq_card_wait_event(e->cctx, w->b->wait_s * 1000, &ev);
		if (err)
			return false;
		if (strcmp(ev.reader, w->reader) != 0)
			continue;
		if (ev.type == CVQ_CARD_EV_CARD_REMOVED)
			removed = true;
		else if (ev.type == CVQ_CARD_EV_CARD_INSERTED && removed)
			return cvq_card_connect(e->cctx, w->reader, &e->card) == CVQ_CARD_OK;
	}
}

/* The enrolment's progress in a batch: one line per step done, after the
 * reader and the citizen; the sentences are for single enrolments. */
struct step_view {
	struct batch *b;
	const char *reader, *citizen;
};

static void
batch_step(void *ctx, const struct cvq_enrol_progress *p)
{
	const struct step_view *v = ctx;
	char what[80];

	if (p->event != CVQ_ENROL_EV_STEP)
		return;
	snprintf(what, sizeof(what), "step %d/%d %s", p->step, p->total,
	         cvq_enrol_step_name(p->step));
	progress(v->b, v->reader, v->citizen ? v->citizen : "", what);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct batch *b = w->b;
	struct cvq_enrol_ctx e;
	const char *citizen;
	char letter[4096];
	cvq_card_event ev;
	bool first;
	size_t idx = 0;
	int rc;

	w->rc = cvq_enrol_ctx_open(&e, b->opts, &b->oo);
	if (w->rc)
		return NULL;
	struct step_view view = {.b = b, .reader = w->reader};

	e.prefix = w->reader;
	e.quiet = true;
	e.progress = batch_step;
	e.progress_ctx = &view;
	if (cvq_card_ctx_new(&e.cctx) != CVQ_CARD_OK) {
		w->rc = CVQ_ADMIN_EXIT_NO_CARD;
		goto out;
	}
	/* Drain the initial state so later waits see only changes. */
	while (cvq_card_wait_event(e.cctx, 0, &ev) == CVQ_CARD_OK)
		;
	if (cvq_card_connect(e.cctx, w->reader, &e.card) != CVQ_CARD_OK) {
		progress(b, w->reader, "", "no card: reader skipped");
		w->rc = CVQ_ADMIN_EXIT_NO_CARD;
		goto out;
	}
	/* The next citizen is taken before the card swap is asked for, so
	 * that only one reader waits for a card when one citizen is left. */
	for (first = true; (citizen = take(b, &idx)) != NULL; first = false) {
		if (!first && !swap_card(w, &e)) {
			put_back(b, idx);
			progress(b, w->reader, "", "no new card: reader stops");
			break;
		}
		progress(b, w->reader, citizen, "enrolling...");
		view.citizen = citizen;
		rc = cvq_enrol_letter_default(letter, sizeof(letter), b->letter_dir, citizen)
		     ? cvq_enrol_card_one(&e, citizen, letter, b->pin_len, b->days, b->key_alg)
		     : CVQ_ADMIN_EXIT_USAGE;
		pthread_mutex_lock(&b->mu);
		if (rc == CVQ_ADMIN_EXIT_OK)
			b->done++;
		else
			b->failed++;
		pthread_mutex_unlock(&b->mu);
		progress(b, w->reader, citizen, rc == CVQ_ADMIN_EXIT_OK ? "enrolled" : "FAILED");
		if (rc)
			w->rc = rc;
	}
out:
	cvq_enrol_ctx_close(&e);
	return NULL;
}

static int
read_list(const char *path, struct batch *b)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[256], *s, *e, *id;
	char **p;
	int rc = CVQ_ADMIN_EXIT_OK;

	if (!f) {
		cvq_admin_error("%s: %s", path, strerror(errno));
		return CVQ_ADMIN_EXIT_FAIL;
	}
	while (fgets(line, sizeof(line), f)) {
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		for (e = s + strlen(s); e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '); e--)
			;
		*e = '\0';
		if (!*s || *s == '#')
			continue;
		id = strdup(s);
		p = id ? realloc(b->citizens, (b->n + 1) * sizeof(char *)) : NULL;
		if (!p) {
			free(id);
			cvq_admin_error("out of memory reading %s", path);
			rc = CVQ_ADMIN_EXIT_FAIL;
			break;
		}
		b->citizens = p;
		b->citizens[b->n++] = id;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

int
cvq_admin_enrol_batch(int argc, char **argv, const struct cvq_admin_opts *opts)
{
	static const struct option lo[] = {
		{"list", required_argument, NULL, 'L'}, {"reader", required_argument, NULL, 'r'},
		{"letter-dir", required_argument, NULL, 'l'}, {"pin-length", required_argument, NULL, 'n'},
		{"days", required_argument, NULL, 'd'}, {"wait", required_argument, NULL, 'w'},
		{"master-key-file", required_argument, NULL, 'm'}, {"pass", required_argument, NULL, 'p'},
		{"key-alg", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'},
		CVQ_ENROL_AGENT_OPTIONS, {NULL, 0, NULL, 0},
	};
	struct batch b = {.opts = opts, .letter_dir = ".", .pin_len = 6, .days = 1825, .wait_s = 300,
	                  .key_alg = CVQ_CARD_ALG_ECCP256};
	struct worker *w = NULL;
	const char *list = NULL, *readers[16];
	char **all = NULL;
	cvq_card_ctx *ctx = NULL;
	size_t nr = 0, i, started = 0;
	int c, rc = CVQ_ADMIN_EXIT_OK;
	long v;

	b.oo.need = CVQ_ENROL_NEED_KEY | CVQ_ENROL_NEED_MASTER;
	while ((c = cvq_enrol_getopt(argc, argv, "L:r:l:n:d:w:m:p:k:h", lo, &b.oo)) != -1) {
		switch (c) {
		case 'L': list = optarg; break;
		case 'r':
			if (nr == sizeof(readers) / sizeof(readers[0]))
				return CVQ_ADMIN_EXIT_USAGE;
			readers[nr++] = optarg;
			break;
		case 'l': b.letter_dir = optarg; break;
		case 'n':
			v = cvq_admin_number(optarg);
			if (v < CVQ_ENROL_PIN_MIN || v > CVQ_ENROL_PIN_MAX)
				return CVQ_ADMIN_EXIT_USAGE;
			b.pin_len = (int)v;
			break;
		case 'd':
			v = cvq_admin_number(optarg);
			if (v <= 0 || v > 3650)
				return CVQ_ADMIN_EXIT_USAGE;
			b.days = (unsigned)v;
			break;
		case 'w':
			v = cvq_admin_number(optarg);
			if (v <= 0 || v > 86400)
				return CVQ_ADMIN_EXIT_USAGE;
			b.wait_s = (int)v;
			break;
		case 'm': b.oo.master_file = optarg; break;
		case 'p': b.oo.pass = optarg; break;
		case 'k':
			b.key_alg = cvq_enrol_key_alg_parse(optarg);
			if (!b.key_alg)
				return CVQ_ADMIN_EXIT_USAGE;
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
			        "usage: cvq-admin card enrol-batch --list FILE [--reader NAME]...\n"
			        "        [--letter-dir DIR] [--pin-length N] [--days N] [--wait SECONDS]\n"
			        "        [--key-alg ec-p256|rsa-2048]\n"
			        "        [--master-key-file FILE] [--pass SOURCE]\n"
			        CVQ_ENROL_AGENT_USAGE);
			return c == 'h' ? CVQ_ADMIN_EXIT_OK : CVQ_ADMIN_EXIT_USAGE;
		}
	}
	if (!list || optind != argc)
		return CVQ_ADMIN_EXIT_USAGE;
	/* An https agent's key once, before any reader is probed or a card
	 * taken; the workers share it (cvq_enrol_link_open). */
	rc = cvq_enrol_link_open(&b.oo);
	if (rc)
		return rc;
	rc = read_list(list, &b);
	if (rc == CVQ_ADMIN_EXIT_OK && b.n == 0) {
		cvq_admin_error("%s: no citizen", list);
		rc = CVQ_ADMIN_EXIT_USAGE;
	}
	if (rc)
		goto out;
	/* No --reader: every reader that holds a card now. */
	if (nr == 0) {
		cvq_card_err err = cvq_card_ctx_new(&ctx);
		size_t n = 0;
		cvq_card *k;

		if (!err)
			err = cvq_card_list_readers(ctx, &all, &n);
		if (err) {
			rc = cvq_enrol_card_fail(err, "readers");
			goto out;
		}
		for (i = 0; i < n && nr < sizeof(readers) / sizeof(readers[0]); i++) {
			if (cvq_card_connect(ctx, all[i], &k) == CVQ_CARD_OK) {
				readers[nr++] = all[i];
				cvq_card_disconnect(k, false);
			}
		}
		if (nr == 0) {
			cvq_admin_error("no card in any reader");
			rc = CVQ_ADMIN_EXIT_NO_CARD;
			goto out;
		}
	}
	b.taken = calloc(b.n, sizeof(*b.taken));
	if (!b.taken || pthread_mutex_init(&b.mu, NULL) != 0) {
		rc = CVQ_ADMIN_EXIT_FAIL;
		goto out;
	}
	printf("Enrolling %zu citizen(s) on %zu reader(s).\n", b.n, nr);
	w = calloc(nr, sizeof(*w));
	for (i = 0; w && i < nr; i++) {
		w[i].b = &b;
		w[i].reader = readers[i];
		if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	printf("Batch finished: %zu enrolled, %zu failed, %zu not started.\n", b.done, b.failed,
	       b.n - b.done - b.failed);
	rc = b.done == b.n ? CVQ_ADMIN_EXIT_OK : CVQ_ADMIN_EXIT_FAIL;
	for (i = 0; i < started; i++)
		if (w[i].rc == CVQ_ADMIN_EXIT_STORE)
			rc = CVQ_ADMIN_EXIT_STORE;
	pthread_mutex_destroy(&b.mu);
out:
	free(w);
	free(b.taken);
	for (i = 0; i < b.n; i++)
		free(b.citizens[i]);
	free(b.citizens);
	if (all)
		cvq_card_readers_free(all);
	if (ctx)
		cvq_card_ctx_free(ctx);
	cvq_enrol_link_close(&b.oo);
	return rc;
}
