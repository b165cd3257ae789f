#!/usr/bin/env bash
# The CA judged by peers: a root and an issuing CA made by cvq-admin; every
# certificate checked by openssl verify, GnuTLS certtool and our profile
# checker; revocation seen by openssl crl/verify -crl_check and certtool;
# OCSP over POST and GET answered right (openssl ocsp), nonces echoed,
# caching headers, never wedged by an idle connection; the audit chain
# verifies and catches tampering.
. "$(dirname "$0")/lib.sh"
cd "$W"
PORT=18080
URL=http://127.0.0.1:$PORT

# --- a root and an issuing CA under it
make_ca root --subject "/C=FR/O=Ville de Test/CN=Racine CVQ" --alg ec-p384
officers root
# The issuing CA under two-person control of the root: its key and the
# root's request for it; nothing certified, no store, until OFF2 approves.
(umask 077; echo "passphrase of ca" > ca.pass)
"$ADMIN" ca init --dir ca --pass file:ca.pass --ocsp-signer --policy 1.3.6.1.4.1.55555.1.1 \
	--org "Ville de Test" --country FR --unattested admit \
	--subject "/C=FR/O=Ville de Test/CN=CVQ Citoyens" --url "$URL" \
	--parent root/ca.conf > subca.out 2>/dev/null || fail "sub-CA request"
REQ=$(request_id subca.out)
[ -n "$REQ" ] || fail "no request for the sub-CA: $(cat subca.out)"
[ -f ca/ca-key.pem ] && [ ! -e ca/ca.pem ] && [ ! -e ca/ca.db ] || fail "a sub-CA before any approval"
has '"profile": "subca"' "$ADMIN" --config root/ca.conf --json cert list && fail "a subca in the store"
has "is pending" "$ADMIN" ca init --dir ca --parent root/ca.conf --finish "$REQ" ||
	fail "finish before the approval"
has "another officer must approve" "$ADMIN" --config root/ca.conf ca approve --no-agent \
	--pass file:root.pass "$REQ" || fail "the requester approved its own sub-CA"
approve_as "$NOBODY_UID" root "$REQ" && fail "a non-officer approved the sub-CA"
grep -q "no role in this CA" approve.out || fail "non-officer: $(cat approve.out)"
[ ! -e ca/ca.pem ] || fail "certified by refusals"
approve_as "$OFF2" root "$REQ" || fail "second officer's approval: $(cat approve.out)"
# Another key cannot take this certificate; the one asked for does.
"$ADMIN" ca init --dir ca2 --pass file:ca.pass --subject "/C=FR/O=Ville de Test/CN=Autre" \
	--parent root/ca.conf >/dev/null 2>&1 || fail "a second sub-CA request"
has "not for this key" "$ADMIN" ca init --dir ca2 --parent root/ca.conf --finish "$REQ" ||
	fail "another key took the sub-CA certificate"
[ ! -e ca2/ca.pem ] && [ ! -e ca2/ca.db ] || fail "ca2 made from another's certificate"
"$ADMIN" ca init --dir ca --parent root/ca.conf --finish "$REQ" > finish.out ||
	fail "ca init --finish: $(cat finish.out)"
export CVQ_CA_CONFIG=$W/ca/ca.conf
has "issuing.*request $REQ of the parent" "$ADMIN" audit show || fail "ca.init of the sub-CA"
has "request.issued" "$ADMIN" --config root/ca.conf audit show || fail "request.issued at the root"
[ "$(stat -c %a ca/ca-key.pem)" = 600 ] || fail "key file mode"
grep -q "passphrase" ca/ca-key.pem && fail "passphrase in the key file"
grep -q "ENCRYPTED PRIVATE KEY" ca/ca-key.pem || fail "key not encrypted"
openssl verify -CAfile root/ca.pem ca/ca.pem >/dev/null || fail "issuing CA does not verify"
"$ADMIN" --config root/ca.conf cert check --profile subca ca/ca.pem >/dev/null
"$ADMIN" cert check --profile ocsp-signer ca/ocsp.pem >/dev/null
cat ca/ca.pem root/ca.pem > chain.pem
ok "root and issuing CA"

# The key file refused when others may read it.
chmod 644 ca/ca-key.pem
expect_rc 1 "$ADMIN" crl --out /dev/null 2>/dev/null
chmod 600 ca/ca-key.pem

