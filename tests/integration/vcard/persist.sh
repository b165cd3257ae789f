#!/usr/bin/env bash
# Three wrong PINs block the PIN, the PUK unblocks it, and a card killed
# with kill -9 right after an answer keeps its keys and its counters.
. "$(dirname "$0")/common.sh"

tries() { ykpiv -a status | sed -n 's/^PIN tries left:\t//p'; }

step "a key and a certificate on the card"
gen_slot 9a ECCP256

step "the state file is private"
[ "$(stat -c %a "$CVQ_CARD_0_STATE")" = 600 ] || bench_fail "state file mode is not 0600"

step "one wrong PIN, then kill -9: the counter survives"
yks 999999 -a verify-pin > out.txt 2>&1 || true
grep -q "2 tries left" out.txt || bench_fail "wrong PIN not counted"
bench_card_kill 0
bench_card_start 0
[ "$(tries)" = 2 ] || bench_fail "after kill -9: PIN tries $(tries), want 2"

step "the key survives too"
yks 123456 -a verify-pin -a test-signature -s 9a -i 9a.pem
[ "$(tries)" = 3 ] || bench_fail "right PIN did not reset the counter"

step "three wrong PINs block it, even across kill -9"
for n in 1 2 3; do yks 999999 -a verify-pin > out.txt 2>&1 || true; done
grep -q "blocked" out.txt || bench_fail "PIN not blocked"
bench_card_kill 0
bench_card_start 0
if yks 123456 -a verify-pin > out.txt 2>&1; then bench_fail "blocked PIN accepted after restart"; fi
grep -q "blocked" out.txt || { cat out.txt; tail -5 "$CVQ_CARD_0_TRACE"; bench_fail "no blocked after restart"; }

step "a wrong PUK counts too; the right PUK unblocks"
yks "11111111 246810 246810" -a unblock-pin > out.txt 2>&1 || true
bench_card_kill 0
bench_card_start 0
if yks "11111111 246810 246810" -a unblock-pin > out.txt 2>&1; then bench_fail "wrong PUK accepted"; fi
grep -qi "1 tries left\|1 tries" out.txt || { cat out.txt; bench_fail "PUK counter not kept"; }
yks "12345678 246810 246810" -a unblock-pin
yks 246810 -a verify-pin -a test-signature -s 9a -i 9a.pem

step "OpenSC sees the same card after a clean stop and start"
bench_card_stop 0
bench_card_start 0
pkcs15-tool -r "$R0" -D 2>/dev/null | grep -q "Private EC Key" || bench_fail "key lost after restart"
grep -q '\* exit' "$CVQ_CARD_0_TRACE" || bench_fail "no clean exit on SIGTERM"

step "--init over an existing state file gives a blank card"
serial=$(ykpiv -a status | sed -n 's/^Serial Number:\t//p')
bench_card_stop 0
bench_card_start 0 --init
if pkcs15-tool -r "$R0" -D 2>/dev/null | grep -q "Private EC Key"; then bench_fail "key survived --init"; fi
[ "$(tries)" = 3 ] || bench_fail "PIN tries not back to 3"
[ "$(ykpiv -a status | sed -n 's/^Serial Number:\t//p')" != "$serial" ] || bench_fail "same serial after --init"
yks 123456 -a verify-pin
echo "PASS"
