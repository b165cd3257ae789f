#!/usr/bin/env bash
# Batch issuance counted in instructions (callgrind, every thread), ours
# against `openssl ca -infiles` on the same CSRs: a measure the load of a
# shared machine does not move, where bench/ca-issue.sh's wall-clock rates
# do. Then what each check before the signature costs in our batch.
#   CVQ_BENCH_N=2000 CVQ_BENCH_PREFILL=10000 bench/ca-issue-instr.sh
# CVQ_BENCH_PEER=0: ours only (bench/ca-checks.sh). Instructions, not time:
# our batch also spreads over every CPU, which `openssl ca` does not; that
# part is bench/ca-issue.sh's. Both whole processes (start, key decryption,
# files) divided by N: at N=2000 the start-up is under 1 % of either.
. "$(dirname "$0")/ca-lib.sh" || exit 2
# Everything below removes under $W: never without it (set -u is on).
[ -n "${W:-}" ] && [ -d "$W" ] && [ "$W" != / ] || exit 2
N=${CVQ_BENCH_N:-2000}
PREFILL=${CVQ_BENCH_PREFILL:-10000}
PEER=${CVQ_BENCH_PEER:-1}
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
	{ echo "needs valgrind (callgrind)" >&2; exit 2; }
mkdir "$W/oout"
# PREFILL certificates in our store first (issued, N at a time), as many
# entries in openssl's index (below).
csrs_and_ca "$N" "$PREFILL"
load0=$(uptime | sed 's/.*load average: //')

# total CALLGRIND_OUT: the program's instructions, every thread
total() { callgrind_annotate "$1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,; }
valgrind --tool=callgrind --callgrind-out-file="$W/our.cg" "$ADMIN" cert issue --profile service \
	--out "$W/our.pem" $(cat "$W/csrs.list") >/dev/null 2>"$W/our.vg"
[ "$(grep -c 'BEGIN CERTIFICATE' "$W/our.pem")" -eq "$N" ] || { echo "ours: not $N certificates" >&2; exit 1; }
a=$(total "$W/our.cg")
echo "# $N P-256 service certificates, one batch, $PREFILL already stored; $(nproc) CPUs; $(openssl version)"
printf "%-34s %12s\n" "instructions per certificate" "(callgrind, every thread, whole process / $N)"
printf "%-34s %12d\n" "cvq-admin cert issue (batch)" $((a / N))
if [ "$PEER" != 0 ]; then
	openssl_ca "$W/ossl"
	openssl_prefill "$W/ossl" "$PREFILL" V
	valgrind --tool=callgrind --callgrind-out-file="$W/ossl.cg" openssl ca -batch \
		-config "$W/ossl/ca.cnf" -passin "file:$W/ossl.pass" -notext -outdir "$W/oout" \
		-out "$W/ossl.pem" -infiles $(cat "$W/csrs.list") >/dev/null 2>"$W/ossl.vg"
	# (-out keeps the last certificate only: count -outdir)
	[ "$(ls "$W/oout" | wc -l)" -eq "$N" ] || { echo "openssl: not $N certificates" >&2; exit 1; }
	b=$(total "$W/ossl.cg")
	printf "%-34s %12d\n" "openssl ca -infiles" $((b / N))
	printf "%-34s %11sx\n" "ratio (openssl / cvq)" "$(ratio "$b" "$a")"
fi

# Each check run before every signature: inclusive instructions where it
# is called, per certificate and as a share of the whole issuance.
callgrind_annotate --inclusive=yes --tree=caller --threshold=100 "$W/our.cg" 2>/dev/null > "$W/our.txt"
# calls FUNCTION: its inclusive instructions (nothing when never called)
calls() { { grep -E "^ *[0-9,]+ .*\*  .*:$1 " "$W/our.txt" || true; } | head -1 | sed 's/^ *\([0-9,]*\) .*/\1/' | tr -d ,; }
printf "%-34s %12s %8s\n" "check (before each signature)" "instr/cert" share
for f in ca_policy_key ca_policy_subject ca_check_tbs_der EVP_PKEY_public_check_quick ca_attest_check; do
	i=$(calls "$f"); i=${i:-0}
	printf "%-34s %12d %7s%%\n" "$f" $((i / N)) "$(python3 -c "print(f'{100 * $i / $a:.2f}')")"
done
# The store row and its audit entry (per certificate, inclusive), and how
# cvq-admin gets the CSRs to the batch (batch_load: by the batch's threads).
printf "%-34s %12s %8s\n" "store and audit" "instr/cert" share
for f in ca_cert_insert_der ca_audit_append entry_hash last_entry ca_tx_commit batch_load cvq_admin_read_file; do
	i=$(calls "$f"); i=${i:-0}
	printf "%-34s %12d %7s%%\n" "$f" $((i / N)) "$(python3 -c "print(f'{100 * $i / $a:.2f}')")"
done
echo "# load average $load0 .. $(uptime | sed 's/.*load average: //') (instruction counts do not depend on it)"
