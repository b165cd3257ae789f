#!/usr/bin/env bash
# No client holds the daemon (issue #11): a uid that is not allowed opens
# 64 connections and trickles a header line each second, and root's
# /v1/status still answers (the caller is checked when the connection is
# accepted, beyond max_refused_clients it is closed at once); one allowed
# caller's 8 pending payments do not make another caller's payment
# card_busy (max_card_ops_per_caller: the rest get 429 at once).
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
card_enrol 0 0x1000 "Marie Dupont"
pki_crl "$PKI"
chmod 755 "$CVQ_BENCH"
N=$CVQ_BENCH/nobody  # where uid 65534 writes
mkdir "$N"
chown 65534:65534 "$N"
export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
echo 123456 > "$CVQ_FAKE_PIN_FILE"

echo "--- 64 trickling connections of uid 65534 (not allowed); root's /v1/status answers"
# request_timeout as shipped: the trickle (one line a second) keeps each
# connection alive, only the per-caller limit stands in its way.
cvqd_config "$CVQ_BENCH/cvqd.conf" "[daemon]" "socket_mode = 0666" "request_timeout = 30"
cvqd_start "$CVQ_BENCH/cvqd.conf"
cat > "$CVQ_BENCH/trickle.py" <<'PY'
import socket, sys, time
path, n, report = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.setblocking(False)
    try:
        s.send(b"GET /v1/status HTTP/1.1\r\nHost: cvqd\r\n")
    except OSError:
        pass  # already closed by the daemon: counted below
    socks.append(s)
while True:
    closed = 0
    for s in socks:
        try:
            if s.recv(4096) == b"":
                closed += 1
                continue
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
            continue
        try:
            s.send(b"X-Trickle: 1\r\n")
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    with open(report + ".tmp", "w") as f:
        f.write("%d %d\n" % (n, closed))
    import os; os.replace(report + ".tmp", report)
    time.sleep(1)
PY
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$CVQ_BENCH/trickle.py" \
	"$CVQ_BENCH/cvqd.sock" 64 "$N/trickle.out" &
trickle=$!
# Once all 64 are connected (the daemon accepts them before root's, in order):
for ((n = 0; n < 400; n++)); do
	[ -s "$N/trickle.out" ] && break
	sleep 0.05
done
for i in 1 2 3; do
	out=$(curl -s --max-time 20 -w ' %{http_code}' --unix-socket "$CVQ_BENCH/cvqd.sock" http://cvqd/v1/status) || true
	[ "${out##* }" = 200 ] || bench_fail "root's /v1/status during the trickle: $out"
done
# All but max_refused_clients (4) closed by the daemon.
for ((n = 0; n < 400; n++)); do
	[ "$(cut -d' ' -f2 "$N/trickle.out")" = 60 ] && break
	sleep 0.05
done
[ "$(cut -d' ' -f2 "$N/trickle.out")" = 60 ] || bench_fail "closed by the daemon: $(cat "$N/trickle.out")"
grep -q "closed a connection of uid 65534" "$CVQ_BENCH/cvqd.log" || bench_fail "no log line for the closed connections"
# The 4 it keeps still get their 403 once their headers end.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -w ' %{http_code}' \
	--unix-socket "$CVQ_BENCH/cvqd.sock" http://cvqd/v1/status) || true
[ "${out##* }" != 200 ] || bench_fail "uid 65534 was served: $out"
kill "$trickle"; wait "$trickle" || true
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -w ' %{http_code}' \
	--unix-socket "$CVQ_BENCH/cvqd.sock" http://cvqd/v1/status)
[ "${out##* }" = 403 ] || bench_fail "uid 65534 after the trickle: $out"
jq -e '.error.code == "forbidden"' <<< "${out% *}" > /dev/null || bench_fail "403 body: $out"
cvqd_stop

echo "--- 8 pending payments of one caller; another caller's payment is signed"
# Each dialog takes 3 s; the card queue waits 15 s. Without a per-caller
# share, root's payment would wait behind 8 x 3 s and get card_busy.
export CVQ_FAKE_PINENTRY_DELAY=3
cvqd_config "$CVQ_BENCH/cvqd.conf" "[daemon]" "socket_mode = 0666" "allow_users = 0,65534" \
	"[card]" "op_timeout = 15"
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '.readers[0].card_present and .readers[0].usable'
: > "$CVQ_FAKE_PINENTRY_LOG"
pids=()
for i in $(seq 1 8); do
	printf '{"transaction":{"type":"payment","payee":"Boutique","amount":"%d.00","currency":"EUR","reference":"N-%d"}}' \
		"$i" "$i" > "$CVQ_BENCH/n$i.json"
	setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o "$N/n$i.out" -w '%{http_code}\n' \
		--unix-socket "$CVQ_BENCH/cvqd.sock" -H 'Content-Type: application/json' \
		--data-binary @"$CVQ_BENCH/n$i.json" http://cvqd/v1/sign > "$CVQ_BENCH/n$i.code" &
	pids+=($!)
done
# Once the daemon has dealt with all 8 (answered, holding or waiting for the card):
for ((n = 0; n < 400; n++)); do
	q=$(api GET /v1/status | cut -d' ' -f2- | jq .readers[0].queue)
	[ $((q + $(cat "$CVQ_BENCH"/n*.code 2>/dev/null | grep -c '^429$'))) = 8 ] && break
	sleep 0.05
done
tx='{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}'
out=$(api POST /v1/sign "{\"transaction\":$tx}")
[ "${out%% *}" = 200 ] || bench_fail "root's payment behind another caller's 8: $out"
# Six were answered at once (429), two signed.
[ "$(cat "$CVQ_BENCH"/n*.code | grep -c '^429$')" = 6 ] || bench_fail "429s: $(cat "$CVQ_BENCH"/n*.code)"
grep -l too_many_requests "$N"/n*.out > /dev/null || bench_fail "429 body"
wait "${pids[@]}"
[ "$(cat "$CVQ_BENCH"/n*.code | grep -c '^200$')" = 2 ] || bench_fail "the caller's own two: $(cat "$CVQ_BENCH"/n*.code)"
[ "$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT count(*) FROM journal WHERE op='sign' AND result='ok'")" = 3 ] \
	|| bench_fail "journal"
cvqd_stop
unset CVQ_FAKE_PINENTRY_DELAY
echo PASS
