#!/usr/bin/env bash
# What you see is what you sign (issue #11), judged outside cvqd: the
# attack corpus (wysiwys/cases.jsonl) against a real cvqd with a card.
# Every "refuse" case gets 400 naming its field and reason and never opens
# a dialog; every "show" case is signed through the real pinentry-tty in
# a real terminal emulator, tmux then GNU screen, and the screen read
# while the dialog waits must show what the receipt (opened by openssl
# cms) holds: its dialog text line for line and each signed field; and for
# five payments, pinentry-gtk-2 under Xvfb whose screenshot tesseract
# reads: amount, payee and reference must be the receipt's.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
W=$CVQ_SRC/tests/integration/daemon/wysiwys

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
card_enrol 0 0x1000 "Marie Dupont"
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"

# The pinentry: Debian's pinentry-tty on the emulator's terminal (cvqd sends
# its own terminal, if it has one, as OPTION ttyname: the emulator's
# instead), or pinentry-gtk-2 when term.tty names an X display.
runs=$CVQ_BENCH/pinentry-runs
: > "$runs"
cat > "$CVQ_BENCH/pinentry-term" <<EOP
#!/bin/sh
echo run >> '$runs'
tty=\$(cat '$CVQ_BENCH/term.tty')
case \$tty in
:*) DISPLAY=\$tty exec pinentry-gtk-2 --no-global-grab ;;  # an X display: the graphical dialog
   # (no grab: one dialog's grab still held as the next one maps made it fail)
esac
sed -u "s|^OPTION ttyname=.*|OPTION ttyname=\$tty|" | LC_ALL=C.UTF-8 exec pinentry-tty --ttyname "\$tty"
EOP
chmod +x "$CVQ_BENCH/pinentry-term"
cvqd_config "$CVQ_BENCH/cvqd.conf" "[pin]" "pinentry = $CVQ_BENCH/pinentry-term"
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '.readers[0].card_present and .readers[0].usable'

judge() { python3 "$W/judge.py" --socket "$CVQ_BENCH/cvqd.sock" --corpus "$W/cases.jsonl" \
	--ca "$PKI/ca-crl.pem" --work "$CVQ_BENCH" --tty-file "$CVQ_BENCH/term.tty" "$@"; }

n=$(grep -c . "$W/cases.jsonl")
[ "$n" -ge 100 ] || bench_fail "the corpus has $n cases, fewer than 100"

echo "--- refused, with the field and the reason, before any dialog"
judge --phase refuse || bench_fail "refusals"
[ ! -s "$runs" ] || bench_fail "a refused request started a PIN dialog"

echo "--- shown faithfully: pinentry-tty in tmux"
judge --phase show --terminal tmux || bench_fail "tmux"
echo "--- shown faithfully: pinentry-tty in GNU screen"
judge --phase show --terminal screen || bench_fail "screen"
echo "--- the pixels: pinentry-gtk-2 under Xvfb, read by tesseract (French)"
judge --phase show --terminal gtk || { grep -i pinentry "$CVQ_BENCH/cvqd.log" | tail -5 >&2; bench_fail "gtk"; }
ocr=$(grep -c '"ocr": true' "$W/cases.jsonl")

# Nothing was signed that the journal does not know of, and only shown cases.
shown=$(grep -c '"expect": "show"' "$W/cases.jsonl")
[ "$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT count(*) FROM journal WHERE result='ok'")" = $((2 * shown + ocr)) ] \
	|| bench_fail "journal: $(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT op, result FROM journal")"
cvqd_stop

echo "--- [display] schemas: a type of the city's own; a schema hiding a field stops the daemon"
cat > "$CVQ_BENCH/types.json" <<'EOJ'
{"parking_permit": {"fields": {"plate": {"kind": "reference", "required": true},
                               "street": {"kind": "name", "required": true}},
                    "sentence": {"fr": "Vignette {plate}, rue {street}", "en": "Permit {plate}, {street}"}}}
EOJ
cat > "$CVQ_BENCH/hidden.json" <<'EOJ'
{"parking_permit": {"fields": {"plate": {"kind": "reference", "required": true},
                               "iban": {"kind": "reference", "required": true}},
                    "sentence": {"fr": "Vignette {plate}", "en": "Permit {plate} {iban}"}}}
EOJ
for bad in hidden.json missing.json; do
	cvqd_config "$CVQ_BENCH/bad.conf" "[display]" "schemas = $CVQ_BENCH/$bad"
	rc=0
	"$CVQD" -c "$CVQ_BENCH/bad.conf" > /dev/null 2> "$CVQ_BENCH/bad.log" || rc=$?
	[ "$rc" -ne 0 ] && grep -q "display: .*$bad" "$CVQ_BENCH/bad.log" || bench_fail "$bad: rc $rc $(cat "$CVQ_BENCH/bad.log")"
	[ "$bad" != hidden.json ] || grep -q "does not show field iban" "$CVQ_BENCH/bad.log" || bench_fail "hidden: $(cat "$CVQ_BENCH/bad.log")"
done
export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/fake.log
echo 123456 > "$CVQ_FAKE_PIN_FILE"
cvqd_config "$CVQ_BENCH/types.conf" "[display]" "schemas = $CVQ_BENCH/types.json"
cvqd_start "$CVQ_BENCH/types.conf"
wait_status '.readers[0].card_present and .readers[0].usable'
out=$(api POST /v1/sign '{"transaction":{"type":"parking_permit","plate":"AB-123-CD","street":"de la Paix","iban":"FR76"}}')
expect_error "$out" 400 bad_request
jq -e '.error.field == "transaction.iban" and .error.reason == "unknown_field"' <<< "${out#* }" > /dev/null \
	|| bench_fail "unknown field of a configured type: $out"
out=$(api POST /v1/sign '{"transaction":{"type":"parking_permit","plate":"AB-123-CD","street":"de la Paix"}}')
[ "${out%% *}" = 200 ] || bench_fail "configured type: $out"
grep -qx "SETDESC Vignette AB-123-CD, rue de la Paix" "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
[ "$(jq -r .content <<< "${out#* }" | jq -r .dialog)" = "Vignette AB-123-CD, rue de la Paix" ] || bench_fail "receipt dialog"
cvqd_stop
echo PASS
