#!/usr/bin/env python3
"""Writes cases.jsonl: the attack corpus of issue #11, one case a line.

  {"name", "path": "/v1/sign" | "/v1/authenticate", "body": {...},
   "expect": "refuse", "field", "reason"}     -> 400 naming field and reason
  {"name", "path", "body", "expect": "show"}  -> signed; the terminal must
                                                  show what the receipt holds

Run it again after editing; the test reads only cases.jsonl.
"""
import json
import sys

CH = "JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU="  # 32 random bytes
cases = []


def pay(**kw):
    tx = {"type": "payment", "payee": "École de musique", "amount": "45.00",
          "currency": "EUR", "reference": "INSCR-2026-0042"}
    tx.update(kw)
    return {k: v for k, v in tx.items() if v is not None}


def refuse(name, tx, field, reason):
    cases.append({"name": name, "path": "/v1/sign", "body": {"transaction": tx},
                  "expect": "refuse", "field": field, "reason": reason})


def refuse_auth(name, body, field, reason):
    cases.append({"name": name, "path": "/v1/authenticate", "body": body,
                  "expect": "refuse", "field": field, "reason": reason})


def show(name, tx, ocr=False):
    c = {"name": name, "path": "/v1/sign", "body": {"transaction": tx}, "expect": "show"}
    if ocr:
        c["ocr"] = True  # also read from pinentry-gtk-2's pixels
    cases.append(c)


def show_auth(name, origin):
    cases.append({"name": name, "path": "/v1/authenticate",
                  "body": {"challenge": CH, "origin": origin}, "expect": "show"})


P = "transaction.payee"
# --- the C1 attack, and every kind of C0/C1 control
refuse("c1-csi-erase", pay(payee="\u009b1G\u009b2KPaiement de 45,00 € à École de musique", amount="4500.00"), P, "control")
for cp in (0x80, 0x84, 0x85, 0x8d, 0x90, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f):
    refuse("c1-u%04x" % cp, pay(payee="École" + chr(cp) + "de musique"), P, "control")
for cp in (0x01, 0x07, 0x08, 0x09, 0x0a, 0x0d, 0x1b, 0x7f):
    refuse("c0-u%04x" % cp, pay(payee="École" + chr(cp) + "de musique"), P, "control")
refuse("c0-esc-in-reference-field", pay(description="Piano\u001b[2K"), "transaction.description", "control")
# --- signed but never shown: every field must be in the sentence
for k in ("iban", "recurrence", "beneficiary", "amount_total", "mandate", "Description", "payee2"):
    refuse("extra-" + k, pay(**{k: "FR7630006000011234567890189"}), "transaction." + k, "unknown_field")
refuse("extra-in-booking", {"type": "booking", "facility": "Gymnase", "date": "2026-09-01", "time": "10:00",
                            "reference": "B-1", "payee": "Autre"}, "transaction.payee", "unknown_field")
refuse("type-raw", {"type": "sepa_mandate_recurring", "payee": "x"}, "transaction.type", "unknown_type")
refuse("type-case", pay(type="Payment"), "transaction.type", "unknown_type")
refuse("type-missing", {"payee": "x"}, "transaction.type", "missing")
refuse("type-number", pay(type=1), "transaction.type", "not_a_string")
refuse("required-missing", pay(reference=None), "transaction.reference", "missing")
refuse("value-number", pay(amount=45), "transaction.amount", "not_a_string")
refuse("value-null", pay(payee=None, description=None) | {"payee": None}, P, "not_a_string")
refuse("value-object", pay(payee={"name": "x"}), P, "not_a_string")
refuse("value-array", pay(payee=["x"]), P, "not_a_string")
refuse("value-empty", pay(payee=""), P, "empty")
# --- bidi controls, overrides, isolates, marks
for cp in (0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c):
    refuse("bidi-u%04x" % cp, pay(payee="École " + chr(cp) + "de musique"), P, "bidi_control")
