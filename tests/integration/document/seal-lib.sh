# The city's seal for the tests (sourced after tests/integration/ca/lib.sh,
# in $W, on a bench with --softhsm). seal_pki PORT starts:
#   - the city CA with two officers (uids OFF1, OFF2; the agent's group G),
#     its TSA on the CA's public service at http://127.0.0.1:PORT/ ($TSA);
#   - the seal's key made on the SoftHSM2 token ($KEY) and its CSR
#     (seal.csr, signed on the token; the PIN in the 0600 file `pin`, given
#     to openssl through -passin, never argv);
#   - the issuing agent, and `as UID CMD…` to run CMD as an officer.
# seal_issue then has OFF1 request and OFF2 approve: seal.pem.
# The TSA too is certified by two officers: this test's uid asks, OFF2
# approves (scripts/lib/officers.sh, sourced by ca/lib.sh).
: "${OFF1:=61401}" "${OFF2:=61402}" "${G:=61400}"

seal_pki() {
	local port=$1 n
	make_ca ca --subject "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA"
	officers_roles ca/ca.conf "$(id -u)" "$OFF1" "$OFF2"
	export CVQ_CA_CONFIG=$W/ca/ca.conf
	(umask 077; echo "tsa passphrase" > tsa.pass)
	tsa_two ca --pass "file:$W/tsa.pass" || fail "tsa init"
	"$ADMIN" ocsp serve --listen "127.0.0.1:$port" --threads 2 > serve.out 2>&1 &
	PIDS+=($!)
	for ((n = 0; n < 200; n++)); do grep -q "listening" serve.out 2>/dev/null && break; sleep 0.05; done
	grep -q "listening" serve.out || fail "the CA's TSA did not start: $(cat serve.out)"
	TSA=http://127.0.0.1:$port/
	PIN=$(cat "$CVQ_SOFTHSM_PIN_FILE")
	(umask 077; printf '%s\n' "$PIN" > pin)
	P11PIN=$PIN pkcs11-tool --module "$CVQ_SOFTHSM_MODULE" --token-label cvq-test --login \
		--pin env:P11PIN --keypairgen --key-type EC:prime256v1 --label seal --id 5e >/dev/null
	KEY="pkcs11:token=cvq-test;object=seal;type=private?module-path=$CVQ_SOFTHSM_MODULE"
	openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=cvq-test;object=seal;type=private" -passin file:pin \
		-subj "/C=FR/O=Ville d'Alencon/OU=Etat civil/CN=Sceau de l'etat civil" -out seal.csr \
		2>/dev/null || fail "no CSR from the token key"
	# Officers reach the agent's socket through its group; they read the
	# configuration and work in pub/.
	chmod 711 "$CVQ_BENCH" "$W" "$W/ca"
	chmod 644 ca/ca.conf
	mkdir -m 1777 pub
	cp seal.csr pub/
	"$ADMIN" ca-agent start --pass "file:$W/ca.pass" --idle 0 --group "$G" >start.out
	PIDS+=("$(sed -n 's/^agent \([0-9]*\) .*/\1/p' start.out)")
}

as() { local u=$1; shift; (cd "$W/pub" && setpriv --reuid="$u" --regid="$u" --groups="$G" -- "$@"); }

# seal_request: OFF1's request; its id in $SEAL_REQ.
seal_request() {
	as "$OFF1" "$ADMIN" ca request --profile seal seal.csr > req.out || fail "seal request: $(cat req.out)"
	SEAL_REQ=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' req.out)
	[ -n "$SEAL_REQ" ] || fail "no request id: $(cat req.out)"
}

# seal_approve: OFF2 approves; the certificate is seal.pem.
seal_approve() {
	as "$OFF2" "$ADMIN" ca approve --out "$W/pub/seal.pem" "$SEAL_REQ" >/dev/null ||
		fail "second officer's approval"
	cp pub/seal.pem seal.pem
}
