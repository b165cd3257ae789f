#!/usr/bin/env bash
# libcvqp11 on a cvq-vcard PIV card through OpenSC's PKCS#11 module: keys
# generated in 9A (RSA-2048) and 9C (EC P-256) by yubico-piv-tool with the
# default management key, certificates made with openssl and imported;
# signatures verified by openssl; 9C asks the PIN before every signature,
# once per signature; wrong PIN gives the tries left; the card pulled out
# mid-use gives "token removed"; insertion and removal events are seen.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
P11DRV=${P11DRV:-$CVQ_BUILD/tests/integration/pkcs11/p11drv}

m=$CVQ_OPENSC_MODULE
drv() { "$P11DRV" "$m" "$@"; }
w=$CVQ_BENCH/p11
mkdir -p "$w"
r=$CVQ_READER_0
trace=$CVQ_CARD_0_TRACE
verifies() { grep -c '^[0-9.]* > 00200080 08' "$trace" || true; }

echo "== card preparation (yubico-piv-tool, default management key)"
yubico-piv-tool -r "$r" -a generate -s 9a -A RSA2048 -o "$w/9a.pub" >/dev/null
yubico-piv-tool -r "$r" -a generate -s 9c -A ECCP256 -o "$w/9c.pub" >/dev/null
openssl ecparam -name prime256v1 -genkey -out "$w/ca.key" 2>/dev/null
openssl req -new -x509 -key "$w/ca.key" -subj "/CN=cvq test CA" -days 1 -out "$w/ca.pem"
for s in 9a 9c; do
	openssl x509 -new -force_pubkey "$w/$s.pub" -subj "/CN=holder $s" \
		-CA "$w/ca.pem" -CAkey "$w/ca.key" -days 1 -out "$w/$s.crt"
	yubico-piv-tool -r "$r" -a import-certificate -s "$s" -i "$w/$s.crt" >/dev/null
done
printf '123456' > "$w/pin"; chmod 600 "$w/pin"
printf '654321' > "$w/bad"; chmod 600 "$w/bad"
export P11DRV_PIN_FILE=$w/pin
head -c 2000 /dev/urandom > "$w/msg"
drv tokens | tee "$w/tokens"
"$P11DRV" "pkcs11:?module-name=opensc-pkcs11" tokens | grep -q 'login=1' \
	|| bench_fail "module-name=opensc-pkcs11 not found"
grep -q 'login=1' "$w/tokens" || bench_fail "PIV token not listed"

echo "== 9A: RSA PKCS#1 v1.5 and PSS, one PIN for the session"
before=$(verifies)
drv sign "pkcs11:id=%01" pkcs1 sha256 "$w/msg" "$w/9a.sig" 3 2> "$w/err" || bench_fail "9A sign: $(cat "$w/err")"
grep -q 'pin-prompts: 1' "$w/err" || bench_fail "9A: $(cat "$w/err")"
openssl dgst -sha256 -verify "$w/9a.pub" -signature "$w/9a.sig" "$w/msg" || bench_fail "9A PKCS#1 verify"
drv sign "pkcs11:id=%01" pss sha384 "$w/msg" "$w/9a-pss.sig" 2> "$w/err" || bench_fail "9A PSS: $(cat "$w/err")"
openssl dgst -sha384 -verify "$w/9a.pub" -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:digest -signature "$w/9a-pss.sig" "$w/msg" || bench_fail "9A PSS verify"
echo "VERIFY APDUs for 9A (2 processes, 4 signatures): $(( $(verifies) - before ))"

echo "== 9C: PIN asked before every signature, once each"
drv pubkey "pkcs11:id=%02" "$w/k2.pub" 2> "$w/err" > "$w/out" || bench_fail "9C find: $(cat "$w/err")"
grep -q 'pin-prompts: 0' "$w/err" || bench_fail "finding 9C asked a PIN"
cmp <(openssl pkey -pubin -in "$w/k2.pub" -outform DER) <(openssl pkey -pubin -in "$w/9c.pub" -outform DER) \
	|| bench_fail "9C public key differs"
before=$(verifies)
drv sign "pkcs11:id=%02" ecdsa sha256 "$w/msg" "$w/9c.sig" 3 2> "$w/err" || bench_fail "9C sign: $(cat "$w/err")"
grep -q 'pin-prompts: 3' "$w/err" || bench_fail "9C: expected 3 prompts for 3 signatures: $(cat "$w/err")"
openssl dgst -sha256 -verify "$w/9c.pub" -signature "$w/9c.sig" "$w/msg" || bench_fail "9C verify"
n=$(( $(verifies) - before ))
echo "VERIFY APDUs for 3 signatures with 9C: $n"
[ "$n" -ge 3 ] || bench_fail "9C signed without a PIN check each time ($n VERIFY)"
drv pubkey "pkcs11:id=%02;object=SIGN%20key" "$w/k2.pub" 2> "$w/err" > "$w/out" || bench_fail "9C by label: $(cat "$w/err")"
grep -q 'always_authenticate=1' "$w/out" || bench_fail "9C not always-authenticate: $(cat "$w/out")"

