# Helpers for the ca integration tests (sourced). Each test runs under
# tests/bench/with-bench, so it has a private network namespace: fixed
# loopback ports never clash between tests running in parallel.
set -euo pipefail

ADMIN=${CVQ_ADMIN:?CVQ_ADMIN not set}
W=$(mktemp -d "${CVQ_BENCH:-/tmp}/ca-test.XXXXXX")
PIDS=()
ca_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap ca_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# expect_rc N CMD...: CMD must exit with status N.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc: $*"
}

# make_ca DIR [ca init options...]: a CA with an OCSP signer, passphrase in DIR.pass
make_ca() {
	local dir=$1
	shift
	(umask 077; echo "passphrase of $dir" > "$dir.pass")
	"$ADMIN" ca init --dir "$dir" --pass "file:$dir.pass" --ocsp-signer \
		--policy 1.3.6.1.4.1.55555.1.1 --org "Ville de Test" --country FR "$@" >/dev/null
}

# csr FILE [alg]: a fresh key and CSR (key in FILE.key)
csr() {
	case "${2:-ec}" in
	ec) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -subj "/CN=csr" -out "$1" 2>/dev/null ;;
	rsa) openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -subj "/CN=csr" \
		-out "$1" 2>/dev/null ;;
	esac
}

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# wait_port PORT: until something listens on 127.0.0.1:PORT
wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1"
}

# ocsp_status ISSUER CERT URL CAFILE: the status line word (good/revoked/unknown)
ocsp_status() {
	openssl ocsp -issuer "$1" -cert "$2" -url "$3" -CAfile "$4" 2>&1 |
		awk -v c="$2" '$1 == c":" { print $2 }'
}

# has PATTERN CMD...: CMD's output (whatever its status) contains PATTERN.
# (grep -q in a pipeline under pipefail could fail on SIGPIPE or on the
# command's own status, e.g. openssl verify's 2 for a revoked certificate.)
has() {
	local pat=$1 out
	shift
	out=$("$@" 2>&1) || true
	grep -q -- "$pat" <<<"$out"
}

# --- two-person control (docs/ca.md "Two-person control"): the officers
# are this test's uid and OFF2, another uid that reaches the CA only
# through its issuing agent (socket group OFF_G), as a second person would.
: "${OFF2:=61502}" "${OFF_G:=61500}" "${NOBODY_UID:=61503}"

# officers DIR: [roles] officer = us, OFF2 (appended to DIR/ca.conf).
officers() { printf '\n[roles]\nofficer = %s, %s\n' "$(id -u)" "$OFF2" >> "$1/ca.conf"; }

# request_id FILE: the ID of "request ID pending" in FILE.
request_id() { sed -n 's/^request \([0-9]*\) pending$/\1/p' "$1"; }

# as_uid UID CMD...: CMD as UID (its own group, and OFF_G), from /.
as_uid() {
	local u=$1
	shift
	(cd / && setpriv --reuid="$u" --regid="$u" --groups="$OFF_G" -- "$@")
}

# approve_as UID DIR ID [ca approve options...]: UID approves request ID of
# the CA in $W/DIR (passphrase in $W/DIR.pass) through an agent started
# for it and stopped after. The approval's exit status is returned; its
# output is in $W/approve.out.
approve_as() {
	local u=$1 dir=$2 id=$3 pid rc=0 n
	shift 3
	chmod 711 "${CVQ_BENCH:-/tmp}" "$W" "$W/$dir"
	chmod 644 "$W/$dir/ca.conf"
	"$ADMIN" --config "$W/$dir/ca.conf" ca-agent start --pass "file:$W/$dir.pass" --idle 0 \
		--group "$OFF_G" > "$W/agent-start.out" || fail "agent for the approval"
	pid=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' "$W/agent-start.out")
	as_uid "$u" "$ADMIN" --config "$W/$dir/ca.conf" ca approve "$@" "$id" > "$W/approve.out" 2>&1 ||
		rc=$?
	"$ADMIN" --config "$W/$dir/ca.conf" ca-agent stop >/dev/null || true
	for ((n = 0; n < 200; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	return $rc
}
