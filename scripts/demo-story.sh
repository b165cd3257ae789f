#!/usr/bin/env bash
# The demo story, run inside a bench by scripts/demo.sh (or by hand:
#   tests/bench/with-bench --cards 0 -- scripts/demo-story.sh).
#
# The city's CA is created, Marie Dupont subscribes at the Point Infoville,
# a blank card in a (virtual) reader becomes her citizen card, OpenSC and
# openssl accept it, cvqd approves a school-of-music payment through its
# socket API with the PIN typed in a pinentry, the receipt is checked with
# plain `openssl cms`, the card is reported lost, and the same check now
# fails with "revoked". Every part is real: pcscd with the vpcd driver,
# cvq-vcard, OpenSC, SQLite, the Assuan pinentry protocol.
#
# The person at the kiosk is scripted: tests/bench/fake-pinentry answers
# the PIN dialog with the PIN from her PIN letter.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVQ_BUILD:-$src/build}
ADMIN=${CVQ_ADMIN:-$build/tools/cvq-admin/cvq-admin}
CVQD=${CVQD:-$build/daemon/cvqd}
R=$CVQ_READER_0
D=$CVQ_BENCH/story
mkdir -p "$D"
cd "$D"
t0=$(date +%s)

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# run CMD...: show the command as a person would type it, run it, indent its output.
run() {
	local a line="  \$ ${1##*/}"
	for a in "${@:2}"; do
		[[ $a == *' '* ]] && a="\"$a\""
		line+=" $a"
	done
	printf '%s\n' "$line"
	"$@" 2>&1 | sed 's/^/    /'
}
fail() { printf '\nThe story stops here: %s\n' "$*" >&2; exit 1; }
# api PATH JSON OUT: POST to cvqd's socket API; prints the HTTP status.
api() {
	curl -s -o "$3" -w '%{http_code}' --unix-socket cvqd.sock \
		-H 'Content-Type: application/json' --data-binary "$2" "http://cvqd$1" || true
}

say "1. The city creates its certificate authority."
( umask 077; printf 'phrase de passe du CA (démo)\n' > ca.pass )
run "$ADMIN" ca init --dir ca --pass file:ca.pass \
	--subject "/C=FR/O=Ville d'Alencon/CN=Autorite de certification CVQ"
run "$ADMIN" card master-key --out ca/master.key
export CVQ_CA_CONFIG=$D/ca/ca.conf
echo "  CA certificate: $(openssl x509 -in ca/ca.pem -noout -subject)"
echo "  The CA key and the cards' master secret stay with the CA (mode 0600)."

say "2. Marie Dupont subscribes at the Point Infoville."
run "$ADMIN" citizen add --id 2026-0042 --given Marie --family Dupont --email marie@example.org

say "3. A blank card is put in the counter's reader; OpenSC recognises it."
run opensc-tool -l
run opensc-tool -r "$R" -n

say "4. The counter enrols it: keys made on the card, certificates from the CA, PIN and PUK set."
run "$ADMIN" card enrol --citizen 2026-0042 --reader "$R" --letter pin-letter.txt
PIN=$(sed -n 's/^ *Code PIN : *\([0-9]*\)$/\1/p' "$D/pin-letter.txt")
echo "  The PIN letter ($(stat -c %a pin-letter.txt), the only place the PIN is written) goes by post."
GUID=$("$ADMIN" --json card show --reader "$R" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["guid"])')

say "5. OpenSC sees the card; it signs, and openssl verifies."
pkcs11-tool --module "$CVQ_OPENSC_MODULE" -O 2>/dev/null | grep -E '^(Certificate|Public Key|Private Key) Object|label:' |
	sed 's/^/    /' | head -12
yubico-piv-tool -r "$R" -a read-certificate -s 9c > sign.pem
yubico-piv-tool -r "$R" -a read-certificate -s 9a > auth.pem
run openssl verify -CAfile ca/ca.pem auth.pem sign.pem
echo "Inscription de Léa à l'école de musique" > note.txt
openssl dgst -sha256 -binary note.txt > note.sha256
( umask 077; printf '%s\n' "$PIN" > pin.txt )   # what the scripted person remembers from her letter
CVQ_DEMO_PIN=$PIN pkcs11-tool --module "$CVQ_OPENSC_MODULE" --login --pin env:CVQ_DEMO_PIN \
	--sign --mechanism ECDSA --signature-format openssl --id 02 \
	--input-file note.sha256 --output-file note.sig > /dev/null 2>&1 || fail "OpenSC could not sign"
openssl x509 -in sign.pem -pubkey -noout > sign.pub
run openssl dgst -sha256 -verify sign.pub -signature note.sig note.txt
sed 's/Léa/Lucas/' note.txt > forged.txt
if openssl dgst -sha256 -verify sign.pub -signature note.sig forged.txt > /dev/null 2>&1; then
	fail "a forged note verified"
fi
echo "  A forged note does not verify. The card's APDU trace never shows the PIN:"
grep ' > 0020' "$CVQ_CARD_0_TRACE" | tail -1 | sed 's/^/    /'

