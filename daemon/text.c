#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/uenum.h>
#include <unicode/uchar.h>
#include <unicode/ucurr.h>
#include <unicode/udat.h>
#include <unicode/uidna.h>
#include <unicode/unorm2.h>
#include <unicode/unum.h>
#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

struct cvqd_text {
	bool allowed[USCRIPT_CODE_LIMIT];
	size_t n_scripts;
	USpoofChecker *sc;
	UIDNA *idna;
};

static int add_script(cvqd_text *t, const char *name, char *err, size_t errlen)
{
	int32_t v = u_getPropertyValueEnum(UCHAR_SCRIPT, name);
	if (v < 0 || v >= USCRIPT_CODE_LIMIT || v == USCRIPT_COMMON || v == USCRIPT_INHERITED ||
	    v == USCRIPT_UNKNOWN) {
		snprintf(err, errlen, "unknown script '%.40s'", name);
		return -1;
	}
	if (!t->allowed[v])
		t->n_scripts++;
	t->allowed[v] = true;
	return 0;
}

cvqd_text *cvqd_text_new(const char *scripts, char *err, size_t errlen)
{
	UErrorCode st = U_ZERO_ERROR;
	cvqd_text *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *p = scripts && scripts[0] ? scripts : "Latin";
	while (*p) {
		char name[64];
		size_t n = strcspn(p, ",");
		const char *s = p;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof name) {
			snprintf(err, errlen, "bad script list '%.60s'", scripts);
			goto fail;
		}
		memcpy(name, s, n);
		name[n] = '\0';
		if (add_script(t, name, err, errlen))
			goto fail;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	t->sc = uspoof_open(&st);
	uspoof_setChecks(t->sc, USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS |
	                 USPOOF_HIDDEN_OVERLAY | USPOOF_INVISIBLE, &st);
	/* One script: nothing may mix with it. Several: ICU's moderate level. */
	uspoof_setRestrictionLevel(t->sc, t->n_scripts == 1 ? USPOOF_HIGHLY_RESTRICTIVE
	                                                    : USPOOF_MODERATELY_RESTRICTIVE);
	t->idna = uidna_openUTS46(UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
	                          UIDNA_CHECK_CONTEXTO | UIDNA_NONTRANSITIONAL_TO_ASCII |
	                          UIDNA_NONTRANSITIONAL_TO_UNICODE, &st);
	if (U_FAILURE(st)) {
		snprintf(err, errlen, "ICU: %s", u_errorName(st));
		goto fail;
	}
	return t;
fail:
	cvqd_text_free(t);
	return NULL;
}

void cvqd_text_free(cvqd_text *t)
{
	if (!t)
		return;
	if (t->sc)
		uspoof_close(t->sc);
	if (t->idna)
		uidna_close(t->idna);
	free(t);
}

/* The reason for one code point, or NULL. */
static const char *char_reason(const cvqd_text *t, UChar32 c)
{
	UErrorCode st = U_ZERO_ERROR;
	if (c < 0)
		return "not_utf8";
	/* The specific reasons first: most of these are Cf too. */
	if (u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL))
		return "bidi_control";
	if (u_hasBinaryProperty(c, UCHAR_VARIATION_SELECTOR))
		return "variation_selector";
	if (c >= 0xE0000 && c <= 0xE007F)
		return "tag";
	switch (u_charType(c)) {
	case U_CONTROL_CHAR:
		return "control";
	case U_FORMAT_CHAR:
		return "format";
	case U_PRIVATE_USE_CHAR:
		return "private_use";
	case U_UNASSIGNED:
		return "unassigned";
	case U_LINE_SEPARATOR:
	case U_PARAGRAPH_SEPARATOR:
		return "line_separator";
	case U_SURROGATE:
		return "not_utf8";
	case U_NON_SPACING_MARK:
	case U_ENCLOSING_MARK:
	case U_COMBINING_SPACING_MARK:
		/* Left after NFC, a mark strikes, stacks or hides what it sits on. */
		return "combining_mark";
	case U_SPACE_SEPARATOR:
		return c == 0x20 ? NULL : "space";
	default:
		break;
	}
	if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
		return "invisible";
	UScriptCode sc = uscript_getScript(c, &st);
	if (U_FAILURE(st))
		return "script";
	if (sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED)
		return NULL;
	return sc >= 0 && sc < USCRIPT_CODE_LIMIT && t->allowed[sc] ? NULL : "script";
}

