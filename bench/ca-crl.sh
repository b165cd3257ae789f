#!/usr/bin/env bash
# A full CRL with N revoked entries: cvq-admin crl against `openssl ca -gencrl`
# over the same number of entries (synthetic store rows / index.txt lines).
#
#   CVQ_BENCH_REVOKED=100000 CVQ_BENCH_RUNS=3 bench/ca-crl.sh
. "$(dirname "$0")/ca-lib.sh"
N=${CVQ_BENCH_REVOKED:-100000}
RUNS=${CVQ_BENCH_RUNS:-3}

our_ca "$W/our"
openssl_ca "$W/ossl"
export CVQ_CA_CONFIG=$W/our/ca.conf
now=$(date +%s)
sqlite3 "$W/our/ca.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO certs(serial, profile, subject, not_before, not_after, issued, status, revoked_at,
                  reason, sha256, der)
SELECT '4' || substr(hex(randomblob(16)), 2), 3, 'CN=prefill', $now, $now + 86400 * 365, $now,
       1, $now, 1, randomblob(32), x'00' FROM n;
SQL
openssl_prefill "$W/ossl" "$N" R

echo "# full CRL with $N revoked entries, best of $RUNS; $(nproc) CPUs; $(openssl version)"
best_a=999999 best_b=999999
for r in $(seq 1 "$RUNS"); do
	t0=$(now)
	"$ADMIN" crl --out "$W/our.crl"
	t1=$(now)
	openssl ca -gencrl -config "$W/ossl/ca.cnf" -passin "file:$W/ossl.pass" -out "$W/ossl.crl" 2>/dev/null
	t2=$(now)
	best_a=$(python3 -c "print(min($best_a, $t1 - $t0))")
	best_b=$(python3 -c "print(min($best_b, $t2 - $t1))")
done
ours=$(openssl crl -inform DER -in "$W/our.crl" -noout -text | grep -c "Serial Number")
theirs=$(openssl crl -in "$W/ossl.crl" -noout -text | grep -c "Serial Number")
openssl crl -inform DER -in "$W/our.crl" -CAfile "$W/our/ca.pem" -noout 2>&1 | grep -q "verify OK" ||
	echo "WARNING: our CRL does not verify" >&2
printf "%-10s %10s %10s\n" tool seconds entries
printf "%-10s %10.3f %10s\n" cvq "$best_a" "$ours"
printf "%-10s %10.3f %10s\n" openssl "$best_b" "$theirs"
echo "ratio (openssl / cvq): $(ratio "$best_b" "$best_a")x"
