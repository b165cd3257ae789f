#!/usr/bin/env bash
# yubico-piv-tool 2.2, unmodified, against the virtual card: generate
# RSA-2048 and P-256 with the default management key, import certificates,
# status, signatures and ECDH checked against the certificates, PIN
# change and unblock, management key change.
. "$(dirname "$0")/common.sh"

step "version and serial (Yubico extensions)"
ykpiv -a status | tee out.txt
grep -q "Version:.5\." out.txt || bench_fail "version is not 5.x"
grep -q "PIN tries left:.3" out.txt || bench_fail "PIN tries not 3"

step "generate RSA2048 (9a), ECCP256 (9c, 9d), import certificates"
gen_slot 9a RSA2048
gen_slot 9c ECCP256
gen_slot 9d ECCP256
openssl pkey -pubin -in pub9a.pem -noout -text | grep -q "2048 bit" || bench_fail "9a not RSA-2048"
openssl pkey -pubin -in pub9c.pem -noout -text | grep -q "P-256" || bench_fail "9c not P-256"
ykpiv -a status | tee out.txt
grep -q "Slot 9a:" out.txt && grep -q "Slot 9c:" out.txt || bench_fail "status misses slots"
# The certificate read back from the card is the one imported.
ykpiv -s 9c -a read-certificate -o back9c.pem
cmp <(openssl x509 -in 9c.pem -outform DER) <(openssl x509 -in back9c.pem -outform DER) \
	|| bench_fail "certificate read back differs"

step "signatures verified against the certificates (openssl inside yubico-piv-tool)"
yks 123456 -a verify-pin -a test-signature -s 9a -i 9a.pem
yks 123456 -a verify-pin -a test-signature -s 9c -i 9c.pem
step "ECDH with 9d"
yks 123456 -a verify-pin -a test-decipher -s 9d -i 9d.pem

step "P-384 in a retired slot (82)"
gen_slot 82 ECCP384
openssl pkey -pubin -in pub82.pem -noout -text | grep -q "P-384" || bench_fail "82 not P-384"
yks 123456 -a verify-pin -a test-signature -s 82 -i 82.pem

step "without the PIN, 9c refuses to sign"
if ykpiv -a test-signature -s 9c -i 9c.pem > out.txt 2>&1; then
	bench_fail "9c signed without PIN"
fi

step "change-pin, unblock-pin"
yks "123456 654321 654321" -a change-pin
yks 654321 -a verify-pin
for n in 1 2 3; do yks 000000 -a verify-pin > out.txt 2>&1 || true; done
grep -q "blocked" out.txt || bench_fail "PIN not blocked after 3 wrong tries"
if yks 654321 -a verify-pin > out.txt 2>&1; then bench_fail "blocked PIN accepted"; fi
yks "12345678 112233 112233" -a unblock-pin
yks 112233 -a verify-pin
yks "12345678 87654321 87654321" -a change-puk

step "set-chuid, then OpenSC takes the token serial from its GUID"
ykpiv -a set-chuid
ykpiv -a status | grep -q "CHUID:.30" || bench_fail "no CHUID"

step "set-mgm-key to a new 3DES key and back (keys on stdin, not argv)"
# Without a controlling terminal, yubico-piv-tool -k reads keys from stdin.
ykpiv_stdin() { setsid yubico-piv-tool -r "$R0" "$@"; }
def=010203040506070801020304050607080102030405060708
new=0102030405060708090A0B0C0D0E0F101112131415161718
printf '%s\n%s\n%s\n' "$def" "$new" "$new" | ykpiv_stdin -k -a set-mgm-key
if ykpiv -s 9e -A ECCP256 -a generate -o x.pem > out.txt 2>&1; then
	bench_fail "old management key still works"
fi
echo "$new" | ykpiv_stdin -k -s 9e -A ECCP256 -a generate -o pub9e.pem
printf '%s\n%s\n%s\n' "$new" "$def" "$def" | ykpiv_stdin -k -a set-mgm-key

step "pin-retries (Yubico FA) resets PIN and PUK to their defaults"
yks 112233 -a verify-pin -a pin-retries --pin-retries 5 --puk-retries 4
ykpiv -a status | grep -q "PIN tries left:.5" || bench_fail "PIN retries not 5"
yks 123456 -a verify-pin

step "reset (Yubico FB) only once PIN and PUK are blocked"
if ykpiv -a reset > out.txt 2>&1; then bench_fail "reset with PIN and PUK not blocked"; fi
for n in 1 2 3 4 5; do yks 000000 -a verify-pin > /dev/null 2>&1 || true; done
for n in 1 2 3 4; do yks "00000000 000000 000000" -a unblock-pin > /dev/null 2>&1 || true; done
ykpiv -a reset
ykpiv -a status > out.txt
grep -q "PIN tries left:.3" out.txt || bench_fail "PIN tries not back to 3 after reset"
if grep -q "Slot 9a" out.txt; then bench_fail "keys survived the reset"; fi
yks 123456 -a verify-pin

step "the trace redacts PIN, PUK and management keys"
for secret in 313233343536 363534333231 3132333435363738 0102030405060708090A0B; do
	if grep -qi "$secret" "$CVQ_CARD_0_TRACE"; then bench_fail "secret $secret in trace"; fi
done
grep -q "00FFFFFF 1B <redacted 27 bytes>" "$CVQ_CARD_0_TRACE" || bench_fail "set-mgm-key not redacted"
echo "PASS"
