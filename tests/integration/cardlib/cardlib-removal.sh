#!/usr/bin/env bash
# A card pulled out mid-operation: a clear error, no hang, and the next
# card works — also through the same handle, which sees that the card in
# the reader is another one (GUID) and does not serve the first card's
# cached certificate.
. "$(dirname "$0")/common.sh"
R=$CVQ_READER_0

step "two enrolled cards' states"
mkdir -p "$W/a" "$W/b"
G0=$($TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W/a")
card_stop 0
cp "$CVQ_BENCH/card0.state" "$W/card-a.state"
bench_card_new 0
G1=$($TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W/b")
S1=$($ADMIN --json card info --reader "$R" | jget '[c["serial"] for c in d["certificates"] if c["slot"]=="9a"][0]')
card_stop 0
cp "$CVQ_BENCH/card0.state" "$W/card-b.state"
cp "$W/card-a.state" "$CVQ_BENCH/card0.state"
echo "card A $G0, card B $G1 (9A serial $S1)"
head -c 100 /dev/urandom > "$W/data"

step "another application resets the card between two operations"
bench_card_start 0
mkfifo "$W/go"
$TOOL reset-seen --reader "$R" --pin-source "$PIN" < "$W/go" > "$W/reset.out" 2>&1 &
rspid=$!
exec 7> "$W/go"
for ((n = 0; n < 200; n++)); do grep -q ready "$W/reset.out" && break; sleep 0.05; done
# cvq-admin verifies a PIN and resets the card when it leaves.
$ADMIN card pin verify --reader "$R" --pin-source "$PIN" > /dev/null
echo go >&7
exec 7>&-
wait $rspid || bench_fail "reset-seen: $(cat "$W/reset.out")"
cat "$W/reset.out"
grep -q 'verified before: yes' "$W/reset.out" || bench_fail "PIN not verified before"
grep -q 'verified after: no, tries 3, same card: yes' "$W/reset.out" ||
	bench_fail "reset by another application not handled"
card_stop 0

step "card pulled out at GENERAL AUTHENTICATE (cvq-vcard --remove-at 87)"
bench_card_start 0 --remove-at 87
expect_rc 4 timeout 30 $ADMIN card sign --reader "$R" --slot 9c --in "$W/data" --out "$W/sig" --pin-source "$PIN"
grep -q 'removed' "$W/err" || bench_fail "no clear 'removed' error"
card_stop 0
bench_card_start 0
$ADMIN card sign --reader "$R" --slot 9c --in "$W/data" --out "$W/sig" --pin-source "$PIN"
verify_sig "$W/a/9c.pub.pem" "$W/data" "$W/sig"

step "card pulled out during a signing loop"
$TOOL sign-loop --reader "$R" --pin-source "$PIN" > "$W/loop.out" 2>&1 &
lpid=$!
for ((n = 0; n < 200; n++)); do grep -q signing "$W/loop.out" && break; sleep 0.05; done
bench_card_remove 0
rc=0
for ((n = 0; n < 400; n++)); do kill -0 $lpid 2>/dev/null || break; sleep 0.05; done
kill -0 $lpid 2>/dev/null && { kill $lpid; bench_fail "sign loop hangs after removal"; }
wait $lpid || rc=$?
cat "$W/loop.out"
[ $rc = 0 ] && grep -q 'card was removed' "$W/loop.out" || bench_fail "sign loop: no clear error"
bench_card_insert 0

step "same handle, another card: no stale certificate"
$TOOL swap --reader "$R" > "$W/swap.out" 2>&1 &
spid=$!
for ((n = 0; n < 200; n++)); do grep -q ready "$W/swap.out" && break; sleep 0.05; done
bench_card_remove 0
card_stop 0
cp "$W/card-b.state" "$CVQ_BENCH/card0.state"
bench_card_start 0
for ((n = 0; n < 400; n++)); do kill -0 $spid 2>/dev/null || break; sleep 0.05; done
kill -0 $spid 2>/dev/null && { kill $spid; bench_fail "swap hangs"; }
wait $spid || bench_fail "swap failed: $(cat "$W/swap.out")"
cat "$W/swap.out"
grep -q "first $G0" "$W/swap.out" || bench_fail "first card"
grep -qi 'reconnect: a different card' "$W/swap.out" || bench_fail "card change not detected"
grep -q "now $G1" "$W/swap.out" || bench_fail "new card's GUID"
grep -q "serial 9a $S1" "$W/swap.out" || bench_fail "stale 9A certificate served"

step "next card works with a fresh command"
$ADMIN --json card info --reader "$R" | jget 'd["guid"]' | grep -qx "$G1" || bench_fail "info on the next card"
echo "cardlib-removal: OK"
