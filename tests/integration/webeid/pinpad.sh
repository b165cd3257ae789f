#!/usr/bin/env bash
# cvq-webeid with a PIN-pad reader (tests/bench/pinpad): the dialog only
# confirms (CONFIRM, never GETPIN) and names the origin; the PIN is typed
# on the reader's keypad; a wrong PIN is asked again on the pad with the
# tries left; Cancel on the pad is the user's cancel, the pad's timeout
# the user's timeout.
set -euo pipefail
. "$CVQ_SRC/tests/integration/webeid/lib.sh"

P=$CVQ_PINPAD_FIRST
log_var=CVQ_PAD_${P}_LOG
PADLOG=${!log_var}
# The citizen's card sits in the pad reader.
mkdir -p "$W"
( umask 077; printf 'bench-ca-passphrase\n' > "$W/ca.pass" )
"$A" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --unattested admit --subject "/C=FR/O=Ville/CN=CVQ Test CA" > /dev/null
"$A" card master-key --out "$W/ca/master.key" > /dev/null
"$A" citizen add --id 0001 --given Marie --family Dupont > /dev/null
make_content_signer  # two officers (lib-admin.sh)
admin_enrol 0001 "$P" > /dev/null
PIN=$(admin_pin "$W/letter-0001.txt")
webeid_config
n=$(nonce)
auth='{"command":"authenticate","arguments":{"challengeNonce":"'"$n"'","origin":"'"$ORIGIN"'"}}'
fresh() { : > "$CVQ_FAKE_PINENTRY_LOG"; : > "$PADLOG"; }

echo "--- the PIN on the pad: CONFIRM only, a valid token"
fresh
bench_pad_keys "$P" "pin $PIN"
host_reply "$auth" > "$W/token.json"
"$PY" "$VALIDATE" "$W/token.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" ||
	bench_fail "no valid token with the pad: $(cat "$W/token.json")"
grep -qx CONFIRM "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "no CONFIRM: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
if grep -q GETPIN "$CVQ_FAKE_PINENTRY_LOG"; then bench_fail "GETPIN with a PIN pad"; fi
grep -qx "SETDESC Connexion à $ORIGIN en tant que Marie Dupont" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
grep -qx "Confirmez, puis tapez votre code sur le clavier du lecteur" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "no keypad instruction: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
[ -s "$PADLOG" ] || bench_fail "the pad saw no PIN entry"

echo "--- a wrong PIN on the pad, then the right one"
fresh
bench_pad_keys "$P" "pin 99999999" "pin $PIN"
host_reply "$auth" > "$W/token2.json"
"$PY" "$VALIDATE" "$W/token2.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" > /dev/null ||
	bench_fail "no token after a wrong PIN on the pad"
grep -qx "Code PIN incorrect : il reste 2 essais." "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "tries left not shown: $(cat "$CVQ_FAKE_PINENTRY_LOG")"

echo "--- Cancel on the pad, the pad's timeout, the dialog refused"
fresh
bench_pad_keys "$P" cancel
expect_code "$auth" ERR_WEBEID_USER_CANCELLED
fresh
bench_pad_keys "$P" timeout
expect_code "$auth" ERR_WEBEID_USER_TIMEOUT
fresh
CVQ_FAKE_CONFIRM=no expect_code "$auth" ERR_WEBEID_USER_CANCELLED
[ ! -s "$PADLOG" ] || bench_fail "a refused dialog reached the pad: $(cat "$PADLOG")"
echo "webeid pinpad: all checks passed"
