#!/usr/bin/env bash
# bench/card-apdus.sh — APDUs and wall time per card operation, cardlib
# (cvq-admin card ...) against OpenSC (pkcs11-tool / pkcs15-tool) and
# yubico-piv-tool, on the same cvq-vcard card, APDUs counted from the
# card's trace. Prints a Markdown table with the ratios.
#
#   bench/card-apdus.sh [BUILD_DIR] [RUNS]      (default: build, 5)
#
# Needs root or user namespaces (it runs on tests/bench/with-bench).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
runs=${2:-5}

if [ -z "${CVQ_BENCH:-}" ]; then
	export CVQ_SRC=$src CVQ_BUILD=$build
	export CVQ_VCARD=${CVQ_VCARD:-$build/tools/cvq-vcard/cvq-vcard}
	exec "$src/tests/bench/with-bench" --cards 0,1 -- "$0" "$build" "$runs"
fi

. "$src/tests/bench/lib.sh"
ADMIN=$build/tools/cvq-admin/cvq-admin
TOOL=$build/tests/integration/cardlib/cardtool
M=${CVQ_OPENSC_MODULE:?}
R=$CVQ_READER_0
W=$CVQ_BENCH/b
mkdir -p "$W"; chmod 700 "$W"
(umask 077; echo 123456 > "$W/pin"; head -c 32 /dev/urandom > "$W/master")
$TOOL setup --reader "$R" --master-file "$W/master" --cert-dir "$W" > /dev/null
head -c 1000 /dev/urandom > "$W/data"
openssl dgst -sha256 -binary "$W/data" > "$W/digest"

# measure NAME CMD...: median wall ms and APDUs per run over $runs runs.
declare -A ms apdus
measure() {
	local name=$1 i t0 t1 a0 a1 list=() alist=()
	shift
	for ((i = 0; i < runs; i++)); do
		a0=$(bench_apdu_count 0)
		t0=$(date +%s%N)
		"$@" > /dev/null 2>&1 || { echo "bench: '$*' failed" >&2; exit 1; }
		t1=$(date +%s%N)
		a1=$(bench_apdu_count 0)
		list+=($(( (t1 - t0) / 1000000 )))
		alist+=($((a1 - a0)))
	done
	ms[$name]=$(printf '%s\n' "${list[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
	apdus[$name]=$(printf '%s\n' "${alist[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
}

measure cardlib-info $ADMIN card info --reader "$R"
measure opensc-info pkcs15-tool --dump
measure yubico-info yubico-piv-tool -r "$R" -a status
measure cardlib-sign9a $ADMIN card sign --reader "$R" --slot 9a --in "$W/data" --out "$W/s" --pin-source "file:$W/pin"
measure opensc-sign9a pkcs11-tool --module "$M" --slot-index 0 --sign --id 01 -m ECDSA --pin 123456 -i "$W/digest" -o "$W/s"
measure cardlib-sign9c $ADMIN card sign --reader "$R" --slot 9c --in "$W/data" --out "$W/s" --pin-source "file:$W/pin"
measure opensc-sign9c pkcs11-tool --module "$M" --slot-index 0 --sign --id 02 -m ECDSA --pin 123456 -i "$W/digest" -o "$W/s"
# In one process on a selected card (the daemon's case): APDUs per signature.
inproc=$($TOOL sign-n --reader "$R" --pin-source "file:$W/pin" --count 10)

# Issue #17: the authenticity check of a genuine card (enrolled by
# cvq-admin in reader 1: signed CHUID, Security Object, 9E), as cvqd runs
# it at insertion and as `card info` does. No peer does this check.
export CVQ_CA_CONFIG=$W/ca/ca.conf
(umask 077; printf 'bench-pass\n' > "$W/ca.pass")
# The virtual card has no factory attestation (F9): admitted here.
$ADMIN ca init --dir "$W/ca" --pass "file:$W/ca.pass" --unattested admit --subject "/O=Bench/CN=Bench CA" > /dev/null
$ADMIN card master-key --out "$W/ca/master.key" > /dev/null
$ADMIN citizen add --id 0001 --given Marie --family Dupont > /dev/null
# The content signer needs two officers: us and OFF2, another uid (docs/ca.md).
. "$src/scripts/lib/officers.sh"
officers_roles "$W/ca/ca.conf"
officers_content_signer "$W/ca/ca.conf" "$W/ca.pass" > /dev/null
$ADMIN card enrol --citizen 0001 --reader "$CVQ_READER_1" --letter "$W/letter.txt" > /dev/null
auth=$($TOOL authentic --reader "$CVQ_READER_1" --trust "$W/ca/ca.pem")

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.1fx' % (b/a) if a else '-')" "$1" "$2"; }
echo "| operation | cardlib APDUs | cardlib ms | peer | peer APDUs | peer ms | APDU ratio | time ratio |"
echo "|---|---|---|---|---|---|---|---|"
row() {
	echo "| $1 | ${apdus[cardlib-$2]} | ${ms[cardlib-$2]} | $3 | ${apdus[$4-$2]} | ${ms[$4-$2]} | $(ratio "${apdus[cardlib-$2]}" "${apdus[$4-$2]}") | $(ratio "${ms[cardlib-$2]}" "${ms[$4-$2]}") |"
}
row info info "pkcs15-tool --dump" opensc
row info info "yubico-piv-tool -a status" yubico
row "sign 9A" sign9a "pkcs11-tool --sign --id 01" opensc
row "sign 9C" sign9c "pkcs11-tool --sign --id 02" opensc
echo
echo "Ratios are peer / cardlib (higher = cardlib does better). Median of $runs runs;"
echo "each run is a whole process (connect, select, read, sign, disconnect)."
echo "In one process on a selected card: $inproc"
echo
echo "Authenticity check (CHUID signature, Security Object, 9E challenge) of an enrolled card:"
echo "$auth" | sed 's/^/- /'

