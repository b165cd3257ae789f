#!/usr/bin/env bash
# The city's TSA (RFC 3161) on the CA's one public service, judged by
# `openssl ts`: the tsa profile, requests with and without nonce and
# certReq, SHA-256/384/512, our policy asked or another refused, weak or
# malformed requests refused, the accuracy of the configuration, OCSP on
# the same port, every token in the audit chain (its serial and the SHA-256
# of the token), and a kill -9 in the middle of a flood that loses no
# audit entry of a token any client received.
. "$(dirname "$0")/lib.sh"
cd "$W"
PORT=18091
POL=1.3.6.1.4.1.55555.1.9
make_ca ca
officers ca
export CVQ_CA_CONFIG=$W/ca/ca.conf
(umask 077; echo "tsa passphrase" > tsa.pass)
expect_rc 2 "$ADMIN" tsa init --bogus 2>/dev/null
# Two-person control: init makes the key and requests its certificate;
# nothing is certified, and the service has no TSA, until OFF2 approves.
"$ADMIN" tsa init --pass "file:$W/tsa.pass" --policy $POL --accuracy-ms 250 >init.out 2>/dev/null ||
	fail "tsa init"
REQ=$(request_id init.out)
[ -n "$REQ" ] || fail "tsa init gave no request: $(cat init.out)"
[ -f ca/tsa-key.pem ] && [ ! -e ca/tsa.pem ] || fail "a TSA certificate before any approval"
! grep -q '^\[tsa\]' ca/ca.conf || fail "[tsa] in force before the approval"
has '"profile": "tsa"' "$ADMIN" --json cert list && fail "a tsa certificate in the store before approval"
expect_rc 1 "$ADMIN" tsa init --pass "file:$W/tsa.pass" 2>/dev/null   # one request at a time
# The service, started now, has no TSA: a query gets no token.
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 1 > serve0.out 2>&1 &
SRV0=$!
PIDS+=($SRV0)
wait_port $PORT
echo "before the approval" > early.txt
openssl ts -query -data early.txt -sha256 -cert -out early.tsq 2>/dev/null
! curl -sf -H 'Content-Type: application/timestamp-query' --data-binary @early.tsq \
	http://127.0.0.1:$PORT/ -o early.tsr || fail "a timestamp before the TSA was approved"
kill $SRV0; wait $SRV0 2>/dev/null || true
has "is pending" "$ADMIN" tsa init --finish "$REQ" || fail "finish before the approval"
# The requester approving its own request, a non-officer: refused.
has "another officer must approve" "$ADMIN" ca approve --no-agent --pass "file:$W/ca.pass" "$REQ" ||
	fail "the requester approved its own TSA"
approve_as "$NOBODY_UID" ca "$REQ" && fail "a non-officer approved"
grep -q "no role in this CA" approve.out || fail "non-officer: $(cat approve.out)"
[ ! -e ca/tsa.pem ] && ! has '"profile": "tsa"' "$ADMIN" --json cert list || fail "certified by refusals"
approve_as "$OFF2" ca "$REQ" || fail "second officer's approval: $(cat approve.out)"
"$ADMIN" tsa init --finish "$REQ" >/dev/null || fail "tsa init --finish"
[ ! -e ca/tsa-request.conf ] || fail "the pending section stayed"
expect_rc 1 "$ADMIN" tsa init --pass "file:$W/tsa.pass" 2>/dev/null   # one TSA per configuration
has "request.submit" "$ADMIN" audit show || fail "request not audited"
has "tsa.init" "$ADMIN" audit show || fail "tsa.init not audited"
[ "$(stat -c %a ca/tsa-key.pem)" = 600 ] || fail "TSA key mode"
grep -q "ENCRYPTED" ca/tsa-key.pem || fail "TSA key not encrypted"
# The profile: critical EKU timeStamping only, by openssl and our checker.
has "critical" openssl x509 -in ca/tsa.pem -noout -ext extendedKeyUsage || fail "EKU not critical"
has "Time Stamp signing : Yes" openssl x509 -in ca/tsa.pem -noout -purpose || fail "openssl purpose"
openssl verify -purpose timestampsign -CAfile ca/ca.pem ca/tsa.pem >/dev/null || fail "TSA chain"
"$ADMIN" cert check --profile tsa ca/tsa.pem >/dev/null || fail "cvq profile check"
expect_rc 6 "$ADMIN" cert check --profile tsa ca/ocsp.pem 2>/dev/null
has '"profile": "tsa"' "$ADMIN" --json cert list || fail "TSA certificate not in the store"
ok "tsa profile and init"

