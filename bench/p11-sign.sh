#!/usr/bin/env bash
# p11-sign — signatures per second through libcvqp11 against a loop of raw
# C_SignInit/C_Sign calls on the same SoftHSM2 key, in one process and one
# run (blocks of 50 interleaved), for an EC P-256 and an RSA-2048 key.
#
#   bench/p11-sign.sh [BUILD_DIR]        (default: build)
#   P11_BENCH_EC=N P11_BENCH_RSA=N       signatures per key (3000 / 600)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$src/build}
drv=$build/tests/integration/pkcs11/p11drv
[ -x "$drv" ] || { echo "p11-sign: build first (ninja -C $build)" >&2; exit 2; }

if [ -z "${CVQ_BENCH:-}" ]; then
	exec "$src/tests/bench/with-bench" --cards '' --softhsm -- "$0" "$build"
fi

w=$CVQ_BENCH/p11bench
mkdir -p "$w"
install -m 600 "$CVQ_SOFTHSM_PIN_FILE" "$w/pin"
export P11DRV_PIN_FILE=$w/pin
m=$CVQ_SOFTHSM_MODULE
"$drv" "$m" keygen pkcs11:token=cvq-test ec256 bench-ec 01 "$w/ec.pub" >/dev/null 2>&1
"$drv" "$m" keygen pkcs11:token=cvq-test rsa2048 bench-rsa 02 "$w/rsa.pub" >/dev/null 2>&1

echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores; SoftHSM2 $(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null), libp11 $(pkg-config --modversion libp11), OpenSSL $(openssl version | cut -d' ' -f2)"
printf '%-22s %10s %12s %14s %10s\n' key signatures "raw C_Sign/s" "libcvqp11/s" overhead
for k in "ECDSA P-256 SHA-256:01:${P11_BENCH_EC:-3000}" "RSA-2048 PKCS#1 SHA-256:02:${P11_BENCH_RSA:-600}"; do
	IFS=: read -r name id n <<< "$k"
	out=$("$drv" "$m" bench "pkcs11:token=cvq-test;id=%$id" "$n" 2>/dev/null)
	raw=$(sed -n 's/.*raw_per_s=\([0-9.]*\).*/\1/p' <<< "$out")
	lib=$(sed -n 's/.*lib_per_s=\([0-9.]*\).*/\1/p' <<< "$out")
	ovh=$(sed -n 's/.*overhead_pct=\([-0-9.]*\).*/\1/p' <<< "$out")
	printf '%-22s %10s %12s %14s %9s%%\n' "$name" "$n" "$raw" "$lib" "$ovh"
done