# --- citizens, cards, certificates of every profile
"$ADMIN" citizen add --id INF-0001 --given Marie --family Curie --email m@example.org >/dev/null
"$ADMIN" citizen add --id INF-0002 --given Pierre --family Curie >/dev/null
"$ADMIN" citizen add-card INF-0001 0011223344556677889900AABBCCDDEE >/dev/null
"$ADMIN" citizen add-card INF-0002 FF11223344556677889900AABBCCDDEE >/dev/null
expect_rc 5 "$ADMIN" citizen show INF-9999 2>/dev/null
"$ADMIN" --json citizen show INF-0001 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["cards"][0]["status"]=="active"'

issue() { # name profile [options...]
	local n=$1 p=$2
	shift 2
	csr "$n.csr" "${ALG:-ec}"
	"$ADMIN" cert issue --profile "$p" --out "$n.pem" "$@" "$n.csr"
	openssl verify -CAfile root/ca.pem -untrusted ca/ca.pem "$n.pem" >/dev/null || fail "openssl verify $n"
	certtool --verify --load-ca-certificate root/ca.pem --infile <(cat "$n.pem" ca/ca.pem) \
		>"$n.certtool" 2>&1 || { cat "$n.certtool"; fail "certtool verify $n"; }
	"$ADMIN" cert check --profile "$p" "$n.pem" >/dev/null || fail "profile check $n"
	certtool -i --infile "$n.pem" > "$n.txt" || fail "certtool parse $n"
}
issue auth1 citizen-auth --card 0011223344556677889900AABBCCDDEE
issue sign1 citizen-sign --card 0011223344556677889900aabbccddee
ALG=rsa issue auth2 citizen-auth --card FF11223344556677889900AABBCCDDEE
issue svc service --subject "/CN=cvqd.example.org" --dns cvqd.example.org
has "CN = Marie Curie, serialNumber = INF-0001" openssl x509 -in auth1.pem -noout -subject ||
	fail "citizen subject"
has "DNS:cvqd.example.org" openssl x509 -in svc.pem -noout -ext subjectAltName || fail "SAN"
has "$URL/ocsp" openssl x509 -in auth1.pem -noout -ext crlDistributionPoints,authorityInfoAccess ||
	fail "AIA"