/* True when every letter of s[0..n) is Latin (or Common/Inherited). */
static bool only_latin(const char *s, int32_t n)
{
	for (int32_t i = 0; i < n;) {
		UChar32 c;
		UErrorCode st = U_ZERO_ERROR;
		U8_NEXT(s, i, n, c);
		if (c < 0)
			return false;
		UScriptCode sc = uscript_getScript(c, &st);
		if (sc != USCRIPT_LATIN && sc != USCRIPT_COMMON && sc != USCRIPT_INHERITED)
			return false;
	}
	return true;
}

static const char *spoof_reason(const cvqd_text *t, const char *s, size_t n)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t r = uspoof_check2UTF8(t->sc, s, (int32_t)n, NULL, &st);
	if (U_FAILURE(st))
		return "spoof_check";
	if (r & USPOOF_RESTRICTION_LEVEL)
		return "mixed_script";
	if (r & USPOOF_MIXED_NUMBERS)
		return "mixed_numbers";
	if (r & USPOOF_HIDDEN_OVERLAY)
		return "hidden_overlay";
	if (r & USPOOF_INVISIBLE)
		return "invisible";
	/*
	 * Whole-script confusables (ICU no longer tests them in check2): a
	 * name not in Latin whose skeleton is plain ASCII reads as a Latin
	 * name ("соре" in Cyrillic for "cope"; "Москва" keeps ĸ and ʙ in its
	 * skeleton and passes). Only reachable when [display] scripts allows
	 * more than Latin.
	 */
	if (!only_latin(s, (int32_t)n)) {
		char skel[2048];
		int32_t k = uspoof_getSkeletonUTF8(t->sc, 0, s, (int32_t)n, skel, sizeof skel, &st);
		if (U_FAILURE(st) || k >= (int32_t)sizeof skel)
			return "spoof_check";
		bool ascii = true;
		for (int32_t i = 0; i < k; i++)
			if ((unsigned char)skel[i] >= 0x80)
				ascii = false;
		if (ascii)
			return "confusable";
	}
	return NULL;
}

const char *cvqd_text_check(const cvqd_text *t, const char *s, size_t n,
                            size_t max_chars, bool name, long *cp)
{
	UErrorCode st = U_ZERO_ERROR;
	const char *why = NULL;
	UChar *u = NULL;
	int32_t ulen = 0;
	if (cp)
		*cp = -1;
	if (n == 0)
		return "empty";
	if (n > 4 * max_chars || n > INT32_MAX / 2)
		return "too_long";
	u = malloc((n + 1) * sizeof *u);
	if (!u)
		return "internal";
	u_strFromUTF8(u, (int32_t)n + 1, &ulen, s, (int32_t)n, &st);
	if (U_FAILURE(st)) {
		why = "not_utf8";
		goto out;
	}
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&st), *nfkc = unorm2_getNFKCInstance(&st);
	if (U_FAILURE(st)) {
		why = "internal";
		goto out;
	}
	if (!unorm2_isNormalized(nfc, u, ulen, &st)) {
		why = "not_nfc";
		goto out;
	}
	size_t count = 0;
	bool prev_space = true; /* a leading space counts as doubled */
	for (int32_t i = 0; i < (int32_t)n;) {
		UChar32 c;
		U8_NEXT(s, i, (int32_t)n, c);
		count++;
		why = char_reason(t, c);
		if (!why && c == 0x20 && (prev_space || i == (int32_t)n))
			why = "space";
		if (why) {
			if (cp)
				*cp = c;
			goto out;
		}
		prev_space = c == 0x20;
	}
	if (count > max_chars) {
		why = "too_long";
		goto out;
	}
	/* Fullwidth letters, ligatures, superscripts: another look for the same text. */
	if (!unorm2_isNormalized(nfkc, u, ulen, &st)) {
		why = "compatibility_form";
		goto out;
	}
	if (name)
		why = spoof_reason(t, s, n);
