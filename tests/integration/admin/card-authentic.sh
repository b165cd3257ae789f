#!/usr/bin/env bash
# Issue #17: a genuine city card, provably. A card enrolled here has a
# signed CHUID, a CCC, a Security Object and a 9E card authentication key;
# `card info` says it is authentic. Peers agree: openssl verifies the CHUID
# and Security Object signatures from the exported DER, pkcs15-tool --dump
# misses no mandatory object, yubico-piv-tool shows the signed CHUID,
# pkcs11-tool signs with 9E without a PIN. Then the attacks: the public
# objects copied onto a blank card (the clone) and an altered object both
# fail the check, each with its reason.
# Before all that, the content signer under two-person control (issue #13):
# without one an enrolment pauses at step 8 and says which command makes
# it; the officer who asked for it cannot approve it (refused, audited),
# nor a direct issuance make one; until another officer approves, no
# enrolment signs; after, the paused enrolment carries on (same GUID).
. "$(dirname "$0")/lib-admin.sh"

R0=$CVQ_READER_0
R1=$CVQ_READER_1
admin_setup --no-content-signer
officers_roles "$CVQ_CA_CONFIG"
CS=$W/ca/content-signer.pem
# paused_at_8 OUT: the enrolment stopped at step 8 for want of a content signer.
paused_at_8() {
	grep -q "paused at step 'signed-objects'" "$1" ||
		bench_fail "the enrolment did not pause at step 8: $(cat "$1")"
	grep -q "7/11\|after step 'printed-information'" "$1" && ! grep -q '8/11' "$1" ||
		bench_fail "not stopped at step 8: $(cat "$1")"
}
rc=0
admin_enrol 0001 0 > "$W/enrol0.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || bench_fail "enrolment with no content signer: exit $rc: $(cat "$W/enrol0.out")"
paused_at_8 "$W/enrol0.out"
grep -qF 'no content signer: two officers make it with `cvq-admin card content-signer init`' \
	"$W/enrol0.out" || bench_fail "the pause does not name the command: $(cat "$W/enrol0.out")"
GUID0=$(admin_guid 0)
"$A" --json card show "$GUID0" | python3 -c '
import json, sys
j = json.load(sys.stdin)["enrolment"]
assert j["state"] == "enrolling" and j["step"] == "printed-information", j' || bench_fail "the journal did not keep the paused enrolment"
# One officer alone: a direct issuance is refused, so is approving one's own request.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/x.key" \
	-subj "/CN=x" -out "$W/x.csr" 2> /dev/null
if "$A" cert issue --no-agent --pass "file:$W/ca.pass" --profile content-signing \
	--subject "/O=Ville d'Alencon/CN=PIV content signer" --out "$W/x.pem" "$W/x.csr" 2> "$W/direct.err"; then
	bench_fail "one officer issued a content signer directly"
fi
grep -q 'two-person control' "$W/direct.err" || bench_fail "no reason for the refusal: $(cat "$W/direct.err")"
"$A" card content-signer init > "$W/cs-init.out" 2> "$W/cs-init.err" ||
	bench_fail "content-signer init: $(cat "$W/cs-init.err")"
CS_REQ=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' "$W/cs-init.out")
[ -n "$CS_REQ" ] || bench_fail "no request: $(cat "$W/cs-init.out")"
[ "$(stat -c %a "$W/ca/content-signer.key")" = 600 ] || bench_fail "the content signer key is not 0600"
if "$A" ca approve --pass "file:$W/ca.pass" "$CS_REQ" > /dev/null 2> "$W/self.err"; then
	bench_fail "the requester approved his own content signer"
fi
"$A" audit show | grep "request.approve" | grep -q "request:$CS_REQ .*refused:" ||
	bench_fail "the refused approval is not audited: $("$A" audit show | tail -5)"
if "$A" card content-signer init --finish "$CS_REQ" 2> "$W/early.err"; then
	bench_fail "a content signer before the second officer"
fi
grep -q "pending" "$W/early.err" || bench_fail "finish before approval: $(cat "$W/early.err")"
[ ! -e "$CS" ] || bench_fail "a content signer certificate before the approval"
if "$A" card content-signer show 2> "$W/show0.err"; then bench_fail "show without a content signer"; fi
grep -q "request $CS_REQ waits" "$W/show0.err" || bench_fail "show: $(cat "$W/show0.err")"
# Still no signing enrolment: the pause names the waiting request now.
rc=0
admin_enrol 0001 0 > "$W/enrol1.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || bench_fail "enrolment before the approval: exit $rc"
paused_at_8 "$W/enrol1.out"
grep -q "request $CS_REQ waits for another officer" "$W/enrol1.out" ||
	bench_fail "the pause does not name the request: $(cat "$W/enrol1.out")"