refuse("bidi-rlo-amount-in-description", pay(description="\u202e00,0054"), "transaction.description", "bidi_control")
# --- invisible and format characters
for cp in (0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x00ad, 0x180e, 0x2061, 0x2062, 0x2063, 0x2064, 0x206a):
    refuse("format-u%04x" % cp, pay(payee="École" + chr(cp) + " de musique"), P, "format")
refuse("zwsp-160-appended", pay(payee="École de musique" + "\u200b" * 160), P, "too_long")
refuse("zwsp-40-appended", pay(payee="École de musique" + "\u200b" * 40), P, "format")
refuse("hangul-filler", pay(payee="École\u3164de"), P, "invisible")
# --- combining marks and normalisation
refuse("nfd-e-acute", pay(payee="E\u0301cole de musique"), P, "not_nfc")
refuse("nfd-e-diaeresis", pay(payee="Noe\u0308l"), P, "not_nfc")
refuse("strike-u0336", pay(payee="E\u0336cole de musique"), P, "combining_mark")
refuse("strike-amount-description", pay(description="4\u03365\u0336,00"), "transaction.description", "combining_mark")
refuse("enclosing-u20dd", pay(payee="x\u20dd"), P, "combining_mark")
refuse("stacked-marks", pay(payee="É\u0300\u0300\u0300"), P, "combining_mark")
# --- other scripts and look-alikes
refuse("cyrillic-homoglyph", pay(payee="Éсоle de musique"), P, "script")
refuse("greek-epsilon", pay(payee="\u0395cole de musique"), P, "script")
refuse("armenian-o", pay(payee="Éc\u0585le de musique"), P, "script")
refuse("cherokee", pay(payee="\u13a0cole"), P, "script")
refuse("cyrillic-whole", pay(payee="соре"), P, "script")
refuse("fullwidth-latin", pay(payee="\uff25cole de musique"), P, "compatibility_form")
refuse("math-bold", pay(payee="\U0001d404cole de musique"), P, "compatibility_form")
refuse("ligature-fi", pay(payee="Of\ufb01ce du tourisme"), P, "compatibility_form")
refuse("superscript-amount", pay(description="45\u00b2"), "transaction.description", "compatibility_form")
refuse("mixed-digits", pay(payee="Club \u0663\u0660"), P, "script")
# --- tags, separators, selectors, private use, unassigned
refuse("tag-a", pay(payee="École\U000e0041"), P, "tag")
refuse("tag-cancel", pay(payee="École\U000e007f"), P, "tag")
refuse("line-sep", pay(payee="École\u2028de musique"), P, "line_separator")
refuse("para-sep", pay(payee="École\u2029de musique"), P, "line_separator")
refuse("vs16", pay(payee="École\ufe0f"), P, "variation_selector")
refuse("vs-supplement", pay(payee="École\U000e0100"), P, "variation_selector")
refuse("private-use", pay(payee="École\ue000"), P, "private_use")
refuse("private-use-plane15", pay(payee="École\U000f0000"), P, "private_use")
refuse("unassigned", pay(payee="École\u0378"), P, "unassigned")
refuse("noncharacter", pay(payee="École\ufffe"), P, "unassigned")
# --- spaces a person cannot count
refuse("space-u2000-not-nfc", pay(payee="École\u2000de musique"), P, "not_nfc")
for cp in (0x00a0, 0x2002, 0x2007, 0x2009, 0x202f, 0x205f, 0x3000):
    refuse("space-u%04x" % cp, pay(payee="École" + chr(cp) + "de musique"), P, "space")
