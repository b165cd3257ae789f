#!/usr/bin/env bash
# CAdES receipts (EN 319 122-1): cvqd gets the city TSA's signature
# timestamp right after the card signs, before it answers. The CA (made by
# cvq-admin, with a TSA) serves it beside OCSP. Judged by peers: openssl
# cms -verify on the receipt (signingCertificateV2 checked by OpenSSL),
# openssl ts -verify on the token taken out of the receipt with plain
# openssl (docs/receipts.md) against the signature value, the token in the
# CA's audit chain, GnuTLS certtool --p7-verify; then the TSA down (refuse:
# no receipt; basic: a B-B receipt marked as such), a TSA that accepts and
# never answers (the timeout), and a token from a TSA we do not trust.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
. "$CVQ_SRC/scripts/lib/officers.sh"

ADMIN=${CVQ_ADMIN:?}
PKI=$CVQ_BENCH/pki
W=$CVQ_BENCH/tsa
mkdir -p "$W"
PORT=18093
pki_init "$PKI"
card_enrol 0 0x1000 "Marie Dupont"
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"

# The city CA with its TSA, served by the CA's one public service.
(umask 077; echo "passphrase of the city CA" > "$W/ca.pass"; echo "tsa key pass" > "$W/tsa.pass")
"$ADMIN" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --ocsp-signer --org "Ville de Test" \
	--country FR --policy 1.3.6.1.4.1.55555.1.1 --subject "/C=FR/O=Ville de Test/CN=CVQ Ville" >/dev/null
