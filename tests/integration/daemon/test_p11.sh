#!/usr/bin/env bash
# cvqd with [card] backend = pkcs11: a token that is not a PIV card
# (SoftHSM2) signs through libcvqp11. Keys generated on the token with
# pkcs11-tool, certificates from the test CA written back; then login,
# payment (receipt checked by openssl cms -verify) and a wrong PIN.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
# Not exported: only pkcs11-tool gets the PIN, in its own environment (#18).
P11PIN=$(cat "$CVQ_SOFTHSM_PIN_FILE")
p11() { P11PIN=$P11PIN pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test --login --pin env:P11PIN "$@"; }
for id in 01 02; do
	p11 --keypairgen --key-type EC:prime256v1 --id "$id" --label "key$id" > /dev/null
	p11 --read-object --type pubkey --id "$id" -o "$PKI/tok$id.der" > /dev/null
	openssl pkey -pubin -inform DER -in "$PKI/tok$id.der" -out "$PKI/tok$id.pub"
	pki_issue "$PKI" "tok$id" "$PKI/tok$id.pub" "0x30$id" "Paul Leroy"
	openssl x509 -in "$PKI/tok$id.pem" -outform DER -out "$PKI/tok$id.crt"
	p11 --write-object "$PKI/tok$id.crt" --type cert --id "$id" --label "key$id" > /dev/null
done
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"

export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
cp "$CVQ_SOFTHSM_PIN_FILE" "$CVQ_FAKE_PIN_FILE"; echo >> "$CVQ_FAKE_PIN_FILE"
cvqd_config "$CVQ_BENCH/cvqd.conf" "backend = pkcs11" "pkcs11_module = $CVQ_SOFTHSM_MODULE"
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '.readers[0].reader == "cvq-test" and .readers[0].usable and .readers[0].kind == "pkcs11" and .readers[0].holder == "Paul Leroy"'

tx='{"type":"payment","payee":"Régie des eaux","amount":"12.30","currency":"EUR","reference":"EAU-7"}'
out=$(api POST /v1/sign "{\"transaction\":$tx}")
[ "${out%% *}" = 200 ] || bench_fail "sign: $out"
jq -r .receipt <<< "${out#* }" | base64 -d > "$CVQ_BENCH/r.der"
openssl cms -verify -binary -inform DER -in "$CVQ_BENCH/r.der" -CAfile "$PKI/ca-crl.pem" -crl_check \
	-out /dev/null || bench_fail "openssl cms -verify refused the receipt"
grep -q "SETDESC Paiement de 12,30"$'\xc2\xa0'"€ à Régie des eaux — réf. EAU-7" "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"

out=$(api POST /v1/authenticate '{"challenge":"JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU=","origin":"https://portail.ville.example"}')
[ "${out%% *}" = 200 ] || bench_fail "authenticate: $out"
jq -e '.token.algorithm == "ES256"' <<< "${out#* }" > /dev/null || bench_fail "token: $out"

# A PIN for every signature: the second one is asked again.
n0=$(grep -c GETPIN "$CVQ_FAKE_PINENTRY_LOG")
[ "$(api POST /v1/sign "{\"transaction\":$tx}" | cut -d' ' -f1)" = 200 ] || bench_fail "second sign"
[ "$(grep -c GETPIN "$CVQ_FAKE_PINENTRY_LOG")" = $((n0 + 1)) ] || bench_fail "PIN not asked again"

echo 999999 > "$CVQ_FAKE_PIN_FILE"; rm -f "$CVQ_FAKE_PIN_FILE.count"
expect_error "$(api POST /v1/sign "{\"transaction\":$tx}")" 403 pin_wrong
cvqd_stop
echo PASS
