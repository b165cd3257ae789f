#!/usr/bin/env bash
# Pulling the card out: with SIGUSR1 the client sees no card; with
# --remove-at the card disappears in the middle of a signature and the
# client gets an error; put back (SIGUSR2), everything works again.
. "$(dirname "$0")/common.sh"

gen_slot 9a ECCP256
echo "data to sign" > data.txt
openssl dgst -sha256 -binary data.txt > hash.bin
sign() {
	p11 --login --pin "$(cat pin.txt)" --sign --id 01 -m ECDSA \
		--signature-format openssl -i hash.bin -o sig.der
}

step "SIGUSR1: the card leaves the reader"
bench_card_remove 0
if opensc-tool -r "$R0" -n > out.txt 2>&1; then bench_fail "card still answers after removal"; fi
cat out.txt
step "SIGUSR2: the card is back"
bench_card_insert 0
opensc-tool -r "$R0" -n | grep -q "Personal Identity Verification Card"

step "--remove-at 87: the card is pulled out instead of signing"
bench_card_stop 0
bench_card_start 0 --remove-at 87
if sign > out.txt 2>&1; then bench_fail "signature succeeded with the card pulled out"; fi
cat out.txt
bench_wait_present 0 0
grep -q '\* remove' "$CVQ_CARD_0_TRACE" || bench_fail "no removal in the trace"

step "put back, the same signature works and openssl verifies it"
bench_card_insert 0
sign
openssl pkeyutl -verify -pubin -inkey pub9a.pem -in hash.bin -sigfile sig.der
echo "PASS"