refuse("space-leading", pay(payee=" École de musique"), P, "space")
refuse("space-trailing", pay(payee="École de musique "), P, "space")
refuse("space-double", pay(payee="École  de musique"), P, "space")
refuse("too-long-name", pay(payee="x" * 81), P, "too_long")
refuse("too-long-text", pay(description="y" * 201), "transaction.description", "too_long")
# --- currencies and amounts
C, A = "transaction.currency", "transaction.amount"
for code, why in (("ZZZ", "unknown_currency"), ("XAU", "not_legal_tender"), ("XXX", "not_legal_tender"),
                  ("XTS", "not_legal_tender"), ("DEM", "unknown_currency"), ("eur", "not_iso4217"),
                  ("EURO", "not_iso4217"), ("€", "not_iso4217")):
    refuse("currency-" + code, pay(currency=code), C, why)
for amt, why in (("1234567890123.00", "too_large"), ("45", "decimals"), ("45.0", "decimals"),
                 ("45.000", "decimals"), ("045.00", "syntax"), ("-45.00", "syntax"), ("4,500.00", "syntax"),
                 ("1e3.00", "syntax"), ("45.00 ", "decimals"), ("0.00", "zero"), ("+1.00", "syntax")):
    refuse("amount-" + amt.replace(" ", "_"), pay(amount=amt), A, why)
refuse("amount-jpy-decimals", pay(currency="JPY", amount="4500.00"), A, "decimals")
refuse("amount-kwd-two-decimals", pay(currency="KWD", amount="1.00"), A, "decimals")
# --- references and dates
R = "transaction.reference"
for ref in ("INSCR 2026", "RÉF-1", "-x", "x" * 41, "a\\b", "réf.1"):
    refuse("reference-" + ref[:12], pay(reference=ref), R, "syntax")
bk = {"type": "booking", "facility": "Gymnase", "date": "2026-09-01", "time": "10:00", "reference": "B-1"}
refuse("date-feb-30", bk | {"date": "2026-02-30"}, "transaction.date", "not_a_date")
refuse("date-month-13", bk | {"date": "2026-13-01"}, "transaction.date", "not_a_date")
refuse("date-short", bk | {"date": "26-09-01"}, "transaction.date", "syntax")
refuse("time-24", bk | {"time": "24:00"}, "transaction.time", "syntax")
refuse("booking-currency-alone", bk | {"currency": "EUR"}, "transaction.currency", "requires_amount")
refuse("booking-amount-alone", bk | {"amount": "5.00"}, "transaction.amount", "requires_currency")
cases.append({"name": "sign-extra-member", "path": "/v1/sign", "expect": "refuse",
              "body": {"transaction": pay(), "callback": "https://evil.example"},
              "field": "callback", "reason": "unknown_field"})
cases.append({"name": "sign-no-transaction", "path": "/v1/sign", "expect": "refuse",
              "body": {"reader": "x"}, "field": "transaction", "reason": "missing"})
# --- /v1/authenticate: Web eID origins and challenges
O = "origin"
for origin, why in (("http://portail.ville.example", "not_https"),
                    ("https://portail.ville.example/", "has_path"),
                    ("https://portail.ville.example/login", "has_path"),
                    ("https://portail.ville.example?next=/pay", "has_path"),
                    ("https://portail.ville.example#x", "has_path"),
                    ("https://marie@portail.ville.example", "has_userinfo"),
                    ("https://portail.ville.example:0", "bad_port"),
                    ("https://portail.ville.example:99999", "bad_port"),
                    ("https://portail.ville.example:0443", "bad_port"),
                    ("https://portail.ville.example:", "bad_port"),
                    ("https://PORTAIL.ville.example", "not_canonical"),
                    ("https://portail.ville.example.", "bad_host"),
                    ("https://", "bad_host"),
                    ("https://Paiement de 45,00 € validé", "bad_host"),
                    ("https://portail\u009b2K.example", "control"),
                    ("https://\u202eelpmaxe.liatrop", "bidi_control"),
                    ("https://p\u0430ypal.example", "script"),
                    ("https://xn--80ak6aa92e.com", "script"),
                    ("https://portail\u200b.example", "format"),
                    ("javascript:alert(1)", "not_https")):
    refuse_auth("origin-" + origin[:30], {"challenge": CH, "origin": origin}, O, why)