echo "== wrong PIN: error with tries left"
export P11DRV_PIN_FILE=$w/bad
! drv login "pkcs11:token=$(sed -n 's/.*label=\(.*\) serial.*/\1/p' "$w/tokens" | head -1 | sed 's/ /%20/g')" > "$w/out" 2> "$w/err" \
	|| bench_fail "wrong PIN accepted"
grep -q 'incorrect PIN' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"
cat "$w/out"
# OpenSC sets no CKF_USER_PIN_COUNT_LOW for PIV (max tries unknown)
! drv sign "pkcs11:id=%02" ecdsa sha256 "$w/msg" "$w/x.sig" > "$w/out" 2> "$w/err" || bench_fail "wrong PIN signed"
grep -q 'incorrect PIN' "$w/err" || bench_fail "wrong error: $(cat "$w/err")"
drv pinstatus "pkcs11:" | tee "$w/out"
grep -q 'tries_left=1 .*final_try=1' "$w/out" || bench_fail "one try left not reported"
export P11DRV_PIN_FILE=$w/pin
drv sign "pkcs11:id=%01" pkcs1 sha256 "$w/msg" "$w/9a.sig" 2> "$w/err" || bench_fail "good PIN after two wrong: $(cat "$w/err")"
drv pinstatus "pkcs11:" | grep -q 'tries_left=-1 count_low=0' || bench_fail "counter not reset"
# logged in with 9A, then a wrong PIN at 9C's context-specific login
! P11DRV_PIN_FILES="$w/pin:$w/bad" drv multi "pkcs11:id=%01" "pkcs11:id=%02" "$w/msg" \
	"$w/m1.sig" "$w/m2.sig" 2> "$w/err" || bench_fail "9C signed with a wrong PIN"
grep -q 'sign: incorrect PIN' "$w/err" || bench_fail "9C wrong PIN: $(cat "$w/err")"
openssl dgst -sha256 -verify "$w/9a.pub" -signature "$w/m1.sig" "$w/msg" || bench_fail "9A before 9C"
P11DRV_PIN_FILES="$w/pin:$w/pin" drv multi "pkcs11:id=%01" "pkcs11:id=%02" "$w/msg" \
	"$w/m1.sig" "$w/m2.sig" 2> "$w/err" || bench_fail "9A then 9C: $(cat "$w/err")"
grep -q 'pin-prompts: 2' "$w/err" || bench_fail "9A then 9C: $(cat "$w/err")"
openssl dgst -sha256 -verify "$w/9c.pub" -signature "$w/m2.sig" "$w/msg" || bench_fail "9C after 9A"

echo "== card pulled out mid-use"
rm -f "$w/ready"
P11DRV_READY_FILE=$w/ready drv sign "pkcs11:id=%01" pkcs1 sha256 "$w/msg" "$w/x.sig" 100000 2> "$w/err" &
pid=$!
while [ ! -e "$w/ready" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
[ -e "$w/ready" ] || bench_fail "signing did not start: $(cat "$w/err")"
bench_card_remove 0
! wait "$pid" || bench_fail "100000 signatures went through a removed card"
grep -q 'token removed' "$w/err" || bench_fail "unclear error: $(cat "$w/err")"
grep 'p11drv: sign' "$w/err"

echo "== insertion and removal events"
# P11DRV_READY_FILE appears once the waiter has its module open: ordering, not timing
waiter() {
	rm -f "$w/ready"
	P11DRV_READY_FILE=$w/ready drv wait 30000 > "$w/ev" 2>&1 &
	pid=$!
	while [ ! -e "$w/ready" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}
waiter
bench_card_insert 0
wait "$pid" || bench_fail "no insertion event: $(cat "$w/ev")"
grep -q 'present=1' "$w/ev" || bench_fail "insertion: $(cat "$w/ev")"
waiter
bench_card_remove 0
wait "$pid" || bench_fail "no removal event: $(cat "$w/ev")"
grep -q 'present=0' "$w/ev" || bench_fail "removal: $(cat "$w/ev")"
echo "pkcs11-opensc: OK"
