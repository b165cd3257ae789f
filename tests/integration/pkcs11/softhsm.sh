#!/usr/bin/env bash
# libcvqp11 on a fresh SoftHSM2 token (with-bench --softhsm): key generation,
# ECDSA / RSA PKCS#1 v1.5 / PSS signatures, X509_sign, X509_CRL_sign,
# OCSP_basic_sign and CMS_sign with the token-backed EVP_PKEY — all judged by openssl.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
P11DRV=${P11DRV:-$CVQ_BUILD/tests/integration/pkcs11/p11drv}

drv() { "$P11DRV" "$CVQ_SOFTHSM_MODULE" "$@"; }
w=$CVQ_BENCH/p11
mkdir -p "$w"
# the library refuses PIN files others can read; keep a private copy
install -m 600 "$CVQ_SOFTHSM_PIN_FILE" "$w/pin"
export P11DRV_PIN_FILE=$w/pin
tok="pkcs11:token=cvq-test"
head -c 1000 /dev/urandom > "$w/msg"

drv tokens | grep -q 'label=cvq-test' || bench_fail "token cvq-test not listed"

echo "== key generation and signatures"
drv keygen "$tok" ec256 ca-ec 01 "$w/ec.pub" > "$w/ec.uri" || bench_fail "keygen ec256"
grep -q '^pkcs11:token=cvq-test;serial=.*;object=ca-ec;id=%01;type=private$' "$w/ec.uri" \
	|| bench_fail "key URI: $(cat "$w/ec.uri")"
drv sign "$tok;id=%01" ecdsa sha256 "$w/msg" "$w/ec.sig" || bench_fail "ecdsa sign"
openssl dgst -sha256 -verify "$w/ec.pub" -signature "$w/ec.sig" "$w/msg" || bench_fail "ecdsa verify"

P11DRV_LOGOUT_FIRST=1 drv sign "$tok;id=%01" ecdsa sha256 "$w/msg" "$w/ec2.sig" 2> "$w/err" \
	|| bench_fail "sign after a logout: $(cat "$w/err")"
grep -q 'pin-prompts: 2' "$w/err" || bench_fail "no second login after the logout"
openssl dgst -sha256 -verify "$w/ec.pub" -signature "$w/ec2.sig" "$w/msg" || bench_fail "ecdsa verify after logout"

drv keygen "$tok" ec384 ca-ec384 02 "$w/ec384.pub" > /dev/null || bench_fail "keygen ec384"
drv sign "$tok;object=ca-ec384" ecdsa sha384 "$w/msg" "$w/ec384.sig" || bench_fail "ecdsa p384 sign"
openssl dgst -sha384 -verify "$w/ec384.pub" -signature "$w/ec384.sig" "$w/msg" || bench_fail "ecdsa p384 verify"

drv keygen "$tok" rsa2048 ca-rsa 03 "$w/rsa.pub" > /dev/null || bench_fail "keygen rsa2048"
drv sign "$tok;id=%03" pkcs1 sha256 "$w/msg" "$w/rsa.sig" || bench_fail "pkcs1 sign"
openssl dgst -sha256 -verify "$w/rsa.pub" -signature "$w/rsa.sig" "$w/msg" || bench_fail "pkcs1 verify"
drv sign "$tok;id=%03" pss sha256 "$w/msg" "$w/pss.sig" || bench_fail "pss sign"
openssl dgst -sha256 -verify "$w/rsa.pub" -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:digest -signature "$w/pss.sig" "$w/msg" || bench_fail "pss verify"
# a PKCS#1 verification of the PSS signature must fail (really PSS)
! openssl dgst -sha256 -verify "$w/rsa.pub" -signature "$w/pss.sig" "$w/msg" >/dev/null 2>&1 \
	|| bench_fail "pss signature verifies as PKCS#1"
# the key is not extractable and sensitive
# the PIN goes to pkcs11-tool through its environment, never argv
P11_TEST_PIN=$(cat "$w/pin") pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test \
	--login --pin env:P11_TEST_PIN --list-objects --type privkey 2>/dev/null > "$w/objs"
grep -q 'never extractable' "$w/objs" || grep -qi 'sensitive' "$w/objs" || bench_fail "key attributes: $(cat "$w/objs")"

drv multi "$tok;id=%01" "$tok;id=%02" "$w/msg" "$w/m1.sig" "$w/m2.sig" || bench_fail "two keys in one ctx"
openssl dgst -sha256 -verify "$w/ec.pub" -signature "$w/m1.sig" "$w/msg" || bench_fail "multi key 1"
openssl dgst -sha256 -verify "$w/ec384.pub" -signature "$w/m2.sig" "$w/msg" || bench_fail "multi key 2"

