#!/usr/bin/env bash
# OpenSC sees the virtual card as a PIV card, lists its objects, and makes
# RSA-2048 and ECDSA P-256 signatures through PKCS#11 that openssl verifies.
. "$(dirname "$0")/common.sh"

step "opensc-tool -n names the card"
opensc-tool -r "$R0" -n | tee out.txt
grep -q "Personal Identity Verification Card" out.txt || bench_fail "not a PIV card"

step "keys generated on the card, certificates imported"
gen_slot 9a RSA2048
gen_slot 9c ECCP256

step "pkcs15-tool -D lists them"
pkcs15-tool -r "$R0" -D > out.txt
grep -q "Private RSA Key \[PIV AUTH key\]" out.txt || bench_fail "no 9A key in pkcs15-tool -D"
grep -q "Private EC Key \[SIGN key\]" out.txt || bench_fail "no 9C key in pkcs15-tool -D"
grep -q "Certificate for PIV Authentication" out.txt || bench_fail "no 9A certificate"

step "pkcs11-tool -L and -O"
p11 -L | tee out.txt
grep -q "token label *: *slot 9a" out.txt || grep -q "PIV_II\|slot 9a" out.txt || bench_fail "no token"
p11 -O > out.txt
grep -q "subject: *DN: CN=slot 9a" out.txt || bench_fail "9A certificate not listed"
grep -q "EC_POINT 256 bits" out.txt || bench_fail "9C EC public key not listed"

step "RSA-2048 signature (9A) verified by openssl"
echo "pay 45 EUR to the school of music" > data.txt
p11 --login --pin "$(cat pin.txt)" --sign --id 01 -m SHA256-RSA-PKCS \
	-i data.txt -o sig-rsa.bin
openssl dgst -sha256 -verify pub9a.pem -signature sig-rsa.bin data.txt

step "ECDSA P-256 signature (9C, PIN-always) verified by openssl"
openssl dgst -sha256 -binary data.txt > hash.bin
p11 --login --pin "$(cat pin.txt)" --sign --id 02 -m ECDSA \
	--signature-format openssl -i hash.bin -o sig-ec.der
openssl pkeyutl -verify -pubin -inkey pub9c.pem -in hash.bin -sigfile sig-ec.der

step "pkcs11-tool --test --login"
p11 --test --login --pin "$(cat pin.txt)" 2>&1 | tee out.txt
grep -q "No errors" out.txt || bench_fail "pkcs11-tool --test found errors"

step "the trace shows no PIN"
if grep -qi "313233343536" "$CVQ_CARD_0_TRACE"; then bench_fail "PIN bytes in the trace"; fi
grep -q "00200080 08 <redacted 8 bytes>" "$CVQ_CARD_0_TRACE" || bench_fail "VERIFY not redacted"
echo "PASS: $(bench_apdu_count 0) APDUs"
