#!/usr/bin/env bash
# Who may make the CA sign what (issue #13), through the issuing agent as
# the attacks of the issue were made: uids of the agent's group (nobody, a
# counter operator, two CA officers — bare uids made for this test, so
# SO_PEERCRED is the only word on who asks), each refusal answered with a
# clear error and left in the audit with the kernel's uid as the actor.
#   - roles: nobody gets nothing; the operator no sub-CA, no OCSP signer,
#     no service certificate, no subject of its choosing;
#   - citizen certificates only for a key the card attests (a foreign CSR
#     for Marie's card refused; a forged or foreign attestation refused; a
#     genuine one accepted, the subject taken from the store);
#   - two-person control: a sub-CA requested by one officer is refused to
#     the same officer's approval and issued on the other's; a change of
#     [roles] in ca.conf is in force only once another officer approves it;
#   - input policy: secp256k1, brainpool, explicit parameters, ESC, CR/LF,
#     C1, 5,000-byte CNs, multi-valued RDNs refused;
#   - everything issued judged by openssl verify and our profile checker.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
cd "$W"
G=61300        # the agent's group
OFF1=61301 OFF2=61302 OPER=61303 AUD=61304
MARIE=AA00000000000000000000000000000A
JEAN=BB00000000000000000000000000000B

make_ca ca --subject "/C=FR/O=Ville de Test/CN=CVQ Roles" --attest-roots "$W/att-root.pem"
cat >> ca/ca.conf <<EOF

[roles]
officer = $OFF1, $OFF2
operator = $OPER
auditor = $AUD
EOF
export CVQ_CA_CONFIG=$W/ca/ca.conf
"$ADMIN" citizen add --id INF-MD --given Marie --family Dupont >/dev/null
"$ADMIN" citizen add-card INF-MD $MARIE >/dev/null
"$ADMIN" citizen add --id INF-JM --given Jean --family Martin >/dev/null
"$ADMIN" citizen add-card INF-JM $JEAN >/dev/null

# Others reach the socket through the agent's group only; they may read the
# configuration (to find the socket) and the requests they send.
chmod 711 "$CVQ_BENCH" "$W" "$W/ca"
chmod 644 ca/ca.conf
mkdir -m 1777 pub
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G >start.out
PIDS+=("$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)")
as() { local u=$1; shift; (cd "$W/pub" && setpriv --reuid="$u" --regid="$u" --groups=$G -- "$@"); }
NOBODY=65534

# --- attestation material: a root the CA trusts, a card's F9 key under it,
# and attestations in Yubico's format (what cvq-vcard's ATTEST answers).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout att-root.key \
	-subj "/CN=CVQ Test Attestation Root" -days 3650 -out att-root.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
# f9 NAME ROOTCERT ROOTKEY: a card's F9 certificate (DER in NAME.der)
f9() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=CVQ PIV Attestation F9" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$2" -CAkey "$3" -days 3650 -set_serial 7 -out "$1.pem" \
		-extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n') 2>/dev/null
	openssl x509 -in "$1.pem" -outform DER -out "$1.der"
}
# attest OUT KEY SLOT GUID F9: the F9 key's statement that KEY was made in SLOT
attest() {
	local g
	g=$(echo "$4" | sed 's/../&:/g; s/:$//')
	openssl req -new -key "$2" -subj "/CN=YubiKey PIV Attestation $3" -out "$1.csr" 2>/dev/null
	printf '1.3.6.1.4.1.41482.3.3=DER:05:02:07\n1.3.6.1.4.1.41482.3.7=DER:02:03:01:e2:40\n1.3.6.1.4.1.41482.3.8=DER:02:01\n1.3.6.1.4.1.55555.13.1=DER:%s\n' "$g" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" -days 3650 -set_serial 9 \
		-extfile "$1.ext" -outform DER -out "$1.der" 2>/dev/null
}
f9 card "att-root.pem" "att-root.key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil-root.key \
	-subj "/CN=Evil Root" -days 3650 -out evil-root.pem -addext basicConstraints=critical,CA:TRUE 2>/dev/null
