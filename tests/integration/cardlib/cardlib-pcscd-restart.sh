#!/usr/bin/env bash
# pcscd killed and restarted under a running program: the library reports
# service-lost then service-back, re-establishes its context, and the same
# context connects to the card again.
. "$(dirname "$0")/common.sh"
R=$CVQ_READER_0
newpid=
trap '[ -n "$newpid" ] && kill $newpid 2>/dev/null; true' EXIT

step "set up"
GUID=$($TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W")

step "kill pcscd under cardtool recover"
$TOOL recover --reader "$R" > "$W/recover.out" 2>&1 &
rpid=$!
for ((n = 0; n < 200; n++)); do grep -q ready "$W/recover.out" && break; sleep 0.05; done
grep -q ready "$W/recover.out" || bench_fail "recover did not start: $(cat "$W/recover.out")"
# This bench's own pcscd: the one whose config is this bench's directory
# (the pid namespace is shared with the machine and other benches).
old=$(pgrep -f -- "--config $CVQ_BENCH/reader.conf.d")
[ "$(echo "$old" | wc -w)" = 1 ] || bench_fail "cannot tell this bench's pcscd ($old)"
kill -KILL "$old"
while kill -0 "$old" 2>/dev/null; do sleep 0.05; done
sleep 0.5
rm -f /run/pcscd/pcscd.comm
pcscd --foreground --config "$CVQ_BENCH/reader.conf.d" >> "$CVQ_BENCH/pcscd.log" 2>&1 &
newpid=$!
for ((n = 0; n < 600; n++)); do kill -0 $rpid 2>/dev/null || break; sleep 0.05; done
kill -0 $rpid 2>/dev/null && { kill $rpid; cat "$W/recover.out"; bench_fail "no recovery within 30 s"; }
wait $rpid || { cat "$W/recover.out"; bench_fail "recover failed"; }
cat "$W/recover.out"
grep -q 'event service-lost' "$W/recover.out" || bench_fail "no service-lost event"
grep -q 'event service-back' "$W/recover.out" || bench_fail "no service-back event"
grep -q "recovered $GUID same" "$W/recover.out" || bench_fail "not the same card after recovery"

step "a new process works too"
$ADMIN --json card info --reader "$R" | jget 'd["guid"]' | grep -qx "$GUID" || bench_fail "info after restart"
echo "cardlib-pcscd-restart: OK"