"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 2 > serve.out 2>&1 &
SRV=$!
PIDS+=($SRV)
wait_port $PORT
grep -q "OCSP and TSA" serve.out || fail "service does not say it serves the TSA"
URL=http://127.0.0.1:$PORT

# post FILE.tsq FILE.tsr [PATH]: the request, the content type of RFC 3161 3.4
post() {
	curl -sf -H 'Content-Type: application/timestamp-query' --data-binary "@$1" \
		"$URL${3:-/}" -o "$2"
}
status_of() { openssl ts -reply -in "$1" -text 2>/dev/null | awk '/^Status:/ {print $2; exit}'; }

echo "the payment of 2026-12-01, 12.50 EUR" > data.txt
# 1. nonce and certReq: the token names our policy, carries the TSA certificate.
openssl ts -query -data data.txt -sha256 -cert -out q1.tsq 2>/dev/null
post q1.tsq r1.tsr || fail "POST"
openssl ts -verify -queryfile q1.tsq -in r1.tsr -CAfile ca/ca.pem >/dev/null 2>&1 || fail "ts -verify (query)"
openssl ts -verify -data data.txt -in r1.tsr -CAfile ca/ca.pem >/dev/null 2>&1 || fail "ts -verify (data)"
T=$(openssl ts -reply -in r1.tsr -text 2>/dev/null)
grep -q "Policy OID: $POL" <<<"$T" || fail "policy"
grep -q "Nonce: 0x" <<<"$T" || fail "nonce"
grep -q "0xFA millis" <<<"$T" || fail "accuracy 250 ms: $(grep Accuracy <<<"$T")"
# The nonce echoed is the query's.
qn=$(openssl ts -query -in q1.tsq -text 2>/dev/null | awk '/^Nonce:/ {print $2}')
[ "$(awk '/^Nonce:/ {print $2}' <<<"$T")" = "$qn" ] || fail "nonce not echoed"
# A different document does not verify against this token (the check can fail).
echo "another text" > other.txt
! openssl ts -verify -data other.txt -in r1.tsr -CAfile ca/ca.pem >/dev/null 2>&1 || fail "wrong data verified"
ok "nonce, certReq, policy, accuracy: openssl ts -verify"

# 2. no nonce, no certReq, SHA-384 and SHA-512, at the /tsa path without
#    the content type: verified with the TSA certificate given apart.
for alg in sha384 sha512; do
	openssl ts -query -data data.txt -$alg -no_nonce -out q-$alg.tsq 2>/dev/null
	curl -sf --data-binary "@q-$alg.tsq" "$URL/tsa" -o r-$alg.tsr || fail "POST /tsa"
	openssl ts -verify -queryfile q-$alg.tsq -in r-$alg.tsr -CAfile ca/ca.pem \
		-untrusted ca/tsa.pem >/dev/null 2>&1 || fail "ts -verify $alg without certReq"
	! openssl ts -verify -queryfile q-$alg.tsq -in r-$alg.tsr -CAfile ca/ca.pem >/dev/null 2>&1 ||
		fail "$alg: the certificate was sent though certReq was false"
done
ok "no nonce, no certReq, SHA-384, SHA-512, /tsa"

