/*
 * cvq-webeid — the citizen's dialogs through a pinentry program (the
 * Assuan client of common/, as cvqd uses it). Texts are English msgids of
 * the "cvqd" catalogue (po/), shown in French.
 */
#include <libintl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "cvq/util.h"
#include "host.h"


void webeid_i18n_setup(const webeid_config *cfg, const char *lang)
{
	const char *m;

	setlocale(LC_ALL, "");
	m = setlocale(LC_MESSAGES, NULL);
	/* gettext ignores LANGUAGE in the "C" locale; C.UTF-8 keeps UTF-8 too. */
	if (!m || !strcmp(m, "C") || !strcmp(m, "POSIX"))
		setlocale(LC_MESSAGES, "C.UTF-8");
	setlocale(LC_CTYPE, "C.UTF-8");
	if (lang && lang[0])
		setenv("LANGUAGE", lang, 1);
	else if (cfg->language[0])
		setenv("LANGUAGE", cfg->language, 1);
	bindtextdomain("cvqd", cfg->localedir);
	bind_textdomain_codeset("cvqd", "UTF-8");
}

static webeid_err map(cvq_util_err e)
{
	switch (e) {
	case CVQ_UTIL_OK:
		return WEBEID_OK;
	case CVQ_UTIL_ERR_CANCELLED:
	case CVQ_UTIL_ERR_EMPTY:
		return WEBEID_ERR_CANCELLED;
	case CVQ_UTIL_ERR_TIMEOUT:
		return WEBEID_ERR_TIMEOUT;
	default:
		return WEBEID_ERR_FATAL;
	}
}

webeid_err webeid_dialog_pin(const webeid_config *cfg, const char *desc, const char *error,
                             char *pin, size_t cap)
{
	struct cvq_pinentry_prompt p = {
		.title = _("Citizen card"),
		.description = desc,
		.prompt = _("PIN:"),
		.error = error,
		.ok_label = _("Approve"),
		.cancel_label = _("Cancel"),
		.timeout_s = cfg->pin_timeout,
		.cancel_fd = -1,
	};

	return map(cvq_pinentry_getpin(cfg->pinentry, &p, pin, cap));
}

webeid_err webeid_dialog_confirm(const webeid_config *cfg, const char *desc, const char *ok,
                                 const char *cancel, bool *yes)
{
	struct cvq_pinentry_prompt p = {
		.title = _("Citizen card"),
		.description = desc,
		.ok_label = ok,
		.cancel_label = cancel,
		.timeout_s = cfg->pin_timeout,
		.cancel_fd = -1,
	};

	*yes = false;
	return map(cvq_pinentry_confirm(cfg->pinentry, &p, yes));
}
