#!/usr/bin/env bash
# vpcd going away and coming back: pcscd (with its vpcd readers) is
# stopped, the card loses its connection and keeps trying; a new pcscd
# starts, and the card is back in its reader without being restarted.
. "$(dirname "$0")/common.sh"

pcscd_pid() { ss -ltnp | sed -n "s/.*:$CVQ_CARD_0_PORT .*pid=\([0-9]*\).*/\1/p" | head -1; }
connects() { grep -c '\* connect$' "$CVQ_CARD_0_TRACE" || true; }

opensc-tool -r "$R0" -n | grep -q "Personal Identity Verification Card"
before=$(connects)
card=$(cat "$CVQ_CARD_0_PIDFILE")

step "pcscd stops: the card is disconnected"
old=$(pcscd_pid)
[ -n "$old" ] || bench_fail "no pcscd listening on port $CVQ_CARD_0_PORT"
kill -TERM "$old"
for ((n = 0; n < 200; n++)); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
for ((n = 0; n < 200; n++)); do grep -q '\* disconnect$' "$CVQ_CARD_0_TRACE" && break; sleep 0.05; done
grep -q '\* disconnect$' "$CVQ_CARD_0_TRACE" || bench_fail "the card did not notice vpcd going away"

step "a new pcscd starts: the same card process connects again"
pcscd --foreground --config "$CVQ_BENCH/reader.conf.d" > "$CVQ_BENCH/pcscd2.log" 2>&1 &
new=$!
trap 'kill -TERM $new 2>/dev/null || true; wait $new 2>/dev/null || true' EXIT
for ((n = 0; n < 100; n++)); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.05; done
bench_wait_present 0 1
opensc-tool -r "$R0" -n | grep -q "Personal Identity Verification Card"
[ "$(connects)" -gt "$before" ] || bench_fail "no new connection in the trace"
[ "$(cat "$CVQ_CARD_0_PIDFILE")" = "$card" ] || bench_fail "the card process changed"
kill -0 "$card" || bench_fail "the card process died"
echo "PASS"