out:
	free(u);
	return why;
}

const char *cvqd_text_literal(const cvqd_text *t, const char *s, size_t n, long *cp)
{
	*cp = -1;
	for (int32_t i = 0; i < (int32_t)n;) {
		UChar32 c;
		U8_NEXT(s, i, (int32_t)n, c);
		const char *why = c == '\n' ? NULL : char_reason(t, c);
		if (why) {
			*cp = c;
			return why;
		}
	}
	return NULL;
}

const char *cvqd_text_currency(const char *code, int *digits)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar u[4];
	if (!code || strlen(code) != 3)
		return "not_iso4217";
	for (int i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return "not_iso4217";
	/* X..: precious metals, SDRs, test and "no currency" codes. */
	if (code[0] == 'X')
		return "not_legal_tender";
	/* ICU's list of ISO 4217 currencies in use (ucurr_isAvailable(now)
	 * says no for GBP in ICU 72). */
	bool found = false;
	const char *c;
	UEnumeration *e = ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED, &st);
	while (U_SUCCESS(st) && !found && (c = uenum_next(e, NULL, &st)))
		found = !strcmp(c, code);
	uenum_close(e);
	if (!found || U_FAILURE(st))
		return "unknown_currency";
	u_charsToUChars(code, u, 3);
	u[3] = 0;
	int32_t d = ucurr_getDefaultFractionDigitsForUsage(u, UCURR_USAGE_STANDARD, &st);
	if (U_FAILURE(st) || d < 0 || d > 4)
		return "unknown_currency";
	*digits = d;
	return NULL;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static const char *to_utf8(const UChar *u, int32_t ulen, char *out, size_t len)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t olen = 0;
	if (len > INT32_MAX)
		len = INT32_MAX;
	u_strToUTF8(out, (int32_t)len, &olen, u, ulen, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || (size_t)olen >= len)
		return "too_long";
	return NULL;
}

const char *cvqd_text_amount(const char *amount, const char *currency, const char *locale,
                             char *out, size_t len)
{
	UErrorCode st = U_ZERO_ERROR;
	int digits = 0;
	const char *why = cvqd_text_currency(currency, &digits);
	if (why)
		return "currency";
	size_t n = strlen(amount), ip = n;
	if (!digits && strchr(amount, '.'))
		return "decimals";
	if (digits) {
		ip = n - (size_t)digits - 1;
		if (n < (size_t)digits + 2 || amount[ip] != '.' || !all_digits(amount + ip + 1, (size_t)digits))
			return "decimals";
	}
	if (!all_digits(amount, ip) || (ip > 1 && amount[0] == '0'))
		return "syntax";
	if (ip > 12)
		return "too_large";
	if (strspn(amount, "0.") == n)
		return "zero";
	UChar u[4], buf[128];
	u_charsToUChars(currency, u, 3);
	u[3] = 0;
	UNumberFormat *f = unum_open(UNUM_CURRENCY, NULL, 0, locale, NULL, &st);
	unum_setTextAttribute(f, UNUM_CURRENCY_CODE, u, 3, &st);
	if (U_SUCCESS(st)) {
		unum_setAttribute(f, UNUM_MIN_FRACTION_DIGITS, digits);
		unum_setAttribute(f, UNUM_MAX_FRACTION_DIGITS, digits);
	}
	int32_t k = unum_formatDecimal(f, amount, (int32_t)n, buf, 128, NULL, &st);
	unum_close(f);
	if (U_FAILURE(st) || k >= 128)
		return "format";
	return to_utf8(buf, k, out, len);
}

