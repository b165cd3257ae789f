#include "pin.h"

#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/util.h"
#include "log.h"

#define _(s) dgettext("cvqd", s)

void cvqd_i18n_setup(const cvqd_config *cfg)
{
	setlocale(LC_ALL, "");
	const char *m = setlocale(LC_MESSAGES, NULL);
	/* gettext ignores LANGUAGE in the "C" locale; C.UTF-8 keeps UTF-8 too. */
	if (!m || !strcmp(m, "C") || !strcmp(m, "POSIX"))
		setlocale(LC_MESSAGES, "C.UTF-8");
	setlocale(LC_CTYPE, "C.UTF-8");
	if (cfg->language && cfg->language[0])
		setenv("LANGUAGE", cfg->language, 1);
	bindtextdomain("cvqd", cfg->localedir);
	bind_textdomain_codeset("cvqd", "UTF-8");
}

int cvqd_pin_describe_login(const char *origin, const char *holder, char *out, size_t len)
{
	int n;
	if (holder && holder[0])
		n = snprintf(out, len, _("Log in to %s as %s"), origin, holder);
	else
		n = snprintf(out, len, _("Log in to %s"), origin);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

int cvqd_pin_pad_text(const char *description, char *out, size_t len)
{
	int n = snprintf(out, len, "%s\n%s", description,
	                 _("Confirm, then type your PIN on the reader's keypad"));
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

static cvqd_err map_util(const cvqd_config *cfg, cvq_util_err e)
{
	switch (e) {
	case CVQ_UTIL_OK:
		return CVQD_OK;
	case CVQ_UTIL_ERR_CANCELLED:
		return CVQD_ERR_PIN_CANCELLED;
	case CVQ_UTIL_ERR_TIMEOUT:
		return CVQD_ERR_PIN_TIMEOUT;
	case CVQ_UTIL_ERR_EMPTY:
		return CVQD_ERR_PIN_CANCELLED;
	case CVQ_UTIL_ERR_TOO_LONG:
		return CVQD_ERR_PIN_FORMAT;
	default:
		cvqd_warn("pinentry %s: %s", cfg->pinentry, cvq_util_strerror(e));
		return CVQD_ERR_PINENTRY;
	}
}

cvqd_err cvqd_pin_confirm_pad(const cvqd_config *cfg, const char *description,
                              int cancel_fd)
{
	char text[4096];
	bool yes = false;
	if (cvqd_pin_pad_text(description, text, sizeof text))
		return CVQD_ERR_BAD_REQUEST;
	struct cvq_pinentry_prompt p = {
		.title = _("Citizen card"),
		.description = text,
		.ok_label = _("Approve"),
		.cancel_label = _("Cancel"),
		.timeout_s = (int)cfg->pin_timeout,
		.cancel_fd = cancel_fd,
	};
	cvqd_err e = map_util(cfg, cvq_pinentry_confirm(cfg->pinentry, &p, &yes));
	return e == CVQD_OK && !yes ? CVQD_ERR_PIN_CANCELLED : e;
}

cvqd_err cvqd_pin_ask(const cvqd_config *cfg, const char *description,
                      int cancel_fd, char *pin, size_t cap)
{
	struct cvq_pinentry_prompt p = {
		.title = _("Citizen card"),
		.description = description,
		.prompt = _("PIN:"),
		.ok_label = _("Approve"),
		.cancel_label = _("Cancel"),
		.timeout_s = (int)cfg->pin_timeout,
		.cancel_fd = cancel_fd,
	};
	return map_util(cfg, cvq_pinentry_getpin(cfg->pinentry, &p, pin, cap));
}