grep -q "1.3.6.1.4.1.55555.1.1" auth1.txt || fail "policy"
# Serial: >= 64 bits, positive, as stored.
s=$(serial_of auth1.pem)
[ ${#s} -ge 16 ] || fail "short serial $s"
"$ADMIN" --json cert show "$s" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="good" and d["profile"]=="citizen-auth"'
[ "$("$ADMIN" --json cert list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 5 ] ||
	fail "cert list"
# A suspended card gets nothing; a tampered CSR is refused.
"$ADMIN" citizen card-status FF11223344556677889900AABBCCDDEE suspended
csr x.csr
expect_rc 1 "$ADMIN" cert issue --profile citizen-auth --card FF11223344556677889900AABBCCDDEE x.csr 2>/dev/null
"$ADMIN" citizen card-status FF11223344556677889900AABBCCDDEE active
ok "issuance judged by openssl, certtool and the profile checker"

# --- OCSP responder
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 2 > ocsp.log 2>&1 &
PIDS+=($!)
wait_port $PORT
[ "$(ocsp_status ca/ca.pem auth1.pem $URL/ocsp chain.pem)" = good ] || fail "ocsp good"
has "OCSP Nonce" openssl ocsp -issuer ca/ca.pem -cert sign1.pem -url $URL/ocsp -CAfile chain.pem -resp_text || fail "nonce not echoed"
has ": unknown" openssl ocsp -issuer ca/ca.pem -serial 0x1122334455667788 -url $URL/ocsp -CAfile chain.pem || fail "ocsp unknown"
# An idle connection (and a slow one) does not wedge the responder.
exec 5<>/dev/tcp/127.0.0.1/$PORT
exec 6<>/dev/tcp/127.0.0.1/$PORT
printf 'POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0' >&6
[ "$(ocsp_status ca/ca.pem sign1.pem $URL/ocsp chain.pem)" = good ] || fail "wedged by idle clients"
exec 5>&- 6>&-
# GET (RFC 5019): cacheable, same answer.
openssl ocsp -issuer ca/ca.pem -cert auth1.pem -no_nonce -reqout req.der >/dev/null 2>&1
curl -sf -D get.h -o get.der "$URL/ocsp/$(base64 -w0 req.der | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')"
grep -qi "^content-type: application/ocsp-response" get.h || fail "GET content type"
grep -qi "^cache-control: max-age=" get.h || fail "GET cache-control"
grep -qi "^etag:" get.h || fail "GET etag"
has "auth1.pem: good" openssl ocsp -respin get.der -reqin req.der -issuer ca/ca.pem -CAfile chain.pem -cert auth1.pem || fail "GET answer"
# Kept alive: three POSTs on one connection (the same signed answer, its
# reply object reused), each judged by openssl.
curl -sf --http1.1 -H "Content-Type: application/ocsp-request" --data-binary @req.der \
	-o ka1.der -o ka2.der -o ka3.der -w '%{num_connects}\n' "$URL/ocsp" "$URL/ocsp" "$URL/ocsp" > ka.n ||
	fail "keep-alive POSTs"
n=0
while read -r x; do n=$((n + x)); done < ka.n
[ $n = 1 ] || fail "keep-alive: $n connections for 3 requests"
for f in ka1 ka2 ka3; do
	has "auth1.pem: good" openssl ocsp -respin $f.der -reqin req.der -issuer ca/ca.pem -CAfile chain.pem \
		-cert auth1.pem || fail "keep-alive answer $f"
done
ok "OCSP: POST, GET, nonce, unknown, idle clients"

# --- revocation: by serial, by card; seen at once by OCSP, then by the CRL
# Nonce-less requests get pre-signed, cached answers: asked twice before,
# once after the revocation (another process's commit).
nn_status() {
	openssl ocsp -issuer ca/ca.pem -cert "$1" -url $URL/ocsp -CAfile chain.pem -no_nonce 2>&1 |
		awk -v c="$1" '$1 == c":" { print $2 }'
}
[ "$(nn_status sign1.pem)" = good ] && [ "$(nn_status sign1.pem)" = good ] || fail "cached good"
"$ADMIN" cert revoke "$(serial_of sign1.pem)" --reason keyCompromise >/dev/null
[ "$(nn_status sign1.pem)" = revoked ] || fail "cached answer outlived the revocation"
"$ADMIN" cert revoke "$(serial_of sign1.pem)" --reason superseded >/dev/null   # idempotent
[ "$(ocsp_status ca/ca.pem sign1.pem $URL/ocsp chain.pem)" = revoked ] || fail "ocsp revoked"
has "Reason: keyCompromise" openssl ocsp -issuer ca/ca.pem -cert sign1.pem -url $URL/ocsp -CAfile chain.pem || fail "first reason kept"
n=$("$ADMIN" --json cert revoke --card FF11223344556677889900AABBCCDDEE --reason keyCompromise \
	--card-status stolen --invalidity 1790000000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["revoked"])')
[ "$n" = 1 ] || fail "revoke by card: $n"
has '"stolen"' "$ADMIN" --json citizen show INF-0002 || fail "card status"
[ "$(ocsp_status ca/ca.pem auth2.pem $URL/ocsp chain.pem)" = revoked ] || fail "ocsp revoked by card"
"$ADMIN" crl --out crl1.der
"$ADMIN" crl --out crl2.der
for c in crl1 crl2; do
	openssl crl -inform DER -in $c.der -out $c.pem
	has "verify OK" openssl crl -in $c.pem -CAfile chain.pem -noout || fail "crl verify $c"
done
n1=$(openssl crl -in crl1.pem -noout -crlnumber | cut -d= -f2 | sed "s/^0x//")
n2=$(openssl crl -in crl2.pem -noout -crlnumber | cut -d= -f2 | sed "s/^0x//")
[ $((16#$n2)) -gt $((16#$n1)) ] || fail "crl number not increasing"
has "Invalidity Date" openssl crl -in crl2.pem -noout -text || fail "invalidity date"
cat chain.pem crl2.pem > chain-crl.pem
openssl verify -crl_check -CAfile chain-crl.pem auth1.pem >/dev/null || fail "good cert with CRL"
openssl verify -crl_check -CAfile chain-crl.pem sign1.pem > v.out 2>&1 || true
grep -q "certificate revoked" v.out || { cat v.out; openssl crl -in crl2.pem -noout -text | head -30; fail "revoked cert passes the CRL"; }
certtool --crl-info --infile crl2.pem > crl.txt || fail "certtool crl parse"
grep -qi "$(serial_of sign1.pem | tr A-F a-f)" crl.txt || fail "certtool does not list the revoked serial"
certtool --verify-crl --load-ca-certificate ca/ca.pem --infile crl2.pem >/dev/null || fail "certtool verify-crl"
ok "revocation, CRL judged by openssl and certtool"

# --- audit
"$ADMIN" audit verify >/dev/null
"$ADMIN" --json audit show | python3 -c 'import json,sys; a=json.load(sys.stdin); assert any(e["action"]=="cert.revoke" for e in a)'
sqlite3 ca/ca.db "UPDATE audit SET detail = 'holder=INF-0666' WHERE action = 'card.add'"
expect_rc 6 "$ADMIN" audit verify 2>/dev/null
ok "audit chain verifies and catches a changed entry"
echo "PASS ca-peers"
