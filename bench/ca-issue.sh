#!/usr/bin/env bash
# Issuance: cvq-admin against `openssl ca`, P-256 keys, the same extensions.
#   batch:  one process issues N certificates (cvq-admin cert issue --out-dir;
#           openssl ca -infiles)
#   single: one process per certificate, as admins script it (--no-agent:
#           each process decrypts the CA key, as `openssl ca` does)
#   agent:  the same, through the issuing agent (cvq-admin ca-agent): the key
#           unlocked once, as at a CA counter; against the same `openssl ca` run
# measured with 0, 10,000 and 100,000 certificates already in each store.
#
#   CVQ_BENCH_N=10000 CVQ_BENCH_SINGLE=10000 CVQ_BENCH_PREFILL="0 10000 100000" bench/ca-issue.sh
# (defaults as shown: the issue's sizes; smaller via the environment).
# CVQ_BENCH_REPEAT=K: the batch K times from the same stores, and the best
# of each side (default 1).
. "$(dirname "$0")/ca-lib.sh" || exit 2
# Everything below removes under $W: never without it (set -u is on).
[ -n "${W:-}" ] && [ -d "$W" ] && [ "$W" != / ] || exit 2
N=${CVQ_BENCH_N:-10000}
SINGLE=${CVQ_BENCH_SINGLE:-$N}
PREFILL=${CVQ_BENCH_PREFILL:-"0 10000 100000"}
REPEAT=${CVQ_BENCH_REPEAT:-1}

mkdir "$W/csrs"
"$LOAD" csrs "$W/csrs" "$N"
ls "$W/csrs"/*.csr > "$W/csrs.list"
head -n "$SINGLE" "$W/csrs.list" > "$W/single.list"
echo "# issuance of $N (batch) and $SINGLE (single, agent) P-256 certificates; $(nproc) CPUs; $(openssl version)"
echo "# load: $(uptime | sed 's/.*load average/load average/')"
printf "%-9s %-7s %12s %12s %8s\n" stored mode "cvq cert/s" "openssl c/s" ratio

for p in $PREFILL; do
	rm -rf "$W/our" "$W/ossl" "$W/out" "$W/oout"
	mkdir "$W/out" "$W/oout"
	our_ca "$W/our"
	openssl_ca "$W/ossl"
	export CVQ_CA_CONFIG=$W/our/ca.conf
	# Prefill ours with real issuance (batches of the same CSRs), openssl's
	# index with as many entries.
	left=$p
	while [ "$left" -gt 0 ]; do
		k=$(( left < N ? left : N ))
		"$ADMIN" cert issue --profile service --out "$W/prefill.pem" $(head -n "$k" "$W/csrs.list") >/dev/null
		rm -f "$W/out"/*.pem
		left=$((left - k))
	done
	openssl_prefill "$W/ossl" "$p" V

	# bash's time: wall clock, and the CPU time (user + sys) each used,
	# which other jobs on the machine move less. REPEAT times, each from
	# the same prefilled stores, alternating; then the best of each side
	# (what a quiet moment of a shared machine gives both).
	TIMEFORMAT='%R %U %S'
	cp -a "$W/our" "$W/our.0"
	cp -a "$W/ossl" "$W/ossl.0"
	: > "$W/t.all"
	for ((r = 1; r <= REPEAT; r++)); do
		if [ "$r" -gt 1 ]; then
			rm -rf "$W/our" "$W/ossl" "$W/oout"
			cp -a "$W/our.0" "$W/our"
			cp -a "$W/ossl.0" "$W/ossl"
			mkdir "$W/oout"
		fi
		{ time "$ADMIN" cert issue --profile service --out "$W/our.batch.pem" \
			$(cat "$W/csrs.list") >/dev/null; } 2> "$W/t.our"
		{ time openssl ca -batch -config "$W/ossl/ca.cnf" -passin "file:$W/ossl.pass" -notext \
			-outdir "$W/oout" -out "$W/ossl.batch.pem" -infiles $(cat "$W/csrs.list") \
			>/dev/null 2>&1; } 2> "$W/t.ossl"
		read -r ra ua sa < "$W/t.our"
		read -r rb ub sb < "$W/t.ossl"
		ca=$(python3 -c "print($ua + $sa)")
		cb=$(python3 -c "print($ub + $sb)")
		echo "$ra $ca $rb $cb" >> "$W/t.all"
		printf "%-9s %-7s %12.0f %12.0f %7sx   CPU s: %.2f / %.2f = %sx\n" "$p" batch \
			"$(python3 -c "print($N / $ra)")" "$(python3 -c "print($N / $rb)")" "$(ratio "$rb" "$ra")" \
			"$ca" "$cb" "$(ratio "$cb" "$ca")"
	done
	if [ "$REPEAT" -gt 1 ]; then
		python3 - "$W/t.all" "$N" "$p" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
n, p = int(sys.argv[2]), sys.argv[3]
ra, ca, rb, cb = (min(r[i] for r in rows) for i in range(4))
print(f"{p:<9} {'best':<7} {n / ra:12.0f} {n / rb:12.0f} {rb / ra:7.1f}x   CPU s: {ca:.2f} / {cb:.2f} = {cb / ca:.1f}x"
      f"   (best of {len(rows)} each)")
PY
	fi
	rm -rf "$W/our.0" "$W/ossl.0"

	t0=$(now)
	while read -r c; do
		"$ADMIN" cert issue --no-agent --profile service --out "$W/out/s.pem" "$c"
	done < "$W/single.list"
	t1=$(now)
	while read -r c; do
		openssl ca -batch -config "$W/ossl/ca.cnf" -passin "file:$W/ossl.pass" -notext \
			-out "$W/oout/s.pem" -in "$c" 2>/dev/null
	done < "$W/single.list"
	t2=$(now)
	a=$(python3 -c "print($SINGLE / ($t1 - $t0))")
	b=$(python3 -c "print($SINGLE / ($t2 - $t1))")
	printf "%-9s %-7s %12.0f %12.0f %7sx\n" "$p" single "$a" "$b" "$(ratio "$a" "$b")"
	"$ADMIN" ca-agent start --pass "file:$W/our.pass" --idle 0 >/dev/null
	t0=$(now)
	while read -r c; do
		"$ADMIN" cert issue --profile service --out "$W/out/s.pem" "$c"
	done < "$W/single.list"
	t1=$(now)
	"$ADMIN" ca-agent stop >/dev/null
	a=$(python3 -c "print($SINGLE / ($t1 - $t0))")
	printf "%-9s %-7s %12.0f %12.0f %7sx\n" "$p" agent "$a" "$b" "$(ratio "$a" "$b")"
	# Both stores hold what they issued.
	[ "$(sqlite3 "$W/our/ca.db" 'SELECT count(*) FROM certs')" -ge $((p + N + 2 * SINGLE)) ] ||
		echo "WARNING: our store is short" >&2
	echo "# load: $(uptime | sed 's/.*load average/load average/')"
done
