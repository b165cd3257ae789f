# Shared by the cardlib integration scripts (sourced, run under with-bench).
set -euo pipefail
# shellcheck source=../../bench/lib.sh
. "$CVQ_SRC/tests/bench/lib.sh"

ADMIN=${CVQ_ADMIN:?}
TOOL=${CARDTOOL:?}
W=$CVQ_BENCH/cardlib
mkdir -p "$W"
chmod 700 "$W"

# Test secrets live in 0600 files, read the way real ones are (never argv
# of our tools; peer tools get them on their command line, test data only).
secret() { (umask 077; printf '%s\n' "$2" > "$W/$1"); echo "file:$W/$1"; }
PIN=$(secret pin 123456)
PUK=$(secret puk 12345678)
head -c 32 /dev/urandom > "$W/master"
chmod 600 "$W/master"

step() { echo "== $*"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$@"; }
# expect_rc WANT CMD...: run CMD, fail unless it exits WANT.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" > "$W/out" 2> "$W/err" || rc=$?
	cat "$W/out" "$W/err"
	[ "$rc" = "$want" ] || bench_fail "'$*' exited $rc, wanted $want"
}
verify_sig() { # PUBKEY DATA SIG [openssl dgst options]
	openssl dgst -sha256 -verify "$1" -signature "$3" "${@:4}" "$2" | grep -q 'Verified OK' ||
		bench_fail "signature $3 does not verify with $1"
}
# Stop a card and wait until pcscd sees the reader empty (bench_card_stop
# returns when the process is gone, pcscd notices a moment later).
card_stop() { bench_card_stop "$1"; bench_wait_present "$1" 0; }
