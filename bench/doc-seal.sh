#!/usr/bin/env bash
# Documents sealed per second: `cvq-admin document sign` (PAdES B-B, one
# process per document) against poppler's `pdfsig -add-signature` (one
# process per document, its only mode) on the same 1-page and 100-page
# PDFs (cvq-mkpdf, cairo), in one run:
#   1. pdfsig, RSA-2048 key in an NSS database (software; poppler 22.12
#      cannot sign with an EC key: "unable update signature")
#   2. ours, the same RSA-2048 key as a PEM file
#   3. ours, an EC P-256 key on SoftHSM2 (the seal's real home)
# Every output is checked by pdfsig ("Signature is Valid").
#
#   CVQ_BENCH_N=50 bench/doc-seal.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
exec_bench() {
	[ -n "${CVQ_BENCH:-}" ] || exec tests/bench/with-bench --cards '' --softhsm -- "$0" "$@"
}
exec_bench "$@"
N=${CVQ_BENCH_N:-50}
B=${CVQ_BUILD:-$src/build}
ADMIN=$B/tools/cvq-admin/cvq-admin
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

"$B/tests/integration/document/cvq-mkpdf" p1.pdf 1
"$B/tests/integration/document/cvq-mkpdf" p100.pdf 100
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj "/CN=Bench CA" -days 10 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection,1.3.6.1.5.5.7.3.36\n' > seal.ext
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj "/O=Ville/CN=Sceau RSA" -out rsa.csr 2>/dev/null
openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -days 5 -extfile seal.ext -out rsa.pem 2>/dev/null
PIN=$(cat "$CVQ_SOFTHSM_PIN_FILE")
(umask 077; printf '%s\n' "$PIN" > pin)
P11PIN=$PIN pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test --login --pin env:P11PIN \
	--keypairgen --key-type EC:prime256v1 --label seal --id 5e >/dev/null
openssl req -new -engine pkcs11 -keyform engine -key "pkcs11:token=cvq-test;object=seal;type=private" -passin file:pin \
	-subj "/O=Ville/CN=Sceau HSM" -out ec.csr 2>/dev/null
openssl x509 -req -in ec.csr -CA ca.pem -CAkey ca.key -days 5 -extfile seal.ext -out ec.pem 2>/dev/null
KEY="pkcs11:token=cvq-test;object=seal;type=private?module-path=$CVQ_SOFTHSM_MODULE"
mkdir nss
certutil -N -d sql:nss --empty-password
openssl pkcs12 -export -inkey rsa.key -in rsa.pem -name seal -passout pass: -out rsa.p12
pk12util -i rsa.p12 -d sql:nss -W "" >/dev/null 2>&1

rate() { # label seconds
	python3 -c 'import sys; n=int(sys.argv[1]); s=float(sys.argv[2]); print(f"{n/s:.1f}")' "$N" "$2"
}
time_loop() { # fn: N runs, prints seconds
	local t0 t1
	t0=$(date +%s.%N)
	for i in $(seq "$N"); do "$@" "$i"; done
	t1=$(date +%s.%N)
	python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1"
}
peer() { pdfsig -add-signature -nssdir sql:nss -nick seal "$DOC" "out-peer-$1.pdf" >/dev/null 2>&1; }
ours_file() { "$ADMIN" document sign --key rsa.key --cert rsa.pem --chain ca.pem --out "out-file-$1.pdf" "$DOC" >/dev/null; }
ours_hsm() { "$ADMIN" document sign --key "$KEY" --pin-source "file:$W/pin" --cert ec.pem --chain ca.pem --out "out-hsm-$1.pdf" "$DOC" >/dev/null; }
check() { pdfsig -nocert "$1" 2>/dev/null | grep -q "Signature is Valid" || { echo "not valid: $1" >&2; exit 1; }; }

printf '%-10s %-34s %10s %8s\n' document mode docs/s ratio
for DOC in p1.pdf p100.pdf; do
	tp=$(time_loop peer); check out-peer-1.pdf
	tf=$(time_loop ours_file); check out-file-1.pdf
	th=$(time_loop ours_hsm); check out-hsm-1.pdf
	rp=$(rate x "$tp"); rf=$(rate x "$tf"); rh=$(rate x "$th")
	printf '%-10s %-34s %10s %8s\n' "$DOC" "pdfsig -add-signature (RSA, NSS)" "$rp" "1.0x"
	printf '%-10s %-34s %10s %8s\n' "$DOC" "cvq-admin document sign (RSA file)" "$rf" "$(python3 -c "print(f'{$rf/$rp:.1f}x')")"
	printf '%-10s %-34s %10s %8s\n' "$DOC" "cvq-admin document sign (SoftHSM)" "$rh" "$(python3 -c "print(f'{$rh/$rp:.1f}x')")"
	rm -f out-*.pdf
done
echo "N=$N per mode, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
