/*
 * cvq-admin card — what the card_*.c files share.
 */
#ifndef CVQ_ADMIN_CARD_H
#define CVQ_ADMIN_CARD_H

#include <stdbool.h>
#include <stddef.h>

#include "admin.h"
#include "cvq/card.h"
#include "cvq/piv.h"

struct card_session {
	cvq_card_ctx *ctx;
	cvq_card *card;
};

#define CARD_PIN_MAX 16  /* PIN/PUK buffer (8 bytes + room to say "too long") */

/* Connect to `reader`, or to the first reader with a card (NULL). */
int card_admin_open(const char *reader, struct card_session *s);
/* reset: after a PIN was presented, so no verified state stays behind;
 * reads leave the card as it was (a kiosk session on it goes on). */
void card_admin_close(struct card_session *s, bool reset);
/* Print "what: reason" and return the exit code for err. */
int card_admin_fail(const char *what, cvq_card_err err, int tries_left);
/*
 * Whether the PIN is typed on the reader's PIN pad: source "pad" says
 * yes, any other source no; NULL (none given) asks the reader
 * (card_pin.c).
 */
bool card_admin_use_pad(cvq_card *card, const char *source);
/* Read a PIN/PUK from a source (tty, fd:N, file:PATH, pinentry:PROG). */
int card_admin_secret(const char *source, const char *prompt, char *buf,
                      size_t cap);

int card_cmd_readers(int argc, char **argv, const struct cvq_admin_opts *opts);
int card_cmd_watch(int argc, char **argv, const struct cvq_admin_opts *opts);
int card_cmd_info(int argc, char **argv, const struct cvq_admin_opts *opts);
int card_cmd_pin(int argc, char **argv, const struct cvq_admin_opts *opts);
int card_cmd_reset(int argc, char **argv, const struct cvq_admin_opts *opts);
int card_cmd_sign(int argc, char **argv, const struct cvq_admin_opts *opts);
/* The PIV content signer, made by two officers (cmd_content_signer.c). */
int card_cmd_content_signer(int argc, char **argv, const struct cvq_admin_opts *opts);

#endif