f9 evil "evil-root.pem" "evil-root.key"
csr pub/marie.csr      # the key "born on Marie's card" (slot 9c)
csr pub/attacker.csr   # a software key of the attacker's
csr pub/svc.csr
csr pub/subca.csr
attest pub/marie-att pub/marie.csr.key 9c $MARIE card
attest pub/marie-9a pub/marie.csr.key 9a $MARIE card
attest pub/jean-att pub/attacker.csr.key 9c $JEAN card
attest pub/evil-att pub/attacker.csr.key 9c $MARIE evil
cp card.der evil.der pub/
chmod 644 pub/*


# --- 1. roles through the agent
refused $NOBODY "has no role" "$ADMIN" cert issue --profile subca --subject "/CN=Rogue sub-CA" subca.csr
audit_has agent.refuse "uid=$NOBODY" "no role"
refused $OPER "may not ask for subca" "$ADMIN" cert issue --profile subca --subject "/CN=Rogue sub-CA" subca.csr
audit_has agent.refuse "uid=$OPER" "subca"
refused $OPER "may not ask for ocsp-signer" "$ADMIN" cert issue --profile ocsp-signer svc.csr
refused $OPER "may not ask for service" "$ADMIN" cert issue --profile service --subject "/CN=anything" svc.csr
refused $AUD "may not ask for citizen-sign" "$ADMIN" cert issue --profile citizen-sign --card $MARIE marie.csr
# An officer cannot mint authority alone either: a request is needed.
refused $OFF1 "needs two-person control" "$ADMIN" cert issue --profile subca --subject "/CN=Sub" subca.csr
audit_has cert.refuse "uid=$OFF1" "two-person"
as $OFF1 "$ADMIN" cert issue --profile service --dns svc.test --out "$W/pub/svc.pem" svc.csr
judge pub/svc.pem service
ok "roles: nobody, operator and auditor refused; an officer alone gets no sub-CA"

# --- 2. citizen certificates only for attested keys, subject from the store
refused $OPER "no attestation" "$ADMIN" cert issue --profile citizen-sign --card $MARIE attacker.csr
audit_has cert.refuse "uid=$OPER" "no attestation"
refused $OPER "comes from the store" "$ADMIN" cert issue --profile citizen-sign --card $MARIE \
	--subject "/CN=Jean Martin" --attest marie-att.der --f9 card.der marie.csr
refused $OPER "not the key of the request" "$ADMIN" cert issue --profile citizen-sign --card $MARIE \
	--attest marie-att.der --f9 card.der attacker.csr
refused $OPER "does not chain" "$ADMIN" cert issue --profile citizen-sign --card $MARIE \
	--attest evil-att.der --f9 evil.der attacker.csr
refused $OPER "is of card $JEAN" "$ADMIN" cert issue --profile citizen-sign --card $MARIE \
	--attest jean-att.der --f9 card.der attacker.csr
refused $OPER "for slot 9a, not 9c" "$ADMIN" cert issue --profile citizen-sign --card $MARIE \
	--attest marie-9a.der --f9 card.der marie.csr
refused $OPER "tied to no citizen\|no such\|not found" "$ADMIN" cert issue --profile citizen-sign \
	--card CC00000000000000000000000000000C --attest marie-att.der --f9 card.der marie.csr
audit_has cert.refuse "uid=$OPER" "not the key of the request"
as $OPER "$ADMIN" cert issue --profile citizen-sign --card $MARIE --attest marie-att.der --f9 card.der \
	--out "$W/pub/marie.pem" marie.csr
judge pub/marie.pem citizen-sign
openssl x509 -in pub/marie.pem -noout -subject -nameopt RFC2253 | grep -q "CN=Marie Dupont" ||
	fail "subject not from the store: $(openssl x509 -in pub/marie.pem -noout -subject)"
audit_has attest.ok "uid=$OPER" "slot=9c"
ok "citizen-sign: foreign CSR, overridden subject, forged and foreign attestations refused; attested key accepted"

# --- 3. two-person control
as $OFF1 "$ADMIN" ca request --profile subca --subject "/C=FR/O=Ville de Test/CN=Sous-AC" subca.csr >req.out
ID=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' req.out)
[ -n "$ID" ] || fail "no request id: $(cat req.out)"
refused $OFF1 "another officer must approve" "$ADMIN" ca approve --out "$W/pub/sub.pem" "$ID"
refused $OPER "not a CA officer" "$ADMIN" ca approve --out "$W/pub/sub.pem" "$ID"
refused $NOBODY "has no role" "$ADMIN" ca approve --out "$W/pub/sub.pem" "$ID"
[ ! -e pub/sub.pem ] || fail "a sub-CA was written before approval"
[ "$(sqlite3 ca/ca.db "SELECT count(*) FROM certs WHERE profile = 4")" = 0 ] || fail "a sub-CA was signed before approval"
audit_has request.submit "uid=$OFF1" "request:$ID"
audit_has request.approve "uid=$OFF1" "another officer"
as $OFF2 "$ADMIN" ca approve --out "$W/pub/sub.pem" "$ID" >/dev/null
judge pub/sub.pem subca
audit_has request.approve "uid=$OFF2" "approvals=1/1"
audit_has request.issued "uid=$OFF2" "serial="
refused $OFF2 "already issued" "$ADMIN" ca approve "$ID"
ok "two-person control: one officer refused, two accepted"

# --- 3b. a change of roles is under two-person control too: ca.conf
# edited alone changes nothing until officers of the approved set agree.
"$ADMIN" ca-agent stop >/dev/null
sed -i "s/^officer = .*/officer = $OFF1, $OFF2, $OPER/" ca/ca.conf
chmod 644 ca/ca.conf
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G >start.out
PIDS+=("$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)")
refused $OPER "may not ask for service" "$ADMIN" cert issue --profile service svc.csr
refused $OFF1 "not the approved" "$ADMIN" cert issue --profile service svc.csr
refused $OPER "not a CA officer of the approved roles" "$ADMIN" ca request --roles
as $OFF1 "$ADMIN" ca request --roles >req.out
RID=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' req.out)
[ -n "$RID" ] || fail "no roles request id: $(cat req.out)"
refused $OFF1 "another officer must approve" "$ADMIN" ca approve "$RID"
refused $OPER "not a CA officer" "$ADMIN" ca approve "$RID"
as $OFF2 "$ADMIN" ca approve "$RID" | grep -q "roles in force" || fail "roles change not in force"
audit_has roles.change "uid=$OFF2" "$OPER"
as $OPER "$ADMIN" cert issue --profile service --out "$W/pub/svc2.pem" svc.csr
judge pub/svc2.pem service
ok "role change: refused alone, in force after another officer's approval"

