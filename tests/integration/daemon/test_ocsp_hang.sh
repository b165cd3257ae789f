#!/usr/bin/env bash
# cvqd with OCSP and a responder that accepts and never answers: a payment
# is not stuck (the exchange is bounded by [trust] ocsp_timeout, then the
# CRL decides) and, while cvqd waits for the responder, it does not hold
# the card's reader (its queue is empty while the responder holds the
# connection).
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
card_enrol 0 0x2000 "Marie Dupont"
pki_crl "$PKI"
export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
echo 123456 > "$CVQ_FAKE_PIN_FILE"

# The mute responder: accepts, records each connection, never answers.
python3 - "$CVQ_BENCH" <<'PY' &
import os, socket, sys, threading
d = sys.argv[1]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(os.path.join(d, "mute.port.tmp"), "w").write(str(s.getsockname()[1]))
os.rename(os.path.join(d, "mute.port.tmp"), os.path.join(d, "mute.port"))
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(os.path.join(d, "mute.accepted"), "a") as f: f.write("accepted\n")
PY
mute=$!
trap 'kill "$mute" 2>/dev/null || true' EXIT
for ((n = 0; n < 200; n++)); do [ -s "$CVQ_BENCH/mute.port" ] && break; sleep 0.05; done
port=$(cat "$CVQ_BENCH/mute.port")

cvqd_config "$CVQ_BENCH/cvqd.conf" "[daemon]" "request_timeout = 60" \
	"[trust]" "ocsp = true" "ocsp_url = http://127.0.0.1:$port/" "ocsp_timeout = 4" "ocsp_cache = 0"
cvqd_start "$CVQ_BENCH/cvqd.conf"
trap 'kill -TERM "$CVQD_PID" "$mute" 2>/dev/null || true' EXIT
wait_status '.readers[0].card_present and .readers[0].pin_tries_left == 3'

tx='{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}'
api POST /v1/sign "{\"transaction\":$tx}" > "$CVQ_BENCH/sign.out" &
signer=$!
for ((n = 0; n < 400; n++)); do [ -s "$CVQ_BENCH/mute.accepted" ] && break; sleep 0.05; done
[ -s "$CVQ_BENCH/mute.accepted" ] || bench_fail "cvqd never asked the OCSP responder"
# cvqd is inside the OCSP exchange now (the responder holds the connection):
# the reader must be free.
q=$(api GET /v1/status | cut -d' ' -f2- | jq '.readers[0].queue')
[ "$q" = 0 ] || bench_fail "the reader is held while OCSP waits (queue $q)"
kill -0 "$signer" 2>/dev/null || bench_fail "the payment ended before the OCSP timeout: $(cat "$CVQ_BENCH/sign.out")"
wait "$signer"
out=$(cat "$CVQ_BENCH/sign.out")
[ "${out%% *}" = 200 ] || bench_fail "sign after the OCSP timeout: $out"
jq -r .receipt <<< "${out#* }" | base64 -d > "$CVQ_BENCH/receipt.der"
openssl cms -verify -binary -inform DER -in "$CVQ_BENCH/receipt.der" -CAfile "$PKI/ca.pem" -out /dev/null \
	|| bench_fail "openssl refused the receipt"
cvqd_stop
echo "PASS"
