#!/usr/bin/env bash
# OCSP on loopback: `cvq-admin ocsp serve` against `openssl ocsp` answering
# for the same N certificates, same CA, same delegated signer, same requests
# (SHA-1 CertIDs, no nonce), C concurrent clients for S seconds, from the
# same event-loop client (bench/ca-load.c) in two modes: one connection per
# request (as OpenSSL's OCSP client) and HTTP/1.1 keep-alive (as a cache or
# validation service holding connections); the server pinned to some CPUs,
# the client to others. Then the same with one idle connection held open.
#
#   CVQ_BENCH_CERTS=10000 CVQ_BENCH_CLIENTS="1 8 64" CVQ_BENCH_SECONDS=5 bench/ca-ocsp.sh
#   CVQ_BENCH_PIN="0:1" (server CPUs:client CPUs, "" = no pinning)
#   CVQ_BENCH_MODES="close keepalive"  CVQ_BENCH_THREADS (cvq threads)
. "$(dirname "$0")/ca-lib.sh"
N=${CVQ_BENCH_CERTS:-10000}
CLIENTS=${CVQ_BENCH_CLIENTS:-"1 8 64"}
SECS=${CVQ_BENCH_SECONDS:-5}
THREADS=${CVQ_BENCH_THREADS:-$(nproc)}
P1=${CVQ_BENCH_PORT:-18090}
P2=$((P1 + 1))
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"' EXIT

(umask 077; echo "bench passphrase" > "$W/ca.pass")
"$ADMIN" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --subject "/CN=Bench CA" --ocsp-signer \
	--url "http://127.0.0.1:$P1" >/dev/null
export CVQ_CA_CONFIG=$W/ca/ca.conf
mkdir "$W/csrs"
"$LOAD" csrs "$W/csrs" "$N"
"$ADMIN" cert issue --profile service --out "$W/all.pem" "$W"/csrs/*.csr >/dev/null
# Revoke one in ten, so both answer good and revoked.
sqlite3 "$W/ca/ca.db" "SELECT serial FROM certs WHERE profile = 3" > "$W/serials"
awk 'NR % 10 == 0' "$W/serials" | while read -r s; do echo "$s"; done > "$W/revoked"
sqlite3 "$W/ca/ca.db" "UPDATE certs SET status = 1, revoked_at = strftime('%s','now'), reason = 1
	WHERE serial IN ($(sed "s/.*/'&'/" "$W/revoked" | paste -sd,))"
# The same entries for openssl: index.txt.
python3 - "$W/ca/ca.db" "$W/index.txt" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w") as f:
    for serial, status, rev in db.execute("SELECT serial, status, revoked_at FROM certs"):
        exp = "291201000000Z"
        if status:
            t = time.strftime("%y%m%d%H%M%SZ", time.gmtime(rev))
            f.write(f"R\t{exp}\t{t},keyCompromise\t{serial}\tunknown\t/CN=x\n")
        else:
            f.write(f"V\t{exp}\t\t{serial}\tunknown\t/CN=x\n")
PY
echo "unique_subject = no" > "$W/index.txt.attr"

