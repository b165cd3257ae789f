#!/usr/bin/env bash
# The issuing agent from another machine: its TLS front (cvq-agentd,
# `ca-agent start --listen`), mutually authenticated, the peer named by
# its client certificate only (issue #13 parts 4 and 6). The attacks of
# the issue through the network path, each refused with a clear error and
# left in the audit with the certificate as the actor:
#   - no client certificate (no TLS), one of another CA, one of ours
#     revoked, one on a card reported lost, one without clientAuth, TLS 1.1;
#   - a counter operator (its staff card's citizen-auth certificate,
#     [roles] operator = citizen:ID) asking for a sub-CA, an OCSP signer,
#     a citizen-sign certificate from a raw CSR, a subject of its choosing;
#   - the client refusing a server that is not the host it asked for;
#   - bodies over the bound, a silent connection that must not hold the
#     agent;
#   - what is issued (an officer's service certificate, [roles] officer =
#     serial:HEX) judged by openssl verify and our profile checker; an
#     officer whose key is on a token (SoftHSM, a pkcs11: URI, its PIN
#     from a file), a wrong PIN failing cleanly;
#   - two officers, each a certificate, under two-person control;
#   - EST interop: curl's cacerts read by openssl pkcs7, curl's
#     simpleenroll of a service CSR checked by openssl verify.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
: "${CVQ_SOFTHSM_MODULE:?run under with-bench --softhsm}"
cd "$W"
PORT=8453
URL=https://localhost:$PORT
EST=$URL/.well-known/est
OPCARD=0C00000000000000000000000000000C
RVCARD=0D00000000000000000000000000000D
LOSTCARD=0E00000000000000000000000000000E
MARIE=AA00000000000000000000000000000A

make_ca ca --subject "/C=FR/O=Ville de Test/CN=CVQ TLS"
export CVQ_CA_CONFIG=$W/ca/ca.conf
"$ADMIN" citizen add --id INF-OP --given Odile --family Guichet >/dev/null
"$ADMIN" citizen add-card INF-OP $OPCARD >/dev/null
"$ADMIN" citizen add --id INF-RV --given Victor --family Parti >/dev/null
"$ADMIN" citizen add-card INF-RV $RVCARD >/dev/null
"$ADMIN" citizen add --id INF-LC --given Lucie --family Perdue >/dev/null
"$ADMIN" citizen add-card INF-LC $LOSTCARD >/dev/null
"$ADMIN" citizen add --id INF-MD --given Marie --family Dupont >/dev/null
"$ADMIN" citizen add-card INF-MD $MARIE >/dev/null

# key NAME CN: a P-256 key (NAME.key, 0600) and its CSR (NAME.csr)
key() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$2" -out "$1.csr" 2>/dev/null
	chmod 600 "$1.key"
}
# direct NAME ARGS...: NAME.pem issued on the CA itself (the officer at the CA's desk)
direct() {
	local n=$1
	shift
	"$ADMIN" cert issue --no-agent --pass "file:$W/ca.pass" --out "$n.pem" "$@" "$n.csr" >/dev/null
}
# The staff cards' keys are made before attestation is required, for this
# test only (unattested = admit); everything after is judged without it.
printf '\n[attest]\nunattested = admit\n' >> ca/ca.conf
key srv "Agent TLS front"; direct srv --profile service --dns localhost
key off1 "Officer One"; direct off1 --profile service
key off2 "Officer Two"; direct off2 --profile service
key op "x"; direct op --profile citizen-auth --card $OPCARD
key rv "x"; direct rv --profile citizen-auth --card $RVCARD
key lost "x"; direct lost --profile citizen-auth --card $LOSTCARD
key sign "x"; direct sign --profile citizen-sign --card $OPCARD
# An officer's key on a token: the client signs the handshake there.
PIN=$(cat "$CVQ_SOFTHSM_PIN_FILE")
(umask 077; printf '%s\n' "$PIN" >pin; echo wrong-pin >badpin)
P11PIN=$PIN pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test --login \
	--pin env:P11PIN --keypairgen --key-type EC:prime256v1 --label officer3 --id 0a >/dev/null
