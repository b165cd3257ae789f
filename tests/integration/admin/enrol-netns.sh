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
. "$(dirname "$0")/netns-lib.sh"
netns_need
# 10.77.0.x, cvq-counter, vca/vctr: story-netns.sh has its own (10.77.1.x).
netns_up cvq-counter vca vctr 10.77.0.1 10.77.0.2
netns_ca "http://$CA_IP:$OCSP_PORT" "0, $OFF2"
netns_agent 8454

# --- the counter: its own namespaces, bench (pcscd, vpcd, cards 0 and 1), and no CA folder
cat > "$CTR/counter.sh" <<'COUNTER'
set -euo pipefail
. "$CVQ_SRC/tests/integration/admin/netns-lib.sh"
netns_hide_ca
yubico-piv-tool -r "$CVQ_READER_0" -a status > /dev/null 2>&1 || netns_fail "no card in the counter's reader"
netns_staff
netns_enrol 0001 "$CVQ_READER_0" "$CTR/letter.txt" "${STAFF_LINK[@]}"
for s in 9a 9c; do
	yubico-piv-tool -r "$CVQ_READER_0" -a read-certificate -s $s > "$CTR/$s.pem"
done
openssl verify -CAfile "$CTR/city-ca.pem" "$CTR/9a.pem" "$CTR/9c.pem" > /dev/null ||
	netns_fail "the card's certificates do not chain to the CA"
openssl x509 -in "$CTR/9c.pem" -noout -subject | grep -q 'Marie Dupont' || netns_fail "9C is not Marie's"
COUNTER
netns_run 0,1 "$CTR/counter.sh" || bench_fail "the counter's side failed ($?)"

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