# CPU pinning "SERVER_CPUS:CLIENT_CPUS" (taskset lists), e.g. "0:1"; empty: none.
PIN=${CVQ_BENCH_PIN-0:1}
SCPU=${PIN%%:*}
CCPU=${PIN#*:}
SRV=() CLI=()
if [ -n "$PIN" ]; then
	SRV=(taskset -c "$SCPU")
	CLI=(taskset -c "$CCPU")
fi
if [ -z "${CVQ_BENCH_THREADS:-}" ] && [ -n "$PIN" ]; then
	THREADS=$(taskset -c "$SCPU" nproc)
fi
MODES=${CVQ_BENCH_MODES:-"close keepalive"}
LOAD_THREADS=${CVQ_BENCH_LOAD_THREADS:-1}

for p in $P1 $P2; do
	if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
		echo "port $p is in use (CVQ_BENCH_PORT=…)" >&2
		exit 2
	fi
done
"${SRV[@]}" "$ADMIN" ocsp serve --listen 127.0.0.1:$P1 --threads "$THREADS" >/dev/null 2>&1 &
CVQ_PID=$!
PIDS+=($CVQ_PID)
OSSL_PID=
start_openssl() {
	setsid "${SRV[@]}" openssl ocsp -index "$W/index.txt" -CA "$W/ca/ca.pem" \
		-rsigner "$W/ca/ocsp.pem" -rkey "$W/ca/ocsp-key.pem" -passin "file:$W/ca.pass" -port $P2 \
		-nmin 60 -ignore_err >/dev/null 2>&1 &
	OSSL_PID=$!
	PIDS+=($OSSL_PID)
}
start_openssl
# Wait with real requests: an empty probe connection wedges `openssl ocsp`
# (see the last measurement), and on errors it signals its process group.
s=$(head -n 1 "$W/serials")
probe() {
	timeout 5 openssl ocsp -issuer "$W/ca/ca.pem" -serial "0x$s" -url "http://127.0.0.1:$1/ocsp" \
		-CAfile "$W/ca/ca.pem" -no_nonce -timeout 2 >/dev/null 2>&1
}
for p in $P1 $P2; do
	for i in $(seq 1 50); do
		probe $p && break
		sleep 0.2
	done
done
# Both answer the same thing.
s=$(head -n 1 "$W/revoked")
for p in $P1 $P2; do
	out=$(timeout 10 openssl ocsp -timeout 5 -issuer "$W/ca/ca.pem" -serial "0x$s" -url "http://127.0.0.1:$p/ocsp" \
		-CAfile "$W/ca/ca.pem" -no_nonce 2>&1) || true
	grep -q ": revoked" <<<"$out" || echo "WARNING: port $p: $out" >&2
done
s=$(head -n 1 "$W/serials")
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# cvq pre-signs its answers in the background at start: let it finish (its
# CPU time stops growing), so that every run measures the steady state.
prev=-1
for i in $(seq 1 60); do
	cur=$(cpu_ticks $CVQ_PID)
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 0.5
done
load1() { cut -d' ' -f1 /proc/loadavg; }

echo "# OCSP, $N certificates, ${SECS}s per run, $THREADS cvq responder threads, $(nproc) CPUs," \
	"pinning ${PIN:-none} (server:client); $(openssl version)"
printf "%-9s %-7s %-8s %9s %8s %8s %6s %8s %8s %5s\n" mode clients server "req/s" "p50 ms" "p99 ms" \
	errors "srv us" "cli us" load
declare -A RPS
for mode in $MODES; do
	flag=
	[ "$mode" = keepalive ] && flag=-k
	for c in $CLIENTS; do
		for srv in cvq openssl; do
			p=$P1 pid=$CVQ_PID
			if [ $srv = openssl ]; then
				p=$P2
				# A client hanging up at a bad moment wedges it (100 % CPU
				# on a closed connection): say so, and start a fresh one.
				if ! probe $P2; then
					echo "openssl ocsp wedged (not answering; $(ps -o stat=,time= -p "$OSSL_PID" 2>/dev/null)): restarted"
					kill "$OSSL_PID" 2>/dev/null || true
					start_openssl
					for i in $(seq 1 50); do probe $P2 && break; sleep 0.2; done
				fi
				pid=$OSSL_PID
			fi
			t0=$(cpu_ticks $pid)
			out=$("${CLI[@]}" "$LOAD" ocsp $flag -t "$LOAD_THREADS" 127.0.0.1 $p "$W/ca/ca.pem" "$W/serials" "$c" "$SECS")
			t1=$(cpu_ticks $pid)
			read -r _ n _ e _ rps _ p50 _ p99 _ mx _ _ _ _ _ ccpu _ _ _ cus <<<"$out"
			sus=$(python3 -c "print(f'{($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $n:.1f}' if $n else '-')")
			RPS[$srv]=$rps
			printf "%-9s %-7s %-8s %9s %8s %8s %6s %8s %8s %5s\n" "$mode" "$c" $srv "$rps" "$p50" "$p99" \
				"$e" "$sus" "$cus" "$(load1)"
		done
		echo "ratio $mode $c clients: $(ratio "${RPS[cvq]}" "${RPS[openssl]}")x (client on CPUs $ccpu)"
	done
done
echo "(srv us, cli us: CPU time per answered request of the server process and of the load client)"

# One client that connects and says nothing.
probe $P2 || { kill "$OSSL_PID" 2>/dev/null || true; start_openssl; sleep 1; }
for srv in cvq openssl; do
	p=$P1
	[ $srv = openssl ] && p=$P2
	exec 7<>/dev/tcp/127.0.0.1/$p
	read -r _ n _ e _ rps _ p50 _ p99 _ mx _ < <(timeout $((SECS + 20)) "$LOAD" ocsp 127.0.0.1 $p \
		"$W/ca/ca.pem" "$W/serials" 8 "$SECS" || echo "requests 0 errors all rps 0 p50_ms - p99_ms - max_ms -")
	exec 7>&-
	printf "idle connection held: %-8s %10s req/s, errors %s, max %s ms\n" $srv "$rps" "$e" "$mx"
done
