#!/usr/bin/env bash
# POST /v1/seal (issue #14): cvqd on the portal server, no readers, seals
# the portal backend's documents with the city's seal key on a SoftHSM2
# token (certificate issued by two CA officers, profile seal), the CA's
# TSA and CRL for B-LT. Judged by peers: poppler's pdfsig (valid, trusted
# by an NSS database holding the city CA, whole document), qpdf --check,
# cvq-admin document verify, openssl cms -verify on the .p7s of a non-PDF;
# the journal's seal row (sqlite3); a caller the daemon serves but [seal]
# does not is refused before its body (403 even for an oversized body); an
# oversized document is 413; a wrong PIN stops cvqd at start; no [seal]
# answers 404 seal_not_configured.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/ca/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
. "$CVQ_SRC/tests/integration/document/seal-lib.sh"
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
MKPDF=$CVQ_BUILD/tests/integration/document/cvq-mkpdf
[ -x "$MKPDF" ] || { echo "SKIP: no cvq-mkpdf (cairo)"; exit 77; }
cd "$W"
PORT=18093
G=61400 OFF1=61401 OFF2=61402 PORTAL=61410 OTHER=61411

# The city CA, its TSA served beside OCSP, the seal's key on the token,
# the seal certificate by two officers (tests/integration/document/seal-lib.sh).
seal_pki $PORT
(umask 077; printf '%s\n' "0000${PIN}9" > wrong-pin)
seal_request
seal_approve
"$ADMIN" crl issue --out crl.pem --pem >/dev/null
# The daemon's [trust] (lib.sh's cvqd_config) is the same city CA.
PKI=$W/pki
mkdir -p "$PKI"
cp ca/ca.pem crl.pem "$PKI/"

JOURNAL=$CVQ_BENCH/journal.sqlite
seal_conf() { # seal_conf FILE PINFILE [more lines]
	local f=$1 p=$2
	shift 2
	# max_body far below a PDF's base64: /v1/seal has its own limit.
	cvqd_config "$f" "[daemon]" "allow_users = 0, $PORTAL, $OTHER" "socket_mode = 0666" "max_body = 4096" \
		"[card]" "backend = none" \
		"[seal]" "key = $KEY" "pin = file:$p" "cert = $W/seal.pem" "chain = $W/ca/ca.pem" \
		"dss_certs = $W/ca/tsa.pem" "tsa_url = http://127.0.0.1:$PORT/" \
		"tsa_anchors = $W/ca/ca.pem" "crls = $W/crl.pem" "allow_users = $PORTAL" \
		"max_document = 200000" "reason = Copie conforme de l'acte" "location = Alençon" "$@"
}
cleanup() {
	kill -TERM "${CVQD_PID:-0}" 2>/dev/null || true
	ca_cleanup
}

echo "--- a wrong PIN stops cvqd at start, with a clear reason"
seal_conf "$CVQ_BENCH/bad.conf" "$W/wrong-pin"
rc=0
timeout 60 "$CVQD" -c "$CVQ_BENCH/bad.conf" > /dev/null 2> bad.log || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "cvqd with a wrong seal PIN: exit $rc"
grep -q "seal: seal key pkcs11:" bad.log || fail "no clear reason: $(cat bad.log)"
[ ! -e "$CVQ_BENCH/cvqd.sock" ] || fail "a socket after a failed start"
ok "wrong PIN: cvqd stops ($(grep -o 'seal key [^:]*:[^:]*: .*' bad.log | sed 's/.*: //' | head -1))"

seal_conf "$CVQ_BENCH/cvqd.conf" "$W/pin"
cvqd_start "$CVQ_BENCH/cvqd.conf"
trap cleanup EXIT

