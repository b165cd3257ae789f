#!/usr/bin/env bash
# daemon-api — requests per second of cvqd's GET /v1/status and POST
# /v1/verify with concurrent clients, beside peers in the same run:
#   status: nginx serving the same JSON as a static file on a Unix socket
#           (the cost of HTTP on a Unix socket, no work behind it);
#   verify: `openssl cms -verify -crl_check` run once per receipt (what a
#           partner does with plain openssl).
# Then, on a cvq-vcard card, seconds per signature end to end through
# cvqd (/v1/sign, scripted pinentry) against `pkcs11-tool --sign` with
# OpenSC on the same card, with the card's APDUs counted from its trace.
#
#   bench/daemon-api.sh [BUILD_DIR]          (default: build)
#   DAEMON_BENCH_N=N   requests per measurement (default 3000)
#   DAEMON_BENCH_SIGN=N  signatures per tool (default 10)
# Clients: one curl process with --parallel (keep-alive connections).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$src/build}
[ -x "$build/daemon/cvqd" ] || { echo "daemon-api: build first (ninja -C $build)" >&2; exit 2; }
if [ -z "${CVQ_BENCH:-}" ]; then
	exec "$src/tests/bench/with-bench" --cards 0 -- "$0" "$build"
fi
export CVQ_SRC=$src CVQ_BUILD=$build CVQD=$build/daemon/cvqd
. "$src/tests/bench/lib.sh"
. "$src/tests/integration/daemon/lib.sh"
N=${DAEMON_BENCH_N:-3000}
NSIGN=${DAEMON_BENCH_SIGN:-10}
W=$CVQ_BENCH/dbench
mkdir -p "$W"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/soft.key" 2>/dev/null
openssl ec -in "$PKI/soft.key" -pubout -out "$PKI/soft.pub" 2>/dev/null
pki_issue "$PKI" soft "$PKI/soft.pub" 0x42 "Marie Dupont"
card_enrol 0 0x1000 "Marie Dupont"
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"
content='{"cvq":"receipt/1","nonce":"q83vEjRWeJCrze8SNFZ4kA","time":"TIME","transaction":{"amount":"45.00","currency":"EUR","payee":"École de musique","reference":"INSCR-2026-0042","type":"payment"}}'
printf '%s' "${content/TIME/$(date -u +%Y-%m-%dT%H:%M:%SZ)}" > "$W/content.json"
openssl cms -sign -binary -nodetach -md sha256 -in "$W/content.json" -signer "$PKI/soft.pem" \
	-inkey "$PKI/soft.key" -outform DER -out "$W/receipt.der"
printf '{"receipt":"%s"}' "$(base64 -w0 < "$W/receipt.der")" > "$W/verify.json"

export CVQ_FAKE_PIN_FILE=$W/pin.txt
echo 123456 > "$CVQ_FAKE_PIN_FILE"
cvqd_config "$W/cvqd.conf" "[daemon]" "log_level = warning" "max_clients = 128" "max_clients_per_caller = 128"
cvqd_start "$W/cvqd.conf"
wait_status '.readers[0].usable'
api GET /v1/status | cut -d' ' -f2- > "$W/status.json"

cat > "$W/nginx.conf" <<EOC
worker_processes 1;
user root;
pid $W/nginx.pid;
error_log $W/nginx.err;
events { worker_connections 256; }
http {
	access_log off;
	server {
		listen unix:$W/nginx.sock;
		location /v1/status { default_type application/json; alias $W/status.json; }
	}
}
EOC
nginx -c "$W/nginx.conf"
trap 'kill -TERM "$CVQD_PID" 2>/dev/null; kill "$(cat "$W/nginx.pid")" 2>/dev/null || true' EXIT

# rate SOCKET CONC URL [curl args]: requests/s of N requests, all 200 or fail.
rate() {
	local sock=$1 conc=$2 url=$3 t0 t1 ok
	shift 3
	t0=$(date +%s.%N)
	curl -s --no-progress-meter --unix-socket "$sock" --parallel --parallel-immediate --parallel-max "$conc" \
		-o /dev/null -w '%{http_code}\n' "$@" "$url?[1-$N]" > "$W/codes"
	t1=$(date +%s.%N)
	ok=$(grep -c '^200$' "$W/codes" || true)
	[ "$ok" = "$N" ] || { echo "daemon-api: $ok/$N answers were 200 for $url: $(sort "$W/codes" | uniq -c | head -3)" >&2; exit 1; }
	echo "$N / ($t1 - $t0)" | bc -l
}

echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores; cvqd $("$CVQD" --version | cut -d' ' -f2), libmicrohttpd $(pkg-config --modversion libmicrohttpd), nginx $(nginx -v 2>&1 | cut -d/ -f2), OpenSSL $(openssl version | cut -d' ' -f2); $N requests per cell"
printf '%-34s %6s %12s %12s %8s\n' measurement conc "cvqd req/s" "peer req/s" ratio
for c in 1 8 32; do
	a=$(rate "$CVQ_BENCH/cvqd.sock" "$c" http://cvqd/v1/status)
	b=$(rate "$W/nginx.sock" "$c" http://nginx/v1/status)
	printf '%-34s %6d %12.0f %12.0f %8.2f\n' "GET /v1/status vs nginx static" "$c" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
NV=$((N / 3))
for c in 1 8 32; do
	a=$(N=$NV rate "$CVQ_BENCH/cvqd.sock" "$c" http://cvqd/v1/verify -H 'Content-Type: application/json' --data-binary @"$W/verify.json")
	t0=$(date +%s.%N)
	seq 1 "$NV" | xargs -P "$c" -I{} openssl cms -verify -binary -inform DER -in "$W/receipt.der" \
		-CAfile "$PKI/ca-crl.pem" -crl_check -out /dev/null 2>/dev/null
	t1=$(date +%s.%N)
	b=$(echo "$NV / ($t1 - $t0)" | bc -l)
	printf '%-34s %6d %12.0f %12.0f %8.2f\n' "POST /v1/verify vs openssl cms" "$c" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done

# Signatures on the card: cvqd end to end (PIN dialog included) against
# pkcs11-tool --sign through OpenSC, sequential, same card, same slot 9C.
tx='{"transaction":{"type":"payment","payee":"Piscine","amount":"3.00","currency":"EUR","reference":"B-1"}}'
a0=$(bench_apdu_count 0)
t0=$(date +%s.%N)
for ((i = 0; i < NSIGN; i++)); do
	[ "$(api POST /v1/sign "$tx" | cut -d' ' -f1)" = 200 ] || { echo "daemon-api: sign failed" >&2; exit 1; }
done
t1=$(date +%s.%N)
a1=$(bench_apdu_count 0)
ds=$(echo "($t1 - $t0) / $NSIGN" | bc -l)
da=$(( (a1 - a0) / NSIGN ))
head -c 32 /dev/urandom > "$W/data"
install -m 600 /dev/null "$W/p11pin"; echo 123456 > "$W/p11pin"
t0=$(date +%s.%N)
for ((i = 0; i < NSIGN; i++)); do
	pkcs11-tool --module "$CVQ_OPENSC_MODULE" --login --pin "$(cat "$W/p11pin")" --sign -m ECDSA \
		--id 02 -i "$W/data" -o "$W/sig" > /dev/null 2>&1 || { echo "daemon-api: pkcs11-tool failed" >&2; exit 1; }
done
t1=$(date +%s.%N)
a2=$(bench_apdu_count 0)
ps=$(echo "($t1 - $t0) / $NSIGN" | bc -l)
pa=$(( (a2 - a1) / NSIGN ))
# The card's share: APDUs times the relay's round trip, taken as the 10th
# percentile of the gaps between consecutive commands in the trace (vpcd
# polls; the virtual card itself answers in microseconds). The rest of a
# signature is host time.
rt=$(awk '/ > /{if (p) print $1 - p; p = $1}' "$CVQ_BENCH/card0.trace" | sort -g | \
	awk '{v[NR] = $1} END {printf "%.4f", v[int(NR / 10) + 1]}')
dc=$(echo "$da * $rt" | bc -l)
pc=$(echo "$pa * $rt" | bc -l)
printf '%-34s %12s %12s %8s\n' "signature on the card (9C)" "cvqd" "pkcs11-tool" ratio
printf '%-34s %12.3f %12.3f %8.2f\n' "  seconds per signature" "$ds" "$ps" "$(echo "$ds / $ps" | bc -l)"
printf '%-34s %12d %12d\n' "  card APDUs per signature" "$da" "$pa"
echo "# pkcs11-tool takes the PIN on its command line (a peer's way, test PIN only); cvqd asks a scripted pinentry."
printf '%-34s %12.3f %12.3f\n' "  card seconds (APDUs x ${rt}s)" "$dc" "$pc"
printf '%-34s %12.3f %12.3f %8.2f\n' "  host seconds (end to end - card)" "$(echo "$ds - $dc" | bc -l)" \
	"$(echo "$ps - $pc" | bc -l)" "$(echo "($ds - $dc) / ($ps - $pc)" | bc -l)"
echo "# host seconds include the PIN dialog (a bash script speaking Assuan) for cvqd, process start and OpenSC's card detection for pkcs11-tool."
