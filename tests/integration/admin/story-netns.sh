#!/usr/bin/env bash
# The demo story across two machines (issue #13): the CA in the bench's
# network namespace (10.77.1.1) runs its issuing agent with the TLS front
# and its one public service, OCSP and the TSA (`cvq-admin ocsp serve`);
# the Point Infoville and its kiosk share another namespace (10.77.1.2),
# joined by a veth pair, with the CA folder hidden under a tmpfs. There
# the counter enrols Marie's card over TLS (the operator's staff card
# first, then Marie's with the staff card's 9A key through OpenSC); cvqd
# runs with the card, the CA certificate as its only anchor, a CRL the CA
# published, and OCSP and the TSA across the veth; a payment is approved
# through its socket API with the PIN of the letter typed by the scripted
# pinentry; plain openssl checks the receipt and its timestamp; the counter
# reports the card lost over TLS; OCSP across the veth says revoked, the
# CRL it brought back makes `openssl cms` say "certificate revoked", and
# cvqd, asking OCSP, refuses the next payment before any PIN dialog.
# NETNS_STORY_BREAK=norevoke (the card not reported lost) must fail it.
. "$(dirname "$0")/lib-admin.sh"
. "$(dirname "$0")/netns-lib.sh"
netns_need
ADMIN=$A
. "$CVQ_SRC/scripts/lib/officers.sh"
officers_can || { echo "SKIP: the TSA's second officer is another uid (setpriv)"; exit 77; }
[ -x "${CVQD:-}" ] || bench_fail "cvqd is not built (CVQD=${CVQD:-})"
t0=$(date +%s)
# 10.77.1.x, cvq-kiosk, vska/vskio: enrol-netns.sh has 10.77.0.x.
netns_up cvq-kiosk vska vskio 10.77.1.1 10.77.1.2
OPORT=18457
# The OCSP URL of every certificate (AIA) is the CA's public service across the veth.
netns_ca "http://$CA_IP:$OPORT" "0, $OFF2"

# --- the CA side: its TSA (two officers), OCSP and TSA on $CA_IP only, a CRL published
( umask 077; printf 'bench-tsa-passphrase\n' > "$CA/tsa.pass" )
officers_tsa "$CA/ca.conf" "$CA/ca.pass" --pass "file:$CA/tsa.pass" --policy 1.3.6.1.4.1.55555.1.9 \
	> /dev/null || bench_fail "the CA has no TSA"
"$A" ocsp serve --listen "$CA_IP:$OPORT" --threads 2 > "$W/ocsp.log" 2>&1 &
NETNS_PIDS+=($!)
for ((n = 0; n < 200; n++)); do grep -q listening "$W/ocsp.log" && break; sleep 0.05; done
grep -q 'listening.*OCSP and TSA' "$W/ocsp.log" || bench_fail "no OCSP and TSA service: $(cat "$W/ocsp.log")"
# What the kiosk is given besides the CA certificate: the CRL as published (public).
"$A" crl issue --out "$CTR/crl.pem" --pem > /dev/null
netns_agent 8455
echo "ok: the CA serves its agent (TLS, :$PORT) and OCSP + TSA (:$OPORT) on $CA_IP only"

cat > "$CTR/kiosk.sh" <<'KIOSK'
set -euo pipefail
. "$CVQ_SRC/tests/integration/admin/netns-lib.sh"
K=$CVQ_BENCH/kiosk
mkdir -p -m 0700 "$K"
CVQD_PID=
trap '[ -z "$CVQD_PID" ] || { kill "$CVQD_PID"; wait "$CVQD_PID"; } 2> /dev/null || true' EXIT
# api PATH JSON OUT: POST to cvqd's socket API; prints the HTTP status.
api() {
	curl -s -o "$3" -w '%{http_code}' --unix-socket "$K/cvqd.sock" \
		-H 'Content-Type: application/json' --data-binary "$2" "http://cvqd$1" || true
}
ocsp() {
	openssl ocsp -issuer "$CTR/city-ca.pem" -CAfile "$CTR/city-ca.pem" -cert "$CTR/9c.pem" \
		-url "http://$CA_IP:$OPORT/ocsp" -no_nonce 2>&1 | grep "^$CTR/9c.pem:" || true
}
cms_check() {
	cat "$CTR/city-ca.pem" "$1" > "$K/ca-crl.pem"    # -CAfile reads certificates and CRLs
	openssl cms -verify -inform DER -in "$K/receipt.der" -binary -CAfile "$K/ca-crl.pem" \
		-crl_check -out "$K/receipt.json" > "$K/cms.txt" 2>&1
}

