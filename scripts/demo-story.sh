#!/usr/bin/env bash
# The demo story, run inside a bench by scripts/demo.sh (or by hand:
#   tests/bench/with-bench --cards 0 -- scripts/demo-story.sh).
#
# The city's CA is created, Marie Dupont subscribes at the Point Infoville,
# a blank card in a (virtual) reader becomes her citizen card, OpenSC and
# openssl accept it, cvqd approves a school-of-music payment through its
# socket API with the PIN typed in a pinentry, the receipt is checked with
# plain `openssl cms` and its timestamp from the city's TSA with plain
# `openssl ts`, the card is reported lost, and the same check now
# fails with "revoked". Every part is real: pcscd with the vpcd driver,
# cvq-vcard, OpenSC, SQLite, the Assuan pinentry protocol.
#
# Since issue #12 the story goes on (steps 10 to 15): the receipt is
# timestamped, the card renewed — the old receipt still verifies — and a
# new payment made; then the card is lost: plain `openssl cms -crl_check`
# says "revoked" for every receipt, while libcvqverify (`cvq-admin verify`,
# cvqd's /v1/verify) accepts both, timestamped before, refuses the same
# receipt without its timestamp, refuses a new payment with the lost card
# and a receipt signed by a software key under a login certificate.
#
# Two officers (this uid and OFF2, scripts/lib/officers.sh) certify what
# carries the city's authority: the TSA and the PIV content signer that
# makes every card authentic (docs/ca.md "Two-person control").
#
# The person at the kiosk is scripted: tests/bench/fake-pinentry answers
# the PIN dialog with the PIN from her PIN letter.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVQ_BUILD:-$src/build}
ADMIN=${CVQ_ADMIN:-$build/tools/cvq-admin/cvq-admin}
CVQD=${CVQD:-$build/daemon/cvqd}
TSTATTACH=${CVQ_TSTATTACH:-$build/tests/integration/verify/tstattach}
R=$CVQ_READER_0
D=$CVQ_BENCH/story
# The portal's side of the story (answers, receipts, logs) stays ours (docs/files.md).
mkdir -p -m 0700 "$D"
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
# next_second: revocations and timestamps are dated to the second; "before" is strict.
next_second() { local t; t=$(date +%s); while [ "$(date +%s)" -le "$t" ]; do sleep 0.1; done; }
# stamp IN OUT: IN must already carry the city TSA's signature timestamp
# (cvqd asks for it right after the card signs: [tsa] url); OUT is a copy.
stamp() {
	if "$ADMIN" --json verify --anchors ca/ca.pem --no-require-revocation "$1" 2>/dev/null |
		python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["timestamp"] else 1)'; then
		cp "$1" "$2"
		return
	fi
	fail "$1 carries no timestamp of the city TSA"
}
# verdict FILE: what cvq-admin verify and cvqd /v1/verify say, on one line each.
verdict() {
	local out rc=0
	out=$("$ADMIN" --json verify --anchors ca/ca.pem --crl crl.pem "$1") || rc=$?
	printf '    cvq-admin verify: exit %s, %s\n' "$rc" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["outcome"], "—", d["message_fr"])' <<< "$out")"
	api /v1/verify "{\"receipt\":\"$(base64 -w0 "$1")\"}" "$1.cvqd.json" > /dev/null
	printf '    cvqd /v1/verify:  %s\n' "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("error", d); print(d["outcome"], "—", d.get("message") or "certificate %s, timestamp %s" % (d["certificate_status"], d["timestamp"]))' "$1.cvqd.json")"
	VERDICT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["outcome"])' "$out")
	[ "$VERDICT" = "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("error", d)["outcome"])' "$1.cvqd.json")" ] ||
		fail "cvq-admin verify and cvqd disagree on $1"
}
# api PATH JSON OUT: POST to cvqd's socket API; prints the HTTP status.
api() {
	curl -s -o "$3" -w '%{http_code}' --unix-socket cvqd.sock \
		-H 'Content-Type: application/json' --data-binary "$2" "http://cvqd$1" || true
}

say "1. The city creates its certificate authority."
( umask 077; printf 'phrase de passe du CA (démo)\n' > ca.pass )
run "$ADMIN" ca init --dir ca --pass file:ca.pass --unattested admit \
	--subject "/C=FR/O=Ville d'Alencon/CN=Autorite de certification CVQ"
