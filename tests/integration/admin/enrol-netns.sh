#!/usr/bin/env bash
# A counter on another machine (issue #13, parts 4 and 6): two network
# namespaces joined by a veth pair, the CA's issuing agent in one (its TLS
# front on 10.77.0.1), the counter in the other (10.77.0.2) with its own
# pcscd, vpcd and cvq-vcard card, and a view of the CA folder hidden under
# a tmpfs: no CA key, passphrase, master secret or content-signer key is
# readable there, no agent socket, no route to the CA's loopback. The
# counter enrols cards with `card enrol --agent https://...`, its operator
# named by a certificate ([roles] operator = citizen:ID): first the
# operator's own staff card (card 1) with the desk's bootstrap key file,
# then Marie's card (card 0) with the staff card's 9A key itself (OpenSC,
# a pkcs11: URI, the PIN of its letter from a file). The certificates
# chain to the CA and the audit names the staff card's certificate.
. "$(dirname "$0")/lib-admin.sh"
[ "$(id -u)" = 0 ] && command -v ip > /dev/null && command -v unshare > /dev/null ||
	{ echo "SKIP: needs root, ip and unshare"; exit 77; }
PORT=8454
CA_IP=10.77.0.1 CTR_IP=10.77.0.2
NS=cvq-counter
AGENT_PID=
cleanup() {
	[ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2> /dev/null || true
	ip netns del "$NS" 2> /dev/null || true
}
trap cleanup EXIT

# --- the CA side: everything secret lives in $W/ca, the counter's files in $W/counter
CA=$W/ca CTR=$W/counter
mkdir -p "$W" "$CTR"
( umask 077; mkdir -p "$CA"; printf 'bench-ca-passphrase\n' > "$CA/ca.pass" )
"$A" ca init --dir "$CA" --pass "file:$CA/ca.pass" --unattested admit \
	--subject "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA" --url "http://$CA_IP:$OCSP_PORT" > /dev/null
"$A" card master-key --out "$CA/master.key" > /dev/null
"$A" citizen add --id 0001 --given Marie --family Dupont > /dev/null
"$A" citizen add --id INF-OP --given Odile --family Guichet > /dev/null
"$A" citizen add --id INF-DESK --given Accueil --family Mairie > /dev/null
"$A" citizen add-card INF-DESK 0C00000000000000000000000000000C > /dev/null
# issue NAME CN ARGS...: a key and a certificate issued at the CA's desk
issue() {
	local n=$1 cn=$2
	shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" \
		-subj "/CN=$cn" -out "$n.csr" 2> /dev/null
	chmod 600 "$n.key"
	"$A" cert issue --no-agent --pass "file:$CA/ca.pass" --out "$n.pem" "$@" "$n.csr" > /dev/null
}
issue "$CA/content-signer" "x" --profile content-signing --subject "/O=Ville d'Alencon/CN=PIV content signer"
issue "$CA/tls" "CA agent" --profile service --dns ca.cvq.test
# The desk's bootstrap credential, enough to enrol the operator's staff card:
# a citizen-auth certificate with its key in a file.
issue "$CTR/op" "x" --profile citizen-auth --card 0C00000000000000000000000000000C
cp "$CA/ca.pem" "$CTR/city-ca.pem"
cat >> "$CA/ca.conf" <<CONF

[roles]
officer = 0
operator = citizen:INF-DESK, citizen:INF-OP
CONF

# --- the network: a namespace for the counter, a veth pair between the two
mkdir -p /run/netns
mount -t tmpfs -o mode=0755 tmpfs /run/netns # ours only: the machine's /run/netns is untouched
ip netns add "$NS"
ip link add vca type veth peer name vctr
ip link set vctr netns "$NS"
ip addr add "$CA_IP/24" dev vca
ip link set vca up
ip -n "$NS" addr add "$CTR_IP/24" dev vctr
ip -n "$NS" link set vctr up
ip -n "$NS" link set lo up

"$A" ca-agent start --pass "file:$CA/ca.pass" --idle 0 --listen "$CA_IP:$PORT" \
	--tls-cert "$CA/tls.pem" --tls-key "$CA/tls.key" > "$W/agent.out"
AGENT_PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' "$W/agent.out")
[ -n "$AGENT_PID" ] || bench_fail "the agent did not start: $(cat "$W/agent.out")"

# --- the counter: its own namespaces, bench (pcscd, vpcd, card 0), and no CA folder
cat > "$CTR/counter.sh" <<'COUNTER'
set -euo pipefail
fail() { echo "FAIL (counter): $*" >&2; exit 1; }
mount -t tmpfs -o mode=0700 tmpfs "$CA"
for f in ca-key.pem ca.pass master.key content-signer.key tls.key ca.db ca.conf agent/socket; do
	[ ! -e "$CA/$f" ] || fail "$CA/$f is visible from the counter"
done
[ -z "$(ls -A "$CA")" ] || fail "the CA folder is not empty here: $(ls -A "$CA")"
if (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null; then fail "the CA's loopback is reachable"; fi
unset CVQ_CA_CONFIG
printf '%s ca.cvq.test\n' "$CA_IP" > "$CTR/hosts"
mount --bind "$CTR/hosts" /etc/hosts
curl -sS --fail --cert "$CTR/op.pem" --key "$CTR/op.key" --cacert "$CTR/city-ca.pem" \
	"https://ca.cvq.test:$PORT/.well-known/est/cacerts" | openssl base64 -d |
	openssl pkcs7 -inform DER -print_certs | grep -q "CVQ Test CA" || fail "no cacerts over the veth"
yubico-piv-tool -r "$CVQ_READER_0" -a status > /dev/null 2>&1 || fail "no card in the counter's reader"
echo "ok: the counter reaches the agent over the veth, sees no CA secret; its card answers"
if ! "$CVQ_ADMIN" card enrol --help 2>&1 | grep -q -- '--journal'; then
	echo "SKIP: cvq-admin card enrol has no --journal yet (the counter-side enrolment of branch" \
		"enrol-lib has not landed): the TLS transport is tested by ca-agent-tls"
	exit 77
fi
AGENT=(--journal "$CTR/journal.db" --agent "https://ca.cvq.test:$PORT" --agent-ca "$CTR/city-ca.pem")
# enrol ID READER LETTER LINK-OPTIONS...: one enrolment to its end
enrol() {
	local id=$1 reader=$2 letter=$3
	shift 3
	"$CVQ_ADMIN" card enrol --citizen "$id" --reader "$reader" --letter "$letter" "${AGENT[@]}" "$@" \
		> "$CTR/enrol-$id.out" 2>&1 || { cat "$CTR/enrol-$id.out"; fail "enrolment of $id through the TLS agent failed"; }
	cat "$CTR/enrol-$id.out"
	grep -q '11/11 card active' "$CTR/enrol-$id.out" || fail "enrolment of $id did not finish"
}
enrol INF-OP "$CVQ_READER_1" "$CTR/letter-staff.txt" --agent-cert "$CTR/op.pem" --agent-key "$CTR/op.key"
yubico-piv-tool -r "$CVQ_READER_1" -a read-certificate -s 9a > "$CTR/staff.pem"
( umask 077; sed -n 's/^ *Code PIN : *\([0-9]*\)$/\1/p' "$CTR/letter-staff.txt" > "$CTR/staff.pin" )
[ -s "$CTR/staff.pin" ] || fail "no PIN in the staff card's letter"
STAFF="pkcs11:slot-description=Virtual%20PCD%2000%2001;id=%01;type=private?module-path=$CVQ_OPENSC_MODULE"
# OpenSC probes every reader as it starts, and would block on the one
# whose card the enrolment holds in a PC/SC transaction: it is told to
# leave that reader alone (until the enrolment loads the link before it
# takes the card: cvq_admin_link_open).
cat > "$CTR/opensc.conf" <<EOC
app default {
	ignored_readers = "$CVQ_READER_0";
	framework pkcs15 {
		use_file_caching = no;
	}
}
EOC
export OPENSC_CONF=$CTR/opensc.conf
enrol 0001 "$CVQ_READER_0" "$CTR/letter.txt" --agent-cert "$CTR/staff.pem" --agent-key "$STAFF" \
	--agent-pin-source "file:$CTR/staff.pin"
for s in 9a 9c; do
	yubico-piv-tool -r "$CVQ_READER_0" -a read-certificate -s $s > "$CTR/$s.pem"
done
openssl verify -CAfile "$CTR/city-ca.pem" "$CTR/9a.pem" "$CTR/9c.pem" > /dev/null ||
	fail "the card's certificates do not chain to the CA"
openssl x509 -in "$CTR/9c.pem" -noout -subject | grep -q 'Marie Dupont' || fail "9C is not Marie's"
COUNTER
rc=0
ip netns exec "$NS" unshare --mount --propagation private -- \
	env CVQ_BENCH_NS=1 CA="$CA" CTR="$CTR" CA_IP="$CA_IP" PORT="$PORT" \
	"$CVQ_SRC/tests/bench/with-bench" --cards 0,1 -- bash "$CTR/counter.sh" || rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || bench_fail "the counter's side failed ($rc)"

# --- back at the CA: Marie's card issued through the front for the staff card's certificate
OP_SERIAL=$(openssl x509 -in "$CTR/staff.pem" -noout -serial | cut -d= -f2)
"$A" --json audit show | python3 -c '
import json, sys
es = json.load(sys.stdin)
es = es if isinstance(es, list) else es.get("entries", [])
who = "tls=serial:" + sys.argv[1]
n = sum(1 for e in es if e["action"] == "cert.issue" and who + "(CN=Odile Guichet)" in e["actor"]
        and "via=agent" in e["detail"])
a = sum(1 for e in es if e["action"] == "enrol.active" and who in e["actor"])
print(n, "certificates issued through the TLS front for", who, "and", a, "activation")
sys.exit(0 if n == 3 and a == 1 else 1)' "$OP_SERIAL" || bench_fail "the audit does not name the operator's certificate"
"$A" audit verify > /dev/null
echo "OK: a card enrolled from another network namespace through the agent's TLS front"