say "6. The CA publishes its revocation list; the kiosk daemon cvqd starts."
run "$ADMIN" crl issue --out crl.pem --pem
cat > cvqd.conf <<EOC
[daemon]
socket = $D/cvqd.sock
allow_users = $(id -u)
journal = $D/journal.sqlite
log_level = info
[trust]
anchors = $D/ca/ca.pem
crls = $D/crl.pem
[pin]
pinentry = $src/tests/bench/fake-pinentry
timeout = 20
localedir = $build/po
[card]
wait = 10
EOC
[ -x "$CVQD" ] || fail "cvqd is not built ($CVQD)"
export CVQ_FAKE_PIN_FILE=$D/pin.txt CVQ_FAKE_PINENTRY_LOG=$D/pinentry.log
"$CVQD" -c cvqd.conf 2> cvqd.log &
cvqd_pid=$!
trap 'kill $cvqd_pid 2>/dev/null || true' EXIT
for ((n = 0; n < 200; n++)); do
	[ -S cvqd.sock ] && break
	kill -0 $cvqd_pid 2>/dev/null || break
	sleep 0.05
done
[ -S cvqd.sock ] || { cat cvqd.log >&2; fail "cvqd did not start"; }
echo "  cvqd listens on $D/cvqd.sock"
run curl -s --unix-socket cvqd.sock http://cvqd/v1/status

say "7. Marie logs in to the city portal from the kiosk (PIN typed in the PIN dialog)."
login="{\"challenge\":\"$(openssl rand -base64 32)\",\"origin\":\"https://portail.ville-alencon.example\"}"
echo "  $ curl --unix-socket cvqd.sock -d '$login' http://cvqd/v1/authenticate"
code=$(api /v1/authenticate "$login" login.json)
[ "$code" = 200 ] || { cat login.json >&2; tail -5 cvqd.log >&2; fail "login refused (HTTP $code)"; }
echo "  The PIN dialog said:"
grep '^SETDESC' pinentry.log | tail -1 | sed 's/^SETDESC /      /'
python3 - login.json <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))
t, i = r["token"], r["identity"]
print("  Logged in: a %s token (%s) for %s, card %s" % (t["format"], t["algorithm"],
      i.get("subject", "?"), i.get("card", "?")))
EOP

say "8. The portal asks cvqd to approve a payment to the school of music."
tx='{"transaction":{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}}'
echo "  $ curl --unix-socket cvqd.sock -d '$tx' http://cvqd/v1/sign"
code=$(api /v1/sign "$tx" sign.json)
[ "$code" = 200 ] || { cat sign.json >&2; tail -5 cvqd.log >&2; fail "the payment was not approved (HTTP $code)"; }
echo "  Marie sees in the PIN dialog:"
grep '^SETDESC' pinentry.log | tail -1 | sed 's/^SETDESC /      /'
python3 - sign.json <<'EOP'
import base64, json, sys
r = json.load(open(sys.argv[1]))
open("receipt.der", "wb").write(base64.b64decode(r["receipt"]))
s = r["signer"]
print("  Approved: HTTP 200, a CMS receipt signed by the card of",
      s.get("subject", s.get("name", "?")), "at", r["time"])
EOP

say "9. The school of music checks the receipt with plain openssl (CA certificate + CRL)."
cat ca/ca.pem crl.pem > ca-crl.pem    # -CAfile reads both certificates and CRLs
run openssl cms -verify -inform DER -in receipt.der -binary -CAfile ca-crl.pem \
	-crl_check -out receipt.json
echo "  Signed content: $(cat receipt.json)"

say "10. Marie loses her card; the counter reports it lost."
run "$ADMIN" card lost "$GUID" --crl crl.pem
cat ca/ca.pem crl.pem > ca-crl.pem
kill -HUP $cvqd_pid    # cvqd reloads the CRL

say "11. The same check now fails: the certificate is revoked."
if openssl cms -verify -inform DER -in receipt.der -binary -CAfile ca-crl.pem \
	-crl_check -out /dev/null > verify.txt 2>&1; then
	fail "openssl still accepts the receipt"
fi
echo "  $ openssl cms -verify -inform DER -in receipt.der -binary -CAfile ca-crl.pem -crl_check"
grep -q 'certificate revoked' verify.txt || { cat verify.txt >&2; fail "openssl fails, but not with 'revoked'"; }
echo "    Verification failure: $(grep -m1 -o 'certificate revoked' verify.txt)"
sleep 0.5
b64=$(base64 -w0 receipt.der)
api /v1/verify "{\"receipt\":\"$b64\"}" verify.json > /dev/null
echo "  cvqd /v1/verify says: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("error", d).get("message", d))' verify.json)"
code=$(api /v1/sign "$tx" sign2.json)
echo "  A new payment with the lost card: HTTP $code, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["message"])' sign2.json 2>/dev/null || cat sign2.json)"

say "The story took $(( $(date +%s) - t0 )) seconds."
