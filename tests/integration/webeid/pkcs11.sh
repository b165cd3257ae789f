#!/usr/bin/env bash
# cvq-webeid with a token that is not a PIV card: SoftHSM2 through
# libcvqp11 (pkcs11_module). Keys made on the token by pkcs11-tool, their
# certificates issued by the city CA (its key, its policy) and written
# back; then authenticate (token judged by validate-token.py), a wrong PIN
# asked again, sign (openssl verifies).
set -euo pipefail
. "$CVQ_SRC/tests/integration/webeid/lib.sh"

mkdir -p "$W"
( umask 077; printf 'bench-ca-passphrase\n' > "$W/ca.pass" )
"$A" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --unattested admit --subject "/C=FR/O=Ville/CN=CVQ Test CA" > /dev/null
policy=$(sed -n 's/^policy_oid = //p' "$W/ca/ca.conf")
P11PIN=$(cat "$CVQ_SOFTHSM_PIN_FILE")
p11() { P11PIN=$P11PIN pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test --login --pin env:P11PIN "$@"; }
# The citizen profiles of cvq-admin, for a key that is on no PIV card.
cat > "$W/ext.cnf" <<EOC
[auth]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
certificatePolicies = $policy
authorityKeyIdentifier = keyid
[sign]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection
certificatePolicies = $policy
authorityKeyIdentifier = keyid
EOC
for id in 01 02; do
	p11 --keypairgen --key-type EC:prime256v1 --id "$id" --label "key$id" > /dev/null
	p11 --read-object --type pubkey --id "$id" -o "$W/tok$id.der" > /dev/null
	openssl pkey -pubin -inform DER -in "$W/tok$id.der" -out "$W/tok$id.pub"
	openssl x509 -new -subj "/C=FR/O=Ville/CN=Paul Leroy" -force_pubkey "$W/tok$id.pub" \
		-CA "$W/ca/ca.pem" -CAkey "$W/ca/ca-key.pem" -passin "file:$W/ca.pass" -days 30 \
		-extfile "$W/ext.cnf" -extensions "$([ $id = 01 ] && echo auth || echo sign)" \
		-outform DER -out "$W/tok$id.crt"
	p11 --write-object "$W/tok$id.crt" --type cert --id "$id" --label "key$id" > /dev/null
done
PIN=$P11PIN
webeid_config
echo "pkcs11_module = $CVQ_SOFTHSM_MODULE" >> "$CVQ_WEBEID_CONFIG"
n=$(nonce)
auth='{"command":"authenticate","arguments":{"challengeNonce":"'"$n"'","origin":"'"$ORIGIN"'"}}'

echo "--- authenticate with the SoftHSM2 token"
pin_reset
host_reply "$auth" > "$W/token.json"
"$PY" "$VALIDATE" "$W/token.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" ||
	bench_fail "token from the PKCS#11 token: $(cat "$W/token.json")"
cmp <(jq -r .unverifiedCertificate "$W/token.json" | base64 -d) "$W/tok01.crt" || bench_fail "not the token's certificate"
grep -qx "SETDESC Connexion à $ORIGIN en tant que Paul Leroy" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"

echo "--- a wrong PIN, asked again"
pin_reset
printf '99999999\n%s\n' "$P11PIN" > "$CVQ_FAKE_PIN_FILE"
host_reply "$auth" > "$W/token2.json"
"$PY" "$VALIDATE" "$W/token2.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" > /dev/null ||
	bench_fail "no token after a wrong PIN: $(cat "$W/token2.json")"
grep -q "^SETERROR Code PIN incorrect" "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "wrong PIN: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
echo "$P11PIN" > "$CVQ_FAKE_PIN_FILE"

echo "--- sign with the token's key 02"
echo "déclaration" > "$W/doc.txt"
h=$(openssl dgst -sha256 -binary "$W/doc.txt" | base64)
pin_reset
host_reply '{"command":"sign","arguments":{"hash":"'"$h"'","hashFunction":"SHA-256","certificate":"'"$(base64 -w0 "$W/tok02.crt")"'","origin":"'"$ORIGIN"'"}}' > "$W/sign.json"
jq -r .signature "$W/sign.json" | base64 -d > "$W/sig.raw"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
ecdsa_raw_to_der "$W/sig.raw" "$W/sig.der"
openssl x509 -inform DER -in "$W/tok02.crt" -pubkey -noout > "$W/tok02.pub.pem"
openssl dgst -sha256 -verify "$W/tok02.pub.pem" -signature "$W/sig.der" "$W/doc.txt" ||
	bench_fail "openssl does not verify: $(cat "$W/sign.json")"
echo "webeid pkcs11: all checks passed"