refuse_auth("origin-missing", {"challenge": CH}, O, "missing")
refuse_auth("origin-number", {"challenge": CH, "origin": 443}, O, "not_a_string")
for ch, why in (("c", "length"), ("A" * 43, "length"), ("A" * 132, "length"),
                ("!" * 44, "not_base64"), (CH.replace("/", "_"), "not_base64"),
                ("A" * 42 + "==", "too_short"), (CH[:20] + "=" + CH[21:], "not_base64"),
                ("A" * 40 + "A==A", "not_base64")):
    refuse_auth("challenge-" + why + "-" + str(len(ch)), {"challenge": ch, "origin": "https://portail.ville.example"},
                "challenge", why)
refuse_auth("auth-extra-member", {"challenge": CH, "origin": "https://portail.ville.example", "redirect": "x"},
            "redirect", "unknown_field")

# --- what must be shown, faithfully
show("demo-payment", pay(), ocr=True)
show("payment-description", pay(description="Piano, 1er trimestre"))
show("payment-grouping", pay(amount="999999999999.99", payee="Trésor public", reference="TP-1"), ocr=True)
show("payment-4500", pay(amount="4500.00", payee="Piscine municipale", reference="PISC-7"), ocr=True)
show("payment-jpy", pay(amount="1500", currency="JPY", payee="Musée", reference="J-1"))
show("payment-kwd", pay(amount="12.345", currency="KWD", payee="Ambassade", reference="K-1"))
show("payment-chf", pay(amount="80.50", currency="CHF", payee="Crèche Les Pâquerettes", reference="CR-2"), ocr=True)
show("payment-gbp", pay(amount="10.00", currency="GBP", payee="L’Atelier d’Élise", reference="AT/3"))
show("payee-oe", pay(payee="Œuvre de l’Hôpital", reference="OH.4"))
show("payee-nordic", pay(payee="Ærøskøbing Kommune", reference="AE_5"))
show("payee-german", pay(payee="Müller & Söhne", reference="MS-6"), ocr=True)
show("payee-portuguese", pay(payee="São Tomé", reference="ST-7"))
show("payee-digits", pay(payee="Club 2000", reference="C2000"))
show("payee-80", pay(payee="Association sportive et culturelle des habitants du quartier de la Gare Sud", reference="L-80"))
show("description-quotes", pay(description="Cours « découverte » de piano"))
show("school-registration", {"type": "school_registration", "pupil": "Léa Martin", "school": "École Jules Ferry",
                             "school_year": "2026-2027", "reference": "SR-7"})
show("school-registration-fee", {"type": "school_registration", "pupil": "Noël Dubois", "school": "Collège Pasteur",
                                 "school_year": "2026-2027", "reference": "SR-8", "amount": "25.00", "currency": "EUR"})
show("booking", bk)
show("booking-price", bk | {"facility": "Salle des fêtes", "amount": "80.00", "currency": "EUR", "reference": "B-2"})
show("rental", {"type": "rental", "item": "Vélo électrique", "start": "2026-07-01", "end": "2026-07-15",
                "amount": "30.00", "currency": "EUR", "reference": "R-9"})
show("document-consent", {"type": "document_consent", "document": "Justificatif de domicile",
                          "recipient": "Caisse des écoles", "purpose": "inscription à la cantine",
                          "until": "2027-06-30", "reference": "DC-3"})
show_auth("login-ascii", "https://portail.ville.example")
show_auth("login-port", "https://portail.ville.example:8443")
show_auth("login-idn-unicode", "https://mairie-alençon.example")
show_auth("login-idn-punycode", "https://xn--mairie-alenon-sgb.example")

with open(sys.argv[1] if len(sys.argv) > 1 else "cases.jsonl", "w", encoding="utf-8") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=True) + "\n")
print(len(cases), "cases,", sum(c["expect"] == "show" for c in cases), "shown", file=sys.stderr)
