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
# through its issuing agent (scripts/lib/officers.sh); NOBODY_UID has no role.
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib/officers.sh"
: "${NOBODY_UID:=61503}"

# officers DIR: [roles] officer = us, OFF2 in $W/DIR/ca.conf.
officers() { officers_roles "$W/$1/ca.conf"; }

# request_id FILE: the ID of "request ID pending" in FILE.
request_id() { sed -n 's/^request \([0-9]*\) pending$/\1/p' "$1"; }

# approve_as UID DIR ID: UID approves request ID of the CA in $W/DIR
# (passphrase in $W/DIR.pass); its output in $W/approve.out.
approve_as() { OFFICER_OUT=$W/approve.out officer_approve "$1" "$W/$2/ca.conf" "$W/$2.pass" "$3"; }

# tsa_two DIR [tsa init options...]: the TSA of $W/DIR by two officers.
tsa_two() {
	local dir=$1
	shift
	officers_tsa "$W/$dir/ca.conf" "$W/$dir.pass" "$@" >/dev/null
}

# audit_has ACTION ACTOR TEXT: an audit entry of that action by that actor mentioning TEXT
audit_has() {
	"$ADMIN" --json audit show | python3 -c '
import json, sys
a, who, text = sys.argv[1:4]
es = json.load(sys.stdin)
es = es if isinstance(es, list) else es.get("entries", [])
sys.exit(0 if any(e["action"] == a and who in e["actor"] and text in (e["detail"] + e["object"]) for e in es) else 1)' "$1" "$2" "$3" ||
		fail "no audit entry $1 by $2 with '$3'"
}
# judge CERT PROFILE: openssl verify against ca/ca.pem and our profile checker
judge() {
	openssl verify -CAfile ca/ca.pem "$1" >/dev/null || fail "openssl verify $1"
	"$ADMIN" cert check --profile "$2" "$1" >/dev/null || fail "profile check $1"
}
# refused WHO PATTERN CMD...: CMD run by the test's own `as WHO` (a uid, a
# certificate) fails, saying PATTERN
refused() {
	local who=$1 pat=$2 rc=0
	shift 2
	as "$who" "$@" >out.txt 2>err.txt || rc=$?
	[ "$rc" -ne 0 ] || fail "accepted for $who: $*"
	grep -q -- "$pat" err.txt || fail "$who: expected '$pat', got: $(cat err.txt)"
}
