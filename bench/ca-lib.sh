# Shared by bench/ca-*.sh (sourced): paths, timing, an `openssl ca` set-up
# with the same extensions as our "service" profile.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${CVQ_BUILD:-$here/../build}
ADMIN=${CVQ_ADMIN:-$BUILD/tools/cvq-admin/cvq-admin}
LOAD=${CVQ_CA_LOAD:-$BUILD/bench/ca-load}
[ -x "$ADMIN" ] && [ -x "$LOAD" ] || { echo "build first: ninja -C build" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/cvq-bench-ca.XXXXXX")
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.1f}' if $2 > 0 else 'inf')"; }

# our_ca DIR: a CA made by cvq-admin (EC P-256, encrypted key)
our_ca() {
	(umask 077; echo "bench passphrase" > "$1.pass")
	"$ADMIN" ca init --dir "$1" --pass "file:$1.pass" --subject "/CN=Bench CA" \
		--url http://127.0.0.1:8080 --policy 1.3.6.1.4.1.55555.1.1 >/dev/null
}

# openssl_ca DIR: the same for `openssl ca` (index.txt, serial, same extensions)
openssl_ca() {
	local d=$1
	mkdir -p "$d/certs"
	(umask 077; echo "bench passphrase" > "$d.pass")
	openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -v2 aes-256-cbc \
		-passout "file:$d.pass" -out "$d/key.pem"
	: > "$d/index.txt"
	echo "unique_subject = no" > "$d/index.txt.attr"
	openssl rand -hex 16 | tr a-f A-F > "$d/serial"
	cat > "$d/ca.cnf" <<CNF
[ca]
default_ca = bench
[bench]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/certs
certificate = \$dir/ca.pem
private_key = \$dir/key.pem
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 397
default_crl_days = 7
policy = anything
unique_subject = no
email_in_dn = no
rand_serial = yes
x509_extensions = service
crl_extensions = crlext
[anything]
commonName = supplied
[service]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
certificatePolicies = 1.3.6.1.4.1.55555.1.1
crlDistributionPoints = URI:http://127.0.0.1:8080/ca.crl
authorityInfoAccess = OCSP;URI:http://127.0.0.1:8080/ocsp,caIssuers;URI:http://127.0.0.1:8080/ca.der
[crlext]
authorityKeyIdentifier = keyid:always
[v3ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
	openssl req -new -x509 -key "$d/key.pem" -passin "file:$d.pass" -subj "/CN=Bench OpenSSL CA" \
		-days 3650 -config "$d/ca.cnf" -extensions v3ca -out "$d/ca.pem" 2>/dev/null
	echo 01 > "$d/crlnumber"
}

# csrs_and_ca N PREFILL: N CSRs in $W/csrs (listed in $W/csrs.list), our CA
# in $W/our (CVQ_CA_CONFIG exported) with PREFILL certificates issued from
# them, N at a time.
csrs_and_ca() {
	local n=$1 left
	mkdir "$W/csrs"
	"$LOAD" csrs "$W/csrs" "$n" >/dev/null
	ls "$W/csrs"/*.csr > "$W/csrs.list"
	our_ca "$W/our"
	export CVQ_CA_CONFIG=$W/our/ca.conf
	for ((left = $2; left > 0; left -= n)); do
		"$ADMIN" cert issue --profile service --out "$W/prefill.pem" \
			$(head -n "$((left < n ? left : n))" "$W/csrs.list") >/dev/null
	done
}

# openssl_prefill DIR N STATUS: N synthetic index.txt entries (V or R)
openssl_prefill() {
	python3 - "$1/index.txt" "$2" "$3" <<'PY'
import os, sys
path, n, st = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "a") as f:
    for i in range(n):
        s = os.urandom(16).hex().upper()
        s = ("4" + s[1:]) if s[0] >= "8" else s
        rev = "261201000000Z,keyCompromise" if st == "R" else ""
        f.write(f"{st}\t291201000000Z\t{rev}\t{s}\tunknown\t/CN=prefill {i}\n")
PY
}
