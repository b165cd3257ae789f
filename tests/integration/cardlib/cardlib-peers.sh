#!/usr/bin/env bash
# Peers both ways. Card 0 set up by cardlib (9C certificate gzip-compressed):
# OpenSC's PKCS#11 module signs with its keys (openssl verifies),
# pkcs15-tool reads its certificates. Card 2 set up by cardlib without
# compression (yubico-piv-tool 2.2 cannot read compressed certificates):
# yubico-piv-tool -a status reads it. Card 1 set up by yubico-piv-tool:
# cardlib reads it and signs with it (openssl verifies).
. "$(dirname "$0")/common.sh"
R0=$CVQ_READER_0
R1=$CVQ_READER_1
M=${CVQ_OPENSC_MODULE:?}

step "cardlib sets up card 0"
GUID=$($TOOL setup --reader "$R0" --master-file "$W/master" --cert-dir "$W" --gzip)
echo "GUID $GUID"
head -c 500 /dev/urandom > "$W/data"
openssl dgst -sha256 -binary "$W/data" > "$W/digest"

step "OpenSC reads card 0"
pkcs11-tool --module "$M" -L | tee "$W/p11-slots"
slot=$(grep -n "$R0" "$W/p11-slots" | head -1 | cut -d: -f1 || true)
pkcs11-tool --module "$M" -O --slot-index 0 | tee "$W/p11-objects" || true
grep -qi "Marie Dupont (auth)" "$W/p11-objects" || bench_fail "OpenSC does not see the 9A certificate"
grep -qi "Marie Dupont (sign)" "$W/p11-objects" || bench_fail "OpenSC does not see the gzip 9C certificate"
grep -qi "serial.*${GUID:0:8}" "$W/p11-slots" ||
	echo "(note: OpenSC token serial is not the GUID)"

step "OpenSC signs with 9A and 9C (pkcs11-tool), openssl verifies"
for id in 01:9a 02:9c; do
	pkcs11-tool --module "$M" --slot-index 0 --sign --id "${id%%:*}" -m ECDSA \
		--signature-format openssl --pin 123456 \
		-i "$W/digest" -o "$W/p11sig-${id#*:}"
	openssl pkeyutl -verify -pubin -inkey "$W/${id#*:}.pub.pem" -in "$W/digest" \
		-sigfile "$W/p11sig-${id#*:}" | grep -q 'Signature Verified Successfully' ||
		bench_fail "pkcs11-tool signature with ${id#*:} does not verify"
done
pkcs15-tool --read-certificate 01 > "$W/p15-9a.pem"
openssl x509 -in "$W/p15-9a.pem" -noout -pubkey | cmp - "$W/9a.pub.pem" ||
	bench_fail "pkcs15-tool's 9A certificate does not hold the generated key"

step "yubico-piv-tool -a status reads card 2"
mkdir -p "$W/c2"
GUID=$($TOOL setup --reader "$CVQ_READER_2" --master-file "$W/master" --cert-dir "$W/c2")
yubico-piv-tool -r "$CVQ_READER_2" -a status | tee "$W/yk-status"
grep -qi "$GUID" "$W/yk-status" || grep -qi "$(echo "$GUID" | tr a-f A-F)" "$W/yk-status" ||
	bench_fail "yubico-piv-tool does not show the GUID"
grep -q "Marie Dupont (auth)" "$W/yk-status" || bench_fail "yubico-piv-tool does not show 9A"
grep -q "Marie Dupont (sign)" "$W/yk-status" || bench_fail "yubico-piv-tool does not show 9C"

step "yubico-piv-tool sets up card 1"
yubico-piv-tool -r "$R1" -a generate -s 9a -A ECCP256 -o "$W/yk9a.pub.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
	-subj "/CN=yk test CA" -days 30 -out "$W/ca.pem" 2>/dev/null
openssl req -new -key "$W/ca.key" -subj "/CN=Jean Martin (yubico)" -out "$W/yk.csr"
openssl x509 -req -in "$W/yk.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
	-force_pubkey "$W/yk9a.pub.pem" -days 30 -out "$W/yk9a.pem" 2>/dev/null
yubico-piv-tool -r "$R1" -a import-certificate -s 9a -i "$W/yk9a.pem"
yubico-piv-tool -r "$R1" -a set-chuid
yubico-piv-tool -r "$R1" -a change-pin -P 123456 -N 11223344

step "cardlib reads card 1 and signs with it"
$ADMIN --json card info --reader "$R1" > "$W/info1.json"
cat "$W/info1.json"
jget 'd["certificates"][0]["subject"]' < "$W/info1.json" | grep -q 'Jean Martin (yubico)' ||
	bench_fail "cardlib does not read yubico-piv-tool's certificate"
[ -n "$(jget 'd.get("guid","")' < "$W/info1.json")" ] || bench_fail "cardlib does not read yubico's CHUID"
YKPIN=$(secret ykpin 11223344)
$ADMIN card sign --reader "$R1" --slot 9a --in "$W/data" --out "$W/yksig" --pin-source "$YKPIN"
verify_sig "$W/yk9a.pub.pem" "$W/data" "$W/yksig"
echo "cardlib-peers: OK"
