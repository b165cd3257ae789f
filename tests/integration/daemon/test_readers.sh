#!/usr/bin/env bash
# cvqd with two readers and two cards: choosing a card by reader or GUID,
# operations on both cards at once, server-sent events for removal and
# insertion, and pcscd restarted mid-run (the daemon says so, then serves
# again).
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
card_enrol 0 0x1000 "Marie Dupont"
card_enrol 1 0x2000 "Jean Martin"
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"

export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt
echo 123456 > "$CVQ_FAKE_PIN_FILE"
cvqd_config "$CVQ_BENCH/cvqd.conf" "[daemon]" "max_card_ops_per_caller = 64" "max_clients_per_caller = 64"
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '[.readers[] | select(.card_present and .usable)] | length == 2'
guid0=$(api GET /v1/status | cut -d' ' -f2- | jq -r --arg r "$CVQ_READER_0" '.readers[] | select(.reader == $r) | .guid')

curl -s -N --unix-socket "$CVQ_BENCH/cvqd.sock" http://cvqd/v1/events > "$CVQ_BENCH/events.txt" &
sse=$!
for ((n = 0; n < 100; n++)); do grep -q '^event: ready' "$CVQ_BENCH/events.txt" && break; sleep 0.05; done
grep -q '^event: ready' "$CVQ_BENCH/events.txt" || bench_fail "no ready event"

echo "--- several cards: the caller names one"
tx='{"type":"payment","payee":"Médiathèque","amount":"3.50","currency":"EUR","reference":"M-1"}'
expect_error "$(api POST /v1/sign "{\"transaction\":$tx}")" 400 bad_request
out=$(api POST /v1/sign "{\"transaction\":$tx,\"reader\":\"$CVQ_READER_1\"}")
[ "$(jq -r .signer.subject <<< "${out#* }")" = "CN=Jean Martin,O=Ville de test" ] || bench_fail "reader 1: $out"
out=$(api POST /v1/sign "{\"transaction\":$tx,\"card\":\"$guid0\"}")
[ "$(jq -r .signer.subject <<< "${out#* }")" = "CN=Marie Dupont,O=Ville de test" ] || bench_fail "card 0: $out"
expect_error "$(api POST /v1/sign "{\"transaction\":$tx,\"reader\":\"no such reader\"}")" 409 no_card

echo "--- both cards at once"
for i in $(seq 1 10); do
	for r in 0 1; do
		var="CVQ_READER_$r"
		printf '{"transaction":{"type":"payment","payee":"Piscine","amount":"%d.00","currency":"EUR","reference":"R%d-%d"},"reader":"%s"}' \
			"$i" "$r" "$i" "${!var}" > "$CVQ_BENCH/tx$r-$i.json"
		echo "$r-$i"
	done
done | xargs -P 20 -I{} sh -c 'curl -s --unix-socket "$1/cvqd.sock" -H "Content-Type: application/json" \
	--data-binary @"$1/tx$2.json" -o "$1/res$2.json" -w "%{http_code}\n" http://cvqd/v1/sign' _ "$CVQ_BENCH" {} \
	> "$CVQ_BENCH/codes.txt"
[ "$(grep -c '^200$' "$CVQ_BENCH/codes.txt")" = 20 ] || bench_fail "two cards: $(sort "$CVQ_BENCH/codes.txt" | uniq -c)"
for i in $(seq 1 10); do
	jq -e '.signer.subject == "CN=Jean Martin,O=Ville de test" and .transaction.reference == "R1-'"$i"'"' \
		"$CVQ_BENCH/res1-$i.json" > /dev/null || bench_fail "reader 1 answer $i"
	jq -r .receipt "$CVQ_BENCH/res0-$i.json" | base64 -d | openssl cms -verify -binary -inform DER \
		-CAfile "$PKI/ca-crl.pem" -crl_check -out /dev/null 2>/dev/null || bench_fail "receipt 0-$i"
done

echo "--- events: card removed and inserted"
bench_card_remove 1
for ((n = 0; n < 100; n++)); do grep -q '^event: card-removed' "$CVQ_BENCH/events.txt" && break; sleep 0.05; done
grep -A1 '^event: card-removed' "$CVQ_BENCH/events.txt" | grep -q "\"reader\":\"$CVQ_READER_1\"" \
	|| bench_fail "card-removed event: $(cat "$CVQ_BENCH/events.txt")"
bench_card_insert 1
for ((n = 0; n < 100; n++)); do grep -q '^event: card-inserted' "$CVQ_BENCH/events.txt" && break; sleep 0.05; done
grep -q '^event: card-inserted' "$CVQ_BENCH/events.txt" || bench_fail "no card-inserted event"

echo "--- pcscd restarted mid-run"
pcscd_pid=$(pgrep -f "pcscd --foreground --config $CVQ_BENCH/reader.conf.d" | head -1)
kill -TERM "$pcscd_pid"
while kill -0 "$pcscd_pid" 2>/dev/null; do sleep 0.05; done
for ((n = 0; n < 100; n++)); do grep -q '^event: service-down' "$CVQ_BENCH/events.txt" && break; sleep 0.05; done
grep -q '^event: service-down' "$CVQ_BENCH/events.txt" || bench_fail "no service-down event"
[ "$(api GET /v1/status | cut -d' ' -f1)" = 200 ] || bench_fail "status while pcscd is down"
pcscd --foreground --config "$CVQ_BENCH/reader.conf.d" > "$CVQ_BENCH/pcscd2.log" 2>&1 &
pcscd2=$!
trap 'kill -TERM "$CVQD_PID" "$pcscd2" "$sse" 2>/dev/null || true' EXIT
wait_status '[.readers[] | select(.card_present and .usable)] | length == 2'
grep -q '^event: service-up' "$CVQ_BENCH/events.txt" || bench_fail "no service-up event"
out=$(api POST /v1/sign "{\"transaction\":$tx,\"reader\":\"$CVQ_READER_0\"}")
[ "${out%% *}" = 200 ] || bench_fail "sign after the pcscd restart: $out"

cvqd_stop
wait "$sse" || true
kill -TERM "$pcscd2"; wait "$pcscd2" || true
echo PASS