echo "1. The counter's side sees nothing of the CA but its certificate, and reaches it over the veth."
netns_hide_ca
[ "$(ls "$CTR")" = "$(printf '%s\n' city-ca.pem crl.pem hosts kiosk.sh op.csr op.key op.pem)" ] ||
	netns_fail "the counter holds more than its desk key, the CA certificate and the CRL: $(ls "$CTR")"

echo "2. The counter enrols the staff card, then Marie's with the staff card's key, over TLS."
netns_staff
netns_enrol 0001 "$CVQ_READER_0" "$CTR/letter.txt" "${STAFF_LINK[@]}"
yubico-piv-tool -r "$CVQ_READER_0" -a read-certificate -s 9c > "$CTR/9c.pem"
openssl verify -CAfile "$CTR/city-ca.pem" "$CTR/9c.pem" > /dev/null ||
	netns_fail "Marie's 9C certificate does not chain to the CA"
[ "$(ocsp)" = "$CTR/9c.pem: good" ] || netns_fail "OCSP across the veth: expected good, got '$(ocsp)'"
echo "ok: OCSP at http://$CA_IP:$OPORT says good"

echo "3. cvqd starts at the kiosk: the CA certificate, the published CRL, OCSP and TSA across the veth."
( umask 077; netns_pin "$CTR/letter.txt" > "$K/pin.txt" )   # what Marie remembers of her letter
[ -s "$K/pin.txt" ] || netns_fail "no PIN in Marie's letter"
cat > "$K/cvqd.conf" <<EOC
[daemon]
socket = $K/cvqd.sock
allow_users = $(id -u)
journal = $K/journal.sqlite
[trust]
anchors = $CTR/city-ca.pem
crls = $CTR/crl.pem
ocsp = true
ocsp_cache = 0
[pin]
pinentry = $CVQ_SRC/tests/bench/fake-pinentry
timeout = 20
localedir = $CVQ_BUILD/po
[card]
wait = 10
readers = $CVQ_READER_0
[tsa]
url = http://$CA_IP:$OPORT/tsa
anchors = $CTR/city-ca.pem
unavailable = refuse
EOC
export CVQ_FAKE_PIN_FILE=$K/pin.txt CVQ_FAKE_PINENTRY_LOG=$K/pinentry.log
"$CVQD" -c "$K/cvqd.conf" 2> "$K/cvqd.log" &
CVQD_PID=$!
for ((n = 0; n < 200; n++)); do
	[ -S "$K/cvqd.sock" ] && break
	kill -0 "$CVQD_PID" 2> /dev/null || break
	sleep 0.05
done
[ -S "$K/cvqd.sock" ] || { cat "$K/cvqd.log" >&2; netns_fail "cvqd did not start"; }

echo "4. A payment to the school of music, the PIN typed in the (scripted) PIN dialog."
tx='{"transaction":{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}}'
code=$(api /v1/sign "$tx" "$K/sign.json")
[ "$code" = 200 ] || { cat "$K/sign.json" >&2; tail -5 "$K/cvqd.log" >&2; netns_fail "payment: expected HTTP 200, got $code"; }
grep -q '^GETPIN' "$K/pinentry.log" || netns_fail "no PIN was asked for the payment"
python3 -c '
import base64, json, sys
r = json.load(open(sys.argv[1]))
open(sys.argv[2], "wb").write(base64.b64decode(r["receipt"]))
sys.exit(0 if r.get("level") == "B-T" and r.get("timestamp") else 1)' "$K/sign.json" "$K/receipt.der" ||
	netns_fail "the receipt is not timestamped by the TSA across the veth (expected level B-T): $(cat "$K/sign.json")"
echo "ok: HTTP 200, a B-T receipt"

