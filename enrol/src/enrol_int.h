/*
 * libcvqenrol — internals shared by the enrolment (enrol_run.c) and the
 * after-care (enrol_care.c): one session of either over a cvq_enrol_env,
 * and what both do through the issuing link (enrol_issue.c).
 */
#ifndef CVQ_ENROL_INT_H
#define CVQ_ENROL_INT_H

#include <cvq/enrol.h>

/* SP 800-73 / Yubico factory values: not secrets, every blank card has them. */
#define ENROL_FACTORY_PIN "123456"
#define ENROL_FACTORY_PUK "12345678"

/* A management key the issuer handed (0: the card's, 1: a failed
 * enrolment's it restarts); wiped by enrol_sess_clear. */
struct enrol_mkey {
	char guid[33];
	int alg;
	uint8_t key[32];
	size_t len;
};

struct enrol_sess {
	const struct cvq_enrol_env *env;
	const struct cvq_enrol_issuer_ops *ops;
	void *ictx;
	struct enrol_mkey mkey[2];
	cvq_enrol_err ierr;           /* the issuer's error that stopped a step */
	char why[256];                /* its reason */
};

void enrol_sess_init(struct enrol_sess *s, const struct cvq_enrol_env *env);
void enrol_sess_clear(struct enrol_sess *s);

#define enrol_say(s, guid, ...)                                                           \
	cvq_enrol_progress_emit((s)->env->progress, (s)->env->progress_ctx, CVQ_ENROL_EV_INFO, \
	                        -1, (guid), __VA_ARGS__)
#define enrol_say_step(s, step, guid, ...)                                                \
	cvq_enrol_progress_emit((s)->env->progress, (s)->env->progress_ctx, CVQ_ENROL_EV_STEP, \
	                        (step), (guid), __VA_ARGS__)

/* A step in the journal (for resuming and 'card show') and in the CA's
 * hash-chained audit log (for the auditors); never a secret. */
__attribute__((warn_unused_result))
cvq_enrol_err enrol_log(struct enrol_sess *s, const char *guid, const char *action,
                        const char *detail);
/* The issuer's management key for guid (cached); s->why when not. */
cvq_enrol_err enrol_mgmt_key(struct enrol_sess *s, const char *guid, int alg,
                             const uint8_t **key, size_t *len);
/* Authenticate with the card's key, else prev_guid's (hex), else the
 * factory key (*which 0, 1, 2). The issuer cannot give guid's key:
 * CVQ_CARD_ERR_INTERNAL, s->ierr and s->why. */
cvq_card_err enrol_mgmt_auth(struct enrol_sess *s, const char *guid, const char *prev_guid,
                             int alg, int *which);
/* Generate a key in slot, prove possession (pin: the PIN to sign with),
 * have the CA certify it, write the certificate. The issuer's failure:
 * CVQ_CARD_ERR_INTERNAL, s->ierr and s->why. */
cvq_card_err enrol_certify_slot(struct enrol_sess *s, const char *guid, int slot, int key_alg,
                                const char *pin, char serial[67]);
/* Revoke the card's good certificates that are not on it (superseded). */
cvq_enrol_err enrol_revoke_strays(struct enrol_sess *s, const char *guid, unsigned *count,
                                  char *why, size_t why_len);
/* The citizen / the card through the issuer; why[] on error. */
cvq_enrol_err enrol_citizen_get(struct enrol_sess *s, const char *ext_id,
                                struct cvq_enrol_citizen *c, char *why, size_t why_len);
cvq_enrol_err enrol_card_get(struct enrol_sess *s, const char *guid,
                             struct cvq_enrol_card_rec *k, char *why, size_t why_len);
/* The PUK blob of guid opened by the issuer; s->ierr and s->why. */
cvq_enrol_err enrol_puk_open(struct enrol_sess *s, const char *guid, const uint8_t *blob,
                             char puk[CVQ_ENROL_PUK_LEN + 1]);

#endif
