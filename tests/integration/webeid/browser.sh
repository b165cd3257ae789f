#!/usr/bin/env bash
# The login in a real browser: Debian's chromium, headless, with our test
# extension (extension/: connectNative("eu.webeid") as the Web eID
# extension does) and cvq-webeid registered as the eu.webeid host in the
# profile's NativeMessagingHosts; a portal page on loopback asks for a
# token; the host drives the cvq-vcard card; the token is then checked by
# validate-token.py (Web eID's rules) and openssl. Then the same with the
# PIN dialog cancelled: the page gets ERR_WEBEID_USER_CANCELLED.
set -euo pipefail
. "$CVQ_SRC/tests/integration/webeid/lib.sh"

CHROMIUM=$(command -v chromium) || bench_fail "chromium is not installed (scripts/install-deps.sh)"
webeid_setup
EXT=$CVQ_SRC/tests/integration/webeid/extension
PORT=18443
PROFILE=$CVQ_BENCH/chromium
# The extension's id follows from its manifest key (Chromium's rule:
# SHA-256 of the key, first 16 bytes, hex digits mapped to a..p).
ext_id=$(jq -r .key "$EXT/manifest.json" | base64 -d | sha256sum | cut -c1-32 | tr 0-9a-f a-p)
mkdir -p "$PROFILE/NativeMessagingHosts"
jq -n --arg path "$HOST" --arg origin "chrome-extension://$ext_id/" \
	'{name: "eu.webeid", description: "cvq (test)", path: $path, type: "stdio", allowed_origins: [$origin]}' \
	> "$PROFILE/NativeMessagingHosts/eu.webeid.json"

"$PY" "$CVQ_SRC/tests/integration/webeid/portal.py" "$PORT" "$CVQ_BENCH" &
portal=$!
trap 'kill $portal 2>/dev/null || true' EXIT
for ((i = 0; i < 100; i++)); do curl -sf "http://127.0.0.1:$PORT/" > /dev/null && break; sleep 0.1; done

# One page load; the result file is what the page posted back.
login() {
	rm -f "$CVQ_BENCH/result.json"
	timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$PROFILE" --disable-extensions-except="$EXT" --load-extension="$EXT" \
		"http://127.0.0.1:$PORT/" > "$CVQ_BENCH/chromium.log" 2>&1 &
	local browser=$! i
	for ((i = 0; i < 1200; i++)); do
		[ -f "$CVQ_BENCH/result.json" ] && break
		kill -0 "$browser" 2>/dev/null || break
		sleep 0.1
	done
	kill "$browser" 2>/dev/null || true
	wait "$browser" 2>/dev/null || true
	[ -f "$CVQ_BENCH/result.json" ] || bench_fail "the page got no answer: $(tail -20 "$CVQ_BENCH/chromium.log")"
}

echo "--- login through chromium, the extension and cvq-webeid"
pin_reset
login
jq -e '.action == "web-eid:authenticate-success"' "$CVQ_BENCH/result.json" > /dev/null ||
	bench_fail "no token: $(cat "$CVQ_BENCH/result.json")"
jq -e '.nativeAppVersion | startswith("2.5.0+cvq.")' "$CVQ_BENCH/result.json" > /dev/null ||
	bench_fail "host version: $(cat "$CVQ_BENCH/result.json")"
jq '{format, unverifiedCertificate, algorithm, signature, appVersion}' "$CVQ_BENCH/result.json" > "$W/browser-token.json"
nonce=$(cat "$CVQ_BENCH/nonce")
origin=https://127.0.0.1:$PORT
"$PY" "$VALIDATE" "$W/browser-token.json" --origin "$origin" --nonce "$nonce" --ca "$W/ca/ca.pem" ||
	bench_fail "the browser's token is not valid by Web eID's rules"
if "$PY" "$VALIDATE" "$W/browser-token.json" --origin "https://127.0.0.1:1" --nonce "$nonce" --ca "$W/ca/ca.pem" > /dev/null; then
	bench_fail "the validator accepted the browser's token for another origin"
fi
# The same signature checked by openssl alone.
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
{ printf '%s' "$origin" | openssl dgst -sha256 -binary
  printf '%s' "$nonce" | openssl dgst -sha256 -binary; } > "$W/tbs.bin"
jq -r .signature "$W/browser-token.json" | base64 -d > "$W/sig.raw"
ecdsa_raw_to_der "$W/sig.raw" "$W/sig.der"
jq -r .unverifiedCertificate "$W/browser-token.json" | base64 -d | openssl x509 -inform DER -pubkey -noout > "$W/auth.pub"
openssl dgst -sha256 -verify "$W/auth.pub" -signature "$W/sig.der" "$W/tbs.bin" || bench_fail "openssl: signature"
jq -r .unverifiedCertificate "$W/browser-token.json" | base64 -d | openssl x509 -inform DER -out "$W/browser-auth.pem"
openssl verify -CAfile "$W/ca/ca.pem" -purpose sslclient "$W/browser-auth.pem" || bench_fail "openssl: chain"
grep -qx "SETDESC Connexion à $origin en tant que Marie Dupont" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "login dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"

echo "--- the PIN dialog cancelled: the page hears ERR_WEBEID_USER_CANCELLED"
pin_reset
CVQ_FAKE_PINENTRY_CANCEL=1 login
jq -e '.action == "web-eid:authenticate-failure" and .error.code == "ERR_WEBEID_USER_CANCELLED"' \
	"$CVQ_BENCH/result.json" > /dev/null || bench_fail "cancel: $(cat "$CVQ_BENCH/result.json")"
echo "webeid browser: all checks passed"