# Someone else's approved request of the same profile (another key) gives
# this key nothing.
"$A" ca request --no-agent --profile content-signing \
	--subject "/O=Ville d'Alencon/CN=PIV content signer" "$W/x.csr" > "$W/other.out" ||
	bench_fail "ca request: $(cat "$W/other.out")"
OTHER=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' "$W/other.out")
officer_approve "$OFF2" "$CVQ_CA_CONFIG" "$W/ca.pass" "$OTHER" || bench_fail "approval of $OTHER"
if "$A" card content-signer init --finish "$OTHER" 2> "$W/other.err"; then
	bench_fail "the certificate of another key's request was taken"
fi
grep -q "not for this content signer's key" "$W/other.err" || bench_fail "other: $(cat "$W/other.err")"
[ ! -e "$CS" ] || bench_fail "another key's certificate written as the content signer"
# The second officer (another uid, through the CA's agent) approves; init
# again picks the certificate up.
officer_approve "$OFF2" "$CVQ_CA_CONFIG" "$W/ca.pass" "$CS_REQ" ||
	bench_fail "officer $OFF2 did not approve the content signer"
"$A" card content-signer init > "$W/cs-finish.out" || bench_fail "init after the approval"
[ -e "$CS" ] && [ ! -e "$W/ca/content-signer.request" ] || bench_fail "no content signer after --finish"
openssl x509 -in "$CS" -noout -pubkey | cmp -s - <(openssl pkey -in "$W/ca/content-signer.key" -pubout) ||
	bench_fail "the content signer certificate is not for its key"
