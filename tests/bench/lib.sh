# Helpers for scripts run under tests/bench/with-bench. Source it.
#   bench_card_new I      fresh blank card (factory defaults) in reader I
#   bench_card_start I    start card I from its existing state file
#   bench_card_stop I     stop card I's process (SIGTERM) and wait
#   bench_card_kill I     kill -9 card I's process (state must survive)
#   bench_card_remove I   pull card I out of its reader (process keeps running)
#   bench_card_insert I   put card I back
#   bench_wait_present I [0|1]  wait until reader I shows a card (1) or none (0)
#   bench_apdu_count I    number of command APDUs in card I's trace so far
#   bench_pad_keys I LINE...  script what the holder does at PIN-pad reader I
#                         ("pin DIGITS", "cancel", "timeout"; one per entry)
#   bench_fail MSG        print MSG and exit 1

bench_fail() { echo "FAIL: $*" >&2; exit 1; }

_bench_card_vars() {
	local i=$1
	export "CVQ_CARD_${i}_STATE=$CVQ_BENCH/card$i.state"
	export "CVQ_CARD_${i}_TRACE=$CVQ_BENCH/card$i.trace"
	export "CVQ_CARD_${i}_PIDFILE=$CVQ_BENCH/card$i.pid"
	export "CVQ_CARD_${i}_PORT=$((35963 + i))"
}

bench_card_start() {
	local i=$1
	_bench_card_vars "$i"
	"$CVQ_VCARD" --state "$CVQ_BENCH/card$i.state" --host 127.0.0.1 \
		--port $((35963 + i)) --trace "$CVQ_BENCH/card$i.trace" \
		--pidfile "$CVQ_BENCH/card$i.pid" "${@:2}" \
		>> "$CVQ_BENCH/card$i.log" 2>&1 &
	local n
	for ((n = 0; n < 100; n++)); do
		[ -s "$CVQ_BENCH/card$i.pid" ] && break
		sleep 0.05
	done
	bench_wait_present "$i" 1
}

bench_card_new() {
	local i=$1
	rm -f "$CVQ_BENCH/card$i.state"
	bench_card_start "$i" --init "${@:2}"
}

_bench_card_pid() { cat "$CVQ_BENCH/card$1.pid"; }

bench_card_stop() {
	local pid
	pid=$(_bench_card_pid "$1")
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$CVQ_BENCH/card$1.pid"
	# pcscd notices the card gone at its next poll: wait for it, or a
	# following bench_card_start would see the stale "present".
	bench_wait_present "$1" 0
}

bench_card_kill() {
	local pid
	pid=$(_bench_card_pid "$1")
	kill -KILL "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$CVQ_BENCH/card$1.pid"
	bench_wait_present "$1" 0
}

bench_card_remove() { kill -USR1 "$(_bench_card_pid "$1")"; bench_wait_present "$1" 0; }
bench_card_insert() { kill -USR2 "$(_bench_card_pid "$1")"; bench_wait_present "$1" 1; }

# Polls the PC/SC reader state through opensc-tool (a real PC/SC client).
bench_wait_present() {
	local i=$1 want=${2:-1} name var n
	var="CVQ_READER_$i"
	name=${!var}
	for ((n = 0; n < 200; n++)); do
		if opensc-tool -l 2>/dev/null | grep -E "^[0-9]+ +Yes .*${name}\$" >/dev/null; then
			[ "$want" = 1 ] && return 0
		else
			[ "$want" = 0 ] && return 0
		fi
		sleep 0.05
	done
	bench_fail "reader $i ($name): card presence did not become $want"
}

bench_apdu_count() {
	local f="$CVQ_BENCH/card$1.trace"
	[ -f "$f" ] || { echo 0; return; }
	grep -c '^[0-9.]* > ' "$f" || true
}

bench_pad_keys() {
	local var="CVQ_PAD_$1_KEYS"
	[ -n "${!var:-}" ] || bench_fail "reader $1 is not a PIN-pad reader"
	shift
	printf '%s\n' "$@" >> "${!var}"
}
