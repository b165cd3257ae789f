/*
 * libcvqenrol — names: the journal's steps, the card key algorithms an
 * enrolment may ask for. Moved from cvq-admin's enrol.c and enrol_ctx.c.
 */
#include <string.h>

#include <cvq/enrol.h>
#include <cvq/piv.h>

const char *
cvq_enrol_step_name(int step)
{
	static const char *const n[] = {
		"started", "recorded", "chuid", "management-key", "authentication-key",
		"signature-key", "card-authentication-key", "printed-information",
		"signed-objects", "puk", "pin", "active",
	};

	return step >= 0 && step < CVQ_ENROL_STEP__COUNT ? n[step] : "unknown";
}

int
cvq_enrol_key_alg_parse(const char *name)
{
	if (strcmp(name, "ec-p256") == 0)
		return CVQ_CARD_ALG_ECCP256;
	if (strcmp(name, "rsa-2048") == 0)
		return CVQ_CARD_ALG_RSA2048;
	return 0;
}

const char *
cvq_enrol_key_alg_name(int alg)
{
	return alg == CVQ_CARD_ALG_RSA2048 ? "rsa-2048" : "ec-p256";
}


const char *
cvq_enrol_card_status_name(int status)
{
	/* libcvqca's names (cvq_ca_card_status_name), for the same numbers. */
	static const char *const n[CVQ_ENROL_CARD__COUNT] = {
		"active", "suspended", "lost", "stolen", "destroyed", "returned",
	};

	return status >= 0 && status < CVQ_ENROL_CARD__COUNT ? n[status] : "?";
}