echo "5. Plain openssl: the receipt verifies against the CA and its CRL, its timestamp against the CA."
cms_check "$CTR/crl.pem" || { cat "$K/cms.txt" >&2; netns_fail "openssl cms -verify refused the receipt"; }
grep -q 'École de musique' "$K/receipt.json" || netns_fail "the signed content is not the payment"
openssl asn1parse -inform DER -in "$K/receipt.der" > "$K/receipt.asn1"
off=$(awk '/:id-smime-aa-timeStampToken/ { getline; getline; sub(":.*", ""); print $1; exit }' "$K/receipt.asn1")
[ -n "$off" ] || netns_fail "the receipt carries no timestamp token"
openssl asn1parse -inform DER -in "$K/receipt.der" -strparse "$off" -noout -out "$K/receipt.tst"
awk '/cont \[ 1 \]/ { print prev; exit } { prev = $0 }' "$K/receipt.asn1" | sed 's/.*\[HEX DUMP\]://' |
	xxd -r -p > "$K/receipt.sig"
openssl ts -verify -data "$K/receipt.sig" -in "$K/receipt.tst" -token_in -CAfile "$CTR/city-ca.pem" \
	> "$K/ts.txt" 2>&1 || { cat "$K/ts.txt" >&2; netns_fail "openssl ts refused the receipt's timestamp"; }
echo "ok: openssl cms -verify and openssl ts -verify accept it"

echo "6. Marie's card is lost: the counter reports it over TLS and brings back the new CRL."
if [ "${NETNS_STORY_BREAK:-}" != norevoke ]; then
	"$CVQ_ADMIN" card lost --citizen 0001 --crl "$K/crl-lost.pem" "${NETNS_LINK[@]}" "${STAFF_LINK[@]}" \
		> "$K/lost.out" 2>&1 || { cat "$K/lost.out" >&2; netns_fail "card lost through the TLS agent failed"; }
else
	cp "$CTR/crl.pem" "$K/crl-lost.pem"
fi

echo "7. OCSP across the veth says revoked."
case $(ocsp) in
"$CTR/9c.pem: revoked") echo "ok: OCSP says revoked" ;;
*) netns_fail "OCSP after the loss: expected revoked, got '$(ocsp)'" ;;
esac

echo "8. The same openssl cms check with the new CRL fails: certificate revoked."
if cms_check "$K/crl-lost.pem"; then
	netns_fail "openssl cms -verify still accepts the receipt of the lost card"
fi
grep -q 'certificate revoked' "$K/cms.txt" ||
	{ cat "$K/cms.txt" >&2; netns_fail "openssl cms fails, but not with 'certificate revoked'"; }
echo "ok: openssl cms -verify: certificate revoked"

echo "9. A new payment is refused as revoked (cvqd asks OCSP; its CRL is the old one), with no PIN asked."
pins=$(grep -c '^GETPIN' "$K/pinentry.log")
code=$(api /v1/sign "$tx" "$K/sign2.json")
err=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$K/sign2.json" 2> /dev/null || true)
[ "$code" != 200 ] && [ "$err" = certificate_revoked ] ||
	netns_fail "payment with the lost card: expected certificate_revoked, got HTTP $code ${err:-(a receipt)}"
[ "$(grep -c '^GETPIN' "$K/pinentry.log")" = "$pins" ] || netns_fail "a PIN was asked for a revoked card"
echo "ok: HTTP $code certificate_revoked"
KIOSK
netns_run 0,1 "$CTR/kiosk.sh" OPORT="$OPORT" || bench_fail "the kiosk's side failed ($?)"

# --- back at the CA: the loss is the staff card's, through the front
OP_SERIAL=$(openssl x509 -in "$CTR/staff.pem" -noout -serial | cut -d= -f2)
"$A" --json audit show | python3 -c '
import json, sys
es = json.load(sys.stdin)
es = es if isinstance(es, list) else es.get("entries", [])
who = "tls=serial:" + sys.argv[1]
n = sum(1 for e in es if e["action"] == "cert.revoke" and who in e["actor"])
sys.exit(0 if n == 3 else 1)' "$OP_SERIAL" ||
	bench_fail "the audit does not have the 3 revocations by the staff card's certificate"
"$A" audit verify > /dev/null
echo "OK: the story across two network namespaces in $(($(date +%s) - t0)) s"