HSMKEY="pkcs11:token=cvq-test;object=officer3;type=private?module-path=$CVQ_SOFTHSM_MODULE"
openssl req -new -engine pkcs11 -keyform engine -key "pkcs11:token=cvq-test;object=officer3;type=private" \
	-passin file:pin -subj "/CN=Officer Three" -out hsm.csr 2>/dev/null || fail "no CSR from the token key"
direct hsm --profile service
sed -i '/^\[attest\]$/,$d' ca/ca.conf
# Another CA, with a client certificate of its own (clientAuth and all).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil-ca.key \
	-subj "/C=FR/O=Ville de Test/CN=CVQ TLS" -days 30 -out evil-ca.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
key evil "Officer One"
openssl x509 -req -in evil.csr -CA evil-ca.pem -CAkey evil-ca.key -days 30 -out evil.pem \
	-set_serial "0x$(serial_of off1.pem)" \
	-extfile <(printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n') 2>/dev/null
S_OFF1=$(serial_of off1.pem) S_OFF2=$(serial_of off2.pem)
cat >> ca/ca.conf <<EOF

[roles]
officer = serial:$S_OFF1, serial:$(echo "$S_OFF2" | tr A-F a-f), serial:$(serial_of hsm.pem)
operator = citizen:INF-OP, citizen:INF-RV, citizen:INF-LC
EOF
"$ADMIN" cert revoke --reason keyCompromise "$(serial_of rv.pem)" >/dev/null
"$ADMIN" citizen card-status $LOSTCARD lost >/dev/null
chmod 644 srv.key
expect_rc 1 "$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 0 --listen 127.0.0.1:$PORT \
	--tls-cert srv.pem --tls-key srv.key 2>err.txt
grep -q "srv.key" err.txt || fail "a server key open to others: $(cat err.txt)"
chmod 600 srv.key
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 0 --listen 127.0.0.1:$PORT \
	--tls-cert srv.pem --tls-key srv.key >start.out
PIDS+=("$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)")
wait_port $PORT
ok "agent with its TLS front on 127.0.0.1:$PORT (a server key readable by others refused)"

# as WHO CMD...: a cvq-admin command through the TLS front with WHO.pem/WHO.key
as() {
	local who=$1
	shift
	"$ADMIN" "$@" --agent "$URL" --agent-ca ca/ca.pem --agent-cert "$who.pem" --agent-key "$who.key"
}
actor() { echo "tls=serial:$(serial_of "$1.pem")"; }

# --- 1. who the peer is: its certificate, one of ours, good
rc=0
curl -sS --cacert ca/ca.pem -o /dev/null -w '%{http_code}' "$EST/cacerts" >code.txt 2>err.txt || rc=$?
[ "$rc" -ne 0 ] && ! grep -q 200 code.txt || fail "no client certificate: not refused in TLS ($rc, $(cat code.txt))"
refused evil "not one of this CA's" cert issue --profile service --dns evil.test off1.csr
audit_has agent.refuse "$(actor evil)(CN=Officer One)" "not one of this CA's"
refused rv "is revoked" cert issue --profile citizen-auth --card $MARIE op.csr
audit_has agent.refuse "$(actor rv)" "revoked"
refused lost "is lost" cert issue --profile citizen-auth --card $MARIE op.csr
audit_has agent.refuse "$(actor lost)" "is lost"
refused sign "unsuitable certificate purpose\|no clientAuth" cert issue --profile citizen-auth --card $MARIE op.csr
audit_has agent.refuse "$(actor sign)" "purpose"
# The client must offer TLS 1.1 for the server to refuse it: OpenSSL 3's
# default security level makes curl refuse it on its own side.
rc=0
curl -sS --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' --cert off1.pem --key off1.key --cacert ca/ca.pem "$EST/cacerts" >/dev/null 2>tls11.err || rc=$?
[ "$rc" -ne 0 ] || fail "TLS 1.1 accepted"
cat tls11.err
ok "no certificate (no TLS), another CA's, a revoked one, a lost card's, no clientAuth, TLS 1.1: refused"

# --- 2. the server must be the one asked for: its certificate names localhost, not 127.0.0.1
rc=0
"$ADMIN" cert issue --profile service off1.csr --agent "https://127.0.0.1:$PORT" --agent-ca ca/ca.pem \
	--agent-cert off1.pem --agent-key off1.key >/dev/null 2>err.txt || rc=$?
[ "$rc" -ne 0 ] && grep -q "mismatch" err.txt || fail "a server not named 127.0.0.1 accepted: $(cat err.txt)"
rc=0
"$ADMIN" cert issue --profile service off1.csr --agent "$URL" --agent-ca evil-ca.pem \
	--agent-cert off1.pem --agent-key off1.key >/dev/null 2>err.txt || rc=$?
[ "$rc" -ne 0 ] && grep -q "server's certificate" err.txt || fail "a server of another CA accepted: $(cat err.txt)"
ok "client: a server not of the CA, or not the host asked for, refused"

# --- 3. roles through the front
refused op "may not ask for subca" cert issue --profile subca --subject "/CN=Rogue sub-CA" off1.csr
audit_has agent.refuse "$(actor op)(CN=Odile Guichet)" "subca"
refused op "may not ask for ocsp-signer" cert issue --profile ocsp-signer off1.csr
audit_has agent.refuse "$(actor op)" "ocsp-signer"
refused op "may not ask for service" cert issue --profile service --dns op.test off1.csr
refused op "no attestation" cert issue --profile citizen-sign --card $MARIE sign.csr
audit_has cert.refuse "$(actor op)" "no attestation"
refused op "comes from the store" cert issue --profile citizen-auth --card $MARIE \
	--subject "/CN=Jean Martin" op.csr
audit_has cert.refuse "$(actor op)" "from the store"
refused off1 "needs two-person control" cert issue --profile subca --subject "/CN=Sub" off2.csr
audit_has cert.refuse "$(actor off1)" "two-person"
key svc "svc.test"
as off1 cert issue --profile service --dns svc.test --out svc.pem svc.csr
judge svc.pem service
audit_has cert.issue "$(actor off1)(CN=Officer One)" "via=agent"
ok "roles: the operator gets no sub-CA, OCSP signer, service, raw-CSR citizen-sign, own subject; the officer's service certificate judged"

# --- 3b. a key on a token: the PIN from its source, never argv
"$ADMIN" cert issue --profile service --dns hsm.test --out svc3.pem svc.csr --agent "$URL" \
	--agent-ca ca/ca.pem --agent-cert hsm.pem --agent-key "$HSMKEY" --agent-pin-source "file:$W/pin" ||
	fail "issuance as the token's officer"
judge svc3.pem service
audit_has cert.issue "$(actor hsm)(CN=Officer Three)" "via=agent"
rc=0
"$ADMIN" cert issue --profile service svc.csr --agent "$URL" --agent-ca ca/ca.pem --agent-cert hsm.pem \
	--agent-key "$HSMKEY" --agent-pin-source "file:$W/badpin" >/dev/null 2>err.txt || rc=$?
[ "$rc" -ne 0 ] && grep -q "incorrect PIN" err.txt || fail "a wrong token PIN: rc $rc, $(cat err.txt)"
ok "an officer's key on a token (pkcs11: URI, PIN from a file); a wrong PIN refused by the token"

# --- 4. two officers, two certificates
key sub "Sous-AC"
as off1 ca request --profile subca --subject "/C=FR/O=Ville de Test/CN=Sous-AC" sub.csr >req.out
ID=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' req.out)
[ -n "$ID" ] || fail "no request id: $(cat req.out)"
refused off1 "another officer must approve" ca approve --out "$W/sub.pem" "$ID"
refused op "not a CA officer" ca approve --out "$W/sub.pem" "$ID"
[ ! -e sub.pem ] || fail "a sub-CA before the second officer's approval"
as off2 ca approve --out "$W/sub.pem" "$ID" >out.txt 2>err.txt ||
	fail "the second TLS officer's approval: $(cat err.txt)"
judge sub.pem subca
audit_has request.approve "$(actor off2)" "approvals=1/1"
ok "two-person control: the requesting officer refused, the other's certificate approves"

# --- 5. bounds: a body over the bound; a silent connection does not hold the agent
head -c 100000 /dev/zero >big.bin
code=$(curl -sS --cert off1.pem --key off1.key --cacert ca/ca.pem -o /dev/null -w '%{http_code}' \
	-H 'Content-Type: application/octet-stream' --data-binary @big.bin "$EST/cvq/agent" || true)
[ "$code" = 413 ] || fail "a 100 kB body: HTTP $code"
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
as off1 cert issue --profile service --dns svc2.test --out svc2.pem svc.csr
exec 7>&-
judge svc2.pem service
# Four silent connections from one address are all it may hold: a fifth is
# turned away; the silent ones are dropped after 15 s, then it gets in.
for fd in 3 4 5 6; do eval "exec $fd<>/dev/tcp/127.0.0.1/$PORT"; done
rc=0
curl -sS --max-time 5 --cert off1.pem --key off1.key --cacert ca/ca.pem "$EST/cacerts" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a fifth connection from one address accepted"
sleep 17
rc=0
read -r -t 2 -u 3 _ || rc=$?
[ "$rc" -eq 1 ] || fail "a silent connection was not dropped after its timeout (read: $rc)"
for fd in 3 4 5 6; do eval "exec $fd>&-"; done
curl -sS --fail --max-time 5 --cert off1.pem --key off1.key --cacert ca/ca.pem "$EST/cacerts" >/dev/null ||
	fail "no connection once the silent ones were dropped"
ok "a 100 kB body refused (413); a silent connection holds nobody up; 4 per address, dropped after 15 s"

# --- 6. EST interop (RFC 7030) with curl and openssl
curl -sS --fail --cert off1.pem --key off1.key --cacert ca/ca.pem "$EST/cacerts" >cacerts.b64
openssl base64 -d -in cacerts.b64 | openssl pkcs7 -inform DER -print_certs >cacerts.pem
cmp <(openssl x509 -in cacerts.pem -outform DER) <(openssl x509 -in ca/ca.pem -outform DER) ||
	fail "cacerts is not the CA certificate"
key est "est.test"
openssl req -in est.csr -outform DER | openssl base64 >est.b64
curl -sS --fail --cert off1.pem --key off1.key --cacert ca/ca.pem -H 'Content-Type: application/pkcs10' \
	--data-binary @est.b64 "$EST/simpleenroll" >est.p7.b64
openssl base64 -d -in est.p7.b64 | openssl pkcs7 -inform DER -print_certs >est.pem
judge est.pem service
openssl x509 -in est.pem -noout -pubkey | cmp - <(openssl pkey -in est.key -pubout) || fail "not the CSR's key"
code=$(curl -sS --cert op.pem --key op.key --cacert ca/ca.pem -o err.txt -w '%{http_code}' \
	-H 'Content-Type: application/pkcs10' --data-binary @est.b64 "$EST/subca/simpleenroll" || true)
[ "$code" = 403 ] && grep -q "may not ask for subca" err.txt || fail "operator simpleenroll subca: $code $(cat err.txt)"
ok "EST: cacerts read by openssl pkcs7; simpleenroll by curl judged by openssl verify; a labelled subca refused"

"$ADMIN" audit verify >/dev/null || fail "audit chain"
echo "PASS"