# post AS FILE [CURL-ARGS]: POST /v1/seal with the JSON body in FILE as uid AS; "STATUS BODY-FILE".
post() {
	local who=$1 body=$2 out
	shift 2
	out=$(mktemp "$W/ans.XXXXXX")
	chmod 666 "$out"
	code=$(setpriv --reuid="$who" --regid="$who" --clear-groups -- curl -s -o "$out" -w '%{http_code}' \
		--unix-socket "$CVQ_BENCH/cvqd.sock" -H 'Content-Type: application/json' "$@" \
		--data-binary "@$body" http://cvqd/v1/seal) || true
	echo "$code $out"
}
mkbody() { # mkbody FILE TYPE [FILENAME] > body
	python3 - "$@" <<'PY'
import base64, json, sys
d = {"document": base64.b64encode(open(sys.argv[1], "rb").read()).decode(), "type": sys.argv[2]}
if len(sys.argv) > 3: d["filename"] = sys.argv[3]
print(json.dumps(d))
PY
}
chmod 644 "$W"/*.json 2>/dev/null || true

echo "--- a marriage certificate sealed through the socket: B-LT"
"$MKPDF" acte.pdf 2 "Marie Dupont" "Jean Martin"
mkbody acte.pdf acte-de-mariage "acte-2026-0042.pdf" > acte.json
chmod 644 acte.json
read -r code ans <<< "$(post $PORTAL acte.json)"
[ "$code" = 200 ] || fail "seal: $code $(head -c 300 "$ans")"
jq -e '.level == "B-LT" and .format == "pades" and (.timestamp | type) == "string"' "$ans" >/dev/null ||
	fail "answer: $(jq -c 'del(.document)' "$ans")"
jq -r .document "$ans" | base64 -d > scelle.pdf
[ "$(jq -r .sha256 "$ans")" = "$(sha256sum < scelle.pdf | cut -d' ' -f1)" ] || fail "sha256 of the answer"
[ "$(jq -r .document_sha256 "$ans")" = "$(sha256sum < acte.pdf | cut -d' ' -f1)" ] || fail "document_sha256"
qpdf --check scelle.pdf > check.txt 2>&1 || { cat check.txt; fail "qpdf --check"; }
grep -q "No syntax or stream encoding errors" check.txt || fail "qpdf warnings"
mkdir nss
certutil -N -d sql:nss --empty-password
certutil -A -d sql:nss -n "CVQ city CA" -t "CT,C,C" -i ca/ca.pem
pdfsig -nssdir sql:nss scelle.pdf > pdfsig.txt 2>&1 || true
for want in "Signature is Valid" "Certificate is Trusted" "Total document signed" "ETSI.CAdES.detached"; do
	grep -q "$want" pdfsig.txt || { cat pdfsig.txt; fail "pdfsig: no '$want'"; }
done
"$ADMIN" document verify --anchors ca/ca.pem scelle.pdf > verify.txt ||
	{ cat verify.txt; fail "cvq-admin document verify refused the sealed act"; }
grep -q "Document authentique" verify.txt || fail "no French verdict: $(cat verify.txt)"
ok "PDF sealed: pdfsig valid, trusted, whole document; qpdf clean; document verify authentique"

echo "--- the journal's seal row"
row=$(sqlite3 -separator '|' "$JOURNAL" \
	"SELECT uid, type, filename, format, level, in_sha256, out_sha256, result FROM seal ORDER BY id DESC LIMIT 1")
want="$PORTAL|acte-de-mariage|acte-2026-0042.pdf|pades|B-LT|$(sha256sum < acte.pdf | cut -d' ' -f1)|$(sha256sum < scelle.pdf | cut -d' ' -f1)|ok"
[ "$row" = "$want" ] || fail "journal row: '$row', wanted '$want'"
grep -q "cvqd info: seal: uid $PORTAL .* type acte-de-mariage pades B-LT" "$CVQ_BENCH/cvqd.log" || fail "no log line of the seal"
ok "journalled: caller, type, both hashes, level; logged"

echo "--- not a PDF: a detached CAdES .p7s"
printf 'Extrait d acte de naissance\n' > extrait.txt
mkbody extrait.txt extrait-de-naissance > extrait.json
chmod 644 extrait.json
read -r code ans <<< "$(post $PORTAL extrait.json)"
[ "$code" = 200 ] || fail "seal of a text: $code $(head -c 300 "$ans")"
jq -e '.format == "cades-detached" and (has("document") | not) and .level == "B-T"' "$ans" >/dev/null ||
	fail "answer: $(jq -c 'del(.signature)' "$ans")"
jq -r .signature "$ans" | base64 -d > extrait.p7s
openssl cms -verify -inform DER -in extrait.p7s -binary -content extrait.txt -CAfile ca/ca.pem \
	-purpose any -out /dev/null 2>cms.txt || { cat cms.txt; fail "openssl cms -verify on the .p7s"; }
printf 'Extrait d acte de naissance!\n' > extrait2.txt
openssl cms -verify -inform DER -in extrait.p7s -binary -content extrait2.txt -CAfile ca/ca.pem \
	-purpose any -out /dev/null 2>/dev/null && fail "openssl accepts the .p7s on other bytes"
ok "non-PDF: a .p7s openssl cms -verify accepts (and refuses on other bytes)"

echo "--- a caller the daemon serves but [seal] does not: 403 before the body"
read -r code ans <<< "$(post $OTHER acte.json)"
[ "$code" = 403 ] && jq -e '.error.code == "forbidden"' "$ans" >/dev/null || fail "other caller: $code $(head -c 300 "$ans")"
head -c 400000 /dev/urandom > big.bin
mkbody big.bin acte-de-mariage > big.json
chmod 644 big.json
# Expect: 100-continue: the answer must come before curl sends a byte of
# the body (and a refusal closing the connection cannot break the pipe).
read -r code ans <<< "$(post $OTHER big.json -H 'Expect: 100-continue' --expect100-timeout 30)"
[ "$code" = 403 ] || fail "other caller, oversized body: $code (the body was looked at first)"
n=$(sqlite3 "$JOURNAL" "SELECT count(*) FROM seal WHERE uid = $OTHER")
[ "$n" = 0 ] || fail "a refused caller has seal rows"
ok "not allowed to seal: 403, even with an oversized body, nothing journalled"

echo "--- too large: 413"
read -r code ans <<< "$(post $PORTAL big.json)"
[ "$code" = 413 ] && jq -e '.error.code == "body_too_large"' "$ans" >/dev/null || fail "oversized: $code $(head -c 300 "$ans")"
head -c 200001 /dev/urandom > edge.bin
mkbody edge.bin acte-de-mariage > edge.json
chmod 644 edge.json
read -r code ans <<< "$(post $PORTAL edge.json)"
[ "$code" = 413 ] || fail "200001 bytes over max_document 200000: $code $(head -c 300 "$ans")"
ok "a document over max_document: 413"

echo "--- what is refused"
printf '{"document":"%s"}' "$(base64 -w0 acte.pdf)" > notype.json
printf '{"document":"%s","type":"Acte De Mariage"}' "$(base64 -w0 acte.pdf)" > badtype.json
printf '{"document":"%s","type":"acte"}' "$(printf '%%PDF-1.7\nnot really\n' | base64 -w0)" > badpdf.json
printf '{"document":"@@@","type":"acte"}' > badb64.json
chmod 644 ./*.json
for c in "notype.json 400 type" "badtype.json 400 type" "badb64.json 400 document"; do
	set -- $c
	read -r code ans <<< "$(post $PORTAL "$1")"
	[ "$code" = "$2" ] && jq -e --arg f "$3" '.error.field == $f' "$ans" >/dev/null || fail "$1: $code $(cat "$ans")"
done
read -r code ans <<< "$(post $PORTAL badpdf.json)"
[ "$code" = 422 ] && jq -e '.error.code == "document_refused"' "$ans" >/dev/null || fail "bad PDF: $code $(cat "$ans")"
[ "$(sqlite3 "$JOURNAL" "SELECT result FROM seal ORDER BY id DESC LIMIT 1")" = document_refused ] ||
	fail "the refused PDF is not journalled"
ok "no type, a bad type name, bad base64: 400; a broken PDF: 422, journalled"

cvqd_stop
echo "--- without [seal]: 404 seal_not_configured"
cvqd_config "$CVQ_BENCH/plain.conf" "[card]" "backend = none"
cvqd_start "$CVQ_BENCH/plain.conf"
trap cleanup EXIT
out=$(api POST /v1/seal '{"document":"AA==","type":"acte"}')
expect_error "$out" 404 seal_not_configured
# At the headers: an oversized body is not read to be told so.
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$CVQ_BENCH/cvqd.sock" \
	-H 'Content-Type: application/json' -H 'Expect: 100-continue' --expect100-timeout 30 \
	--data-binary @big.json http://cvqd/v1/seal) || true
[ "$code" = 404 ] || fail "no [seal], oversized body: $code"
cvqd_stop
ok "no [seal]: 404 seal_not_configured, before the body"
echo "daemon-seal: all checks passed"
