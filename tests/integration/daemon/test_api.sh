#!/usr/bin/env bash
# cvqd without cards: status, errors and limits, /v1/verify of receipts
# signed by a software key with `openssl cms -sign` (a peer), revocation
# picked up on SIGHUP, many clients at once, a slow client cut off while
# others are served, the caller's uid checked, clean shutdown, systemd
# socket activation (systemd-socket-activate), OCSP with openssl ocsp as
# the responder and the CRL as the fallback.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/soft.key" 2>/dev/null
openssl ec -in "$PKI/soft.key" -pubout -out "$PKI/soft.pub" 2>/dev/null
pki_issue "$PKI" soft "$PKI/soft.pub" 0x42 "Marie Dupont"

# 50 clients at once below: more than one caller's default share.
cvqd_config "$CVQ_BENCH/cvqd.conf" "[daemon]" "max_clients_per_caller = 64"
cvqd_start "$CVQ_BENCH/cvqd.conf"

# --- status
out=$(api GET /v1/status)
[ "${out%% *}" = 200 ] || bench_fail "status: $out"
body=${out#* }
[ "$(jq -r .version <<< "$body")" = "0.1.0" ] || bench_fail "version: $body"
[ "$(jq -r '.trust.anchors | length' <<< "$body")" = 1 ] || bench_fail "anchors: $body"
[ "$(jq -r '.trust.crls[0].fresh' <<< "$body")" = true ] || bench_fail "crl: $body"
[ "$(stat -c %a "$CVQ_BENCH/cvqd.sock")" = 660 ] || bench_fail "socket mode"

# --- errors: every one is {"error": {"code", "message"}}
expect_error "$(api GET /v1/nope)" 404 not_found
expect_error "$(api GET /status)" 404 not_found
expect_error "$(api DELETE /v1/status)" 405 method_not_allowed
expect_error "$(api POST /v1/verify '{bad json')" 400 bad_request
expect_error "$(api POST /v1/verify '[1,2]')" 400 bad_request
expect_error "$(api POST /v1/verify '{"a":1,"a":2}')" 400 bad_request
expect_error "$(api POST /v1/verify '{}')" 400 bad_request
expect_error "$(api POST /v1/verify '{"receipt":"%%%"}')" 422 bad_receipt
expect_error "$(api POST /v1/sign '{"transaction":{"type":"payment"}}')" 400 bad_request
expect_error "$(api POST /v1/sign '{"transaction":{"type":"payment","payee":"x","amount":45,"currency":"EUR","reference":"r"}}')" 400 bad_request
# Fields each within limits, but a text the PIN dialog could not show whole:
# refused before any card work (what you see is what you sign).
# (U+1D11E, 4 bytes: 80 in each name, 128 in the purpose pass their own
# limits, not the dialog's line.)
g=$(printf '\xf0\x9d\x84\x9e')
n80=$(printf "$g%.0s" $(seq 80))
long_tx="{\"transaction\":{\"type\":\"document_consent\",\"document\":\"$n80\",\"recipient\":\"$n80\",\"purpose\":\"$(printf "$g%.0s" $(seq 128))\",\"until\":\"2027-01-01\",\"reference\":\"R-1\"}}"
out=$(api POST /v1/sign "$long_tx")
expect_error "$out" 400 bad_request
jq -e '.error.field == "transaction" and .error.reason == "too_long_to_show"' <<< "${out#* }" > /dev/null \
	|| bench_fail "long transaction reason: $out"
grep -q 'too long to show in the PIN dialog' <<< "$out" || { echo "FAIL: long transaction reason: $out"; exit 1; }
expect_error "$(api POST /v1/authenticate '{"challenge":"abc"}')" 400 bad_request
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
expect_error "$(api POST /v1/verify "{\"receipt\":\"$big\"}")" 413 body_too_large
out=$(curl -s -w ' %{http_code}' --unix-socket "$CVQ_BENCH/cvqd.sock" -H 'Content-Type: text/plain' \
	-d 'x' http://cvqd/v1/verify)
[ "${out##* }" = 415 ] || bench_fail "content type: $out"
# Headers over max_header: refused by libmicrohttpd, the daemon serves on.
out=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$CVQ_BENCH/cvqd.sock" \
	-H "X-Big: $(head -c 40000 /dev/zero | tr '\0' 'b')" http://cvqd/v1/status) || true
case "$out" in 4*) ;; *) bench_fail "oversized headers: $out" ;; esac
[ "$(api GET /v1/status | cut -d' ' -f1)" = 200 ] || bench_fail "status after oversized headers"
# A chunked body over the limit, no Content-Length to refuse it early.
out=$(head -c 70000 /dev/zero | tr '\0' 'a' | curl -s -w ' %{http_code}' --unix-socket "$CVQ_BENCH/cvqd.sock" \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @- http://cvqd/v1/verify)
[ "${out##* }" = 413 ] || bench_fail "chunked oversized: $out"

# --- a receipt signed by a peer tool verifies
content='{"cvq":"receipt/1","nonce":"q83vEjRWeJCrze8SNFZ4kA","time":"TIME","transaction":{"amount":"45.00","currency":"EUR","payee":"École de musique","reference":"INSCR-2026-0042","type":"payment"}}'
content=${content/TIME/$(date -u +%Y-%m-%dT%H:%M:%SZ)}
printf '%s' "$content" > "$CVQ_BENCH/content.json"
openssl cms -sign -binary -nodetach -md sha256 -in "$CVQ_BENCH/content.json" -signer "$PKI/soft.pem" \
	-inkey "$PKI/soft.key" -outform DER -out "$CVQ_BENCH/peer.der"
receipt=$(base64 -w0 < "$CVQ_BENCH/peer.der")
out=$(api POST /v1/verify "{\"receipt\":\"$receipt\"}")
[ "${out%% *}" = 200 ] || bench_fail "verify: $out"
[ "$(jq -r .transaction.payee <<< "${out#* }")" = "École de musique" ] || bench_fail "verify body: $out"
[ "$(jq -r .certificate_status <<< "${out#* }")" = good ] || bench_fail "verify status: $out"

# tampered: one byte of the amount changed
python3 - "$CVQ_BENCH/peer.der" "$CVQ_BENCH/bad.der" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(d.replace(b'45.00', b'95.00', 1))
PY
expect_error "$(api POST /v1/verify "{\"receipt\":\"$(base64 -w0 < "$CVQ_BENCH/bad.der")\"}")" 422 bad_signature

# not canonical content, well signed: refused as a receipt
printf '%s' '{"cvq": "receipt/1"}' > "$CVQ_BENCH/nc.json"
openssl cms -sign -binary -nodetach -md sha256 -in "$CVQ_BENCH/nc.json" -signer "$PKI/soft.pem" \
	-inkey "$PKI/soft.key" -outform DER -out "$CVQ_BENCH/nc.der"
expect_error "$(api POST /v1/verify "{\"receipt\":\"$(base64 -w0 < "$CVQ_BENCH/nc.der")\"}")" 422 bad_receipt

# --- many clients at once, and a slow one that the daemon cuts off
(printf '{"receipt":"'; sleep 8) | curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$CVQ_BENCH/cvqd.sock" \
	-X POST -H 'Content-Type: application/json' -T - http://cvqd/v1/verify > "$CVQ_BENCH/slow.out" 2>&1 &
slow=$!
printf '{"receipt":"%s"}' "$receipt" > "$CVQ_BENCH/req.json"
seq 1 50 | xargs -P 50 -I{} sh -c \
	'curl -s -o /dev/null -w "%{http_code}\n" --unix-socket "$1/cvqd.sock" -H "Content-Type: application/json" --data-binary @"$1/req.json" http://cvqd/v1/verify; curl -s -o /dev/null -w "%{http_code}\n" --unix-socket "$1/cvqd.sock" http://cvqd/v1/status' \
	_ "$CVQ_BENCH" > "$CVQ_BENCH/many.out"
[ "$(grep -c '^200$' "$CVQ_BENCH/many.out")" = 100 ] || bench_fail "concurrent: $(sort "$CVQ_BENCH/many.out" | uniq -c)"
wait "$slow" || true
grep -q '^200$' "$CVQ_BENCH/slow.out" && bench_fail "slow client was answered 200"
[ "$(api GET /v1/status | cut -d' ' -f1)" = 200 ] || bench_fail "status after slow client"

# --- revocation, picked up on SIGHUP
pki_revoke "$PKI" soft
pki_crl "$PKI"
kill -HUP "$CVQD_PID"
for ((n = 0; n < 100; n++)); do
	grep -q 'reloaded' "$CVQ_BENCH/cvqd.log" && break
	sleep 0.05
done
out=$(api POST /v1/verify "{\"receipt\":\"$receipt\"}")
expect_error "$out" 403 certificate_revoked
jq -r .error.message <<< "${out#* }" | grep -q 'revoked on' || bench_fail "revocation reason: $out"
# a broken CRL file on reload keeps the previous trust
echo garbage > "$PKI/crl.pem"
kill -HUP "$CVQD_PID"
for ((n = 0; n < 100; n++)); do
	grep -q 'keeping the previous' "$CVQ_BENCH/cvqd.log" && break
	sleep 0.05
done
expect_error "$(api POST /v1/verify "{\"receipt\":\"$receipt\"}")" 403 certificate_revoked

# --- the caller's uid: a socket open to all, but uid 65534 not allowed
cvqd_stop
cvqd_config "$CVQ_BENCH/open.conf" "[daemon]" "socket_mode = 0666"
pki_crl "$PKI"
cvqd_start "$CVQ_BENCH/open.conf"
chmod 755 "$CVQ_BENCH"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -w ' %{http_code}' \
	--unix-socket "$CVQ_BENCH/cvqd.sock" http://cvqd/v1/status)
[ "${out##* }" = 403 ] || bench_fail "uid check: $out"
jq -e '.error.code == "forbidden"' <<< "${out% *}" > /dev/null || bench_fail "uid check body: $out"
cvqd_stop

# --- systemd socket activation: cvqd serves the socket it is given
systemd-socket-activate -l "$CVQ_BENCH/activated.sock" "$CVQD" -c "$CVQ_BENCH/cvqd.conf" \
	2>> "$CVQ_BENCH/cvqd.log" > /dev/null &
act=$!
trap 'kill -TERM "$act" 2>/dev/null || true' EXIT
for ((n = 0; n < 100; n++)); do [ -S "$CVQ_BENCH/activated.sock" ] && break; sleep 0.05; done
out=$(curl -s -w ' %{http_code}' --unix-socket "$CVQ_BENCH/activated.sock" http://cvqd/v1/status)
[ "${out##* }" = 200 ] || bench_fail "socket activation: $out"
[ ! -e "$CVQ_BENCH/cvqd.sock" ] || bench_fail "bound its own socket under socket activation"
kill -TERM "$act"
wait "$act" || bench_fail "activated cvqd did not stop cleanly"
grep -q "listening on the systemd socket" "$CVQ_BENCH/cvqd.log" || bench_fail "not the systemd socket"

# --- OCSP first (openssl ocsp as the responder), the CRL when it is silent
pki_issue "$PKI" soft2 "$PKI/soft.pub" 0x43 "Marie Dupont"
openssl cms -sign -binary -nodetach -md sha256 -in "$CVQ_BENCH/content.json" -signer "$PKI/soft2.pem" \
	-inkey "$PKI/soft.key" -outform DER -out "$CVQ_BENCH/peer2.der"
receipt2=$(base64 -w0 < "$CVQ_BENCH/peer2.der")
ocsp_start() {
	openssl ocsp -index "$PKI/index.txt" -port 8888 -rsigner "$PKI/ca.pem" \
		-rkey "$PKI/ca.key" -CA "$PKI/ca.pem" > "$CVQ_BENCH/ocsp.log" 2>&1 &
	ocsp_pid=$!
	for ((n = 0; n < 100; n++)); do
		openssl ocsp -issuer "$PKI/ca.pem" -cert "$PKI/soft2.pem" -url http://127.0.0.1:8888 \
			-VAfile "$PKI/ca.pem" > /dev/null 2>&1 && return 0
		sleep 0.05
	done
	bench_fail "openssl ocsp did not start"
}
ocsp_stop() { kill "$ocsp_pid"; wait "$ocsp_pid" || true; }
ocsp_start
cvqd_config "$CVQ_BENCH/ocsp.conf" "[trust]" "crls =" "ocsp = true" "ocsp_url = http://127.0.0.1:8888" "ocsp_cache = 0"
cvqd_start "$CVQ_BENCH/ocsp.conf"
trap 'kill -TERM "$CVQD_PID" "$ocsp_pid" 2>/dev/null || true' EXIT
out=$(api POST /v1/verify "{\"receipt\":\"$receipt2\"}")
[ "${out%% *}" = 200 ] || bench_fail "verify with OCSP and no CRL: $out"
pki_revoke "$PKI" soft2
ocsp_stop
ocsp_start
out=$(api POST /v1/verify "{\"receipt\":\"$receipt2\"}")
expect_error "$out" 403 certificate_revoked
grep -q '(OCSP)' <<< "$out" || bench_fail "not revoked by OCSP: $out"
ocsp_stop
expect_error "$(api POST /v1/verify "{\"receipt\":\"$receipt2\"}")" 503 crl_unavailable
cvqd_stop

# No PIN is ever typed here, so no "PIN in the log" check: test_card.sh and
# test_pinpad.sh look for the PIN they typed in cvqd's log and journal.
echo "PASS"