# --- 5. input policy
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 -nodes -keyout /dev/null -subj /CN=k1 -out pub/k1.csr 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:brainpoolP256r1 -nodes -keyout /dev/null -subj /CN=bp -out pub/bp.csr 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:explicit -nodes -keyout /dev/null \
	-subj /CN=explicit -out pub/explicit.csr 2>/dev/null
bad_subj() { openssl req -new -key pub/svc.csr.key -utf8 -subj "$1" ${2:-} -out "pub/$3.csr" 2>/dev/null; }
bad_subj $'/CN=esc\x1b[2J' "" esc
bad_subj $'/CN=line\r\nInjected: yes' "" crlf
bad_subj $'/CN=c1\xc2\x9bx' "" c1
# What openssl req will not write (a 5,000-byte CN, an embedded NUL), by python3-cryptography.
python3 - pub/svc.csr.key pub <<'PY' 2>/dev/null
import sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
k = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
for name, cn in (('long', 'A' * 5000), ('nul', 'nul\x00byte')):
    n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
    c = x509.CertificateSigningRequestBuilder().subject_name(n).sign(k, hashes.SHA256())
    open('%s/%s.csr' % (sys.argv[2], name), 'wb').write(c.public_bytes(serialization.Encoding.PEM))
PY
bad_subj "/CN=multi+OU=valued" -multivalue-rdn multi
chmod 644 pub/*.csr
refused $OFF1 "curve secp256k1 not allowed" "$ADMIN" cert issue --profile service k1.csr
refused $OFF1 "curve brainpoolP256r1 not allowed" "$ADMIN" cert issue --profile service bp.csr
refused $OFF1 "explicit curve parameters" "$ADMIN" cert issue --profile service explicit.csr
for s in esc crlf c1 long nul; do
	refused $OFF1 "control character" "$ADMIN" cert issue --profile service $s.csr
done
refused $OFF1 "multi-valued RDN" "$ADMIN" cert issue --profile service multi.csr
# The agent's format takes printable ASCII subjects only; the library says why on the direct path.
refused $OFF1 "malformed request" "$ADMIN" cert issue --profile service --subject $'/CN=x\x1b[31m' svc.csr
audit_has cert.refuse "uid=$OFF1" "explicit curve parameters"
audit_has cert.refuse "uid=$OFF1" "multi-valued RDN"
# The same refusals on the direct path (no agent): the library's policy.
expect_rc 1 "$ADMIN" cert issue --no-agent --profile service pub/k1.csr 2>/dev/null
expect_rc 1 "$ADMIN" cert issue --no-agent --profile service pub/esc.csr 2>/dev/null
expect_rc 1 "$ADMIN" cert issue --no-agent --profile service --subject $'/CN=x\x1b[31m' pub/svc.csr 2>err.txt
grep -q "control character" err.txt || fail "direct --subject with ESC: $(cat err.txt)"
ok "input policy: bad curves and subjects refused"

# Everything the CA holds passes openssl verify and the profile checker.
n=0
for s in $(sqlite3 ca/ca.db "SELECT serial FROM certs"); do
	p=$(sqlite3 ca/ca.db "SELECT profile FROM certs WHERE serial = '$s'")
	name=$(python3 -c "print(['citizen-auth','citizen-sign','ocsp-signer','service','subca'][$p])")
	"$ADMIN" cert show --pem "$s" > all.pem
	openssl verify -CAfile ca/ca.pem all.pem >/dev/null || fail "openssl verify $s"
	"$ADMIN" cert check --profile "$name" all.pem >/dev/null || fail "profile check $s ($name)"
	n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "only $n certificates in the store"
"$ADMIN" audit verify >/dev/null || fail "audit chain"
ok "$n certificates judged by openssl verify and the profile checker; audit chain intact"
echo "PASS"
