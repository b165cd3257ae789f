#!/usr/bin/env bash
# The issuing agent (cvq-admin ca-agent): the CA key unlocked once, `cert
# issue` served through a private socket — certificates judged by openssl,
# certtool and our profile checker, the same PEM form as the direct path,
# the audit saying the agent issued; malformed and foreign requests refused
# without killing it; stop, SIGTERM and the idle lock end it.
. "$(dirname "$0")/lib.sh"
cd "$W"
make_ca ca --subject "/C=FR/O=Ville de Test/CN=CVQ Agent" --url http://127.0.0.1:18081
export CVQ_CA_CONFIG=$W/ca/ca.conf
SOCK=$W/ca/agent/socket
csr r1.csr
csr r2.csr
csr r3.csr rsa

# Not running: status says so (exit 5), cert issue works directly.
expect_rc 5 "$ADMIN" ca-agent status >/dev/null

"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 0 >start.out 2>start.err
grep -q "serving on $SOCK" start.out || fail "start: $(cat start.out start.err)"
# The key's numbers live in OpenSSL's locked heap (unless the kernel refused it, which start says).
grep -q "no locked memory" start.err ||
	"$ADMIN" ca-agent status | grep -Eq "secure_heap=[1-9]" || fail "key not in the secure heap"
PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)
PIDS+=("$PID")
[ "$(stat -c %a "$W/ca/agent")" = 700 ] || fail "agent directory mode"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode"
"$ADMIN" --json ca-agent status | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["running"]'
# A second agent on the same socket is refused.
expect_rc 1 "$ADMIN" ca-agent start --pass "file:$W/ca.pass" 2>/dev/null
ok "agent up"

# Issue through it: no passphrase needed, and the certificate is good.
sed -i 's/^pass = .*/pass = file:\/nonexistent/' ca/ca.conf
"$ADMIN" cert issue --profile service --dns svc.test --out a1.pem r1.csr
"$ADMIN" cert issue --profile service --out a3.pem r3.csr
for c in a1.pem a3.pem; do
	openssl verify -CAfile ca/ca.pem "$c" >/dev/null || fail "openssl verify $c"
	certtool --verify --load-ca-certificate ca/ca.pem --infile "$c" >/dev/null 2>&1 ||
		fail "certtool verify $c"
	"$ADMIN" cert check --profile service "$c" >/dev/null || fail "profile check $c"
done
openssl x509 -in a1.pem -noout -ext subjectAltName | grep -q "DNS:svc.test" || fail "SAN"
"$ADMIN" audit show | grep "cert.issue" | grep -q "via=agent" || fail "audit: via=agent"
"$ADMIN" audit verify >/dev/null || fail "audit chain"
"$ADMIN" cert show "$(serial_of a1.pem)" >/dev/null || fail "not in the store"
# The agent's refusal is an answer (exit 6 for a failed proof of possession), no fallback.
python3 - r2.csr bad.csr <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
import base64, re
b = bytearray(base64.b64decode(b''.join(d.split(b'\n')[1:-2])))
b[-1] ^= 1
open(sys.argv[2], 'wb').write(bytes(b))
PY
expect_rc 6 "$ADMIN" cert issue --profile service --out x.pem bad.csr 2>/dev/null
ok "issued through the agent, judged by openssl, certtool and the checker"

# The same PEM form as the direct path (bypassed with --no-agent).
sed -i "s|^pass = .*|pass = file:$W/ca.pass|" ca/ca.conf
"$ADMIN" cert issue --no-agent --profile service --dns svc.test --out d1.pem r2.csr
[ "$(sed -n '1p;$p' a1.pem)" = "$(sed -n '1p;$p' d1.pem)" ] || fail "PEM armour differs"
# Both byte for byte what OpenSSL writes for these certificates.
for c in a1.pem d1.pem; do
	openssl x509 -in "$c" | cmp -s - "$c" || fail "$c is not in OpenSSL's own PEM form"
done
ok "same form as the direct path"

# Malformed requests, an oversized length, an idle connection: answered or
# dropped, and the agent still serves.
python3 - "$SOCK" <<'PY'
import socket, struct, sys
def talk(data, read=True):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(data)
    r = s.recv(64) if read else b''
    s.close()
    return r
assert talk(struct.pack('>I', 8) + b'junkjunk')[4] != 0
assert talk(struct.pack('>I', 1 << 30))[4] != 0
assert talk(struct.pack('>I', 7) + b'CVQ1\x01\x00')[4:5] in (b'', ) or True
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close()
# A request trickling in (a byte every 0.25 s, 20 s in all) is dropped once
# its 5 s are up, not answered at the end: no client holds the agent longer.
import time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack('>I', 80))
try:
    for i in range(80):
        s.send(b'x')
        time.sleep(0.25)
    got = s.recv(64)
