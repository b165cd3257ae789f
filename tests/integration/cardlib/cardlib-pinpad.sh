#!/usr/bin/env bash
# cardlib on a PIN-pad reader (tests/bench/pinpad) next to a plain vpcd
# reader: the feature is seen on the pad and not on the other reader; a
# VERIFY typed on the pad (right, wrong with tries left, cancel, timeout,
# too short); a PIN change typed on the pad (the bench pad's
# FEATURE_MODIFY_PIN_DIRECT, driven raw: cardlib has no call for it); a 9C
# signature after the pad's VERIFY, checked by openssl; cvq-admin through
# the pad; and OpenSC, a peer, sees the same reader as a PIN pad
# (CKF_PROTECTED_AUTHENTICATION_PATH) and signs through it.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
TOOL=${PINPADTOOL:?}
P=$CVQ_PINPAD_FIRST
pad_var=CVQ_READER_$P
PAD=${!pad_var}
PLAIN=$CVQ_READER_0
log_var=CVQ_PAD_${P}_LOG
W=$CVQ_BENCH/pinpad
mkdir -p "$W"

expect() { # WANT CMD...
	local want=$1 got
	shift
	got=$("$@" 2>&1) || true
	[ "$got" = "$want" ] || bench_fail "'$*': got '$got', wanted '$want'"
}

echo "== the feature: on the pad, not on the vpcd reader"
expect yes "$TOOL" has "$PAD"
expect no "$TOOL" has "$PLAIN"
expect "operation not supported by the card tries=-1" "$TOOL" verify "$PLAIN"

