#!/usr/bin/env bash
# Counters away from the CA (issue #13, part 4): the CA officer (root here)
# starts the issuing agent with the passphrase, the master secret and the
# PIV content signer; a counter operator, another uid that can read none of
# the CA's files (key, passphrase, store, configuration, master secret,
# content signer) and reaches only the agent's socket, enrols a card with
# `card enrol --agent SOCKET --journal FILE`. The card's keys are
# certified by the agent (card-signed CSR + attestation), its management
# key, PUK seal and signed CHUID / Security Object come from the agent,
# the audit log says by whom and via the agent, the certificates chain to
# the CA and the card signs through OpenSC. The same enrolment without
# --agent fails. Renewal and `card lost` go through the agent too; the
# lost card's management key is then refused. A uid of the agent's group with no role is
# refused (agent.refuse audited, the enrolment fails); with the agent
# stopped an enrolment cannot go on (even its audit entries are the
# agent's) and carries on once the agent is back.
. "$(dirname "$0")/lib-admin.sh"
[ "$(id -u)" = 0 ] && command -v setpriv > /dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
G=61320 OPER=61323
AGENT_PID=
cleanup() { [ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2> /dev/null || true; }
trap cleanup EXIT

mkdir -p "$W"
( umask 077; printf 'bench-ca-passphrase\n' > "$W/ca.pass" )
"$A" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --unattested admit \
	--subject "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA" \
	--url "http://127.0.0.1:$OCSP_PORT" > /dev/null
# Card 0 has a factory attestation (F9) that the CA trusts: its keys'
# attestations travel through the agent (tags 9-11) and the CA checks
# them; card 1 has none (admitted by this CA's policy).
admin_factory good
admin_install_f9 good "$CVQ_READER_0"
cp "$F/good-root.pem" "$W/ca/attestation-roots.pem"
sed -i 's|^unattested = admit$|unattested = admit\nroots = attestation-roots.pem|' "$W/ca/ca.conf"
grep -q '^roots = attestation-roots.pem' "$W/ca/ca.conf" || bench_fail "ca.conf has no [attest] section"
# Roles before the store first sees them (they are pinned then). Root is
# an operator too: its enrolment through the agent (the last check) is
# the one a process that could read every CA file makes.
cat >> "$W/ca/ca.conf" <<CONF

[roles]
officer = 0, $OFF2
operator = $OPER, 0
CONF
"$A" card master-key --out "$W/ca/master.key" > /dev/null
"$A" citizen add --id 0001 --given Marie --family Dupont > /dev/null
"$A" citizen add --id 0002 --given Jean --family Martin > /dev/null
# The PIV content signer is the officers' to make, two of them (operators
# may not ask for content-signing): root asks, OFF2 approves
# (make_content_signer); the agent signs the cards' CHUID with it.
make_content_signer

# What the counter may touch: its own directory (the journal, the reader
# locks, the PIN letters) and the agent's socket, through group G: the CA
# directory is traverse-only for G, every file in it root's alone.
chmod 711 "$CVQ_BENCH" "$W"
chgrp $G "$W/ca"
chmod 710 "$W/ca"
chmod 600 "$W/ca"/ca.db* "$W/ca/ca.conf" "$W/ca/master.key" "$W/ca/content-signer.key"
mkdir -m 700 "$W/counter" && chown $OPER:$G "$W/counter"
as_counter() { (cd "$W/counter" && setpriv --reuid=$OPER --regid=$G --clear-groups -- "$@"); }
J=$W/counter/journal.db
NOROLE=61324

umask 007
"$A" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G \
	--master-key-file "$W/ca/master.key" --content-signer "$W/ca/content-signer.key" \
	--content-signer-cert "$W/ca/content-signer.pem" > "$W/agent.out"
AGENT_PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' "$W/agent.out")
[ -n "$AGENT_PID" ] || bench_fail "the agent did not start: $(cat "$W/agent.out")"
SOCK=$W/ca/agent/socket
[ -S "$SOCK" ] || bench_fail "no agent socket at $SOCK"

# The counter really cannot read the CA's files.
for f in "$W/ca.pass" "$W/ca/ca-key.pem" "$W/ca/ca.db" "$W/ca/ca.conf" "$W/ca/master.key" \
	"$W/ca/content-signer.key"; do
	if as_counter cat "$f" > /dev/null 2>&1; then bench_fail "the counter can read $f"; fi
done
if as_counter ls "$W/ca" > /dev/null 2>&1; then bench_fail "the counter can list the CA directory"; fi

R0=$CVQ_READER_0
echo "== without the agent, the counter cannot enrol (no CA)"
if as_counter "$A" card enrol --citizen 0001 --reader "$R0" --letter "$W/counter/letter.txt" \
	--journal "$J" > "$W/direct.out" 2>&1; then
	cat "$W/direct.out"; bench_fail "enrolment without the agent succeeded"
fi
cat "$W/direct.out"

echo "== through the agent"
as_counter "$A" card enrol --citizen 0001 --reader "$R0" --letter "$W/counter/letter.txt" \
	--agent "$SOCK" --journal "$J" > "$W/enrol.out" 2>&1 || { cat "$W/enrol.out"; bench_fail "enrolment through the agent failed"; }
cat "$W/enrol.out"
grep -q '11/11 card active' "$W/enrol.out" || bench_fail "enrolment did not finish"
# Signed CHUID, Security Object, OpenSC signature, certificates chaining.
admin_card_works 0 "$W/counter/letter.txt"
"$A" card info --reader "$R0" > "$W/info.out" 2>&1 || { cat "$W/info.out"; bench_fail "card info failed"; }
grep -q '^authentic *yes' "$W/info.out" ||
	{ cat "$W/info.out"; bench_fail "the card is not authentic (the agent's CHUID and Security Object)"; }

# Issued by the agent, for the operator: actor and via=agent in the audit.
"$A" --json audit show > "$W/audit.json"
python3 - "$W/audit.json" "$OPER" <<'PY' || bench_fail "the agent's issuance for the operator is not in the audit log"
import json, sys
es = json.load(open(sys.argv[1]))
es = es if isinstance(es, list) else es.get("entries", [])
issued = [e for e in es if e["action"] == "cert.issue" and "uid=" + sys.argv[2] in e["actor"]
          and "via=agent" in e["detail"]]
steps = [e for e in es if e["action"] == "enrol.active" and "uid=" + sys.argv[2] in e["actor"]
         and "via=agent" in e["detail"]]
# 9A, 9C, 9E and nothing else for the card; the content signer is the officer's CSR
print(len(issued), "certificates issued through the agent for the operator;", len(steps), "activation")
# What the master secret and the content signer gave, released by the agent.
rel = {a: sum(1 for e in es if e["action"] == a and "uid=" + sys.argv[2] in e["actor"])
       for a in ("card.add", "enrol.mgmt-key", "enrol.chuid-sign", "enrol.secobj-sign")}
print(rel)
sys.exit(0 if len(issued) == 3 and len(steps) == 1 and all(rel.values()) else 1)
PY
# attest.ok is written by the CA while issuing (here: the agent, for the
# operator's uid); the counter only records that it sent them ("attest").
python3 - "$W/audit.json" "$OPER" <<'PY' || bench_fail "the CA did not check card 0's attestations through the agent"
import json, re, sys
es = json.load(open(sys.argv[1]))
es = es if isinstance(es, list) else es.get("entries", [])
ok = {m.group(1) for e in es if e["action"] == "attest.ok" and "uid=" + sys.argv[2] in e["actor"]
      for m in [re.search(r"slot=(9[ace])", e["detail"])] if m}
print("attested through the agent:", sorted(ok))
sys.exit(0 if ok == {"9a", "9c", "9e"} else 1)
PY
for s in 9a 9c; do admin_card_cert 0 $s > "$W/$s.pem"; done
openssl verify -CAfile "$W/ca/ca.pem" "$W/9a.pem" "$W/9c.pem" ||
	bench_fail "the agent's certificates do not chain to the CA"
openssl x509 -in "$W/9c.pem" -noout -subject | grep -q 'Marie Dupont' ||
	bench_fail "the signature certificate is not Marie's (subject from the store)"

echo "== renewal through the agent (the holder's PIN for the proof of possession)"
( umask 077; admin_pin "$W/counter/letter.txt" > "$W/counter/pin" )
chown $OPER "$W/counter/pin"
old=$(openssl x509 -in "$W/9c.pem" -noout -serial | cut -d= -f2)
as_counter "$A" card renew --reader "$R0" --pin-source "file:$W/counter/pin" --agent "$SOCK" \
	--journal "$J" > "$W/renew.out" 2>&1 || { cat "$W/renew.out"; bench_fail "renewal through the agent failed"; }
cat "$W/renew.out"
admin_card_cert 0 9c > "$W/9c-new.pem"
new=$(openssl x509 -in "$W/9c-new.pem" -noout -serial | cut -d= -f2)
[ "$old" != "$new" ] || bench_fail "renewal kept the old signature certificate"
openssl verify -CAfile "$W/ca/ca.pem" "$W/9c-new.pem" > /dev/null ||
	bench_fail "the renewed certificate does not chain to the CA"
"$A" --json audit show | python3 -c '
import json, sys
es = json.load(sys.stdin)
es = es if isinstance(es, list) else es.get("entries", [])
n = sum(1 for e in es if e["action"] == "cert.issue" and "uid='"$OPER"'" in e["actor"] and "via=agent" in e["detail"])
sys.exit(0 if n == 5 else 1)' || bench_fail "the renewal was not issued by the agent for the operator"

R1=$CVQ_READER_1
echo "== a member of the agent's group with no role is refused"
mkdir -m 700 "$W/norole" && chown $NOROLE "$W/norole"
if (cd "$W/norole" && setpriv --reuid=$NOROLE --regid=$G --clear-groups -- \
	"$A" card enrol --citizen 0002 --reader "$R1" --letter /dev/null \
	--agent "$SOCK" --journal "$W/norole/journal.db") > "$W/norole.out" 2>&1; then
	cat "$W/norole.out"; bench_fail "a uid with no role enrolled a card"
fi
cat "$W/norole.out"
grep -q "has no role" "$W/norole.out" || bench_fail "the refusal does not say why"
"$A" --json audit show | python3 -c '
import json, sys
es = json.load(sys.stdin)
es = es if isinstance(es, list) else es.get("entries", [])
sys.exit(0 if any(e["action"] == "agent.refuse" and "uid='"$NOROLE"'" in e["actor"] for e in es) else 1)' ||
	bench_fail "no agent.refuse entry for uid $NOROLE"


echo "== the agent stopped: the enrolment cannot go on, says why, then carries on"
"$A" ca-agent stop > /dev/null
wait_gone() { local n; for ((n = 0; n < 200; n++)); do kill -0 "$1" 2> /dev/null || return 0; sleep 0.05; done; return 1; }
wait_gone "$AGENT_PID" || bench_fail "the agent did not stop"
AGENT_PID=
rc=0
as_counter "$A" card enrol --citizen 0002 --reader "$R1" --letter "$W/counter/letter2.txt" \
	--agent "$SOCK" --journal "$J" > "$W/paused.out" 2>&1 || rc=$?
cat "$W/paused.out"
[ $rc != 0 ] || bench_fail "enrolment without an agent succeeded"
# Even its first record is the agent's to read now (issue #13 part 4).
grep -q "no agent at" "$W/paused.out" || bench_fail "the enrolment does not say the agent is missing"
# The master secret and the content signer by default, beside ca.conf.
"$A" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G > "$W/agent.out"
AGENT_PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' "$W/agent.out")
as_counter "$A" card enrol --citizen 0002 --reader "$R1" --letter "$W/counter/letter2.txt" \
	--agent "$SOCK" --journal "$J" > "$W/resumed.out" 2>&1 || { cat "$W/resumed.out"; bench_fail "the enrolment did not carry on"; }
cat "$W/resumed.out"
grep -q '11/11 card active' "$W/resumed.out" || bench_fail "the enrolment did not go to the end"
admin_card_cert 1 9c > "$W/9c-2.pem"
openssl verify -CAfile "$W/ca/ca.pem" "$W/9c-2.pem" > /dev/null || bench_fail "card 2 does not chain"
openssl x509 -in "$W/9c-2.pem" -noout -subject | grep -q 'Jean Martin' || bench_fail "card 2 is not Jean's"

admin_card_works 1 "$W/counter/letter2.txt"

echo "== card 2 lost, through the agent: its management key refused"
G2=$(admin_guid 1)
as_counter "$A" card lost "$G2" --agent "$SOCK" --journal "$J" --crl "$W/counter/lost.crl" \
	> "$W/lost.out" 2>&1 || { cat "$W/lost.out"; bench_fail "card lost through the agent failed"; }
cat "$W/lost.out"
openssl crl -in "$W/counter/lost.crl" -CAfile "$W/ca/ca.pem" -noout 2>&1 | grep -q "verify OK" ||
	bench_fail "the CRL from the agent does not verify"
as_counter "$CVQ_AGENT_OPS" lost "$SOCK" "$G2" > "$W/lost-ops.out" ||
	{ cat "$W/lost-ops.out"; bench_fail "the lost card's secrets were released"; }
cat "$W/lost-ops.out"
"$A" --json audit show | python3 -c '
import json, sys
es = json.load(sys.stdin)
es = es if isinstance(es, list) else es.get("entries", [])
sys.exit(0 if any(e["action"] == "agent.refuse" and "uid='"$OPER"'(" in e["actor"] + "(" and
                  e["object"].lower() == "'"$G2"'".lower() and "mgmt-key" in e["detail"] for e in es) else 1)' ||
	bench_fail "no agent.refuse entry for the lost card's management key"

echo "== with --agent, nothing of the CA's is opened, even by a process that could read it all"
# Root (officer, and operator for this) with \$CVQ_CA_CONFIG set and every CA file readable:
# the counter's process must still open no path in the CA directory (no
# configuration, store, key, master secret or content signer: every op is
# the agent's). The socket is connected to, not opened;
# the exec's argv names it.
"$A" citizen add --id 0003 --given Paul --family Bernard > /dev/null
[ -r "$CVQ_CA_CONFIG" ] && [ -r "$W/ca/ca.db" ] && [ -r "$W/ca/master.key" ] ||
	bench_fail "the CA files are not readable by the strace'd process"
R2=$CVQ_READER_2
mkdir -p "$W/officer"
# (LeakSanitizer cannot run under ptrace: off for this run in an ASan build.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -s 4096 -o "$W/strace.out" -e trace=%file "$A" card enrol --citizen 0003 --reader "$R2" \
	--letter "$W/officer/letter3.txt" --agent "$SOCK" --journal "$W/officer/journal.db" \
	> "$W/strace-enrol.out" 2>&1 || { cat "$W/strace-enrol.out"; bench_fail "the officer's enrolment through the agent failed"; }
grep -q '11/11 card active' "$W/strace-enrol.out" || bench_fail "the strace'd enrolment did not finish"
grep -q "openat(.*\"$W/officer/journal.db\"" "$W/strace.out" ||
	bench_fail "strace saw no journal opened: the check is blind"
if grep -F -e "\"$W/ca/" -e "\"$W/ca\"" -e "\"$W/ca.pass\"" "$W/strace.out" | grep -v -E '^[0-9]+ +execve\('; then
	bench_fail "with --agent the counter's process touched the CA's files (above)"
fi
echo "no path of $W/ca in $(wc -l < "$W/strace.out") file syscalls"

"$A" audit verify > /dev/null
echo "OK: enrolled, renewed and reported lost by uid $OPER through the agent, with no access to the CA's files"
