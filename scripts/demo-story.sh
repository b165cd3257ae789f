#!/usr/bin/env bash
# The demo story, run inside a bench by scripts/demo.sh. Grows with the project.
#
# Part 1 — the virtual citizen card: a cvq-vcard PIV card sits in a virtual
# reader; OpenSC recognises it; a key pair is generated on the card; a
# document is signed with it through OpenSC's PKCS#11 module; openssl, which
# knows nothing of cards, verifies the signature.
set -euo pipefail

say() { printf '\n== %s\n' "$*"; }
fail() { echo "DEMO FAILED: $*" >&2; exit 1; }

work="$CVQ_BENCH/demo"
mkdir -p "$work"
cd "$work"
reader="$CVQ_READER_0"
p11() { pkcs11-tool --module "$CVQ_OPENSC_MODULE" "$@"; }

say "A virtual PIV card is in reader \"$reader\" (pcscd sees it like a real one):"
opensc-tool -l

say "OpenSC asks the card what it is:"
opensc-tool -r "$reader" -n

say "A blank card: PIN and PUK, no keys yet (pkcs15-tool -D, abridged):"
pkcs15-tool -r "$reader" -D 2>/dev/null | grep -E '^(PKCS#15|PIN|Private|X\.509)|Reference' || true

say "The card generates the citizen's signature key (P-256, slot 9C); the private key never leaves it."
yubico-piv-tool -r "$reader" -s 9c -A ECCP256 -a generate -o card-key.pub.pem
openssl pkey -pubin -in card-key.pub.pem -noout -text | head -3

say "A throw-away test CA certifies that public key, and the certificate goes onto the card."
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout demo-ca.key -out demo-ca.pem -subj "/CN=Demo city CA" -days 1 2>/dev/null
openssl req -new -key demo-ca.key -subj "/CN=Demo citizen" -out req.csr 2>/dev/null
openssl x509 -req -in req.csr -CA demo-ca.pem -CAkey demo-ca.key \
	-force_pubkey card-key.pub.pem -out citizen.pem -days 1 2>/dev/null
yubico-piv-tool -r "$reader" -s 9c -a import-certificate -i citizen.pem
openssl x509 -in citizen.pem -noout -subject -issuer

say "OpenSC's PKCS#11 module now shows the key and its certificate:"
p11 -O 2>/dev/null | grep -E '^(Public|Private|Certificate) |^  (label|subject):' | head -6

say "The citizen approves a payment: the card signs it (PIN typed for this one signature)."
printf 'Pay 45.00 EUR to the school of music, ref. MUS-2026-0042\n' > payment.txt
cat payment.txt
openssl dgst -sha256 -binary payment.txt > payment.sha256
# The demo card's factory PIN, from a file: never typed on a command line
# in real use (cvqd asks for it through a PIN dialog).
printf '%s' 123456 > pin.txt
chmod 600 pin.txt
p11 --login --pin "$(cat pin.txt)" --sign --id 02 -m ECDSA \
	--signature-format openssl -i payment.sha256 -o payment.sig
echo "signature: $(wc -c < payment.sig) bytes"

say "Anyone can check it with plain openssl and the certificate, no card needed:"
openssl x509 -in citizen.pem -pubkey -noout > citizen.pub.pem
openssl dgst -sha256 -verify citizen.pub.pem -signature payment.sig payment.txt \
	|| fail "openssl rejected the signature"

say "A forged payment does not verify:"
sed 's/45.00/450.00/' payment.txt > forged.txt
if openssl dgst -sha256 -verify citizen.pub.pem -signature payment.sig forged.txt 2>/dev/null; then
	fail "a forged payment verified"
fi

say "The card's APDU trace never shows the PIN:"
grep ' > 0020' "$CVQ_CARD_0_TRACE" | tail -2

say "Done: card, reader, OpenSC and openssl agree."