echo "== VERIFY typed on the pad"
bench_pad_keys "$P" "pin 123456"
expect ok "$TOOL" verify "$PAD"
bench_pad_keys "$P" "pin 654321"
expect "wrong PIN tries=2" "$TOOL" verify "$PAD"
bench_pad_keys "$P" "cancel"
expect "cancelled tries=-1" "$TOOL" verify "$PAD"
bench_pad_keys "$P" "timeout"
expect "timed out tries=-1" "$TOOL" verify "$PAD"
# The pad itself refuses 5 digits (min 6): no try spent on the card.
bench_pad_keys "$P" "pin 12345"
expect "PIN has the wrong format tries=-1" "$TOOL" verify "$PAD"
bench_pad_keys "$P" "pin 123456"
expect ok "$TOOL" verify "$PAD"
[ "$(cat "${!log_var}")" = "verify pin
verify pin
verify cancel
verify timeout
verify bad-length
verify pin" ] || bench_fail "pad log: $(cat "${!log_var}")"
# The card saw the VERIFY (its trace hides the PIN), never the host's PIN.
grep -q '> 00200080 08 <redacted 8 bytes>' "$CVQ_BENCH/card$P.trace" || bench_fail "no VERIFY in the card trace"

echo "== PIN change typed on the pad (FEATURE_MODIFY_PIN_DIRECT)"
: > "${!log_var}"
bench_pad_keys "$P" "pin 123456" "pin 24681357" "pin 24681357"
expect 9000 "$TOOL" modify "$PAD"
bench_pad_keys "$P" "pin 123456"
expect "wrong PIN tries=2" "$TOOL" verify "$PAD"
bench_pad_keys "$P" "pin 24681357" "pin 11112222" "pin 11113333"
expect 6402 "$TOOL" modify "$PAD"
bench_pad_keys "$P" "pin 24681357" "cancel"
expect 6401 "$TOOL" modify "$PAD"
bench_pad_keys "$P" "pin 24681357" "pin 123456" "pin 123456"
expect 9000 "$TOOL" modify "$PAD"
bench_pad_keys "$P" "pin 123456"
expect ok "$TOOL" verify "$PAD"
[ "$(cat "${!log_var}")" = "modify pin
verify pin
modify mismatch
modify cancel
modify pin
verify pin" ] || bench_fail "pad log: $(cat "${!log_var}")"
grep -q '> 00240080 10 <redacted 16 bytes>' "$CVQ_BENCH/card$P.trace" || bench_fail "no CHANGE REFERENCE DATA in the trace"

echo "== 9C signature after the pad's VERIFY"
yubico-piv-tool -r "$PAD" -s 9c -A ECCP256 -a generate -o "$W/9c.pub" > /dev/null 2>&1
# A certificate (cvq-admin and OpenSC find the key by it), from a
# throw-away issuer.
openssl ecparam -name prime256v1 -genkey -noout -out "$W/issuer.key"
openssl x509 -new -subj "/CN=Jean Martin" -force_pubkey "$W/9c.pub" -key "$W/issuer.key" \
	-days 30 -out "$W/9c.pem"
yubico-piv-tool -r "$PAD" -s 9c -a import-certificate -i "$W/9c.pem" > /dev/null 2>&1
yubico-piv-tool -r "$PAD" -a set-chuid > /dev/null 2>&1
echo "Paiement de 45,00 EUR" > "$W/data"
bench_pad_keys "$P" "pin 123456"
expect ok "$TOOL" sign "$PAD" "$W/9c.pub" "$W/data" "$W/sig"
openssl dgst -sha256 -verify "$W/9c.pub" -signature "$W/sig" "$W/data" > /dev/null \
	|| bench_fail "openssl does not verify the signature"

echo "== cvq-admin: the pad when the reader has one, the PIN source otherwise"
ADMIN=${CVQ_ADMIN:?}
: > "${!log_var}"
bench_pad_keys "$P" "pin 123456"
"$ADMIN" card pin verify --reader "$PAD" < /dev/null || bench_fail "cvq-admin card pin verify on the pad"
bench_pad_keys "$P" "pin 123456"
"$ADMIN" card sign --reader "$PAD" --slot 9c --in "$W/data" --out "$W/sig3" < /dev/null \
	|| bench_fail "cvq-admin card sign on the pad"
openssl dgst -sha256 -verify "$W/9c.pub" -signature "$W/sig3" "$W/data" > /dev/null \
	|| bench_fail "openssl does not verify cvq-admin's signature"
bench_pad_keys "$P" "cancel"
rc=0; "$ADMIN" card pin verify --reader "$PAD" < /dev/null || rc=$?
[ "$rc" -ne 0 ] || bench_fail "a cancel on the pad verified"
[ "$(cat "${!log_var}")" = "verify pin
verify pin
verify cancel" ] || bench_fail "pad log: $(cat "${!log_var}")"
(umask 077; echo 123456 > "$W/pin")
"$ADMIN" card pin verify --reader "$PLAIN" --pin-source "file:$W/pin" < /dev/null \
	|| bench_fail "cvq-admin on the plain reader"
[ "$(wc -l < "${!log_var}")" = 3 ] || bench_fail "the pad was used for the plain reader"

echo "== OpenSC: the same reader is a PIN pad, and signs through it"
p11() { pkcs11-tool --module "$CVQ_OPENSC_MODULE" "$@"; }
p11 -L > "$W/slots" 2>&1
awk -v r="$PAD" '$0 ~ "Slot .*: " r {s=1; next} /^Slot/ {s=0} s' "$W/slots" | grep -q 'PIN pad present' \
	|| bench_fail "OpenSC does not see a PIN pad: $(cat "$W/slots")"
awk -v r="$PLAIN" '$0 ~ "Slot .*: " r {s=1; next} /^Slot/ {s=0} s' "$W/slots" | grep -q 'PIN pad' \
	&& bench_fail "OpenSC sees a PIN pad on the plain reader"
slot=$(awk -v r="$PAD" '$0 ~ "Slot .*: " r {print $2; exit}' "$W/slots")
# C_Login, then C_Login(CKU_CONTEXT_SPECIFIC) for the PIN-always 9C key:
# two entries on the pad, no --pin anywhere.
bench_pad_keys "$P" "pin 123456" "pin 123456"
: > "${!log_var}"
p11 --slot-index "$slot" --login --sign -m ECDSA-SHA256 --signature-format openssl --id 02 \
	-i "$W/data" -o "$W/sig2" > "$W/p11.out" 2>&1 || bench_fail "pkcs11-tool: $(cat "$W/p11.out")"
openssl dgst -sha256 -verify "$W/9c.pub" -signature "$W/sig2" "$W/data" > /dev/null \
	|| bench_fail "openssl does not verify OpenSC's signature"
[ "$(grep -c '^verify pin$' "${!log_var}")" -ge 1 ] || bench_fail "OpenSC did not use the pad"
echo "PASS"