"$A" card content-signer show > "$W/show.out"
cat "$W/show.out"
want=$(openssl x509 -in "$CS" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -qx "sha256 fingerprint: $want" "$W/show.out" || bench_fail "show: wrong fingerprint (want $want)"
grep -q "^subject: /O=Ville d'Alencon/CN=PIV content signer$" "$W/show.out" || bench_fail "show: subject"
grep -q '^state: in force$' "$W/show.out" || bench_fail "show: state"
if "$A" card content-signer init 2> /dev/null; then bench_fail "a second content signer"; fi
# The paused enrolment carries on after step 8, on the same card record.
admin_enrol 0001 0 > "$W/enrol.out" || { cat "$W/enrol.out"; bench_fail "enrolment failed"; }
[ "$(admin_guid 0)" = "$GUID0" ] || bench_fail "the enrolment started over instead of carrying on"
! grep -q ' 1/11' "$W/enrol.out" || bench_fail "the resumed enrolment redid step 1: $(cat "$W/enrol.out")"
grep -q '8/11 CHUID signed, Security Object written' "$W/enrol.out" ||
	bench_fail "no signed objects step: $(cat "$W/enrol.out")"
[ "$(stat -c %a "$W/ca/content-signer.key")" = 600 ] ||
	bench_fail "the content signer key is not 0600"

# --- cvq-admin card info: authentic -------------------------------------
"$A" card info --reader "$R0" | tee "$W/info.txt"
grep -q '^authentic *yes' "$W/info.txt" || bench_fail "the enrolled card is not authentic"
"$A" --json card info --reader "$R0" > "$W/info.json"
python3 - "$W/info.json" <<'EOF' || bench_fail "card info --json: wrong authenticity"
import json, sys
a = json.load(open(sys.argv[1]))["authenticity"]
assert a["authentic"] and a["reason"] == "ok", a
assert a["chuid_signature"] and a["security_object"] and a["card_authentication"], a
# CHUID, CCC, 9E certificate hashed; printed information needs the PIN
assert a["objects_hashed"] == 3 and a["objects_not_readable"] == 1, a
assert "PIV content signer" in a["content_signer"], a
EOF
# The wrong trust anchor: the CHUID signer does not chain.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=Other -days 1 -out "$W/other-ca.pem" 2> /dev/null
"$A" --json card info --reader "$R0" --trust "$W/other-ca.pem" > "$W/info-other.json"
grep -q '"reason": *"signer-untrusted"' "$W/info-other.json" ||
	bench_fail "another CA's trust accepted the card: $(cat "$W/info-other.json")"

# --- peers: openssl on the exported DER ---------------------------------
# yubico-piv-tool read-object gives the value of the 53 template.
yubico-piv-tool -r "$R0" -a read-object --id 0x5fc102 -f binary -o "$W/chuid.bin"
yubico-piv-tool -r "$R0" -a read-object --id 0x5fc106 -f binary -o "$W/secobj.bin"
yubico-piv-tool -r "$R0" -a read-object --id 0x5fc107 -f binary -o "$W/ccc.bin"
yubico-piv-tool -r "$R0" -a read-object --id 0x5fc101 -f binary -o "$W/cardauth.bin"
python3 - "$W" <<'EOF'
import sys, hashlib
w = sys.argv[1]
def tlvs(b):
    i = 0
    while i < len(b):
        start, t = i, b[i]; i += 1
        n = b[i]; i += 1
        if n & 0x80:
            k = n & 0x7f; n = int.from_bytes(b[i:i + k], "big"); i += k
        yield t, start, b[i:i + n]; i += n
chuid = open(w + "/chuid.bin", "rb").read()
for t, start, v in tlvs(chuid):
    if t == 0x3E:
        open(w + "/chuid-content.bin", "wb").write(chuid[:start])
        open(w + "/chuid-sig.der", "wb").write(v)
so = open(w + "/secobj.bin", "rb").read()
for t, start, v in tlvs(so):
    if t == 0xBA:
        open(w + "/secobj-map.txt", "w").write(v.hex())
    if t == 0xBB:
        open(w + "/secobj-cms.der", "wb").write(v)
for n in ("chuid", "ccc", "cardauth"):
    open(w + "/" + n + ".sha256", "w").write(hashlib.sha256(open(w + "/" + n + ".bin", "rb").read()).hexdigest())
EOF
[ -s "$W/chuid-sig.der" ] || bench_fail "the CHUID has no issuer signature (3E)"
openssl cms -cmsout -print -inform DER -in "$W/chuid-sig.der" > "$W/chuid-cms.txt"
grep -q 'eContentType: .*2.16.840.1.101.3.6.1' "$W/chuid-cms.txt" ||
	bench_fail "CHUID signature content type is not id-PIV-CHUIDSecurityObject"
# The signer certificate is in the CMS; it chains to the city CA and has
# the content-signing EKU; the content is detached.
openssl cms -verify -inform DER -in "$W/chuid-sig.der" -content "$W/chuid-content.bin" \
	-binary -CAfile "$W/ca/ca.pem" -purpose any -out /dev/null -signer "$W/signer.pem"
openssl x509 -in "$W/signer.pem" -noout -ext extendedKeyUsage | grep -q '2.16.840.1.101.3.6.7' ||
	bench_fail "the CHUID signer has no id-PIV-content-signing EKU"
# A changed CHUID content does not verify.
cp "$W/chuid-content.bin" "$W/chuid-bad.bin"
printf '\x01' | dd of="$W/chuid-bad.bin" bs=1 seek=30 conv=notrunc status=none
if openssl cms -verify -inform DER -in "$W/chuid-sig.der" -content "$W/chuid-bad.bin" \
	-binary -CAfile "$W/ca/ca.pem" -purpose any -out /dev/null 2> /dev/null; then
	bench_fail "openssl verifies the CHUID signature over altered content"
fi
# The Security Object: signed by the same signer (certificate not repeated),
# its content an LDSSecurityObject whose hashes are the objects' SHA-256.
openssl cms -verify -inform DER -in "$W/secobj-cms.der" -certfile "$W/signer.pem" \
	-binary -CAfile "$W/ca/ca.pem" -purpose any -out "$W/lds.der"
openssl asn1parse -inform DER -in "$W/lds.der" > "$W/lds.txt"
for n in chuid ccc cardauth; do
	grep -qi "$(cat "$W/$n.sha256")" "$W/lds.txt" || bench_fail "no hash of the $n in the Security Object"
done
grep -q '^01300002db0003300104' "$W/secobj-map.txt" ||
	bench_fail "Security Object mapping: $(cat "$W/secobj-map.txt")"

# The two new profiles pass our profile checker, openssl and certtool.
admin_card_cert 0 9e > "$W/cardauth.pem"
"$A" cert check --profile content-signing "$W/signer.pem"
"$A" cert check --profile card-auth "$W/cardauth.pem"
if "$A" cert check --profile card-auth "$W/signer.pem" 2> /dev/null; then
	bench_fail "the profile checker takes the content signer for a card-auth certificate"
fi
openssl verify -CAfile "$W/ca/ca.pem" -purpose any "$W/signer.pem" "$W/cardauth.pem"
certtool --verify --load-ca-certificate "$W/ca/ca.pem" --infile "$W/cardauth.pem" > "$W/certtool.txt" 2>&1 ||
	bench_fail "certtool: $(cat "$W/certtool.txt")"
openssl x509 -in "$W/cardauth.pem" -noout -ext extendedKeyUsage | grep -q '2.16.840.1.101.3.6.8' ||
	bench_fail "the 9E certificate has no id-PIV-cardAuth EKU"

# --- peers: OpenSC and yubico-piv-tool ----------------------------------
pkcs15-tool --reader 0 --dump > "$W/dump.txt" 2>&1 || true
cat "$W/dump.txt"
# SP 800-73-4's mandatory objects (biometrics need the PIN and are not
# read here); only optional ones (unsigned CHUID, 9D, iris) may be absent.
python3 - "$W/dump.txt" <<'EOF' || bench_fail "pkcs15-tool --dump: a mandatory object is missing"
import re, sys
text = open(sys.argv[1]).read()
blocks = re.split(r"\n(?=Data object ')", text)
seen = {}
for b in blocks:
    m = re.match(r"Data object '([^']*)'", b)
    if m:
        seen[m.group(1)] = "File not found" not in b and "failed" not in b
for name in ("Card Capability Container", "Card Holder Unique Identifier",
             "X.509 Certificate for PIV Authentication", "X.509 Certificate for Digital Signature",
             "X.509 Certificate for Card Authentication", "Security Object"):
    assert seen.get(name), (name, seen)
for name, ok in seen.items():
    assert ok or name in ("Unsigned Card Holder Unique Identifier",
                          "X.509 Certificate for Key Management", "Cardholder Iris Image"), name
EOF
grep -q 'Private EC Key \[CARD AUTH key\]' "$W/dump.txt" || bench_fail "pkcs15-tool does not see the 9E key"
yubico-piv-tool -r "$R0" -a status | tee "$W/status.txt"
grep -q 'Slot 9e' "$W/status.txt" || bench_fail "yubico-piv-tool does not see 9E"
grep -q '^CHUID:.*3e8.\{40\}' "$W/status.txt" || grep -q '^CHUID:.*3e82' "$W/status.txt" ||
	bench_fail "yubico-piv-tool shows no signature in the CHUID"
grep -q '^CCC:' "$W/status.txt" || bench_fail "yubico-piv-tool shows no CCC"
# pkcs11-tool signs with the card authentication key (ID 04); openssl
# verifies with the 9E certificate. (pkcs11-tool logs in to any token
# whose flags say login-required, so it is given the PIN; that the card
# wants none for 9E is checked below, on the APDU trace of card info.)
echo "door 3, $(date)" > "$W/door.txt"
openssl dgst -sha256 -binary "$W/door.txt" > "$W/door.sha256"
CVQ_TEST_PIN=$(admin_pin "$W/letter-0001.txt") pkcs11-tool --module "$CVQ_OPENSC_MODULE" \
	--slot-index 0 --login --pin env:CVQ_TEST_PIN --sign --mechanism ECDSA \
	--signature-format openssl --id 04 --input-file "$W/door.sha256" --output-file "$W/door.sig"
openssl x509 -inform DER -in <(python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
assert b[0] == 0x70
n = b[1]; i = 2
if n & 0x80:
    k = n & 0x7f; n = int.from_bytes(b[2:2 + k], "big"); i = 2 + k
sys.stdout.buffer.write(b[i:i + n])' "$W/cardauth.bin") -pubkey -noout > "$W/cardauth.pub"
openssl dgst -sha256 -verify "$W/cardauth.pub" -signature "$W/door.sig" "$W/door.txt"

# card info's check sent no VERIFY: 9E signs without a PIN.
: > "$CVQ_CARD_0_TRACE"
"$A" card info --reader "$R0" > /dev/null
grep -q '> 0087..9E' "$CVQ_CARD_0_TRACE" || bench_fail "no 9E GENERAL AUTHENTICATE in the trace"
if grep -q '> 00200080 08' "$CVQ_CARD_0_TRACE"; then bench_fail "the check presented a PIN"; fi

# --- the clone: public objects copied onto a blank card -----------------
# The strongest copy: every object, the printed information too (read
# with the holder's PIN, as a fake terminal that recorded it could).
for id in 0x5fc102 0x5fc106 0x5fc107 0x5fc101 0x5fc105 0x5fc10a 0x5fc109; do
	yubico-piv-tool -r "$R0" -a verify-pin -P "$(admin_pin "$W/letter-0001.txt")" \
		-a read-object --id "$id" -f binary -o "$W/o.bin" > /dev/null
	yubico-piv-tool -r "$R1" -a write-object --id "$id" -f binary -i "$W/o.bin"
done
"$A" --json card info --reader "$R1" > "$W/clone.json"
cat "$W/clone.json"
python3 - "$W/clone.json" <<'EOF' || bench_fail "the clone is not refused for the right reason"
import json, sys
a = json.load(open(sys.argv[1]))["authenticity"]
assert not a["authentic"], a
# Signatures and hashes are the issuer's (copied); the chip is not.
assert a["chuid_signature"] and a["security_object"], a
assert not a["card_authentication"] and a["reason"] == "card-auth-failed", a
EOF
"$A" card info --reader "$R1" | grep -q '^authentic *NO: .*copied card' ||
	bench_fail "card info does not say the clone is not authentic"
# The clone with a 9E key of its own (and the copied certificate): the
# card signs, but not with the certified key.
yubico-piv-tool -r "$R1" -a generate -s 9e -A ECCP256 > /dev/null
"$A" --json card info --reader "$R1" | grep -q '"reason": *"card-auth-failed"' ||
	bench_fail "a clone with its own 9E key passes"

# --- cvqd: checked at insertion, refused before any PIN dialog ----------
"$A" crl issue --out "$W/crl.pem" --pem > /dev/null
cat > "$W/cvqd.conf" <<EOC
[daemon]
socket = $W/cvqd.sock
allow_users = $(id -u)
journal = $W/journal.sqlite
log_level = debug
[trust]
anchors = $W/ca/ca.pem
crls = $W/crl.pem
[pin]
pinentry = $CVQ_SRC/tests/bench/fake-pinentry
timeout = 20
localedir = $CVQ_BUILD/po
[card]
wait = 2
EOC
export CVQ_FAKE_PIN_FILE=$W/pin.txt CVQ_FAKE_PINENTRY_LOG=$W/pinentry.log
admin_pin "$W/letter-0001.txt" > "$W/pin.txt"
: > "$W/pinentry.log"
cvqd_up() {
	"$CVQD" -c "$W/cvqd.conf" 2> "$W/cvqd.log" &
	CVQD_PID=$!
	trap 'kill "$CVQD_PID" 2> /dev/null || true' EXIT
	local n
	for ((n = 0; n < 200; n++)); do
		[ -S "$W/cvqd.sock" ] && return 0
		sleep 0.05
	done
	bench_fail "cvqd did not start: $(cat "$W/cvqd.log")"
}
cvqd_down() { kill "$CVQD_PID"; wait "$CVQD_PID" 2> /dev/null || true; rm -f "$W/cvqd.sock"; }
api() {
	curl -s --unix-socket "$W/cvqd.sock" -H 'Content-Type: application/json' -o "$3" \
		-w '%{http_code}' -d "$2" "http://cvqd$1"
}
# both_present: /v1/status lists both cards (each checked at its insertion).
both_present() {
	local n
	for ((n = 0; n < 400; n++)); do
		curl -s --unix-socket "$W/cvqd.sock" http://cvqd/v1/status > "$W/status.json"
		python3 - "$W/status.json" <<'EOF' && return 0
import json, sys
r = json.load(open(sys.argv[1]))["readers"]
sys.exit(0 if sum(1 for x in r if x["card_present"] and "authentic" in x) == 2 else 1)
EOF
		sleep 0.05
	done
	bench_fail "cvqd never listed both cards: $(cat "$W/status.json")"
}
cvqd_up
both_present
# The events stream: the clone pulled out and put back; its card-inserted
# event (the one after the card-removed) says it is not authentic.
curl -s -N --unix-socket "$W/cvqd.sock" http://cvqd/v1/events > "$W/events.txt" &
EV=$!
for ((n = 0; n < 400; n++)); do grep -q '^event: ready' "$W/events.txt" 2> /dev/null && break; sleep 0.05; done
kill -USR1 "$(cat "$CVQ_CARD_1_PIDFILE")"
for ((n = 0; n < 400; n++)); do grep -q '^event: card-removed' "$W/events.txt" && break; sleep 0.05; done
kill -USR2 "$(cat "$CVQ_CARD_1_PIDFILE")"
after_removal() { sed -n '/^event: card-removed/,$p' "$W/events.txt"; }
for ((n = 0; n < 400; n++)); do after_removal | grep -q '^event: card-inserted' && break; sleep 0.05; done
kill "$EV" 2> /dev/null || true
after_removal | grep -A1 '^event: card-inserted' | tee "$W/inserted.txt"
grep -q '"authentic": *false' "$W/inserted.txt" && grep -q '"authenticity": *"card-auth-failed"' "$W/inserted.txt" ||
	bench_fail "the card-inserted event does not say the clone is not authentic: $(cat "$W/events.txt")"
both_present
curl -s --unix-socket "$W/cvqd.sock" http://cvqd/v1/status > "$W/status.json"
python3 - "$W/status.json" "$R0" "$R1" <<'EOF' || bench_fail "/v1/status: $(cat "$W/status.json")"
import json, sys
s = {r["reader"]: r for r in json.load(open(sys.argv[1]))["readers"]}
g, c = s[sys.argv[2]], s[sys.argv[3]]
assert g["authentic"] is True and g["authenticity"] == "ok" and g["usable"], g
assert c["authentic"] is False and c["authenticity"] == "card-auth-failed" and not c["usable"], c
EOF
login='{"challenge":"c2VydmVyLWNoYWxsZW5nZS1vZi0zMi1ieXRlcy1hdC1sZWFzdCEh","origin":"https://portail.ville.example","reader":"'$R1'"}'
code=$(api /v1/authenticate "$login" "$W/login1.json")
[ "$code" = 409 ] && grep -q '"no_card"' "$W/login1.json" ||
	bench_fail "cvqd did not refuse the clone as no usable card: $code $(cat "$W/login1.json")"
[ ! -s "$W/pinentry.log" ] || bench_fail "a PIN dialog was shown for the clone: $(cat "$W/pinentry.log")"
grep -q 'not authentic.*refused' "$W/cvqd.log" || bench_fail "cvqd did not log the refusal"
# The genuine card in reader 0 still gets its dialog and logs in.
login='{"challenge":"c2VydmVyLWNoYWxsZW5nZS1vZi0zMi1ieXRlcy1hdC1sZWFzdCEh","origin":"https://portail.ville.example","reader":"'$R0'"}'
code=$(api /v1/authenticate "$login" "$W/login0.json")
[ "$code" = 200 ] || bench_fail "the genuine card was refused: $(cat "$W/login0.json")"
grep -q '^SETDESC' "$W/pinentry.log" || bench_fail "no PIN dialog for the genuine card"
cvqd_down
# foreign_cards = allow does not let a copy of a city card through.
printf 'foreign_cards = allow\n' >> "$W/cvqd.conf"
cvqd_up
both_present
python3 - "$W/status.json" "$R1" <<'EOF' || bench_fail "foreign_cards = allow admits the clone"
import json, sys
s = {r["reader"]: r for r in json.load(open(sys.argv[1]))["readers"]}
assert not s[sys.argv[2]]["usable"], s
EOF
cvqd_down

# --- an altered object: the CCC changed on a card with the right key ----
# (the clone's CCC, one byte changed: the Security Object hash no longer matches)
python3 -c '
import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[5] ^= 1
open(sys.argv[2], "wb").write(b)' "$W/ccc.bin" "$W/ccc-bad.bin"
yubico-piv-tool -r "$R1" -a write-object --id 0x5fc107 -f binary -i "$W/ccc-bad.bin"
"$A" --json card info --reader "$R1" > "$W/altered.json"
grep -q '"reason": *"hash-mismatch"' "$W/altered.json" ||
	bench_fail "an altered CCC is not caught: $(cat "$W/altered.json")"
grep -q 'container DB00' "$W/altered.json" || bench_fail "the altered object is not named"
# --- the CHUID's signature stripped: another issuer's card, not ours ----
{ cat "$W/chuid-content.bin"; printf '\x3e\x00\xfe\x00'; } > "$W/chuid-unsigned.bin"
yubico-piv-tool -r "$R1" -a write-object --id 0x5fc102 -f binary -i "$W/chuid-unsigned.bin"
"$A" --json card info --reader "$R1" | grep -q '"reason": *"chuid-unsigned"' ||
	bench_fail "an unsigned CHUID is not reported as such"
echo "PASS card-authentic"
