#!/usr/bin/env bash
# The TSA key on a PKCS#11 token (SoftHSM2 through libcvqp11): made on the
# token by `cvq-admin tsa init --generate`, never written to a file; the
# tokens it signs are judged by openssl ts -verify and audited; a wrong
# PIN stops the service from starting.
. "$(dirname "$0")/lib.sh"
cd "$W"
: "${CVQ_SOFTHSM_MODULE:?run under with-bench --softhsm}"
PORT=18095
make_ca ca
officers ca
export CVQ_CA_CONFIG=$W/ca/ca.conf
(umask 077; cat "$CVQ_SOFTHSM_PIN_FILE" > pin; echo 000000 > badpin)
URI="pkcs11:token=cvq-test;object=cvq-tsa;type=private?module-path=$CVQ_SOFTHSM_MODULE"
# Two officers (the key made on the token, its request approved by OFF2).
tsa_two ca --key "$URI" --generate --pass "file:$W/pin" --policy 1.3.6.1.4.1.55555.1.9 ||
	fail "tsa init on the token"
[ ! -e ca/tsa-key.pem ] || fail "a key file was written"
grep -q "^key = pkcs11:" ca/ca.conf || fail "[tsa] does not name the token key"
"$ADMIN" cert check --profile tsa ca/tsa.pem >/dev/null || fail "profile"
# The certificate's key is the token's.
P11_TEST_PIN=$(cat pin) pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test \
	--read-object --type pubkey --label cvq-tsa 2>/dev/null > tok.pub.der || true
if [ -s tok.pub.der ]; then
	cmp <(openssl pkey -pubin -inform DER -in tok.pub.der -outform DER 2>/dev/null) \
	    <(openssl x509 -in ca/tsa.pem -noout -pubkey | openssl pkey -pubin -outform DER) ||
		fail "TSA certificate key is not the token key"
fi
# A wrong PIN: the service says why and does not start.
expect_rc 3 "$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --tsa-pass "file:$W/badpin" 2>err.txt
grep -q "TSA" err.txt || fail "no TSA in the error: $(cat err.txt)"
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 4 > serve.out 2>&1 &
PIDS+=($!)
wait_port $PORT
echo "timestamped on a token" > data.txt
CURLS=()
for i in 1 2 3 4 5 6 7 8; do
	openssl ts -query -data data.txt -sha256 -cert -out "q$i.tsq" 2>/dev/null
	curl -sf -H 'Content-Type: application/timestamp-query' --data-binary "@q$i.tsq" \
		"http://127.0.0.1:$PORT/" -o "r$i.tsr" &
	CURLS+=($!)
done
for p in "${CURLS[@]}"; do wait "$p" || fail "a request failed"; done
for i in 1 2 3 4 5 6 7 8; do
	openssl ts -verify -queryfile "q$i.tsq" -in "r$i.tsr" -CAfile ca/ca.pem >/dev/null 2>&1 ||
		fail "token $i signed on the token does not verify"
done
"$ADMIN" audit show > audit.txt
[ "$(grep -c 'tsa\.stamp' audit.txt)" = 8 ] || fail "audit: $(grep -c 'tsa\.stamp' audit.txt) entries for 8 tokens"
"$ADMIN" audit verify >/dev/null || fail "audit chain"
ok "TSA key on a SoftHSM2 token: init --generate, 8 concurrent tokens verified and audited"