run "$ADMIN" card master-key --out ca/master.key
export CVQ_CA_CONFIG=$D/ca/ca.conf
echo "  CA certificate: $(openssl x509 -in ca/ca.pem -noout -subject)"
# The city's timestamp authority (RFC 3161), served beside OCSP. It signs
# in the city's name, so two officers must agree to certify its key
# (docs/ca.md): the CA's maker and officer $OFF2, another uid.
. "$src/scripts/lib/officers.sh"
officers_can || fail "the demo needs root: the TSA's second officer is another uid (setpriv)"
officers_roles ca/ca.conf
echo "  Officers of the CA: uid $(id -u) and uid $OFF2 ([roles] in ca/ca.conf)."
( umask 077; printf 'phrase de passe de l horodatage (démo)\n' > tsa.pass )
out=$(run "$ADMIN" tsa init --pass file:tsa.pass --policy 1.3.6.1.4.1.55555.1.9)
printf '%s\n' "$out"
TSA_REQ=$(sed -n 's/^ *request \([0-9]*\) pending$/\1/p' <<<"$out")
[ -n "$TSA_REQ" ] || fail "no request for the TSA certificate"
[ ! -e ca/tsa.pem ] || fail "a TSA certificate before the second officer"
echo "  \$ cvq-admin ca approve $TSA_REQ   (as officer uid $OFF2, through the CA's agent)"
officer_approve "$OFF2" "$D/ca/ca.conf" "$D/ca.pass" "$TSA_REQ" || fail "officer $OFF2 did not approve"
run "$ADMIN" tsa init --finish "$TSA_REQ"
[ -e ca/tsa.pem ] || fail "no TSA certificate after the approval"
# The PIV content signer signs every card's CHUID and Security Object: it is
# what makes a card the city's, so it is made the same two-officer way.
out=$(run "$ADMIN" card content-signer init)
printf '%s\n' "$out"
CS_REQ=$(sed -n 's/^ *request \([0-9]*\) pending$/\1/p' <<<"$out")
[ -n "$CS_REQ" ] || fail "no request for the content signer's certificate"
echo "  \$ cvq-admin ca approve $CS_REQ   (as officer uid $OFF2, through the CA's agent)"
officer_approve "$OFF2" "$D/ca/ca.conf" "$D/ca.pass" "$CS_REQ" || fail "officer $OFF2 did not approve"
run "$ADMIN" card content-signer init --finish "$CS_REQ"
"$ADMIN" card content-signer show | grep -E '^(subject|valid|sha256)' | sed 's/^/  /'
[ -e ca/content-signer.pem ] || fail "no content signer after the approval"
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
# Issue #17: the city signed what it wrote; anyone with the CA certificate can check.
"$ADMIN" card info --reader "$R" | grep -E '^(authentic|content signer)' | sed 's/^/  /'
"$ADMIN" card info --reader "$R" | grep -q '^authentic *yes' || fail "the new card is not authentic"

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
[responder]
ca_config = $D/ca/ca.conf
listen = 127.0.0.1:18080
[tsa]
url = http://127.0.0.1:18080/tsa
anchors = $D/ca/ca.pem
unavailable = refuse
EOC
[ -x "$CVQD" ] || fail "cvqd is not built ($CVQD)"
export CVQ_FAKE_PIN_FILE=$D/pin.txt CVQ_FAKE_PINENTRY_LOG=$D/pinentry.log
"$CVQD" -c cvqd.conf 2> cvqd.log &
cvqd_pid=$!
# Stop cvqd and wait for it: whoever runs next (the modes test starts cvqd
# again on this configuration) must find its socket and port free.
trap 'kill $cvqd_pid 2>/dev/null && wait $cvqd_pid 2>/dev/null || true' EXIT
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
print("  Approved: HTTP 200, a CAdES %s receipt signed by the card of" % r.get("level", "?"),
      s.get("subject", s.get("name", "?")), "at", r["time"],
      "timestamped by the city at", r.get("timestamp"))
EOP

say "9. The school of music checks the receipt with plain openssl (CA certificate + CRL)."
cat ca/ca.pem crl.pem > ca-crl.pem    # -CAfile reads both certificates and CRLs
run openssl cms -verify -inform DER -in receipt.der -binary -CAfile ca-crl.pem \
	-crl_check -out receipt.json
echo "  Signed content: $(cat receipt.json)"
echo "  Its timestamp, taken out with openssl asn1parse (docs/receipts.md), checked with openssl ts:"
openssl asn1parse -inform DER -in receipt.der > receipt.asn1
off=$(awk '/:id-smime-aa-timeStampToken/ { getline; getline; sub(":.*", ""); print $1; exit }' receipt.asn1)
[ -n "$off" ] || fail "the receipt has no timestamp"
openssl asn1parse -inform DER -in receipt.der -strparse "$off" -noout -out receipt.tst
awk '/cont \[ 1 \]/ { print prev; exit } { prev = $0 }' receipt.asn1 | sed 's/.*\[HEX DUMP\]://' |
	xxd -r -p > receipt.sig
