# Shared helpers for the cvq-vcard integration tests (sourced; run under
# tests/bench/with-bench). The PINs here are the throw-away factory
# defaults of a fresh virtual card.
set -euo pipefail
# shellcheck source=../../bench/lib.sh
. "$CVQ_SRC/tests/bench/lib.sh"

R0="$CVQ_READER_0"
W="$CVQ_BENCH/work"
mkdir -p "$W"
cd "$W"

step() { echo "--- $*"; }

# yubico-piv-tool on reader 0, default management key.
ykpiv() { yubico-piv-tool -r "$R0" "$@"; }
# The same with secrets on stdin, one per word of $1 (PIN; or old, new,
# new again): without a controlling terminal yubico-piv-tool reads PINs,
# PUKs and keys from there, so none is on a command line.
yks() {
	local secrets=$1
	shift
	# shellcheck disable=SC2086
	printf '%s\n' $secrets | setsid yubico-piv-tool -r "$R0" "$@"
}

# A throw-away CA that certifies public keys generated on the card.
make_ca() {
	[ -f ca.key ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.pem -subj /CN=vcard-test-ca -days 2 2>/dev/null
}

# gen_slot SLOT ALG: generate a key on the card, certify it, import the
# certificate (OpenSC shows a key only where a certificate exists).
gen_slot() {
	local slot=$1 alg=$2
	make_ca
	ykpiv -s "$slot" -A "$alg" -a generate -o "pub$slot.pem" >/dev/null
	openssl req -new -key ca.key -subj "/CN=slot $slot" -out "$slot.csr" 2>/dev/null
	openssl x509 -req -in "$slot.csr" -CA ca.pem -CAkey ca.key \
		-force_pubkey "pub$slot.pem" -out "$slot.pem" -days 2 2>/dev/null
	ykpiv -s "$slot" -a import-certificate -i "$slot.pem" >/dev/null
}

# The test PIN in a file, read back only for pkcs11-tool, which has no
# other non-interactive way to take it.
printf '%s' 123456 > pin.txt
chmod 600 pin.txt

p11() { pkcs11-tool --module "$CVQ_OPENSC_MODULE" "$@"; }
