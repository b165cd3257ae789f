/*
 * A scripted fake transport for cardlib unit tests: each step gives the
 * command APDU expected (hex, exact) and the response to give (hex, data
 * and SW), or a handler computing the response. Any other command fails
 * the test.
 */
#ifndef CVQ_TEST_FAKE_CARD_H
#define CVQ_TEST_FAKE_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "cvq/card_apdu.h"

struct fake_step;
typedef size_t (*fake_handler)(const struct fake_step *st, const uint8_t *cmd,
                               size_t len, uint8_t *rsp, void *arg);

struct fake_step {
	const char *cmd;          /* hex of the expected command, NULL: any */
	const char *rsp;          /* hex of the response */
	fake_handler handler;     /* instead of rsp */
	void *arg;
};

struct fake_card {
	const struct fake_step *steps;
	size_t n, pos;
	cvq_card_err fail_with;   /* returned once the script is over, if set */
};

size_t fake_hex(const char *hex, uint8_t *out, size_t cap);
cvq_card_transport fake_transport(struct fake_card *f);
/* A cvq_card on the script; asserts that it was created. */
cvq_card *fake_card_new(struct fake_card *f, const struct fake_step *steps,
                        size_t n);
/* Assert that every step ran. */
void fake_card_done(const struct fake_card *f);

#endif
