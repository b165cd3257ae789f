#!/usr/bin/env bash
# libcvqverify's rules on the real stack: the city's CA (cvq-admin, SQLite,
# a card enrolled on cvq-vcard for the citizen certificates of software
# keys), receipts by `openssl cms -sign`, signature timestamps by `openssl
# ts -reply` attached as id-aa-signatureTimeStampToken, revocation by the
# CA's CRL and its OCSP responder. Every case gets its verdict from both
# `cvq-admin verify` and cvqd's /v1/verify, and is judged by openssl cms
# -verify and openssl ts -verify.
. "$(dirname "$0")/../admin/lib-admin.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
TSTATTACH=${1:?tstattach}
P="file:$W/ca.pass"
PKI=$W/pki
R=$W/receipts
mkdir -p "$PKI" "$R"

admin_setup
admin_enrol 0001 0 > /dev/null
guid=$(admin_guid 0)
cp "$W/ca/ca.pem" "$PKI/ca.pem"

# soft_cert NAME PROFILE [ARGS]: a software key and its certificate from the CA.
soft_cert() {
	local n=$1 prof=$2
	shift 2
	openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$n.key"
	openssl req -new -key "$PKI/$n.key" -subj "/CN=Marie Dupont" -out "$PKI/$n.csr"
	"$A" cert issue --profile "$prof" --pass "$P" --out "$PKI/$n.pem" "$@" "$PKI/$n.csr" > /dev/null
	openssl x509 -in "$PKI/$n.pem" -noout -serial | cut -d= -f2 > "$PKI/$n.serial"
}
# tsa_cert NAME [CA CAKEY]: a TSA certificate (critical EKU timeStamping),
# signed by openssl with the city CA's key, or another CA's.
tsa_cert() {
	local ca=${2:-$PKI/ca.pem} key=${3:-$W/ca/ca-key.pem}
	openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key"
	openssl req -new -key "$PKI/$1.key" -subj "/O=Ville/CN=Horodatage $1" -out "$PKI/$1.csr"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' \
		> "$PKI/$1.ext"
	openssl x509 -req -in "$PKI/$1.csr" -CA "$ca" -CAkey "$key" \
		-passin "file:$W/ca.pass" -set_serial "0x$(openssl rand -hex 8)" -days 30 \
		-extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2> /dev/null
}
crl() {
	"$A" crl issue --pass "$P" --out "$PKI/crl.pem" --pem > /dev/null
	cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"
}
# receipt NAME SIGNER: canonical receipt content signed by openssl.
receipt() {
	openssl cms -sign -binary -nodetach -md sha256 -in "$PKI/content.json" -signer "$PKI/$2.pem" \
		-inkey "$PKI/$2.key" -outform DER -out "$R/$1.der"
}
# stamp NAME [TSA] [OTHER]: NAME-t.der, NAME.der with a timestamp (by openssl
# ts) over its signature value, or over OTHER's when given.
stamp() {
	local n=$1 tsa=${2:-tsa} over=${3:-$1}
	"$TSTATTACH" sig "$R/$n.der" "$R/$n.sig"
	"$TSTATTACH" sig "$R/$over.der" "$R/$n.over"
	openssl ts -query -data "$R/$n.over" -sha256 -cert -out "$R/$n.tsq" 2> /dev/null
	openssl ts -reply -config "$PKI/tsa.cnf" -queryfile "$R/$n.tsq" -signer "$PKI/$tsa.pem" \
		-inkey "$PKI/$tsa.key" -token_out -out "$R/$n.tok" 2> /dev/null
	"$TSTATTACH" attach "$R/$n.der" "$R/$n.tok" "$R/$n-t.der"
}
next_second() { local t; t=$(date +%s); while [ "$(date +%s)" -le "$t" ]; do sleep 0.1; done; }

