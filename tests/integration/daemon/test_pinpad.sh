#!/usr/bin/env bash
# cvqd with a PIN-pad reader (tests/bench/pinpad) next to a plain vpcd
# reader. On the pad: the dialog shows what is approved (CONFIRM, never
# GETPIN) and the PIN is typed on the reader's keypad; a payment's
# receipt is checked by openssl cms -verify, a login's token by openssl;
# a wrong PIN gives the tries left, Cancel on the pad and the pad's
# timeout their errors, /v1/status answers while a fresh card waits at
# the pad, a dialog not confirmed never reaches the pad.
# The plain reader still asks the PIN through GETPIN. [pin] pinpad = never
# puts the pad reader back on GETPIN. With backend = pkcs11 and OpenSC's
# module, the pad reader's token (CKF_PROTECTED_AUTHENTICATION_PATH) gets
# the same CONFIRM dialog and OpenSC drives the pad.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

P=$CVQ_PINPAD_FIRST
pad_var=CVQ_READER_$P
PAD=${!pad_var}
PLAIN=$CVQ_READER_0
log_var=CVQ_PAD_${P}_LOG
PADLOG=${!log_var}
PKI=$CVQ_BENCH/pki
pki_init "$PKI"
card_enrol 0 0x1000 "Marie Dupont"
card_enrol "$P" 0x2000 "Jean Martin"
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"

export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
echo 123456 > "$CVQ_FAKE_PIN_FILE"
cvqd_config "$CVQ_BENCH/cvqd.conf"
cvqd_start "$CVQ_BENCH/cvqd.conf"
rd() { printf '.readers[] | select(.reader == "%s")' "$1"; }
wait_status "[$(rd "$PAD") | .card_present and .pinpad and .pin_tries_left == 3] == [true]"
wait_status "[$(rd "$PLAIN") | .card_present and (.pinpad | not)] == [true]"

tx='{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}'
sign_on() { api POST /v1/sign "{\"reader\":\"$1\",\"transaction\":$tx}"; }
fresh() { : > "$CVQ_FAKE_PINENTRY_LOG"; : > "$PADLOG"; }

