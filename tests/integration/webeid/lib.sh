# Helpers for the cvq-webeid tests (issue #15). Source it from a script run
# under tests/bench/with-bench.
#   webeid_setup           a CA made as the demo makes it (no --policy), citizen
#                          0001 with an e-mail, enrolled on the card in reader 0
#   webeid_config          the host's configuration and the scripted pinentry
#   host JSON              one command to the host; its replies, one JSON a line
#   host_reply JSON        the command's reply alone (the line after the version)
#   expect_code JSON CODE  the reply is an error with that Web eID code
. "$CVQ_SRC/tests/integration/admin/lib-admin.sh"

HOST=$CVQ_BUILD/tools/cvq-webeid/cvq-webeid
NM=$CVQ_SRC/tests/integration/webeid/nm.py
VALIDATE=$CVQ_SRC/tests/integration/webeid/validate-token.py
PY=/usr/bin/python3
ORIGIN=https://portail.ville.example

webeid_setup() {
	mkdir -p "$W"
	( umask 077; printf 'bench-ca-passphrase\n' > "$W/ca.pass" )
	"$A" ca init --dir "$W/ca" --pass "file:$W/ca.pass" --unattested admit \
		--subject "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA" > /dev/null
	"$A" card master-key --out "$W/ca/master.key" > /dev/null
	"$A" citizen add --id 0001 --given Marie --family Dupont \
		--email marie.dupont@ville.example > /dev/null
	make_content_signer  # two officers (lib-admin.sh)
	admin_enrol 0001 0 > "$W/enrol.out"
	PIN=$(admin_pin "$W/letter-0001.txt")
	webeid_config
}

# The fake pinentry (answering $PIN) and the host's configuration.
webeid_config() {
	export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
	echo "$PIN" > "$CVQ_FAKE_PIN_FILE"
	export CVQ_WEBEID_CONFIG=$CVQ_BENCH/webeid.conf
	cat > "$CVQ_WEBEID_CONFIG" <<EOC
[webeid]
pinentry = $CVQ_SRC/tests/bench/fake-pinentry
localedir = $CVQ_BUILD/po
language = fr
pin_timeout = 30
card_prompts = 1
EOC
}

host() { "$PY" "$NM" "$HOST" "$@"; }
host_reply() { host "$@" | sed -n 2p; }

pin_reset() { rm -f "$CVQ_FAKE_PIN_FILE.count"; : > "$CVQ_FAKE_PINENTRY_LOG"; }

expect_code() {
	local out
	out=$(host "$1")
	sed -n 1p <<< "$out" | jq -e '.version | test("^2\\.[0-9]+\\.[0-9]+\\+cvq\\.")' > /dev/null ||
		bench_fail "no version first: $out"
	[ "$(sed -n 2p <<< "$out" | jq -r .error.code)" = "$2" ] || bench_fail "expected $2: $out"
	sed -n 2p <<< "$out" | jq -e '.error.message | length > 0' > /dev/null || bench_fail "no message: $out"
}

# 44 base64 characters of fresh randomness, as a portal's nonce.
nonce() { openssl rand -base64 32; }
