#!/usr/bin/env bash
# Our batch issuance with two builds, alternately, each run from a copy of
# the same prefilled store: what a change to the batch path gains, without
# `openssl ca` (bench/ca-issue.sh) in between to add its own noise.
#   CVQ_BENCH_OLD=/work/build/old CVQ_BENCH_N=10000 CVQ_BENCH_PREFILL=10000 \
#   CVQ_BENCH_REPEAT=8 bench/ca-issue-ab.sh
# CVQ_BUILD (or CVQ_ADMIN) is the new build, CVQ_BENCH_OLD the old build's
# directory. Prints each run (wall, CPU = user + sys) and each side's median.
# bench/run runs every script: without an old build there is nothing to compare.
[ -n "${CVQ_BENCH_OLD:-}" ] || { echo "ca-issue-ab: set CVQ_BENCH_OLD to an old build (skipped)"; exit 0; }
. "$(dirname "$0")/ca-lib.sh" || exit 2
# Everything below removes under $W: never without it (set -u is on).
[ -n "${W:-}" ] && [ -d "$W" ] && [ "$W" != / ] || exit 2
OLD=$CVQ_BENCH_OLD/tools/cvq-admin/cvq-admin
[ -x "$OLD" ] || { echo "no $OLD" >&2; exit 2; }
N=${CVQ_BENCH_N:-10000}
PREFILL=${CVQ_BENCH_PREFILL:-10000}
REPEAT=${CVQ_BENCH_REPEAT:-8}

csrs_and_ca "$N" "$PREFILL"
cp -a "$W/our" "$W/our.0"
echo "# our batch of $N, $PREFILL stored, old and new alternately; $(nproc) CPUs"
echo "# load: $(uptime | sed 's/.*load average/load average/')"
printf "%-4s %-4s %8s %8s %10s\n" run side "wall s" "CPU s" "cert/s"
TIMEFORMAT='%R %U %S'
: > "$W/t.all"
for ((r = 1; r <= REPEAT; r++)); do
	# Each round in the other order: neither side always runs second.
	if ((r % 2)); then order="old new"; else order="new old"; fi
	for side in $order; do
		rm -rf "$W/our"
		cp -a "$W/our.0" "$W/our"
		if [ "$side" = old ]; then bin=$OLD; else bin=$ADMIN; fi
		{ time "$bin" cert issue --profile service --out "$W/batch.pem" \
			$(cat "$W/csrs.list") >/dev/null; } 2> "$W/t.one"
		[ "$(grep -c 'BEGIN CERTIFICATE' "$W/batch.pem")" -eq "$N" ] ||
			{ echo "$side: not $N certificates" >&2; exit 1; }
		read -r w u s < "$W/t.one"
		c=$(python3 -c "print(f'{$u + $s:.2f}')")
		echo "$side $w $c" >> "$W/t.all"
		printf "%-4d %-4s %8s %8s %10.0f\n" "$r" "$side" "$w" "$c" "$(python3 -c "print($N / $w)")"
	done
done
python3 - "$W/t.all" "$N" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
for side in ("old", "new"):
    w = [float(r[1]) for r in rows if r[0] == side]
    c = [float(r[2]) for r in rows if r[0] == side]
    print(f"median {side}: wall {statistics.median(w):.3f} s ({n / statistics.median(w):.0f} cert/s),"
          f" CPU {statistics.median(c):.2f} s; best wall {min(w):.3f} s")
PY
echo "# load: $(uptime | sed 's/.*load average/load average/')"
