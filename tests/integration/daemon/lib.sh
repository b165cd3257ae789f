# Helpers for the cvqd integration tests. Source it after tests/bench/lib.sh.
#   pki_init DIR            throw-away city CA (EC P-256) with an openssl ca database
#   pki_issue DIR NAME PUB SERIAL CN [EXT]  certificate for a public key (PEM) -> DIR/NAME.pem
#                           (EXT: v3_card signature (default), v3_auth, v3_tsa)
#   pki_revoke DIR NAME     revoke DIR/NAME.pem
#   pki_crl DIR             (re)write DIR/crl.pem
#   cvqd_config FILE [EXTRA...]   write a configuration (socket in $CVQ_BENCH)
#   cvqd_start CONF         start cvqd in the background, wait for its socket
#   cvqd_stop               SIGTERM, wait, check the exit status is 0
#   api METHOD PATH [JSON]  curl --unix-socket; prints "STATUS BODY"
#   ecdsa_raw_to_der RAW DER   a Web eID ES256 signature (r || s) as DER for openssl

pki_init() {
	local d=$1
	mkdir -p "$d/newcerts"
	: > "$d/index.txt"
	echo 1000 > "$d/crlnumber"
	cat > "$d/ca.cnf" <<EOC
[ca]
default_ca = city
[city]
dir = $d
database = $d/index.txt
new_certs_dir = $d/newcerts
certificate = $d/ca.pem
private_key = $d/ca.key
crlnumber = $d/crlnumber
unique_subject = no
default_md = sha256
default_crl_days = 7
policy = anything
[anything]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_card]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_auth]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOC
	openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key" 2>/dev/null
	openssl req -new -x509 -key "$d/ca.key" -subj "/O=Ville de test/CN=CA de la ville" \
		-days 3650 -config "$d/ca.cnf" -extensions v3_ca -out "$d/ca.pem" 2>/dev/null
	pki_crl "$d"
}

pki_issue() {
	local d=$1 name=$2 pub=$3 serial=$4 cn=$5 ext=${6:-v3_card}
	openssl x509 -new -subj "/O=Ville de test/CN=$cn" -force_pubkey "$pub" \
		-CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial "$serial" -days 365 \
		-extfile "$d/ca.cnf" -extensions "$ext" -out "$d/$name.pem" 2>/dev/null
	# openssl ca keeps the database the CRL is made from.
	local s
	s=$(openssl x509 -in "$d/$name.pem" -noout -serial | cut -d= -f2)
	local end
	end=$(openssl x509 -in "$d/$name.pem" -noout -enddate | cut -d= -f2)
	printf 'V\t%s\t\t%s\tunknown\t/O=Ville de test/CN=%s\n' "$(date -u -d "$end" +%y%m%d%H%M%SZ)" "$s" "$cn" >> "$d/index.txt"
}

pki_revoke() {
	openssl ca -config "$1/ca.cnf" -revoke "$1/$2.pem" -batch < /dev/null 2>/dev/null
}

pki_crl() {
	openssl ca -config "$1/ca.cnf" -gencrl -out "$1/crl.pem" -batch < /dev/null 2>/dev/null
}

cvqd_config() {
	local f=$1
	shift
	{
		echo "[daemon]"
		echo "socket = $CVQ_BENCH/cvqd.sock"
		echo "allow_users = 0"
		echo "log_level = debug"
		echo "journal = $CVQ_BENCH/journal.sqlite"
		echo "request_timeout = 3"
		echo "[trust]"
		echo "anchors = $PKI/ca.pem"
		echo "crls = $PKI/crl.pem"
		echo "[pin]"
		echo "pinentry = $CVQ_SRC/tests/bench/fake-pinentry"
		echo "timeout = 20"
		echo "localedir = $CVQ_BUILD/po"
		echo "[card]"
		echo "wait = 3"
		# These cards are made by card_enrol below (openssl PKI, unsigned
		# CHUID), not by cvq-admin card enrol: another issuer's (#17).
		echo "foreign_cards = allow"
		printf '%s\n' "$@"
	} > "$f"
}

cvqd_start() {
	"$CVQD" -c "$1" > /dev/null 2>> "$CVQ_BENCH/cvqd.log" &
	CVQD_PID=$!
	# Never leave a daemon behind a failed test.
	trap 'kill -TERM "$CVQD_PID" 2>/dev/null || true' EXIT
	local n
	for ((n = 0; n < 200; n++)); do
		[ -S "$CVQ_BENCH/cvqd.sock" ] && return 0
		kill -0 "$CVQD_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$CVQ_BENCH/cvqd.log" >&2
	bench_fail "cvqd did not start"
}

cvqd_stop() {
	kill -TERM "$CVQD_PID"
	local rc=0
	wait "$CVQD_PID" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$CVQ_BENCH/cvqd.log" >&2; bench_fail "cvqd exited with $rc"; }
	[ ! -e "$CVQ_BENCH/cvqd.sock" ] || bench_fail "socket left behind"
}

api() {
	local method=$1 path=$2 body=${3:-}
	local out code
	out=$(mktemp "$CVQ_BENCH/api.XXXXXX")  # calls may run in parallel
	local args=(-s -o "$out" -w '%{http_code}' --unix-socket "$CVQ_BENCH/cvqd.sock" -X "$method")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	code=$(curl "${args[@]}" "http://cvqd$path") || true
	printf '%s %s\n' "$code" "$(cat "$out" 2>/dev/null)"
	rm -f "$out"
}

# expect "STATUS BODY" CODE ERRCODE: the status and, for errors, the error code.
expect_error() {
	local out=$1 status=$2 code=$3
	[ "${out%% *}" = "$status" ] || bench_fail "expected HTTP $status, got: $out"
	[ "$(printf '%s' "${out#* }" | jq -r .error.code)" = "$code" ] || bench_fail "expected $code, got: $out"
}

# card_enrol I SERIAL_BASE NAME: keys in 9A and 9C generated on card I
# (factory management key), certificates from the test CA imported, CHUID
# set. A stand-in for `cvq-admin card enrol` until it exists.
card_enrol() {
	local i=$1 base=$2 name=$3 var reader slot
	var="CVQ_READER_$i"
	reader=${!var}
	for slot in 9a 9c; do
		yubico-piv-tool -r "$reader" -s "$slot" -A ECCP256 -a generate -o "$PKI/card$i-$slot.pub" >/dev/null
		pki_issue "$PKI" "card$i-$slot" "$PKI/card$i-$slot.pub" "0x$(printf %x "$base")$slot" "$name"
		yubico-piv-tool -r "$reader" -s "$slot" -a import-certificate -i "$PKI/card$i-$slot.pem" >/dev/null
	done
	yubico-piv-tool -r "$reader" -a set-chuid >/dev/null
}

# wait_status JQ_EXPR: poll /v1/status until the expression is true.
wait_status() {
	local n
	for ((n = 0; n < 200; n++)); do
		api GET /v1/status | cut -d' ' -f2- | jq -e "$1" > /dev/null 2>&1 && return 0
		sleep 0.05
	done
	api GET /v1/status >&2
	bench_fail "status never matched: $1"
}

ecdsa_raw_to_der() {
	python3 - "$1" "$2" <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
assert len(raw) == 64
def integer(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80: b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
body = integer(raw[:32]) + integer(raw[32:])
open(sys.argv[2], 'wb').write(b'\x30' + bytes([len(body)]) + body)
PY
}
