#!/usr/bin/env bash
# Every cardlib operation against cvq-vcard, judged by openssl where a
# peer can judge: readers, events, info, set-up (management key, CHUID,
# printed information, key generation, certificates, diversified key),
# PIN verify/change/unblock, PUK change, signatures (ECDSA, RSA PKCS#1
# and PSS), factory reset, cancellation of a wait.
. "$(dirname "$0")/common.sh"
R=$CVQ_READER_0

step readers
$ADMIN --json card readers > "$W/readers.json"
cat "$W/readers.json"
[ "$(jget '[r["card"] for r in d if r["reader"]==sys.argv[2]][0]' "$R" < "$W/readers.json")" = True ] ||
	bench_fail "reader 0 does not show its card"

step "info on a blank card"
$ADMIN --json card info --reader "$R" > "$W/blank.json"
cat "$W/blank.json"
[ "$(jget 'd["state"]' < "$W/blank.json")" = blank ] || bench_fail "blank card not blank"
[ "$(jget 'd["pin_tries"]' < "$W/blank.json")" = 3 ] || bench_fail "PIN tries"

step "set-up by cardlib (factory key, CHUID, printed, P-256 keys, certs (9C gzip), AES-192 diversified key)"
GUID=$($TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W" --gzip)
echo "GUID $GUID"
$TOOL mgmt --reader "$R" --master-file "$W/master"

step "info on the enrolled card"
$ADMIN -v --json card info --reader "$R" > "$W/info.json"
cat "$W/info.json"
[ "$(jget 'd["state"]' < "$W/info.json")" = enrolled ] || bench_fail "not enrolled"
[ "$(jget 'd["guid"]' < "$W/info.json")" = "$GUID" ] || bench_fail "GUID"
[ "$(jget 'len(d["certificates"])' < "$W/info.json")" = 2 ] || bench_fail "certificates"
jget '[c["subject"] for c in d["certificates"]]' < "$W/info.json" | grep -q 'Marie Dupont (sign)' ||
	bench_fail "9C certificate (gzip) not read"
$ADMIN card info --reader "$R"

step "signatures 9A and 9C, checked by openssl"
head -c 1000 /dev/urandom > "$W/data"
$ADMIN card sign --reader "$R" --slot 9a --in "$W/data" --out "$W/sig9a" --pin-source "$PIN"
verify_sig "$W/9a.pub.pem" "$W/data" "$W/sig9a"
$ADMIN card sign --reader "$R" --slot 9c --in "$W/data" --out "$W/sig9c" --pin-source "$PIN"
verify_sig "$W/9c.pub.pem" "$W/data" "$W/sig9c"
# A signature that cannot be written (full disk) is an error, not a success.
expect_rc 1 $ADMIN card sign --reader "$R" --slot 9a --in "$W/data" --out /dev/full --pin-source "$PIN"

step "PIN: wrong, then right (tries read without spending one)"
BAD=$(secret bad 999999)
expect_rc 3 $ADMIN card pin verify --reader "$R" --pin-source "$BAD"
grep -q '2 tries left' "$W/err" || bench_fail "tries left not reported"
$ADMIN --json card info --reader "$R" | jget 'd["pin_tries"]' | grep -qx 2 || bench_fail "tries after a wrong PIN"
$ADMIN card pin verify --reader "$R" --pin-source "$PIN"
$ADMIN --json card info --reader "$R" | jget 'd["pin_tries"]' | grep -qx 3 || bench_fail "tries after the right PIN"

step "PIN from a pinentry program (Assuan), never on a command line"
printf '123456\n' > "$W/pinentry-pins"
CVQ_FAKE_PIN_FILE="$W/pinentry-pins" CVQ_FAKE_PINENTRY_LOG="$W/pinentry.log" \
	$ADMIN card pin verify --reader "$R" --pin-source "pinentry:$CVQ_SRC/tests/bench/fake-pinentry"
grep -q GETPIN "$W/pinentry.log" || bench_fail "pinentry not asked"
! grep -q 123456 "$W/pinentry.log" || bench_fail "PIN in the pinentry log"
! grep -qi "313233343536" "$CVQ_CARD_0_TRACE" || bench_fail "PIN in the APDU trace"

step "PIN change, PUK change"
LETTERS=$(secret letters 12345a)
expect_rc 3 $ADMIN card pin change --reader "$R" --pin-source "$PIN" --new-pin-source "$LETTERS"
grep -q 'wrong format' "$W/err" || bench_fail "a PIN with a letter was not refused"
$ADMIN --json card info --reader "$R" | jget 'd["pin_tries"]' | grep -qx 3 || bench_fail "a try spent on a refused PIN"
NEW=$(secret new 24681357)
$ADMIN card pin change --reader "$R" --pin-source "$PIN" --new-pin-source "$NEW"
expect_rc 3 $ADMIN card pin verify --reader "$R" --pin-source "$PIN"
$ADMIN card pin verify --reader "$R" --pin-source "$NEW"
NEWPUK=$(secret newpuk 87654321)
$ADMIN card pin change --puk --reader "$R" --pin-source "$PUK" --new-pin-source "$NEWPUK"

step "PIN blocked, unblocked with the PUK"
for _ in 1 2 3; do $ADMIN card pin verify --reader "$R" --pin-source "$BAD" || true; done
expect_rc 3 $ADMIN card pin verify --reader "$R" --pin-source "$NEW"
grep -q 'PIN blocked' "$W/err" || bench_fail "blocked PIN not reported"
$ADMIN --json card info --reader "$R" | jget 'd["state"]' | grep -qx pin-blocked || bench_fail "state pin-blocked"
expect_rc 3 $ADMIN card pin unblock --reader "$R" --pin-source "$PUK" --new-pin-source "$PIN"
$ADMIN card pin unblock --reader "$R" --pin-source "$NEWPUK" --new-pin-source "$PIN"
$ADMIN card pin verify --reader "$R" --pin-source "$PIN"
$ADMIN card sign --reader "$R" --slot 9c --in "$W/data" --out "$W/sig9c" --pin-source "$PIN"
verify_sig "$W/9c.pub.pem" "$W/data" "$W/sig9c"

step "Yubico extensions: PIN/PUK tries (FA) with the diversified key"
$TOOL retries --reader "$R" --master-file "$W/master" --pin-source "$PIN"
$ADMIN --json card info --reader "$R" > "$W/retries.json"
[ "$(jget 'd["pin_tries"], d["puk_tries"]' < "$W/retries.json")" = "(5, 4)" ] ||
	bench_fail "tries after FA: $(cat "$W/retries.json")"
jget 'd.get("yubico_version","")' < "$W/retries.json" | grep -q '^5\.' || bench_fail "Yubico version"
$ADMIN card pin verify --reader "$R" --pin-source "$PIN"
expect_rc 3 $ADMIN card pin unblock --reader "$R" --pin-source "$BAD" --new-pin-source "$PIN"
grep -q 'wrong PUK (3 tries left)' "$W/err" || bench_fail "PUK tries not reported"

step "watch: removal and insertion as events"
$ADMIN --json card watch --timeout 20 > "$W/watch.json" &
wpid=$!
for ((n = 0; n < 100; n++)); do grep -q card-inserted "$W/watch.json" 2>/dev/null && break; sleep 0.05; done
bench_card_remove 0
bench_card_insert 0
for ((n = 0; n < 100; n++)); do [ "$(grep -c card-inserted "$W/watch.json")" -ge 2 ] && break; sleep 0.05; done
kill -TERM $wpid; wait $wpid || true
cat "$W/watch.json"
grep -q "\"card-removed\",\"reader\":\"$R\"" "$W/watch.json" || bench_fail "no card-removed event"
[ "$(grep -c "\"card-inserted\",\"reader\":\"$R\"" "$W/watch.json")" -ge 2 ] || bench_fail "no card-inserted event"

# Numbers that are not numbers are refused (1e300 s used to overflow).
expect_rc 2 $ADMIN card watch --timeout 1e300
expect_rc 2 $ADMIN card watch --timeout nan
expect_rc 2 $ADMIN card watch --count two

step "cancel a wait from another thread"
$TOOL cancel

step "RSA-2048 and 3DES management key on a fresh card; PKCS#1 v1.5 and PSS"
card_stop 0
bench_card_new 0
$TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W" --key rsa2048 --mgmt 3des
$TOOL mgmt --reader "$R" --master-file "$W/master" --mgmt 3des
$ADMIN card sign --reader "$R" --slot 9a --in "$W/data" --out "$W/rsa1" --pin-source "$PIN"
verify_sig "$W/9a.pub.pem" "$W/data" "$W/rsa1"
$ADMIN card sign --reader "$R" --slot 9c --pss --in "$W/data" --out "$W/rsa2" --pin-source "$PIN"
verify_sig "$W/9c.pub.pem" "$W/data" "$W/rsa2" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32

step "P-384 and AES-256"
card_stop 0
bench_card_new 0
$TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W" --key p384 --mgmt aes256
$ADMIN card sign --reader "$R" --slot 9a --in "$W/data" --out "$W/p384" --pin-source "$PIN"
verify_sig "$W/9a.pub.pem" "$W/data" "$W/p384"

step "factory reset"
if $ADMIN card reset --reader "$R" --yes; then
	$ADMIN --json card info --reader "$R" > "$W/reset.json"
	cat "$W/reset.json"
	[ "$(jget 'd["state"]' < "$W/reset.json")" = blank ] || bench_fail "not blank after reset"
	[ "$(jget 'd["pin_tries"]' < "$W/reset.json")" = 3 ] || bench_fail "PIN tries after reset"
else
	echo "(this cvq-vcard has no factory reset)"
fi
echo "cardlib-ops: OK"
