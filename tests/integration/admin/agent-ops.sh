#!/usr/bin/env bash
# The enrolment ops of the issuing agent (issue #13 part 4), called through
# cvq-admin's agent issuer (tests/integration/admin/agent_ops.c) by a
# counter operator's uid that can read neither the CA's store, nor the
# master secret, nor the PIV content signer's key, nor the CA configuration:
# only the agent's socket. The agent (root, the CA officer) holds them
# (ca-agent start --master-key-file --content-signer --content-signer-cert).
# Checked here beyond the program's own checks: the signed CHUID verifies
# with openssl cms against the city CA, the CRL verifies, the management
# key is the one derived from the master secret, every store change and
# every release is audited under the operator's uid; a uid with no role and
# an auditor are refused for every op, each with an agent.refuse entry; the
# lost card's management key, PUK and signatures are refused.
. "$(dirname "$0")/lib-admin.sh"
[ "$(id -u)" = 0 ] && command -v setpriv > /dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
OPS=${CVQ_AGENT_OPS:?}
G=61320 OPER=61323 NOROLE=61324 AUD=61325
AGENT_PID=
cleanup() { [ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2> /dev/null || true; }
trap cleanup EXIT

admin_setup --no-content-signer
cat >> "$W/ca/ca.conf" <<CONF

[roles]
officer = 0, $OFF2
operator = $OPER
auditor = $AUD
CONF
# The content signer by two officers (root asks, OFF2 approves), then
# moved where this test names it explicitly to the agent.
make_content_signer
mv "$W/ca/content-signer.key" "$W/cs.key"
mv "$W/ca/content-signer.pem" "$W/cs.pem"

echo "== the agent refuses secret files open to others"
chmod 640 "$W/cs.key"
if "$A" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G --foreground \
	--content-signer "$W/cs.key" --content-signer-cert "$W/cs.pem" > "$W/bad.out" 2>&1; then
	bench_fail "the agent started with a content signer key of mode 0640"
fi
grep -q "mode 0600" "$W/bad.out" || { cat "$W/bad.out"; bench_fail "no reason for the refusal"; }
chmod 600 "$W/cs.key"
chmod 640 "$W/ca/master.key"
if "$A" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G --foreground \
	> "$W/bad.out" 2>&1; then
	bench_fail "the agent started with a master secret of mode 0640"
fi
cat "$W/bad.out"
# Refused for the master secret, not for any other reason.
grep -qF "master secret $W/ca/master.key" "$W/bad.out" || bench_fail "not refused for the master secret's mode"
chmod 600 "$W/ca/master.key"

# The counter reaches the socket and nothing else: the CA directory is
# traverse-only for the group, every file in it root's alone.
chmod 711 "$CVQ_BENCH" "$W"
chgrp $G "$W/ca"
chmod 710 "$W/ca"
chmod 600 "$W/ca"/ca.db* "$W/ca/ca.conf" "$W/ca/master.key"
mkdir -m 700 "$W/out" && chown $OPER "$W/out"
as() { local uid=$1; shift; (cd "$W/out" && setpriv --reuid="$uid" --regid=$G --clear-groups -- "$@"); }

"$A" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group $G \
	--content-signer "$W/cs.key" --content-signer-cert "$W/cs.pem" > "$W/agent.out"
AGENT_PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' "$W/agent.out")
[ -n "$AGENT_PID" ] || bench_fail "the agent did not start: $(cat "$W/agent.out")"
SOCK=$W/ca/agent/socket

for f in "$W/ca/ca.db" "$W/ca/master.key" "$W/cs.key" "$W/ca/ca.conf" "$W/ca.pass"; do
	if as $OPER cat "$f" > /dev/null 2>&1; then bench_fail "the counter can read $f"; fi
done
if as $OPER ls "$W/ca" > /dev/null 2>&1; then bench_fail "the counter can list the CA directory"; fi

GUID=11112222333344445555666677778888
GUID2=aaaabbbbccccddddeeeeffff00001111
echo "== every op, as the counter operator (uid $OPER)"
as $OPER env -u CVQ_CA_CONFIG "$OPS" operator "$SOCK" $GUID $GUID2 "$W/out" ||
	bench_fail "the operator's ops failed"

# The management key the counter got is the one of the master secret.
want=$("$OPS" derive "$W/ca/master.key" $GUID)
[ "$want" = "$(cat "$W/out/mgmt.sha256")" ] || bench_fail "mgmt_key is not the derived key"
# The CHUID's signature: CMS over the CHUID, by the content signer, from the city CA.
openssl cms -verify -binary -inform DER -in "$W/out/chuid.cms" -content "$W/out/chuid.content" \
	-CAfile "$W/ca/ca.pem" -certfile "$W/cs.pem" -purpose any -out /dev/null ||
	bench_fail "the agent's CHUID signature does not verify"
openssl cms -verify -binary -inform DER -in "$W/out/chuid.cms" -content "$W/out/secobj.der" \
	-CAfile "$W/ca/ca.pem" -certfile "$W/cs.pem" -purpose any -out /dev/null 2> /dev/null &&
	bench_fail "the CHUID signature verifies over other bytes"
openssl crl -in "$W/out/crl.pem" -CAfile "$W/ca/ca.pem" -noout 2>&1 | grep -q "verify OK" ||
	bench_fail "the CRL from the agent does not verify"

echo "== a uid with no role, then an auditor: every op refused"
as $NOROLE "$OPS" denied "$SOCK" $GUID > "$W/norole.out" || { cat "$W/norole.out"; bench_fail "a uid with no role was not refused"; }
tail -1 "$W/norole.out"
grep -q "has no role" "$W/norole.out" || bench_fail "the no-role refusal does not say why"
as $AUD "$OPS" denied "$SOCK" $GUID > "$W/aud.out" || { cat "$W/aud.out"; bench_fail "an auditor was not refused"; }
tail -1 "$W/aud.out"
grep -q "only a counter operator or a CA officer" "$W/aud.out" || bench_fail "the auditor's refusal does not say why"

echo "== the lost card: no key, no PUK, no signature"
as $OPER "$OPS" lost "$SOCK" $GUID2 > "$W/lost.out" || { cat "$W/lost.out"; bench_fail "the lost card's secrets were released"; }
cat "$W/lost.out"

"$A" --json audit show > "$W/audit.json"
python3 - "$W/audit.json" $OPER $NOROLE $AUD $GUID $GUID2 <<'PY' || bench_fail "the audit log does not say it"
import json, sys
es = json.load(open(sys.argv[1]))
es = es if isinstance(es, list) else es.get("entries", [])
oper, norole, aud, g1, g2 = sys.argv[2:]
def by(uid, action, obj=None, has=None):
    return [e for e in es if "uid=" + uid + "(" in e["actor"] + "(" and e["action"] == action
            and (obj is None or e["object"].lower() == obj) and (has is None or has in e["detail"])]
ok = True
def want(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok = ok and cond
want(len(by(oper, "card.add")) == 2, "card.add twice by the operator")
want(len(by(oper, "enrol.mgmt-key", g1, "via=agent")) == 1, "one mgmt-key release, for card 1")
want(len(by(oper, "enrol.puk-open", g1)) == 1, "one puk-open, for card 1")
want(len(by(oper, "enrol.chuid-sign", g1)) == 1 and len(by(oper, "enrol.secobj-sign", g1)) == 1,
     "the content signer's signatures")
want(len(by(oper, "enrol.start", g2)) == 1 and len(by(oper, "enrol.attest", g2)) == 1,
     "the counter's steps (attest as enrol.attest)")
want(len(by(oper, "cert.issue")) == 1 and len(by(oper, "cert.revoke")) >= 1, "issued, then revoked")
want(len(by(oper, "card.status", g2, "lost")) == 1, "card 2 lost")
want(len(by(oper, "crl.issue")) == 1, "the CRL")
forged = by(oper, "agent.refuse", g2, "written by the agent only")
want(len(forged) == 2, "audit entries named like the agent's releases refused, on record")
real = lambda what: [e for e in by(oper, "agent.refuse", g2, what) if e not in forged]
want(len(real("mgmt-key")) == 2, "mgmt-key of the lost card refused, twice")
want(len(real("puk-open")) == 2, "puk-open refused: other card's, lost")
want(len(by(oper, "agent.refuse", g2, "card-set-status")) == 1, "lost -> active refused")
want(len(by(norole, "agent.refuse")) == 15, "15 agent.refuse for the uid with no role")
want(len(by(aud, "agent.refuse")) == 15 and all("roles: auditor" in e["detail"] for e in by(aud, "agent.refuse")),
     "15 agent.refuse for the auditor, naming the role")
for e in es:
    for secret in ("24681357",):
        if secret in json.dumps(e):
            want(False, "a PUK in the audit log")
sys.exit(0 if ok else 1)
PY
"$A" audit verify > /dev/null || bench_fail "the audit chain does not verify"
echo "OK: every enrolment op through the agent, from a counter with no access to the CA's files"
