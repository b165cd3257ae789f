# Helpers for the issuance tests (issue #7). Source it from a script run
# under tests/bench/with-bench; it sources tests/bench/lib.sh.
#   admin_setup [--no-content-signer]
#                          a CA, its master secret and citizen 0001 in $W, and
#                          (unless told not to) its content signer made by two
#                          officers: make_content_signer
#   make_content_signer [CONF [PASSFILE]]
#                          the PIV content signer of the CA of CONF (default
#                          $CVQ_CA_CONFIG, passphrase $W/ca.pass) the two-officer
#                          way: we `card content-signer init`, officer $OFF2 (another
#                          uid, scripts/lib/officers.sh) approves, we --finish.
#                          With no officer in CONF's [roles] it appends officer =
#                          us, $OFF2; a test with roles of its own names $OFF2 one.
#   admin_enrol ID I       enrol citizen ID on the card in reader I
#   admin_pin LETTER       the PIN written in a PIN letter
#   admin_card_cert I SLOT write card I's certificate of SLOT (9a|9c) to stdout (PEM)
#   admin_ocsp_start       an OCSP responder on 127.0.0.1:$OCSP_PORT
#   admin_ocsp CERT        openssl ocsp's verdict line for CERT
#   admin_factory NAME     a card factory's attestation root and F9 certificate (in $F)
#   admin_install_f9 NAME R  that factory's F9 key and certificate onto the blank card in R
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"

A=${CVQ_ADMIN:?}
ADMIN=${ADMIN:-$A}  # scripts/lib/officers.sh's name for it
. "$CVQ_SRC/scripts/lib/officers.sh"
W=$CVQ_BENCH/admin
OCSP_PORT=18080
F=${F:-$W/factory}
export CVQ_CA_CONFIG=$W/ca/ca.conf

admin_setup() {
	mkdir -p "$W"
	( umask 077; printf 'bench-ca-passphrase\n' > "$W/ca.pass" )
	"$A" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --unattested admit \
		--subject "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA" \
		--url "http://127.0.0.1:$OCSP_PORT" > /dev/null
	"$A" card master-key --out "$W/ca/master.key" > /dev/null
	"$A" citizen add --id 0001 --given Marie --family Dupont > /dev/null
	[ "${1:-}" = --no-content-signer ] || make_content_signer
}

# The content signer makes every card authentic, so no officer mints it
# alone (docs/ca.md "Two-person control"): an enrolment without it stops
# at step 8.
make_content_signer() {
	local conf=${1:-$CVQ_CA_CONFIG} pass=${2:-$W/ca.pass}
	# (ca init writes an empty [roles]: what matters is an officer line.)
	grep -q '^officer *=' "$conf" || officers_roles "$conf"
	officers_content_signer "$conf" "$pass" > /dev/null ||
		bench_fail "the content signer by two officers (us and $OFF2)"
}

admin_enrol() {
	"$A" card enrol --citizen "$1" --reader "$(eval echo "\$CVQ_READER_$2")" \
		--letter "$W/letter-$1.txt"
}

admin_pin() { sed -n 's/^ *Code PIN : *\([0-9]*\)$/\1/p' "$1"; }

admin_card_cert() {
	local reader
	reader=$(eval echo "\$CVQ_READER_$1")
	yubico-piv-tool -r "$reader" -a read-certificate -s "$2"
}

admin_ocsp_start() {
	"$A" ocsp serve --listen "127.0.0.1:$OCSP_PORT" > "$W/ocsp.log" 2>&1 &
	OCSP_PID=$!
	local n
	for ((n = 0; n < 200; n++)); do
		grep -q 'listening' "$W/ocsp.log" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$W/ocsp.log" >&2
	bench_fail "the OCSP responder did not start"
}

admin_ocsp() {
	openssl ocsp -issuer "$W/ca/ca.pem" -CAfile "$W/ca/ca.pem" -cert "$1" \
		-url "http://127.0.0.1:$OCSP_PORT/ocsp" -no_nonce 2>&1
}

# The GUID of the card in reader I (from cvq-admin card show --json).
admin_guid() {
	"$A" --json card show --reader "$(eval echo "\$CVQ_READER_$1")" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["guid"])'
}

# "good revoked ..." statuses of a card's certificates, one per line:
# "<profile> <status> <reason>"
admin_certs() {
	"$A" --json card show "$1" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["certificates"]:
    print(c["profile"], c["status"], c.get("reason") or "-")'
}

# The card in reader I works: both certificates chain to the CA and are
# good in the store, OpenSC signs with 9C using the PIN of LETTER.
admin_card_works() {
	local i=$1 letter=$2 guid
	admin_card_cert "$i" 9a > "$W/auth.pem"
	admin_card_cert "$i" 9c > "$W/sign.pem"
	openssl verify -CAfile "$W/ca/ca.pem" "$W/auth.pem" "$W/sign.pem" > /dev/null ||
		bench_fail "certificates do not chain to the CA"
	echo "card $i works: $(date)" > "$W/data.txt"
	openssl dgst -sha256 -binary "$W/data.txt" > "$W/data.sha256"
	CVQ_TEST_PIN=$(admin_pin "$letter") pkcs11-tool --module "$CVQ_OPENSC_MODULE" \
		--slot-index "$i" --login --pin env:CVQ_TEST_PIN --sign --mechanism ECDSA \
		--signature-format openssl --id 02 --input-file "$W/data.sha256" \
		--output-file "$W/data.sig" > /dev/null 2>&1 || bench_fail "OpenSC cannot sign"
	openssl x509 -in "$W/sign.pem" -pubkey -noout > "$W/sign.pub"
	openssl dgst -sha256 -verify "$W/sign.pub" -signature "$W/data.sig" "$W/data.txt" > /dev/null ||
		bench_fail "the signature does not verify"
	guid=$(admin_guid "$i")
	[ "$(admin_certs "$guid" | grep -c ' good ')" = 3 ] ||
		bench_fail "card $guid should have exactly 3 good certificates (9A, 9C, 9E): $(admin_certs "$guid")"
}

# admin_factory NAME: in $F (default $W/factory), a root and the F9 certificate it signs.
admin_factory() {
	mkdir -p "$F"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$F/$1-root.key" -subj "/O=cvq-vcard factory $1/CN=PIV Attestation Root" \
		-days 3650 -out "$F/$1-root.pem" 2> /dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$F/$1-f9.key" -subj "/O=cvq-vcard factory $1/CN=PIV Attestation F9" \
		-out "$F/$1-f9.csr" 2> /dev/null
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n' \
		> "$F/ext"
	openssl x509 -req -in "$F/$1-f9.csr" -CA "$F/$1-root.pem" -CAkey "$F/$1-root.key" \
		-set_serial 9 -days 3650 -extfile "$F/ext" -out "$F/$1-f9.pem" 2> /dev/null
}
# admin_install_f9 NAME READER: the factory's F9 key and certificate onto a blank card.
admin_install_f9() {
	yubico-piv-tool -r "$2" -a import-key -s f9 -i "$F/$1-f9.key" > /dev/null
	yubico-piv-tool -r "$2" -a import-certificate -s f9 -i "$F/$1-f9.pem" > /dev/null
}
