/*
 * cvqd — text as a person reads it (ICU). Everything the PIN dialog shows
 * from a client passes here first, so that what is on the screen is what
 * the receipt holds, character for character:
 *
 *   - NFC and nothing the eye cannot see or place: general categories Cc,
 *     Cf, Co, Cn, Zl, Zp, bidi controls, variation selectors, tag
 *     characters, default-ignorables, combining marks left after NFC,
 *     spaces other than U+0020 (and leading, trailing or doubled ones),
 *     compatibility forms (text that NFKC changes);
 *   - letters only from the allowed scripts ([display] scripts, Latin by
 *     default; Common and Inherited always);
 *   - names (payees, schools, origins) also through ICU's spoof checker
 *     (UTS #39: restriction level, mixed numbers, hidden overlays) and a
 *     whole-script confusable test on the skeleton.
 *
 * Refusals are stable reason codes ("bidi_control", "not_nfc", …) listed
 * in docs/api.md; portals match on them.
 */
#ifndef CVQD_TEXT_H
#define CVQD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cvqd_text cvqd_text;

/*
 * scripts: comma-separated ICU script names or codes ("Latin",
 * "Latin,Greek"); NULL or "" = Latin. NULL with a reason on a bad name.
 */
cvqd_text *cvqd_text_new(const char *scripts, char *err, size_t errlen);
void cvqd_text_free(cvqd_text *t);

/*
 * NULL when s[0..n) is acceptable text of 1..max_chars code points, else
 * a reason code; *cp (may be NULL) gets the offending code point or -1.
 * name = true adds the spoof checks.
 */
const char *cvqd_text_check(const cvqd_text *t, const char *s, size_t n,
                            size_t max_chars, bool name, long *cp);

/*
 * The literal text of a schema's sentence (configuration, not requests):
 * the characters checks only, line breaks allowed. NULL, or a reason.
 */
const char *cvqd_text_literal(const cvqd_text *t, const char *s, size_t n, long *cp);

/*
 * Currency: NULL when code is an ISO 4217 currency ICU knows and that is
 * legal tender today (X.. codes such as XAU, XXX, XTS are not); *digits
 * gets its number of decimals.
 */
const char *cvqd_text_currency(const char *code, int *digits);

/*
 * Amount "4500.00" with exactly the currency's decimals, no sign, no
 * leading zero, at most 12 integer digits, not zero: NULL, and the ICU
 * rendering for the locale ("4 500,00 €" in fr: U+202F groups, U+00A0
 * before the sign) in out. Else a reason code.
 */
const char *cvqd_text_amount(const char *amount, const char *currency, const char *locale,
                             char *out, size_t len);

/* "2026-09-01", a real day of 1900-2199: NULL and "1 septembre 2026". */
const char *cvqd_text_date(const char *iso, const char *locale, char *out, size_t len);

/*
 * Web eID origin: "https://host[:port]" exactly (no user, path, query,
 * fragment or trailing slash; port 1-65535 without leading zeros; ASCII
 * hosts lowercase). The host goes through UTS #46 (uidna): ascii gets the
 * origin to bind ("https://xn--…"), shown the Unicode form after the name
 * checks. NULL, or a reason code.
 */
const char *cvqd_text_origin(const cvqd_text *t, const char *origin,
                             char *ascii, size_t alen, char *shown, size_t slen);

#endif