run openssl ts -verify -data receipt.sig -in receipt.tst -token_in -CAfile ca/ca.pem
openssl ts -verify -data receipt.sig -in receipt.tst -token_in -CAfile ca/ca.pem > /dev/null 2>&1 ||
	fail "openssl ts refused the receipt's timestamp"

say "10. The receipt gets the city's timestamp; a partner checks it with plain openssl."
stamp receipt.der receipt-t.der
verdict receipt-t.der
[ "$VERDICT" = valid ] || fail "the timestamped receipt is not valid"

say "11. Marie's card is renewed; the receipt she signed before still verifies."
next_second
run "$ADMIN" card renew --reader "$R" --pin-source "pinentry:$src/tests/bench/fake-pinentry"
run "$ADMIN" crl issue --out crl.pem --pem
kill -HUP $cvqd_pid
# Marie takes her card from the counter's reader to the kiosk's (here the same one).
. "$src/tests/bench/lib.sh"
bench_card_remove 0
bench_card_insert 0
sleep 0.5
echo "  The old certificates are revoked as superseded; the receipt was timestamped before:"
verdict receipt-t.der
[ "$VERDICT" = valid ] || fail "renewal broke an honest receipt"
code=$(api /v1/sign "$tx" sign2.json)
[ "$code" = 200 ] || { cat sign2.json >&2; fail "payment with the renewed card refused (HTTP $code)"; }
python3 -c 'import base64,json,sys; open("receipt2.der","wb").write(base64.b64decode(json.load(open("sign2.json"))["receipt"]))'
stamp receipt2.der receipt2-t.der
echo "  A new payment with the new keys: HTTP $code, receipt timestamped."
# Someone gets a certificate of the login profile for a key of their own (step 15).
openssl ecparam -name prime256v1 -genkey -noout -out soft.key
openssl req -new -key soft.key -subj "/CN=Marie Dupont" -out soft.csr
"$ADMIN" cert issue --profile citizen-auth --card "$GUID" --out soft.pem soft.csr > /dev/null

say "12. Marie loses her card; the counter reports it lost."
next_second
run "$ADMIN" card lost "$GUID" --crl crl.pem
cat ca/ca.pem crl.pem > ca-crl.pem
kill -HUP $cvqd_pid    # cvqd reloads the CRL

say "13. Plain openssl now says revoked; the timestamps prove both receipts came before."
if openssl cms -verify -inform DER -in receipt2-t.der -binary -CAfile ca-crl.pem \
	-crl_check -out /dev/null > verify.txt 2>&1; then
	fail "openssl still accepts the receipt"
fi
echo "  $ openssl cms -verify -inform DER -in receipt2-t.der -binary -CAfile ca-crl.pem -crl_check"
grep -q 'certificate revoked' verify.txt || { cat verify.txt >&2; fail "openssl fails, but not with 'revoked'"; }
echo "    Verification failure: $(grep -m1 -o 'certificate revoked' verify.txt)  (openssl knows no reasons nor dates)"
sleep 0.5
for f in receipt-t.der receipt2-t.der; do
	echo "  $f:"
	verdict "$f"
	[ "$VERDICT" = valid ] || fail "$f was timestamped before the loss and must stay valid"
done
echo "  The same receipt without its timestamp proves nothing:"
"$TSTATTACH" strip receipt2-t.der receipt2-bare.der
verdict receipt2-bare.der
[ "$VERDICT" = key_compromised ] || fail "an untimestamped receipt of the lost card was accepted"

say "14. A new payment with the lost card is refused."
code=$(api /v1/sign "$tx" sign3.json)
echo "  HTTP $code, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["message"])' sign3.json 2>/dev/null || cat sign3.json)"
[ "$code" != 200 ] || fail "the lost card signed a payment"

say "15. A software key under a login (9A) certificate cannot make receipts."
openssl cms -sign -binary -nodetach -md sha256 -in receipt.json -signer soft.pem -inkey soft.key \
	-outform DER -out soft-receipt.der
verdict soft-receipt.der
[ "$VERDICT" = not_signing_certificate ] || fail "a login certificate made a receipt"

say "The story took $(( $(date +%s) - t0 )) seconds."