echo "--- payment on the pad: CONFIRM, the PIN typed on the reader, receipt verified"
fresh
bench_pad_keys "$P" "pin 123456"
out=$(sign_on "$PAD")
[ "${out%% *}" = 200 ] || bench_fail "sign: $out"
grep -qx "SETDESC Paiement de 45,00"$'\xc2\xa0'"€ à École de musique — réf. INSCR-2026-0042" "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "dialog text: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
grep -qx "Confirmez, puis tapez votre code sur le clavier du lecteur" "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "no keypad instruction: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
grep -qx CONFIRM "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "no CONFIRM"
! grep -q GETPIN "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "GETPIN on a PIN-pad reader"
[ "$(cat "$PADLOG")" = "verify pin" ] || bench_fail "pad log: $(cat "$PADLOG")"
body=${out#* }
jq -r .receipt <<< "$body" | base64 -d > "$CVQ_BENCH/receipt.der"
openssl cms -verify -binary -inform DER -in "$CVQ_BENCH/receipt.der" -CAfile "$PKI/ca-crl.pem" -crl_check \
	-out "$CVQ_BENCH/receipt.json" || bench_fail "openssl cms -verify refused the receipt"
jq -e '.transaction.payee == "École de musique"' "$CVQ_BENCH/receipt.json" > /dev/null || bench_fail "receipt"
openssl cms -cmsout -print -inform DER -in "$CVQ_BENCH/receipt.der" | grep -q "CN=Jean Martin" \
	|| bench_fail "not signed by the pad reader's card"

echo "--- login on the pad: a token openssl verifies"
fresh
bench_pad_keys "$P" "pin 123456"
out=$(api POST /v1/authenticate "{\"reader\":\"$PAD\",\"challenge\":\"JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU=\",\"origin\":\"https://portail.ville.example\"}")
[ "${out%% *}" = 200 ] || bench_fail "authenticate: $out"
tok=${out#* }
{ printf '%s' "https://portail.ville.example" | openssl dgst -sha256 -binary
  printf '%s' 'JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU=' | openssl dgst -sha256 -binary; } > "$CVQ_BENCH/tbs.bin"
jq -r .token.signature <<< "$tok" | base64 -d > "$CVQ_BENCH/sig.raw"
ecdsa_raw_to_der "$CVQ_BENCH/sig.raw" "$CVQ_BENCH/sig.der"
openssl x509 -in "$PKI/card$P-9a.pem" -pubkey -noout > "$CVQ_BENCH/auth.pub"
openssl dgst -sha256 -verify "$CVQ_BENCH/auth.pub" -signature "$CVQ_BENCH/sig.der" "$CVQ_BENCH/tbs.bin" > /dev/null \
	|| bench_fail "token signature does not verify"
grep -q "SETDESC Connexion à https://portail.ville.example en tant que Jean Martin" "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "login dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
! grep -q GETPIN "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "GETPIN on a PIN-pad reader"

echo "--- wrong PIN on the pad: the tries left, no retry"
fresh
bench_pad_keys "$P" "pin 999999" "pin 123456"
out=$(sign_on "$PAD")
expect_error "$out" 403 pin_wrong
jq -e '.error.pin_tries_left == 2' <<< "${out#* }" > /dev/null || bench_fail "tries left: $out"
[ "$(cat "$PADLOG")" = "verify pin" ] || bench_fail "the pad was asked again: $(cat "$PADLOG")"
wait_status "[$(rd "$PAD") | .pin_tries_left == 2] == [true]"
[ "$(sign_on "$PAD" | cut -d' ' -f1)" = 200 ] || bench_fail "sign after a wrong PIN"

echo "--- Cancel on the pad: the same error as a cancelled dialog"
fresh
bench_pad_keys "$P" "cancel"
expect_error "$(sign_on "$PAD")" 409 pin_cancelled
[ "$(cat "$PADLOG")" = "verify cancel" ] || bench_fail "pad log: $(cat "$PADLOG")"

echo "--- nobody types on the pad: its timeout"
fresh
bench_pad_keys "$P" "timeout"
expect_error "$(sign_on "$PAD")" 408 pin_timeout

echo "--- a card put back, nobody has typed yet: /v1/status answers meanwhile"
bench_card_remove "$P"
bench_card_insert "$P"
fresh
sign_on "$PAD" > "$CVQ_BENCH/bg.out" &
bg=$!
for ((n = 0; n < 100; n++)); do grep -qx CONFIRM "$CVQ_FAKE_PINENTRY_LOG" && break; sleep 0.1; done
grep -qx CONFIRM "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "no dialog before the pad"
sleep 0.5 # the daemon now waits at the pad, holding the reader
# A hang check, not a timing: the pad would hold a blocked status for 20 s.
st=$(timeout 10 curl -s --unix-socket "$CVQ_BENCH/cvqd.sock" http://cvqd/v1/status) \
	|| bench_fail "/v1/status waited behind the PIN pad"
jq -e "[$(rd "$PAD") | .card_present] == [true]" <<< "$st" > /dev/null || bench_fail "status: $st"
bench_pad_keys "$P" "pin 123456"
wait "$bg"
[ "$(cut -d' ' -f1 < "$CVQ_BENCH/bg.out")" = 200 ] || bench_fail "sign after the status: $(cat "$CVQ_BENCH/bg.out")"
wait_status "[$(rd "$PAD") | .pin_tries_left == 3 and .pinpad] == [true]"

echo "--- the plain reader next to it: GETPIN, as ever"
fresh
out=$(sign_on "$PLAIN")
[ "${out%% *}" = 200 ] || bench_fail "sign on the plain reader: $out"
grep -qx GETPIN "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "no GETPIN on the plain reader"
! grep -q CONFIRM "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "CONFIRM on the plain reader"
[ ! -s "$PADLOG" ] || bench_fail "the pad was used for the plain reader"

echo "--- a dialog cancelled: the same error on both readers; the pad never asked"
cvqd_stop
export CVQ_FAKE_PINENTRY_CANCEL=1
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status "[$(rd "$PAD") | .card_present and .pinpad] == [true]"
fresh
expect_error "$(sign_on "$PAD")" 409 pin_cancelled
expect_error "$(sign_on "$PLAIN")" 409 pin_cancelled
[ ! -s "$PADLOG" ] || bench_fail "the pad asked after a cancelled dialog: $(cat "$PADLOG")"
cvqd_stop
unset CVQ_FAKE_PINENTRY_CANCEL

echo "--- [pin] pinpad = never: the pad reader asks through GETPIN"
cvqd_config "$CVQ_BENCH/never.conf"
sed -i 's/^\[pin\]$/[pin]\npinpad = never/' "$CVQ_BENCH/never.conf"
cvqd_start "$CVQ_BENCH/never.conf"
wait_status "[$(rd "$PAD") | .card_present and .pinpad] == [true]"
fresh
[ "$(sign_on "$PAD" | cut -d' ' -f1)" = 200 ] || bench_fail "sign with pinpad = never"
grep -qx GETPIN "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "no GETPIN with pinpad = never"
[ ! -s "$PADLOG" ] || bench_fail "the pad was used with pinpad = never"
cvqd_stop

echo "--- backend = pkcs11 through OpenSC's module: its PIN-pad token, the same dialog"
cvqd_config "$CVQ_BENCH/p11.conf" "backend = pkcs11" "pkcs11_module = $CVQ_OPENSC_MODULE"
cvqd_start "$CVQ_BENCH/p11.conf"
wait_status '[.readers[] | select(.reader == "Jean Martin") | .pinpad] == [true]'
wait_status '[.readers[] | select(.reader == "Marie Dupont") | .pinpad] == [false]'
fresh
# OpenSC logs in, then again for the PIN-always 9C key: two entries.
bench_pad_keys "$P" "pin 123456" "pin 123456"
out=$(api POST /v1/sign "{\"reader\":\"Jean Martin\",\"transaction\":$tx}")
[ "${out%% *}" = 200 ] || bench_fail "sign through OpenSC: $out"
jq -r .receipt <<< "${out#* }" | base64 -d > "$CVQ_BENCH/receipt2.der"
openssl cms -verify -binary -inform DER -in "$CVQ_BENCH/receipt2.der" -CAfile "$PKI/ca-crl.pem" -crl_check \
	-out /dev/null || bench_fail "openssl cms -verify refused the OpenSC receipt"
grep -qx CONFIRM "$CVQ_FAKE_PINENTRY_LOG" && ! grep -q GETPIN "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "OpenSC path dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
grep -q '^verify pin$' "$PADLOG" || bench_fail "OpenSC did not use the pad"
cvqd_stop

echo "--- journal: every operation, never a PIN"
rows=$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT op||','||result FROM journal ORDER BY id" | tr '\n' ' ')
[ "$rows" = "sign,ok authenticate,ok sign,pin_wrong sign,ok sign,pin_cancelled sign,pin_timeout sign,ok sign,ok sign,pin_cancelled sign,pin_cancelled sign,ok sign,ok " ] \
	|| bench_fail "journal: $rows"
! grep -q 123456 "$CVQ_BENCH/cvqd.log" || bench_fail "the PIN is in the log"
! strings "$CVQ_BENCH/journal.sqlite" | grep -q 123456 || bench_fail "the PIN is in the journal"
echo PASS
