/*
 * libcvqenrol — progress by callback: the library never prints; the
 * program that drives an enrolment decides where its steps go (a
 * terminal, a batch's progress lines, a kiosk screen).
 */
#include <stdarg.h>
#include <stdio.h>

#include <cvq/enrol.h>

void
cvq_enrol_progress_emit(cvq_enrol_progress_cb cb, void *ctx, enum cvq_enrol_event event,
                        int step, const char *guid, const char *fmt, ...)
{
	struct cvq_enrol_progress p = {.event = event, .step = step, .guid = guid};
	char text[512];
	va_list ap;

	if (!cb)
		return;
	text[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		/* truncation is fine: the text is narration, the step is the data */
		(void)vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	p.total = event == CVQ_ENROL_EV_STEP ? CVQ_ENROL_STEP__COUNT - 1 : 0;
	p.text = text;
	cb(ctx, &p);
}

const char *
cvq_enrol_event_name(enum cvq_enrol_event event)
{
	switch (event) {
	case CVQ_ENROL_EV_STEP: return "step";
	case CVQ_ENROL_EV_INFO: return "info";
	case CVQ_ENROL_EV__COUNT: break;
	}
	return "unknown";
}