VERIFY_ARGS=(--anchors "$PKI/ca.pem" --crl "$PKI/crl.pem")
# expect FILE OUTCOME: cvq-admin verify and cvqd /v1/verify both say OUTCOME.
expect() {
	local f=$1 want=$2 rc=0 got code body
	"$A" --json verify "${VERIFY_ARGS[@]}" "$R/$f.der" > "$R/$f.json" || rc=$?
	got=$(jq -r .outcome "$R/$f.json")
	[ "$got" = "$want" ] || bench_fail "cvq-admin verify $f: $got, expected $want: $(cat "$R/$f.json")"
	case $want in
	valid) [ "$rc" = 0 ] ;; revocation_unknown) [ "$rc" = 1 ] ;; *) [ "$rc" = 6 ] ;;
	esac || bench_fail "cvq-admin verify $f: exit $rc for $want"
	echo "  $f: $want"
	[ -n "${CVQD_PID:-}" ] || return 0
	body=$(api POST /v1/verify "{\"receipt\":\"$(base64 -w0 < "$R/$f.der")\"}")
	code=${body%% *}
	got=$(jq -r '.outcome // .error.outcome' <<< "${body#* }")
	[ "$got" = "$want" ] || bench_fail "cvqd /v1/verify $f: $got, expected $want: $body"
	[ "$want" = valid ] && [ "$code" != 200 ] && bench_fail "cvqd /v1/verify $f: HTTP $code"
	jq -e '(.message_fr // .error.message_fr) | length > 20' <<< "${body#* }" > /dev/null ||
		bench_fail "no French sentence: $body"
}
# judge_cms FILE ok|fail [ARGS]: openssl cms -verify (the anchors, maybe the CRL).
judge_cms() {
	local ok=0
	openssl cms -verify -binary -inform DER -in "$R/$1.der" -CAfile "$PKI/ca.pem" -out /dev/null \
		"${@:3}" > /dev/null 2>&1 || ok=1
	[ "$ok" = "$([ "$2" = ok ] && echo 0 || echo 1)" ] || bench_fail "openssl cms -verify $1: expected $2"
}
# judge_ts NAME ok|fail: openssl ts -verify of NAME's token over NAME's signature.
judge_ts() {
	local ok=0
	openssl ts -verify -token_in -in "$R/$1.tok" -data "$R/$1.sig" -CAfile "$PKI/ca.pem" \
		-untrusted "$PKI/${3:-tsa}.pem" > /dev/null 2>&1 || ok=1
	[ "$ok" = "$([ "$2" = ok ] && echo 0 || echo 1)" ] || bench_fail "openssl ts -verify $1: expected $2"
}
reload() {
	local n
	n=$(grep -c 'reloaded' "$CVQ_BENCH/cvqd.log" || true)
	kill -HUP "$CVQD_PID"
	for ((i = 0; i < 200; i++)); do
		[ "$(grep -c 'reloaded' "$CVQ_BENCH/cvqd.log" || true)" -gt "$n" ] && return 0
		sleep 0.05
	done
	bench_fail "cvqd did not reload"
}

content='{"cvq":"receipt/1","nonce":"q83vEjRWeJCrze8SNFZ4kA","time":"TIME","transaction":{"amount":"45.00","currency":"EUR","payee":"École de musique","reference":"INSCR-2026-0042","type":"payment"}}'
printf '%s' "${content/TIME/$(date -u +%Y-%m-%dT%H:%M:%SZ)}" > "$PKI/content.json"
cat > "$PKI/tsa.cnf" <<EOC
[tsa]
default_tsa = city
[city]
serial = $PKI/tsa.serial
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.2
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
EOC
echo 01 > "$PKI/tsa.serial"
tsa_cert tsa
soft_cert good citizen-sign --card "$guid"
soft_cert login citizen-auth --card "$guid"
soft_cert svc service --dns kiosk.ville.example
soft_cert ren citizen-sign --card "$guid"
soft_cert lost citizen-sign --card "$guid"
soft_cert gone citizen-sign --card "$guid"
crl
openssl crl -in "$PKI/crl.pem" -noout -text | grep -q '2.5.29.60' ||
	bench_fail "the CRL lacks expiredCertsOnCRL"

cvqd_config "$CVQ_BENCH/cvqd.conf"
cvqd_start "$CVQ_BENCH/cvqd.conf"

echo "== a receipt and its timestamp"
receipt good good && stamp good
expect good-t valid
expect good valid
judge_cms good-t ok
judge_ts good ok
jq -e '.timestamp != null and .check_time == .timestamp' "$R/good-t.json" > /dev/null ||
	bench_fail "not judged at the timestamp's time: $(cat "$R/good-t.json")"
jq -e '.timestamp == null' "$R/good.json" > /dev/null || bench_fail "a timestamp from nowhere"
if command -v certtool > /dev/null; then
	certtool --p7-verify --inder --infile "$R/good-t.der" --load-ca-certificate "$PKI/ca.pem" \
		> /dev/null 2>&1 || bench_fail "certtool --p7-verify refused the timestamped receipt"
fi

echo "== cvq-admin verify: base64 on stdin, --content, --cert, usage"
base64 < "$R/good-t.der" | "$A" verify "${VERIFY_ARGS[@]}" --content "$R/content.out" - > /dev/null ||
	bench_fail "base64 receipt on stdin refused"
cmp "$R/content.out" "$PKI/content.json" || bench_fail "--content is not the signed content"
rc=0; "$A" verify "${VERIFY_ARGS[@]}" --cert "$PKI/login.pem" --signing > /dev/null || rc=$?
[ "$rc" = 6 ] || bench_fail "a login certificate passed --signing (exit $rc)"
"$A" verify "${VERIFY_ARGS[@]}" --cert "$PKI/login.pem" > /dev/null || bench_fail "login certificate refused as such"
rc=0; "$A" verify "$R/good-t.der" 2> /dev/null || rc=$?
[ "$rc" = 2 ] || bench_fail "no --anchors: exit $rc"

echo "== tampered content"
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d.replace(b"45.00", b"95.00", 1))' \
	"$R/good-t.der" "$R/forged.der"
expect forged bad_signature
judge_cms forged fail