# 3. Our policy asked: granted; another: rejected (unacceptedPolicy).
openssl ts -query -data data.txt -sha256 -tspolicy $POL -cert -out q3.tsq 2>/dev/null
post q3.tsq r3.tsr && [ "$(status_of r3.tsr)" = Granted. ] || fail "our policy"
openssl ts -query -data data.txt -sha256 -tspolicy 1.2.3.4 -cert -out q4.tsq 2>/dev/null
post q4.tsq r4.tsr && [ "$(status_of r4.tsr)" = Rejected. ] || fail "other policy granted"
has "policy is not supported" openssl ts -reply -in r4.tsr -text || fail "failInfo of the policy refusal"
# SHA-1 imprints, garbage, and a valid request with a byte after it: rejected.
openssl ts -query -data data.txt -sha1 -cert -out q5.tsq 2>/dev/null
post q5.tsq r5.tsr && [ "$(status_of r5.tsr)" = Rejected. ] || fail "SHA-1 granted"
head -c 100 /dev/urandom > junk.tsq
post junk.tsq r6.tsr && [ "$(status_of r6.tsr)" = Rejected. ] || fail "garbage granted"
{ cat q1.tsq; printf '\0'; } > trail.tsq
post trail.tsq r7.tsr && [ "$(status_of r7.tsr)" = Rejected. ] || fail "trailing byte granted"
ok "other policy, SHA-1, garbage, trailing bytes: rejected"

# 4. OCSP on the same port still answers.
csr a.csr
"$ADMIN" cert issue --profile service --subject /CN=a.test --out a.pem a.csr
[ "$(ocsp_status ca/ca.pem a.pem $URL/ocsp ca/ocsp.pem)" = good ] || fail "OCSP beside the TSA"
ok "OCSP and TSA on one port"

# 5. The audit chain: one tsa.stamp per granted token, none for a refusal,
#    each with the token's serial and SHA-256; the chain verifies.
granted=0
"$ADMIN" audit show > audit0.txt
for r in r1.tsr r-sha384.tsr r-sha512.tsr r3.tsr; do
	s=$(openssl ts -reply -in $r -text 2>/dev/null | awk '/^Serial number:/ {print toupper(substr($3,3))}')
	openssl ts -reply -in $r -token_out -out tok.der 2>/dev/null
	h=$(openssl dgst -sha256 -r tok.der | cut -d' ' -f1)
	grep -q "tsa\.stamp  *$s  *token=sha256:$h " audit0.txt || fail "no audit entry for token $s ($h)"
	granted=$((granted + 1))
done
n=$(grep -c "tsa\.stamp" audit0.txt)
[ "$n" = $granted ] || fail "$n tsa.stamp entries for $granted tokens"
"$ADMIN" audit verify >/dev/null || fail "audit chain"
has "\"tokens\": $granted" "$ADMIN" --json tsa status || fail "tsa status count"
ok "every token in the audit chain"

# 6. kill -9 during a flood: every token a client received has its entry.
mkdir flood
openssl ts -query -data data.txt -sha256 -cert -out qf.tsq 2>/dev/null
seq 1 400 | xargs -P 8 -I{} sh -c \
	"curl -s -H 'Content-Type: application/timestamp-query' --data-binary @qf.tsq $URL/ -o flood/{}.tsr || true" &
FLOOD=$!
while [ "$(find flood -name '*.tsr' -size +0 | wc -l)" -lt 60 ]; do sleep 0.05; done
kill -9 $SRV
wait $FLOOD || true
got=0
"$ADMIN" audit show > audit.txt
for r in flood/*.tsr; do
	[ -s "$r" ] || continue
	[ "$(status_of "$r")" = Granted. ] || continue
	s=$(openssl ts -reply -in "$r" -text 2>/dev/null | awk '/^Serial number:/ {print toupper(substr($3,3))}')
	# one grep: grep -q in a pipeline under pipefail fails on SIGPIPE
	grep -q "tsa\.stamp  *$s " audit.txt || fail "token $s received but not audited"
	got=$((got + 1))
done
[ $got -ge 60 ] || fail "only $got tokens received"
[ $got -lt 400 ] || fail "the kill came too late to test anything"
"$ADMIN" audit verify >/dev/null || fail "audit chain after kill -9"
ok "kill -9 after $got of 400 tokens: each received token is audited"