export CVQ_CA_CONFIG=$W/ca/ca.conf
# The TSA's certificate by two officers: us and OFF2 (scripts/lib/officers.sh).
officers_roles "$W/ca/ca.conf"
officers_tsa "$W/ca/ca.conf" "$W/ca.pass" --pass "file:$W/tsa.pass" --policy 1.3.6.1.4.1.55555.1.9 >/dev/null
serve() { "$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 2 > "$W/serve.out" 2>&1 & SRV=$!; }
serve
trap 'kill "$SRV" 2>/dev/null || true; kill -TERM "${CVQD_PID:-0}" 2>/dev/null || true' EXIT
for ((n = 0; n < 100; n++)); do grep -q "listening" "$W/serve.out" 2>/dev/null && break; sleep 0.05; done

export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
echo 123456 > "$CVQ_FAKE_PIN_FILE"
start() {
	# [trust] again: the card's CA and the TSA's, so /v1/verify trusts the token too.
	cvqd_config "$CVQ_BENCH/cvqd.conf" "[trust]" "anchors = $PKI/ca.pem, $W/ca/ca.pem" \
		"[tsa]" "url = http://127.0.0.1:${2:-$PORT}/tsa" \
		"anchors = ${3:-$W/ca/ca.pem}" "unavailable = $1" "timeout = 2"
	cvqd_start "$CVQ_BENCH/cvqd.conf"
	trap 'kill "$SRV" 2>/dev/null || true; kill -TERM "${CVQD_PID:-0}" 2>/dev/null || true' EXIT
	wait_status '.readers[0].card_present'
}
tx='{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}'
sign() { rm -f "$CVQ_FAKE_PIN_FILE.count"; api POST /v1/sign "{\"transaction\":$tx}"; }

# The partner's recipe (docs/receipts.md): the signature value and the
# token out of a receipt with openssl asn1parse only.
extract() {
	local r=$1 off
	openssl asn1parse -inform DER -in "$r" > "$r.asn1"
	off=$(awk '/:id-smime-aa-timeStampToken/ { getline; getline; sub(":.*", ""); print $1; exit }' "$r.asn1")
	[ -n "$off" ] || return 1
	openssl asn1parse -inform DER -in "$r" -strparse "$off" -noout -out "$r.tst"
	# The signature value: the OCTET STRING just before the unsigned attributes [1].
	awk '/cont \[ 1 \]/ { print prev; exit } { prev = $0 }' "$r.asn1" |
		sed 's/.*\[HEX DUMP\]://' | xxd -r -p > "$r.sig"
	[ -s "$r.sig" ]
}

echo "--- B-T: the card signs, cvqd timestamps, every peer agrees"
start refuse
out=$(sign)
[ "${out%% *}" = 200 ] || bench_fail "sign: $out"
body=${out#* }
jq -e '.level == "B-T" and (.timestamp | type) == "string" and (has("timestamp_missing") | not)' \
	<<< "$body" > /dev/null || bench_fail "answer does not say B-T: $body"
R=$W/receipt.der
jq -r .receipt <<< "$body" | base64 -d > "$R"
openssl cms -verify -binary -inform DER -in "$R" -CAfile "$PKI/ca-crl.pem" -crl_check -out "$W/content.json" \
	2>/dev/null || bench_fail "openssl cms -verify refused the B-T receipt"
cmp "$W/content.json" <(jq -j .content <<< "$body") || bench_fail "receipt content"
p=$(openssl cms -cmsout -print -inform DER -in "$R")
grep -q "id-smime-aa-signingCertificateV2" <<< "$p" || bench_fail "no signingCertificateV2"
grep -q "id-smime-aa-timeStampToken" <<< "$p" || bench_fail "no signature timestamp"
extract "$R" || bench_fail "cannot take the token out of the receipt"
openssl ts -verify -data "$R.sig" -in "$R.tst" -token_in -CAfile "$W/ca/ca.pem" >/dev/null 2>&1 ||
	bench_fail "openssl ts -verify refused the receipt's token"
openssl ts -verify -data "$R.sig" -in "$R.tst" -token_in -CAfile "$W/ca/ca.pem" -untrusted "$W/ca/tsa.pem" \
	>/dev/null 2>&1 || bench_fail "openssl ts -verify with the TSA certificate"
# Against the TSA certificate alone as the anchor; another certificate fails.
openssl ts -verify -data "$R.sig" -in "$R.tst" -token_in -CAfile "$W/ca/tsa.pem" -partial_chain \
	>/dev/null 2>&1 || bench_fail "openssl ts -verify against the TSA certificate"
! openssl ts -verify -data "$R.sig" -in "$R.tst" -token_in -CAfile "$W/ca/ocsp.pem" -partial_chain \
	>/dev/null 2>&1 || bench_fail "the token verified against the OCSP signer's certificate"
# The check can fail: one bit of the signature value changed.
cp "$R.sig" "$R.bad"; printf '\x01' | dd of="$R.bad" bs=1 seek=10 conv=notrunc 2>/dev/null
! openssl ts -verify -data "$R.bad" -in "$R.tst" -token_in -CAfile "$W/ca/ca.pem" >/dev/null 2>&1 ||
	bench_fail "a token verified for another signature"
# The token is in the CA's audit chain, by its SHA-256.
h=$(openssl dgst -sha256 -r "$R.tst" | cut -d' ' -f1)
"$ADMIN" audit show > "$W/audit.txt"
grep -q "tsa\.stamp .*token=sha256:$h " "$W/audit.txt" || bench_fail "the receipt's token is not in the audit chain"
certtool --p7-verify --load-ca-certificate "$PKI/ca.pem" --infile "$R" --inder > "$W/certtool.out" 2>&1 ||
	bench_fail "certtool --p7-verify refused the receipt: $(cat "$W/certtool.out")"
out=$(api POST /v1/verify "{\"receipt\":\"$(jq -r .receipt <<< "$body")\"}")
[ "${out%% *}" = 200 ] || bench_fail "cvqd does not verify its own B-T receipt: $out"

echo "--- the TSA down, unavailable = refuse: no receipt, journalled"
kill "$SRV"; wait "$SRV" 2>/dev/null || true
out=$(sign)
expect_error "$out" 503 timestamp_unavailable
[ "$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT result FROM journal WHERE op='sign' ORDER BY id DESC LIMIT 1")" = timestamp_unavailable ] ||
	bench_fail "journal does not record the refusal"
cvqd_stop

echo "--- unavailable = basic: a B-B receipt, marked, that openssl still accepts"
start basic
out=$(sign)
[ "${out%% *}" = 200 ] || bench_fail "sign (basic): $out"
body=${out#* }
jq -e '.level == "B-B" and .timestamp == null and (.timestamp_missing | length) > 0' <<< "$body" > /dev/null ||
	bench_fail "B-B receipt not marked: $body"
jq -r .receipt <<< "$body" | base64 -d > "$W/bb.der"
openssl cms -verify -binary -inform DER -in "$W/bb.der" -CAfile "$PKI/ca-crl.pem" -crl_check -out /dev/null \
	2>/dev/null || bench_fail "openssl cms -verify refused the B-B receipt"
! openssl cms -cmsout -print -inform DER -in "$W/bb.der" | grep -q timeStampToken || bench_fail "B-B has a token"
cvqd_stop

echo "--- a TSA that accepts and never answers: the timeout, then the policy"
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $PORT)); s.listen(16); time.sleep(300)" &
MUTE=$!
start refuse
out=$(sign)
expect_error "$out" 503 timestamp_unavailable
kill $MUTE; wait $MUTE 2>/dev/null || true
cvqd_stop

echo "--- a token from a TSA we do not trust: refused"
serve
for ((n = 0; n < 100; n++)); do grep -q "listening" "$W/serve.out" 2>/dev/null && break; sleep 0.05; done
start refuse "$PORT" "$PKI/ca.pem"
out=$(sign)
expect_error "$out" 503 timestamp_unavailable
grep -q "does not match or does not verify" <<< "$out" || bench_fail "reason: $out"
cvqd_stop
echo "OK"