echo "== wrong algorithm and ambiguity"
! drv sign "$tok;id=%01" pkcs1 sha256 "$w/msg" "$w/x.sig" 2> "$w/err" || bench_fail "pkcs1 with an EC key"
grep -q 'algorithm not supported' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"
drv keygen "$tok" ec256 twin 10 "$w/t1.pub" > /dev/null
drv keygen "$tok" ec256 twin 11 "$w/t2.pub" > /dev/null
! drv sign "$tok;object=twin" ecdsa sha256 "$w/msg" "$w/x.sig" 2> "$w/err" || bench_fail "ambiguous URI signed"
grep -q 'several' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"
! drv sign "$tok;object=nothing" ecdsa sha256 "$w/msg" "$w/x.sig" 2> "$w/err" || bench_fail "missing key signed"
grep -q 'no matching private key' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"

echo "== OpenSSL signing calls with the token key (CA use)"
for id in 01 03; do
	drv x509 "$tok;id=%$id" "$w/ca$id.pem" "$w/crl$id.pem" "$w/ocsp$id.der" || bench_fail "x509 with id $id"
	openssl verify -CAfile "$w/ca$id.pem" "$w/ca$id.pem" || bench_fail "X509_sign ($id)"
	openssl crl -in "$w/crl$id.pem" -CAfile "$w/ca$id.pem" -noout 2>&1 | grep -q 'verify OK' \
		|| bench_fail "X509_CRL_sign ($id)"
	openssl ocsp -respin "$w/ocsp$id.der" -VAfile "$w/ca$id.pem" -CAfile "$w/ca$id.pem" \
		-resp_text -noverify > /dev/null || bench_fail "OCSP parse ($id)"
	openssl ocsp -respin "$w/ocsp$id.der" -VAfile "$w/ca$id.pem" -CAfile "$w/ca$id.pem" \
		2>&1 | grep -q 'Response verify OK' || bench_fail "OCSP_basic_sign ($id)"
	openssl cms -verify -binary -inform DER -in "$w/ocsp$id.der.cms" -CAfile "$w/ca$id.pem" \
		-purpose any -out "$w/cms$id.txt" || bench_fail "CMS_sign ($id)"
	grep -q 'cvq p11 CMS test' "$w/cms$id.txt" || bench_fail "CMS content ($id)"
done

echo "== PIN from the URI, never from the callback"
unset P11DRV_PIN_FILE
drv sign "$tok;id=%01?pin-source=file:$w/pin" ecdsa sha256 "$w/msg" "$w/src.sig" 2> "$w/err" \
	|| bench_fail "pin-source: $(cat "$w/err")"
grep -q 'pin-prompts: 0' "$w/err" || bench_fail "pin-source still prompted"
openssl dgst -sha256 -verify "$w/ec.pub" -signature "$w/src.sig" "$w/msg" || bench_fail "pin-source verify"
chmod 644 "$w/pin"
! drv login "$tok?pin-source=$w/pin" 2> "$w/err" || bench_fail "world-readable pin-source accepted"
grep -q 'PIN source unreadable or insecure' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"
chmod 600 "$w/pin"
! drv login "$tok" 2> "$w/err" || bench_fail "login without any PIN source"
# A PIN inside the URI (RFC 7512 pin-value) would sit in argv: refused.
! drv login "$tok?pin-value=$(cat "$w/pin")" 2> "$w/err" || bench_fail "pin-value accepted"
grep -q 'PIN source unreadable or insecure' "$w/err" || bench_fail "pin-value: wrong error: $(cat "$w/err")"

echo "== wrong PIN"
printf '000000' > "$w/bad"; chmod 600 "$w/bad"
export P11DRV_PIN_FILE=$w/bad
! drv login "$tok" > "$w/out" 2> "$w/err" || bench_fail "wrong PIN accepted"
grep -q 'incorrect PIN' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"
cat "$w/out"
export P11DRV_PIN_FILE=$w/pin
drv login "$tok" > /dev/null || bench_fail "good PIN after a wrong one"

echo "== no token event on SoftHSM (no C_WaitForSlotEvent: polled)"
! drv wait 200 2> "$w/err" || bench_fail "event out of nowhere"
grep -q 'no matching token' "$w/err" || bench_fail "wait: $(cat "$w/err")"
echo "pkcs11-softhsm: OK"
