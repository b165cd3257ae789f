#!/usr/bin/env bash
# The CA key in a PKCS#11 token (SoftHSM2 through libcvqp11): a key made on
# the token, a root CA on it, issuance, a CRL and OCSP answers signed by the
# token, all judged by openssl; the PIN only ever in a 0600 file.
. "$(dirname "$0")/lib.sh"
cd "$W"
: "${CVQ_SOFTHSM_MODULE:?run under with-bench --softhsm}"
PORT=18082
(umask 077; cat "$CVQ_SOFTHSM_PIN_FILE" > pin)
P11_TEST_PIN=$(cat pin) pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test \
	--login --pin env:P11_TEST_PIN --keypairgen --key-type EC:prime256v1 --label cvq-ca --id 01 \
	>/dev/null 2>&1 || fail "keypairgen on the token"
URI="pkcs11:token=cvq-test;object=cvq-ca;type=private?module-path=$CVQ_SOFTHSM_MODULE"
"$ADMIN" ca init --dir ca --key "$URI" --pass "file:$W/pin" --subject "/C=FR/O=Ville de Test/CN=CVQ HSM CA" \
	--url "http://127.0.0.1:$PORT" >/dev/null || fail "ca init on the token"
export CVQ_CA_CONFIG=$W/ca/ca.conf
[ ! -e ca/ca-key.pem ] || fail "a key file was written"
grep -q "^key = pkcs11:" ca/ca.conf || fail "config does not name the token key"
openssl verify -CAfile ca/ca.pem ca/ca.pem >/dev/null || fail "self-signed root"
# The certificate's key is the token's.
P11_TEST_PIN=$(cat pin) pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test \
	--read-object --type pubkey --label cvq-ca 2>/dev/null > tok.pub.der || true
if [ -s tok.pub.der ]; then
	cmp <(openssl pkey -pubin -inform DER -in tok.pub.der -outform DER 2>/dev/null) \
	    <(openssl x509 -in ca/ca.pem -noout -pubkey | openssl pkey -pubin -outform DER) ||
		fail "CA certificate key is not the token key"
fi
csr a.csr
"$ADMIN" cert issue --profile service --subject /CN=hsm.test --dns hsm.test --out a.pem a.csr
openssl verify -CAfile ca/ca.pem a.pem >/dev/null || fail "issued by the token"
"$ADMIN" cert check --profile service a.pem >/dev/null || fail "profile"
csr b.csr
"$ADMIN" cert issue --profile service --subject /CN=b.test --out b.pem b.csr
"$ADMIN" cert revoke "$(serial_of b.pem)" --reason keyCompromise >/dev/null
"$ADMIN" crl --pem --out crl.pem
has "verify OK" openssl crl -in crl.pem -CAfile ca/ca.pem -noout || fail "CRL signed by the token"
"$ADMIN" audit verify >/dev/null || fail "audit signed by the token"
# OCSP signed by the CA key on the token (no delegated signer here).
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 2 >/dev/null 2>&1 &
PIDS+=($!)
wait_port $PORT
[ "$(ocsp_status ca/ca.pem a.pem http://127.0.0.1:$PORT/ocsp ca/ca.pem)" = good ] || fail "ocsp good"
[ "$(ocsp_status ca/ca.pem b.pem http://127.0.0.1:$PORT/ocsp ca/ca.pem)" = revoked ] || fail "ocsp revoked"
# A batch large enough to be pipelined (> 1,024), with audit heads signed
# while certificates are: the token key signs one at a time, all verify.
mkdir batch
"$CVQ_BUILD/bench/ca-load" csrs batch 1100 >/dev/null
"$ADMIN" cert issue --profile service --out batch.pem batch/*.csr >/dev/null || fail "batch on the token"
[ "$(grep -c 'BEGIN CERTIFICATE' batch.pem)" = 1100 ] || fail "batch count"
openssl crl2pkcs7 -nocrl -certfile batch.pem | openssl pkcs7 -print_certs -noout >/dev/null || fail "batch PEM"
awk '/BEGIN CERT/{n++} {print > ("batch/c" n ".pem")}' batch.pem
for i in 1 550 1024 1025 1100; do
	openssl verify -CAfile ca/ca.pem "batch/c$i.pem" >/dev/null || fail "batch certificate $i"
done
"$ADMIN" audit verify >/dev/null || fail "audit heads signed during the batch"
# A wrong PIN is refused as such.
(umask 077; echo 000000 > badpin)
expect_rc 3 "$ADMIN" crl --pass "file:$W/badpin" --out /dev/null 2>/dev/null
ok "CA key on a SoftHSM2 token: init, issuance, CRL, OCSP, audit"
# A key born on the token: ca init --generate (P-384), never extractable.
URI2="pkcs11:token=cvq-test;object=cvq-ca2;type=private?module-path=$CVQ_SOFTHSM_MODULE"
"$ADMIN" ca init --dir ca2 --key "$URI2" --generate --alg ec-p384 --pass "file:$W/pin" \
	--subject "/C=FR/O=Ville de Test/CN=CVQ HSM CA 2" >/dev/null || fail "ca init --generate"
openssl verify -CAfile ca2/ca.pem ca2/ca.pem >/dev/null || fail "self-signed root from a generated key"
openssl x509 -in ca2/ca.pem -noout -text | grep -q "NIST CURVE: P-384" || fail "P-384 key"
P11_TEST_PIN=$(cat pin) pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test \
	--login --pin env:P11_TEST_PIN --list-objects --type privkey 2>/dev/null > objs.txt
grep -A8 "label: *cvq-ca2" objs.txt | grep -q "never extractable" || fail "generated key extractable: $(cat objs.txt)"
CVQ_CA_CONFIG=$W/ca2/ca.conf "$ADMIN" cert issue --profile service --subject /CN=gen.test --out g.pem a.csr
openssl verify -CAfile ca2/ca.pem g.pem >/dev/null || fail "issued by the generated token key"
# A second --generate with the same name is refused: never two keys of one name.
rc=0; "$ADMIN" ca init --dir ca3 --key "$URI2" --generate --pass "file:$W/pin" >/dev/null 2>err.txt || rc=$?
[ "$rc" = 1 ] && grep -q "already holds a key" err.txt || fail "duplicate --generate not refused (rc $rc)"
expect_rc 2 "$ADMIN" ca init --dir ca4 --generate --pass "file:$W/pin" 2>/dev/null
ok "ca init --generate: the CA key made on the token, not extractable"
echo "PASS ca-pkcs11"