const char *cvqd_text_date(const char *iso, const char *locale, char *out, size_t len)
{
	UErrorCode st = U_ZERO_ERROR;
	int y, m, d;
	char tail;
	if (strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-' || !all_digits(iso, 4) ||
	    !all_digits(iso + 5, 2) || !all_digits(iso + 8, 2) ||
	    sscanf(iso, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return "syntax";
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > 31)
		return "not_a_date";
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12 };
	time_t tt = timegm(&tm);
	struct tm back;
	if (!gmtime_r(&tt, &back) || back.tm_mday != d || back.tm_mon != m - 1)
		return "not_a_date"; /* 2026-02-30 */
	static const UChar utc[] = { 'U', 'T', 'C', 0 };
	UChar buf[128];
	UDateFormat *f = udat_open(UDAT_NONE, UDAT_LONG, locale, utc, -1, NULL, -1, &st);
	int32_t k = udat_format(f, (UDate)tt * 1000.0, buf, 128, NULL, &st);
	udat_close(f);
	if (U_FAILURE(st) || k >= 128)
		return "format";
	return to_utf8(buf, k, out, len);
}

const char *cvqd_text_origin(const cvqd_text *t, const char *origin,
                             char *ascii, size_t alen, char *shown, size_t slen)
{
	UErrorCode st = U_ZERO_ERROR;
	UIDNAInfo info = UIDNA_INFO_INITIALIZER;
	char ahost[256], uhost[1024];
	const char *why;
	size_t n = strlen(origin);
	if (strncmp(origin, "https://", 8) != 0)
		return "not_https";
	if (n == 8)
		return "bad_host";
	const char *host = origin + 8;
	size_t hl = strcspn(host, "/?#");
	if (host[hl])
		return "has_path";
	if (strchr(host, '@'))
		return "has_userinfo";
	const char *colon = strrchr(host, ':'), *port = NULL;
	if (colon) {
		port = colon + 1;
		hl = (size_t)(colon - host);
		size_t pl = strlen(port);
		if (!all_digits(port, pl) || pl > 5 || port[0] == '0' || atol(port) > 65535)
			return "bad_port";
	}
	if (hl == 0 || hl > 253 || host[hl - 1] == '.' || host[0] == '.')
		return "bad_host";
	/* The checks a name gets, on what was sent, before IDNA maps anything. */
	if ((why = cvqd_text_check(t, host, hl, 253, false, NULL)))
		return why;
	int32_t k = uidna_nameToASCII_UTF8(t->idna, host, (int32_t)hl, ahost, sizeof ahost, &info, &st);
	if (U_FAILURE(st) || info.errors || k <= 0 || k >= (int32_t)sizeof ahost)
		return "bad_host";
	ahost[k] = '\0';
	bool sent_ascii = true;
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)host[i] >= 0x80)
			sent_ascii = false;
	/* An ASCII origin is bound as sent: "PORTAIL.example" is not the origin
	 * a browser serialises, so it is refused rather than silently fixed. */
	if (sent_ascii && ((size_t)k != hl || memcmp(ahost, host, hl) != 0))
		return "not_canonical";
	int32_t u = uidna_nameToUnicodeUTF8(t->idna, ahost, k, uhost, sizeof uhost, &info, &st);
	if (U_FAILURE(st) || info.errors || u <= 0 || u >= (int32_t)sizeof uhost)
		return "bad_host";
	uhost[u] = '\0';
	if ((why = cvqd_text_check(t, uhost, (size_t)u, 253, true, NULL)))
		return why;
	int a = snprintf(ascii, alen, "https://%s%s%s", ahost, port ? ":" : "", port ? port : "");
	int b = snprintf(shown, slen, "https://%s%s%s", uhost, port ? ":" : "", port ? port : "");
	if (a < 0 || (size_t)a >= alen || b < 0 || (size_t)b >= slen)
		return "too_long";
	return NULL;
}
