#!/usr/bin/env bash
# The city TSA (`cvq-admin ocsp serve` with [tsa]: RFC 3161 over HTTP, each
# token committed to the audit chain, sync = full, before it is sent)
# against `openssl ts -reply` (same key, certificate, policy, digests,
# accuracy, ESSCertIDv2; it writes its serial file per token), the same
# SHA-256 request with nonce and certReq, in one run:
#   1. openssl ts -reply, one process per request (its only mode)
#   2. ours, one client process (curl) per request
#   3. ours, one client process in a loop on one kept-alive connection
#   4. ours, C such loops at once (C = CVQ_BENCH_CLIENTS)
# Every answer of 2-4 is checked Granted; one of each is checked by
# openssl ts -verify; the audit chain is verified at the end.
#
#   CVQ_BENCH_N=1000 CVQ_BENCH_CLIENTS=8 bench/ca-tsa.sh
. "$(dirname "$0")/ca-lib.sh"
N=${CVQ_BENCH_N:-1000}
C=${CVQ_BENCH_CLIENTS:-8}
PORT=${CVQ_BENCH_PORT:-18094}
POL=1.3.6.1.4.1.55555.1.9
SRV_PID=
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

our_ca "$W/ca"
export CVQ_CA_CONFIG=$W/ca/ca.conf
(umask 077; echo "bench tsa passphrase" > "$W/tsa.pass")
# The TSA certificate by two officers (us and OFF2, another uid: run as root).
. "$here/../scripts/lib/officers.sh"
officers_can || { echo "ca-tsa needs root: the TSA's second officer is another uid" >&2; exit 2; }
officers_roles "$W/ca/ca.conf"
chmod o+x "$W"
officers_tsa "$W/ca/ca.conf" "$W/ca.pass" --pass "file:$W/tsa.pass" --policy $POL >/dev/null
echo "payment of 12.50 EUR" > "$W/data"
openssl ts -query -data "$W/data" -sha256 -cert -out "$W/q.tsq" 2>/dev/null

cat > "$W/tsa.cnf" <<CNF
[tsa]
default_tsa = t
[t]
dir = $W
serial = \$dir/tsaserial
crypto_device = builtin
signer_cert = \$dir/ca/tsa.pem
certs = \$dir/ca/ca.pem
signer_key = \$dir/ca/tsa-key.pem
signer_digest = sha256
default_policy = $POL
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
echo 01 > "$W/tsaserial"

echo "TSA bench: N=$N requests per mode, C=$C, store on $(df -T "$W" | awk 'NR==2 {print $2}') ($W)"
# 1. openssl ts -reply, one process per request
t0=$(now)
for ((i = 0; i < N; i++)); do
	openssl ts -reply -config "$W/tsa.cnf" -queryfile "$W/q.tsq" -passin "file:$W/tsa.pass" \
		-out "$W/o.tsr" 2>/dev/null
done
t1=$(now)
openssl ts -verify -queryfile "$W/q.tsq" -in "$W/o.tsr" -CAfile "$W/ca/ca.pem" >/dev/null 2>&1 ||
	{ echo "openssl's token does not verify" >&2; exit 1; }
ossl=$(python3 -c "print($N / ($t1 - $t0))")

# Threads wait on the commit (fsync), not on a CPU: more of them than
# CPUs let the tokens of concurrent clients share one commit.
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads "${CVQ_BENCH_THREADS:-16}" > "$W/serve.out" 2>&1 &
SRV_PID=$!
for ((i = 0; i < 100; i++)); do grep -q listening "$W/serve.out" 2>/dev/null && break; sleep 0.05; done
URL=http://127.0.0.1:$PORT/tsa
CT='Content-Type: application/timestamp-query'

# 2. one curl per request
mkdir "$W/p"
t0=$(now)
for ((i = 0; i < N; i++)); do
	curl -sf -H "$CT" --data-binary "@$W/q.tsq" "$URL" -o "$W/p/$i.tsr"
done
t1=$(now)
per=$(python3 -c "print($N / ($t1 - $t0))")

# 3. one curl, N requests on one kept-alive connection; 4. C of them at once
loop_cfg() { # DIR FIRST COUNT
	local i
	for ((i = $2; i < $2 + $3; i++)); do printf 'url = "%s"\noutput = "%s/%d.tsr"\n' "$URL" "$1" "$i"; done
}
mkdir "$W/k" "$W/c"
loop_cfg "$W/k" 0 "$N" > "$W/k.cfg"
t0=$(now)
curl -sf -H "$CT" --data-binary "@$W/q.tsq" -K "$W/k.cfg"
t1=$(now)
keep=$(python3 -c "print($N / ($t1 - $t0))")
for ((j = 0; j < C; j++)); do loop_cfg "$W/c" $((j * N / C)) $((N / C)) > "$W/c$j.cfg"; done
t0=$(now)
for ((j = 0; j < C; j++)); do
	curl -sf -H "$CT" --data-binary "@$W/q.tsq" -K "$W/c$j.cfg" &
done
wait $(jobs -p | grep -v "^$SRV_PID$") 2>/dev/null || true
t1=$(now)
conc=$(python3 -c "print($((N / C * C)) / ($t1 - $t0))")

# Every answer granted, one of each mode verified by openssl, the audit whole.
for d in p k c; do
	n=$(ls "$W/$d" | wc -l)
	g=0
	for f in "$W/$d"/*.tsr; do
		openssl ts -reply -in "$f" -text 2>/dev/null | grep -q "^Status: Granted" && g=$((g + 1))
	done
	[ "$g" = "$n" ] || { echo "$d: $g of $n granted" >&2; exit 1; }
	openssl ts -verify -queryfile "$W/q.tsq" -in "$f" -CAfile "$W/ca/ca.pem" >/dev/null 2>&1 ||
		{ echo "$d: token does not verify" >&2; exit 1; }
done
"$ADMIN" audit verify >/dev/null || { echo "audit chain broken" >&2; exit 1; }
stamps=$("$ADMIN" --json tsa status | python3 -c "import json,sys; print(json.load(sys.stdin)['tokens'])")

printf '%-58s %10s %8s\n' "mode" "tokens/s" "ratio"
printf '%-58s %10.0f %8s\n' "openssl ts -reply, one process per request" "$ossl" "1.0"
printf '%-58s %10.0f %7s×\n' "cvq TSA, one curl per request" "$per" "$(ratio "$per" "$ossl")"
printf '%-58s %10.0f %7s×\n' "cvq TSA, one curl in a loop (kept-alive)" "$keep" "$(ratio "$keep" "$ossl")"
printf '%-58s %10.0f %7s×\n' "cvq TSA, $C curls in a loop at once" "$conc" "$(ratio "$conc" "$ossl")"
echo "audit: $stamps tsa.stamp entries, chain verified"
