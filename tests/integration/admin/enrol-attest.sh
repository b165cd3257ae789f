#!/usr/bin/env bash
# Issue #13, the card side: cvq-vcard has a factory attestation key and
# certificate in slot F9 (made here by a "factory" CA of the test, not the
# city CA), installed the way YubiKeys' are replaced (yubico-piv-tool
# import-key / import-certificate -s f9). Enrolment asks the card to
# attest every key it generates (INS F9) and checks the attestation
# against the configured roots: a card with a genuine factory attestation
# is enrolled, one without attestation or from another factory is refused.
# yubico-piv-tool's own `attest` reads the same certificates, and openssl
# verifies them to the factory root.
. "$(dirname "$0")/lib-admin.sh"

R0=$CVQ_READER_0
R1=$CVQ_READER_1
F=$W/factory
mkdir -p "$F"
admin_factory good
admin_factory other
admin_setup
cp "$F/good-root.pem" "$W/ca/attestation-roots.pem"
# The CA checks attestations itself ([attest], docs/ca.md): the factory's
# root, and no unattested key admitted (lib-admin's CA admits them).
sed -i 's|^unattested = admit$|unattested = refuse\nroots = attestation-roots.pem|' "$W/ca/ca.conf"
grep -q '^roots = attestation-roots.pem' "$W/ca/ca.conf" || bench_fail "ca.conf has no [attest] section to set"

echo "== a card with the factory's attestation is enrolled"
admin_install_f9 good "$R0"
admin_enrol 0001 0 > "$W/enrol0.out" || { cat "$W/enrol0.out"; bench_fail "enrolment refused"; }
"$A" audit show > "$W/audit.txt"
# The CA itself checked each key's attestation (attest.ok: 9A, 9C, 9E).
[ "$(grep -cE ' attest\.ok .* slot=9[ace] ' "$W/audit.txt")" = 3 ] ||
	bench_fail "not every key (9A, 9C, 9E) attested: $(grep attest "$W/audit.txt")"
# The peer reads the same attestation; openssl chains it to the factory root.
yubico-piv-tool -r "$R0" -a attest -s 9c > "$W/att9c.pem"
openssl verify -CAfile "$F/good-root.pem" -untrusted "$F/good-f9.pem" "$W/att9c.pem"
openssl x509 -in "$W/att9c.pem" -noout -subject | grep -q 'YubiKey PIV Attestation 9c' ||
	bench_fail "attestation subject"
admin_card_cert 0 9c > "$W/sign.pem"
[ "$(openssl x509 -in "$W/att9c.pem" -noout -pubkey)" = "$(openssl x509 -in "$W/sign.pem" -noout -pubkey)" ] ||
	bench_fail "the attested key is not the certified one"
# Yubico's extensions: firmware 5.4.3, the card's serial, PIN policy always / touch never.
python3 - "$W/att9c.pem" "$(yubico-piv-tool -r "$R0" -a status | sed -n 's/^Serial Number:\s*//p')" <<'PY' ||
import subprocess, sys
der = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-outform", "DER"],
                     capture_output=True, check=True).stdout
def ext(oid_der):
    i = der.index(oid_der) + len(oid_der)
    assert der[i] == 0x04
    n = der[i + 1]
    return der[i + 2:i + 2 + n]
pre = bytes.fromhex("060a2b0601040182c40a03")
assert ext(pre + b"\x03") == bytes([5, 4, 3])
s = ext(pre + b"\x07"); assert s[0] == 0x02 and int.from_bytes(s[2:], "big") == int(sys.argv[2])
assert ext(pre + b"\x08") == bytes([3, 1])
PY
	bench_fail "Yubico attestation extensions"
# 9E: PIN policy never.
yubico-piv-tool -r "$R0" -a attest -s 9e | openssl x509 -outform DER | xxd -p | tr -d '\n' |
	grep -q '060a2b0601040182c40a030804020101' || bench_fail "9E attestation: PIN policy is not never"

echo "== a card without attestation is refused"
"$A" citizen add --id 0002 --given Jean --family Martin > /dev/null
if admin_enrol 0002 1 > "$W/enrol1.out" 2>&1; then bench_fail "a card without attestation was enrolled"; fi
grep -qE 'has no PIV attestation|no attestation: a citizen key must be attested' "$W/enrol1.out" ||
	bench_fail "$(cat "$W/enrol1.out")"
"$A" audit show | grep -qE ' (attest\.refused|cert\.refuse) ' || bench_fail "no refusal in the audit log"

echo "== a card from another factory is refused"
"$A" card reset --reader "$R1" --yes > /dev/null
admin_install_f9 other "$R1"
"$A" citizen add --id 0003 --given Luc --family Petit > /dev/null
if admin_enrol 0003 1 > "$W/enrol2.out" 2>&1; then bench_fail "another factory's card was enrolled"; fi
grep -qE 'does not chain to (the|an) attestation root' "$W/enrol2.out" || bench_fail "$(cat "$W/enrol2.out")"
echo "PASS enrol-attest"