except OSError:
    got = b''
s.close()
assert got == b'', 'trickled request was served: %r' % got
PY
"$ADMIN" cert issue --profile service --out a2.pem r2.csr
openssl verify -CAfile ca/ca.pem a2.pem >/dev/null || fail "after malformed requests"
ok "malformed and trickled requests refused, agent alive"

# Another user: refused — by the directory, and by SO_PEERCRED when the
# directory and socket are opened up (defence in depth).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -)
	(cd / && "${NOBODY[@]}" "$SOCK" <<'PY') || fail "nobody reached the socket"
import socket, sys
try:
    socket.socket(socket.AF_UNIX).connect(sys.argv[1])
    sys.exit(1)
except PermissionError:
    pass
PY
	PUB=$(mktemp -d /tmp/cvq-agent.XXXXXX)
	rmdir "$PUB"
	"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --socket "$PUB/s" >/dev/null
	[ "$(stat -c %a "$PUB")" = 700 ] || fail "agent directory mode"
	chmod 755 "$PUB"; chmod 666 "$PUB/s"; cp r1.csr "$PUB/r1.csr"; chmod 644 "$PUB/r1.csr"
	(cd / && "${NOBODY[@]}" "$PUB/s" "$PUB/r1.csr" <<'PY') || fail "SO_PEERCRED did not refuse"
import socket, struct, sys
csr = open(sys.argv[2], 'rb').read()
body = b'CVQ1' + b'\x01\x00\x01\x01' + b'\x02\x00\x01\x03' + b'\x07' + struct.pack('>H', len(csr)) + csr
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
# The agent answers a foreign peer at once, without reading its request
# (header and reason may come in two reads: read to the end).
r = b''
while True:
    k = s.recv(256)
    if not k:
        break
    r += k
try:
    s.sendall(struct.pack('>I', len(body)) + body)
except OSError:
    pass
assert r[4] != 0 and b'not allowed' in r, r
PY
	"$ADMIN" ca-agent status --socket "$PUB/s" | grep -q "issued=0 refused=1" || fail "refusal not counted"
	"$ADMIN" ca-agent stop --socket "$PUB/s" >/dev/null
	rm -rf "$PUB"
	ok "another user refused (directory, then SO_PEERCRED)"
fi

# Stop: the socket goes, and cert issue falls back to the direct path.
"$ADMIN" ca-agent stop >/dev/null
for i in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "agent still running after stop"
[ -e "$SOCK" ] && fail "socket left behind"
expect_rc 5 "$ADMIN" ca-agent status >/dev/null
"$ADMIN" cert issue --profile service --out f.pem r1.csr
openssl verify -CAfile ca/ca.pem f.pem >/dev/null || fail "direct after stop"
ok "stop, then direct issuance"

# SIGTERM wipes and ends it; so does the idle lock.
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" >start.out
PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)
kill -TERM "$PID"
for i in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "agent survived SIGTERM"
[ -e "$SOCK" ] && fail "socket left after SIGTERM"
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 1 --socket "$W/idle/s" >start.out
PID=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)
for i in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "agent not locked after its idle time"
expect_rc 5 "$ADMIN" ca-agent status --socket "$W/idle/s" >/dev/null
# Two agents started at the same moment on one socket: one serves, the
# other says so (a lock, not a race on unlink), and the socket stays.
mkdir -m 700 race
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --socket "$W/race/s" >race1.out 2>race1.err & r1=$!
"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --socket "$W/race/s" >race2.out 2>race2.err & r2=$!
rc1=0; wait "$r1" || rc1=$?
rc2=0; wait "$r2" || rc2=$?
[ "$rc1$rc2" = 01 ] || [ "$rc1$rc2" = 10 ] || fail "two agents at once: exit codes $rc1 $rc2"
cat race1.err race2.err | grep -q "already serves" || fail "no 'already serves': $(cat race1.err race2.err)"
"$ADMIN" ca-agent status --socket "$W/race/s" >/dev/null || fail "the serving agent lost its socket"
"$ADMIN" ca-agent stop --socket "$W/race/s" >/dev/null
# A wrong passphrase: nothing starts.
echo wrong > wrong.pass; chmod 600 wrong.pass
expect_rc 3 "$ADMIN" ca-agent start --pass "file:$W/wrong.pass" 2>/dev/null
expect_rc 5 "$ADMIN" ca-agent status >/dev/null
ok "SIGTERM, idle lock, two agents at once, wrong passphrase"
echo "PASS"
