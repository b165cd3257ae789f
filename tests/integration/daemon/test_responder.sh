#!/usr/bin/env bash
# cvqd serving the CA's OCSP responder ([responder]) as a portal server
# does: backend = none, no readers. A CA made by cvq-admin with a delegated
# OCSP signer, two certificates; openssl ocsp says good, then revoked at
# once after `cvq-admin cert revoke` in another process (cached nonce-less
# answers included); /v1/status answers while OCSP is busy; SIGHUP leaves
# the responder running; SIGTERM stops it; a bad [responder] (missing
# ca_config, port taken, CA config absent, passphrase file open to others)
# stops cvqd with a clear error and no socket.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

ADMIN=${CVQ_ADMIN:?}
W=$CVQ_BENCH/resp
mkdir -p "$W"
cd "$W"
PORT=18081
URL=http://127.0.0.1:$PORT

# has PATTERN CMD...: CMD's output (whatever its status) contains PATTERN.
has() {
	local pat=$1 out
	shift
	out=$("$@" 2>&1) || true
	grep -q -- "$pat" <<<"$out"
}
# status CERT [openssl ocsp options]: good | revoked | unknown
status() {
	local c=$1
	shift
	openssl ocsp -issuer ca/ca.pem -cert "$c" -url "$URL" -CAfile ca/ca.pem "$@" 2>&1 |
		awk -v c="$c" '$1 == c":" { print $2 }'
}

# --- the CA, its OCSP signer, two certificates
(umask 077; echo "passphrase of the city CA" > ca.pass)
"$ADMIN" ca init --dir ca --pass "file:$W/ca.pass" --ocsp-signer --org "Ville de Test" \
	--country FR --subject "/C=FR/O=Ville de Test/CN=CVQ Portail" >/dev/null
export CVQ_CA_CONFIG=$W/ca/ca.conf
for n in one two; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" \
		-subj "/CN=csr" -out "$n.csr" 2>/dev/null
	"$ADMIN" cert issue --profile service --subject "/CN=$n.example.org" --dns "$n.example.org" \
		--out "$n.pem" "$n.csr" >/dev/null
done

# conf FILE [RESPONDER LINES...]: a cardless cvqd; the lines go in [responder]
conf() {
	local f=$1
	shift
	{
		echo "[daemon]"
		echo "socket = $CVQ_BENCH/cvqd.sock"
		echo "allow_users = $(id -u)"
		echo "log_level = debug"
		echo "[card]"
		echo "backend = none"
		echo "[responder]"
		printf '%s\n' "$@"
	} > "$f"
}
conf cvqd.conf "ca_config = $W/ca/ca.conf" "listen = 127.0.0.1:$PORT" \
	"pass = file:$W/ca.pass" "threads = 2" "timeout = 5"
"$CVQD" -t -c cvqd.conf || bench_fail "--check-config"
cvqd_start cvqd.conf
grep -q "OCSP responder on 127.0.0.1:$PORT" "$CVQ_BENCH/cvqd.log" || bench_fail "no 'OCSP responder on' line"

# --- good, then revoked at once (another process commits the revocation)
[ "$(status one.pem)" = good ] || bench_fail "one: not good"
[ "$(status two.pem)" = good ] || bench_fail "two: not good"
has "OCSP Nonce" openssl ocsp -issuer ca/ca.pem -cert one.pem -url "$URL" -CAfile ca/ca.pem -resp_text ||
	bench_fail "nonce not echoed"
# Nonce-less requests get pre-signed answers: asked before and after.
[ "$(status two.pem -no_nonce)" = good ] || bench_fail "two: cached good"
"$ADMIN" cert revoke "$(openssl x509 -in two.pem -noout -serial | cut -d= -f2)" \
	--reason keyCompromise >/dev/null
[ "$(status two.pem -no_nonce)" = revoked ] || bench_fail "two: cached answer outlived the revocation"
[ "$(status two.pem)" = revoked ] || bench_fail "two: not revoked"
has "Reason: keyCompromise" openssl ocsp -issuer ca/ca.pem -cert two.pem -url "$URL" -CAfile ca/ca.pem ||
	bench_fail "reason"
[ "$(status one.pem)" = good ] || bench_fail "one: no longer good"
echo "ok: good, then revoked at once"

# --- the API answers while OCSP is busy (its own libmicrohttpd daemon)
openssl ocsp -issuer ca/ca.pem -cert one.pem -no_nonce -reqout req.der >/dev/null 2>&1
LOAD=()
for ((i = 0; i < 4; i++)); do
	for ((j = 0; j < 100; j++)); do
		curl -s -o /dev/null -H 'Content-Type: application/ocsp-request' --data-binary @req.der "$URL/"
	done &
	LOAD+=($!)
done
for ((i = 0; i < 20; i++)); do
	out=$(api GET /v1/status)
	[ "${out%% *}" = 200 ] || bench_fail "/v1/status under OCSP load: $out"
done
wait "${LOAD[@]}"
echo "ok: /v1/status answers under OCSP load"

# --- SIGHUP: the responder runs on; SIGTERM: it stops
kill -HUP "$CVQD_PID"
wait_status '.version != null'
[ "$(status one.pem)" = good ] || bench_fail "responder gone after SIGHUP"
cvqd_stop
! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || bench_fail "port still open after SIGTERM"
echo "ok: SIGHUP keeps it, SIGTERM stops it"

# --- a bad [responder] stops cvqd with a clear error, before the socket
# fails FILE PATTERN: cvqd -c FILE exits non-zero, stderr matches, no socket
fails() {
	local rc=0
	timeout 60 "$CVQD" -c "$1" > /dev/null 2> err.txt || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat err.txt >&2; bench_fail "$1: exit $rc"; }
	grep -q -- "$2" err.txt || { cat err.txt >&2; bench_fail "$1: no '$2'"; }
	[ ! -e "$CVQ_BENCH/cvqd.sock" ] || bench_fail "$1: socket left behind"
}
conf bad1.conf "listen = 127.0.0.1:$PORT"
fails bad1.conf "bad1.conf: line 7: \[responder\] needs 'ca_config'"
conf bad2.conf "ca_config = $W/nope/ca.conf" "listen = 127.0.0.1:$PORT"
fails bad2.conf "responder: CA configuration $W/nope/ca.conf"
conf bad3.conf "ca_config = $W/ca/ca.conf" "listen = 127.0.0.1:$PORT" "pass = the passphrase"
fails bad3.conf "never the passphrase"
cp ca.pass open.pass
chmod 644 open.pass
conf bad4.conf "ca_config = $W/ca/ca.conf" "listen = 127.0.0.1:$PORT" "pass = file:$W/open.pass"
fails bad4.conf "responder: cannot load the CA or its OCSP signer"
# The port taken by another responder.
"$ADMIN" ocsp serve --listen "127.0.0.1:$PORT" > taker.log 2>&1 &
TAKER=$!
trap 'kill "$TAKER" 2>/dev/null || true' EXIT
for ((i = 0; i < 200; i++)); do
	grep -q "listening on port" taker.log && break
	sleep 0.05
done
grep -q "listening on port" taker.log || bench_fail "cvq-admin ocsp serve did not start"
fails cvqd.conf "responder: cannot listen on 127.0.0.1:$PORT"
kill "$TAKER"
wait "$TAKER" || true
echo "ok: a bad [responder] stops cvqd"