echo "== keys under a certificate that is not a signature one (9A login, service)"
receipt login login && stamp login
expect login-t not_signing_certificate
judge_cms login-t fail
receipt svc svc && stamp svc
expect svc-t not_signing_certificate
judge_cms svc-t fail

echo "== a certificate from another CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/otherca.key" \
	-subj "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA" -days 30 -out "$PKI/otherca.pem" 2> /dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/other.key"
openssl req -new -key "$PKI/other.key" -subj "/CN=Marie Dupont" -out "$PKI/other.csr"
printf 'keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n' > "$PKI/other.ext"
openssl x509 -req -in "$PKI/other.csr" -CA "$PKI/otherca.pem" -CAkey "$PKI/otherca.key" -days 30 \
	-set_serial 7 -extfile "$PKI/other.ext" -out "$PKI/other.pem" 2> /dev/null
receipt other other
expect other untrusted
judge_cms other fail

echo "== timestamps that prove nothing: a TSA of another CA, a token over another signature"
# (a TSA certificate without a critical EKU timeStamping: openssl ts -reply refuses to sign with it)
tsa_cert tsaother "$PKI/otherca.pem" "$PKI/otherca.key"
receipt weak good && stamp weak tsaother
expect weak-t bad_timestamp
judge_ts weak fail tsaother
receipt moved good && stamp moved tsa good
expect moved-t bad_timestamp
judge_ts moved fail

echo "== superseded (renewal): what was timestamped before stays valid"
receipt ren ren && stamp ren
receipt gone gone && stamp gone
next_second
"$A" cert revoke "$(cat "$PKI/ren.serial")" --reason superseded --pass "$P" > /dev/null
"$A" cert revoke "$(cat "$PKI/gone.serial")" --reason cessationOfOperation --pass "$P" > /dev/null
next_second
receipt ren2 ren && stamp ren2
crl
reload
expect ren-t valid
jq -e '.revocation.status == "revoked" and .revocation.reason == "superseded"' "$R/ren-t.json" > /dev/null ||
	bench_fail "the revocation is not reported: $(cat "$R/ren-t.json")"
expect gone-t valid
expect ren revoked        # signingTime says before, but nothing proves it
expect ren2-t revoked
judge_ts ren ok
# OpenSSL knows no reasons: any CRL entry fails, which is what cvqd did before.
judge_cms ren-t fail -crl_check -CRLfile "$PKI/crl.pem"

echo "== lost (keyCompromise): valid only if timestamped before the invalidity date"
receipt lost1 lost && stamp lost1
next_second
inv=$(date +%s)
next_second
receipt lost2 lost && stamp lost2
"$A" cert revoke "$(cat "$PKI/lost.serial")" --reason keyCompromise --invalidity "$inv" --pass "$P" > /dev/null
crl
reload
openssl crl -in "$PKI/crl.pem" -noout -text | grep -q 'Invalidity Date' || bench_fail "no invalidity date on the CRL"
expect lost1-t valid
expect lost2-t key_compromised
expect lost1 key_compromised

echo "== card lost --since: the holder says when; receipts timestamped before stand"
soft_cert late citizen-sign --card "$guid"
receipt late1 late && stamp late1
next_second
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
next_second
receipt late2 late && stamp late2
rc=0; "$A" card lost "$guid" --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" --pass "$P" > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || bench_fail "card lost --since in the future: exit $rc"
"$A" card lost "$guid" --since "$since" --pass "$P" > /dev/null
crl
reload
openssl crl -in "$PKI/crl.pem" -noout -text | grep -A8 "$(cat "$PKI/late.serial")" |
	grep -q "$(date -u -d "$since" '+%b %e %H:%M:%S %Y')" || bench_fail "the CRL entry lacks the --since invalidity date"
expect late1-t valid
expect late2-t key_compromised
expect ren-t valid        # already superseded: the loss does not touch it

echo "== without revocation information: undecided (exit 1), unless not required"
VERIFY_ARGS=(--anchors "$PKI/ca.pem")
CVQD_PID_SAVED=$CVQD_PID
CVQD_PID=
expect good-t revocation_unknown
VERIFY_ARGS=(--anchors "$PKI/ca.pem" --no-require-revocation)
expect good-t valid

echo "== the CA's OCSP responder alone (reason and invalidity date in its answers)"
admin_ocsp_start
trap 'kill "$OCSP_PID" "$CVQD_PID_SAVED" 2>/dev/null || true' EXIT
VERIFY_ARGS=(--anchors "$PKI/ca.pem" --ocsp "http://127.0.0.1:$OCSP_PORT/ocsp")
expect good-t valid
jq -e '.revocation.source == "ocsp"' "$R/good-t.json" > /dev/null || bench_fail "not by OCSP: $(cat "$R/good-t.json")"
expect lost1-t valid
expect lost2-t key_compromised
expect ren-t valid
expect ren2-t revoked
expect late1-t valid
expect late2-t key_compromised
kill "$OCSP_PID"

CVQD_PID=$CVQD_PID_SAVED
cvqd_stop
echo "PASS"
