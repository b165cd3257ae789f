#!/usr/bin/env bash
# What the input policy and the profile checker run before every signature
# cost in batch issuance (issue #13), counted in instructions by callgrind:
# exact and the same on a loaded machine, where wall-clock rates are not.
#   CVQ_BENCH_N=2000 bench/ca-checks.sh
. "$(dirname "$0")/ca-lib.sh"
N=${CVQ_BENCH_N:-2000}
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
	{ echo "needs valgrind (callgrind)" >&2; exit 2; }
mkdir "$W/csrs"
"$LOAD" csrs "$W/csrs" "$N" >/dev/null
our_ca "$W/our"
export CVQ_CA_CONFIG=$W/our/ca.conf
valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$ADMIN" cert issue --profile service \
	--out "$W/o.pem" "$W"/csrs/*.csr >/dev/null 2>"$W/vg.err"
callgrind_annotate --inclusive=yes "$W/cg.out" 2>/dev/null > "$W/cg.txt"
total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$W/cg.txt" | tr -d ,)
# calls FUNCTION: inclusive instructions of FUNCTION where it is called from
calls() { grep -E "=> .*:$1 \(" "$W/cg.txt" | head -1 | sed 's/^ *\([0-9,]*\) .*/\1/' | tr -d ,; }
echo "# $N P-256 service certificates, one batch; instructions per certificate (callgrind)"
printf "%-34s %12s %8s\n" check "instr/cert" share
printf "%-34s %12d %7s%%\n" "whole issuance (process)" $((total / N)) 100
for f in ca_policy_key ca_policy_subject ca_check_tbs_der EVP_PKEY_public_check_quick; do
	i=$(calls "$f"); i=${i:-0}
	printf "%-34s %12d %7s%%\n" "$f" $((i / N)) "$(python3 -c "print(f'{100 * $i / $total:.2f}')")"
done
