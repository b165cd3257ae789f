#!/usr/bin/env bash
# The second demo story (issue #14), run inside a bench with a SoftHSM2
# token by scripts/demo-documents.sh (or by hand:
#   tests/bench/with-bench --cards '' --softhsm -- scripts/demo-documents-story.sh).
#
# Marie Dupont and Jean Martin have just married. The city's seal — a key
# born on the city's token, its certificate issued only once two CA
# officers agreed — seals the marriage certificate the portal hands her,
# through cvqd's POST /v1/seal on the portal server. She sends the PDF to
# the water company, which checks it by itself: poppler's pdfsig and
# `cvq-admin document verify`, offline, years later if need be. A copy
# with one byte changed is refused by both.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVQ_BUILD:-$src/build}
ADMIN=${CVQ_ADMIN:-$build/tools/cvq-admin/cvq-admin}
CVQD=${CVQD:-$build/daemon/cvqd}
MKPDF=${CVQ_MKPDF:-$build/tests/integration/document/cvq-mkpdf}
[ "$(id -u)" = 0 ] || { echo "the documents demo needs root (two officers' uids, setpriv)" >&2; exit 1; }
D=$CVQ_BENCH/documents
mkdir -p -m 0700 "$D"
cd "$D"
t0=$(date +%s)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
run() { printf '  $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; return "${PIPESTATUS[0]}"; }
fail() { echo "DEMO FAILED: $*" >&2; exit 1; }
G=61500 OFF1=61501 OFF2=61502 PORTAL=61510 PORT=18095

say "1. The city's CA and its timestamp authority."
(umask 077; printf 'phrase de passe de la ville (démo)\n' > ca.pass; printf 'horodatage (démo)\n' > tsa.pass)
"$ADMIN" ca init --dir ca --pass "file:$D/ca.pass" --org "Ville d'Alençon" --country FR \
	--subject "/C=FR/O=Ville d'Alencon/CN=Autorite de certification de la ville" > /dev/null
cat >> ca/ca.conf <<CONF

[roles]
officer = $(id -u), $OFF1, $OFF2
CONF
export CVQ_CA_CONFIG=$D/ca/ca.conf
# The TSA signs in the city's name: its certificate needs two officers too
# (the CA's maker asks, officer $OFF2 approves; scripts/lib/officers.sh).
. "$src/scripts/lib/officers.sh"
officers_tsa "$D/ca/ca.conf" "$D/ca.pass" --pass "file:$D/tsa.pass" > /dev/null ||
	fail "the TSA's two officers"
echo "  TSA certificate: asked by uid $(id -u), approved by officer $OFF2"
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 2 > serve.log 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening serve.log 2>/dev/null && break; sleep 0.05; done
echo "  CA, TSA and OCSP on http://127.0.0.1:$PORT/ (one service)"

say "2. The seal's key is made on the city's token; two officers must agree to certify it."
PIN=$(cat "$CVQ_SOFTHSM_PIN_FILE")
(umask 077; printf '%s\n' "$PIN" > token.pin)
P11PIN=$PIN pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test --login \
	--pin env:P11PIN --keypairgen --key-type EC:prime256v1 --label sceau --id 5e > /dev/null
KEY="pkcs11:token=cvq-test;object=sceau;type=private?module-path=$CVQ_SOFTHSM_MODULE"
openssl req -new -engine pkcs11 -keyform engine \
	-key "pkcs11:token=cvq-test;object=sceau;type=private" -passin file:token.pin \
	-subj "/C=FR/O=Ville d'Alencon/OU=Etat civil/CN=Sceau de l'etat civil" -out sceau.csr 2>/dev/null
chmod 711 "$CVQ_BENCH" "$D" "$D/ca"
chmod 644 ca/ca.conf
mkdir -m 1777 officers
cp sceau.csr officers/
"$ADMIN" ca-agent start --pass "file:$D/ca.pass" --idle 0 --group $G > agent.out
PIDS+=("$(sed -n 's/^agent \([0-9]*\) .*/\1/p' agent.out)")
as() { local u=$1; shift; (cd "$D/officers" && setpriv --reuid="$u" --regid="$u" --groups=$G -- "$@"); }
echo "  Officer $OFF1 asks for the seal certificate:"
as $OFF1 "$ADMIN" ca request --profile seal sceau.csr | tee req.out | sed 's/^/    /'
ID=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' req.out)
echo "  Officer $OFF1 cannot approve his own request:"
as $OFF1 "$ADMIN" ca approve --out "$D/officers/sceau.pem" "$ID" 2>&1 | head -n 1 | sed 's/^/    /' || true
[ ! -e officers/sceau.pem ] || fail "one officer made a seal"
echo "  Officer $OFF2 approves; the certificate is issued:"
as $OFF2 "$ADMIN" ca approve --out "$D/officers/sceau.pem" "$ID" | sed 's/^/    /'
cp officers/sceau.pem sceau.pem
openssl x509 -in sceau.pem -noout -subject -ext keyUsage,extendedKeyUsage | sed 's/^/    /'
"$ADMIN" crl issue --out crl.pem --pem > /dev/null

say "3. On the portal server, cvqd seals documents for the portal backend (no reader)."
cat > cvqd.conf <<CONF
[daemon]
socket = $D/cvqd.sock
socket_mode = 0666
allow_users = 0, $PORTAL
journal = $D/journal.sqlite
[card]
backend = none
[trust]
anchors = $D/ca/ca.pem
crls = $D/crl.pem
[seal]
key = $KEY
pin = file:$D/token.pin
cert = $D/sceau.pem
chain = $D/ca/ca.pem
dss_certs = $D/ca/tsa.pem
tsa_url = http://127.0.0.1:$PORT/
tsa_anchors = $D/ca/ca.pem
crls = $D/crl.pem
allow_users = $PORTAL
reason = Copie conforme de l'acte de mariage
location = Alençon
CONF
"$CVQD" -c cvqd.conf > /dev/null 2> cvqd.log &
PIDS+=($!)
for _ in $(seq 200); do [ -S cvqd.sock ] && break; sleep 0.05; done
[ -S cvqd.sock ] || { cat cvqd.log; fail "cvqd did not start"; }
echo "  cvqd ready: the seal key opened once on the token"

say "4. The marriage certificate, drawn by the portal (cairo), is sealed through POST /v1/seal."
"$MKPDF" acte.pdf 1 "Marie Dupont" "Jean Martin"
python3 -c 'import base64,json,sys; print(json.dumps({"document": base64.b64encode(open("acte.pdf","rb").read()).decode(), "type": "acte-de-mariage", "filename": "acte-2026-0117.pdf"}))' > req.json
chmod 644 req.json
echo "  $ curl --unix-socket cvqd.sock -d @req.json http://cvqd/v1/seal   (as the portal, uid $PORTAL)"
# The answer goes to our file through curl's stdout: the portal's uid may
# not write in this folder.
code=$(setpriv --reuid=$PORTAL --regid=$PORTAL --clear-groups curl -s -o - -w '%{stderr}%{http_code}' \
	--unix-socket "$D/cvqd.sock" -H 'Content-Type: application/json' --data-binary @req.json \
	http://cvqd/v1/seal 2>&1 > seal.json)
[ "$code" = 200 ] || { cat seal.json; fail "POST /v1/seal: HTTP $code"; }
python3 -c 'import base64,json; d=json.load(open("seal.json")); open("acte-scelle.pdf","wb").write(base64.b64decode(d["document"])); print("    HTTP 200:", d["format"], d["level"], "timestamp", d["timestamp"])'

say "5. The water company checks the PDF itself: poppler's pdfsig, trusting the city CA."
mkdir nss
certutil -N -d sql:nss --empty-password
certutil -A -d sql:nss -n "Ville d'Alencon" -t "CT,C,C" -i ca/ca.pem
run pdfsig -nssdir sql:nss acte-scelle.pdf | grep -E "Signature Type|Total|Signature Validation|Certificate Validation" || true
pdfsig -nssdir sql:nss acte-scelle.pdf 2>/dev/null | grep -q "Certificate is Trusted" || fail "pdfsig does not trust the seal"

say "6. ... and with cvq's verifier, offline (the revocation data travels in the PDF)."
run "$ADMIN" document verify --anchors ca/ca.pem acte-scelle.pdf || fail "the sealed act was refused"

say "7. Someone changes one byte of the act: both refuse it."
cp acte-scelle.pdf acte-modifie.pdf
printf 'X' | dd of=acte-modifie.pdf bs=1 seek=400 conv=notrunc 2>/dev/null
pdfsig -nssdir sql:nss acte-modifie.pdf 2>&1 | grep -E "Signature Validation" | sed 's/^/    pdfsig: /'
if "$ADMIN" document verify --anchors ca/ca.pem acte-modifie.pdf > modifie.txt 2>&1; then
	fail "the modified act was accepted"
fi
tail -n 1 modifie.txt | sed 's/^/    cvq-admin: /'

say "The documents story took $(( $(date +%s) - t0 )) seconds."
