#!/usr/bin/env bash
# OCSP on loopback: `cvq-admin ocsp serve` against `openssl ocsp` answering
# for the same N certificates, same CA, same delegated signer, same requests
# (SHA-1 CertIDs, no nonce, one connection per request), C concurrent
# clients for S seconds; then the same with one idle connection held open.
#
#   CVQ_BENCH_CERTS=10000 CVQ_BENCH_CLIENTS="1 8 64" CVQ_BENCH_SECONDS=5 bench/ca-ocsp.sh
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

"$ADMIN" ocsp serve --listen 127.0.0.1:$P1 --threads "$THREADS" >/dev/null 2>&1 &
PIDS+=($!)
setsid openssl ocsp -index "$W/index.txt" -CA "$W/ca/ca.pem" -rsigner "$W/ca/ocsp.pem" \
	-rkey "$W/ca/ocsp-key.pem" -passin "file:$W/ca.pass" -port $P2 -nmin 60 -ignore_err \
	>/dev/null 2>&1 &
PIDS+=($!)
# Wait with real requests: an empty probe connection wedges `openssl ocsp`
# (see the last measurement), and on errors it signals its process group.
s=$(head -n 1 "$W/serials")
for p in $P1 $P2; do
	for i in $(seq 1 50); do
		timeout 5 openssl ocsp -issuer "$W/ca/ca.pem" -serial "0x$s" -url "http://127.0.0.1:$p/ocsp" \
			-CAfile "$W/ca/ca.pem" -no_nonce -timeout 2 >/dev/null 2>&1 && break
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

echo "# OCSP, $N certificates, ${SECS}s per run, $THREADS responder threads, $(nproc) CPUs; $(openssl version)"
printf "%-8s %-8s %10s %9s %9s %7s\n" clients server "req/s" "p50 ms" "p99 ms" errors
declare -A RPS
for c in $CLIENTS; do
	for srv in cvq openssl; do
		p=$P1
		[ $srv = openssl ] && p=$P2
		read -r _ n _ e _ rps _ p50 _ p99 _ mx < <("$LOAD" ocsp 127.0.0.1 $p "$W/ca/ca.pem" "$W/serials" "$c" "$SECS")
		RPS[$srv]=$rps
		printf "%-8s %-8s %10s %9s %9s %7s\n" "$c" $srv "$rps" "$p50" "$p99" "$e"
	done
	echo "ratio at $c clients: $(ratio "${RPS[cvq]}" "${RPS[openssl]}")x"
done

# One client that connects and says nothing.
for srv in cvq openssl; do
	p=$P1
	[ $srv = openssl ] && p=$P2
	exec 7<>/dev/tcp/127.0.0.1/$p
	read -r _ n _ e _ rps _ p50 _ p99 _ mx < <(timeout $((SECS + 20)) "$LOAD" ocsp 127.0.0.1 $p \
		"$W/ca/ca.pem" "$W/serials" 8 "$SECS" || echo "requests 0 errors all rps 0 p50_ms - p99_ms - max_ms -")
	exec 7>&-
	printf "idle connection held: %-8s %10s req/s, errors %s, max %s ms\n" $srv "$rps" "$e" "$mx"
done
