#!/usr/bin/env bash
# cvq-webeid spoken to directly, as the browser does (nm.py), on cvq-vcard
# cards enrolled by cvq-admin from a CA made without --policy:
#   - the certificates peers accept: a policy (2.25.UUID from ca.conf) in
#     both, the e-mail as rfc822Name in 9C (certtool --verify-email);
#   - framing: version first, 5..8,192 bytes, oversized, too short,
#     truncated, EOF; unknown command, arguments as the official host wants;
#   - authenticate: token checked by validate-token.py (Web eID's rules),
#     the PIN dialog in French naming the origin, wrong PIN asked again,
#     PIN cancelled; nonce and origin limits;
#   - get-signing-certificate and sign (openssl verifies), the sign dialog
#     naming the origin and the document hash;
#   - card pulled out at GENERAL AUTHENTICATE, no card, several cards.
set -euo pipefail
. "$CVQ_SRC/tests/integration/webeid/lib.sh"

webeid_setup
admin_card_cert 0 9a > "$W/auth.pem"
admin_card_cert 0 9c > "$W/sign.pem"

echo "--- certificates from a default ca init: a policy, the e-mail in 9C"
policy=$(sed -n 's/^policy_oid = //p' "$W/ca/ca.conf")
[[ $policy =~ ^2\.25\.[0-9]{20,39}$ ]] || bench_fail "ca.conf has no generated 2.25 policy: '$policy'"
for c in auth sign; do
	openssl x509 -in "$W/$c.pem" -noout -ext certificatePolicies | grep -q "Policy: $policy$" ||
		bench_fail "$c certificate lacks the policy $policy"
done
openssl x509 -in "$W/sign.pem" -noout -ext subjectAltName | grep -q "email:marie.dupont@ville.example" ||
	bench_fail "9C certificate lacks the rfc822Name"
if openssl x509 -in "$W/auth.pem" -noout -ext subjectAltName 2>/dev/null | grep -q email; then
	bench_fail "the 9A certificate should carry no e-mail"
fi
certtool --verify --load-ca-certificate "$W/ca/ca.pem" --infile "$W/sign.pem" \
	--verify-email marie.dupont@ville.example > "$W/certtool.out" 2>&1 ||
	bench_fail "certtool --verify-email refused: $(cat "$W/certtool.out")"
if certtool --verify --load-ca-certificate "$W/ca/ca.pem" --infile "$W/sign.pem" \
	--verify-email jean.martin@ville.example > /dev/null 2>&1; then
	bench_fail "certtool --verify-email accepts another address"
fi

echo "--- framing"
out=$(host '{"command":"quit","arguments":{}}')
[ "$out" = $'{"version": "'"$(sed -n 1p <<< "$out" | jq -r .version)"$'"}\n{}\n{"exit": 0}' ] || bench_fail "quit: $out"
sed -n 1p <<< "$out" | jq -e '.version | test("^2\\.5\\.0\\+cvq\\.[0-9]+\\.[0-9]+\\.[0-9]+$")' > /dev/null ||
	bench_fail "version is not semver major 2: $out"
# 8,192 bytes: still read (a quit padded with blanks).
big='{"command":"quit","arguments":{}}'
big=$big$(printf '%*s' $((8192 - ${#big})) '')
[ "$(host "$big" | sed -n 2p)" = "{}" ] || bench_fail "an 8,192-byte message was refused"
out=$(host --raw 2001 "$big ")
sed -n 2p <<< "$out" | jq -e '.error.code == "ERR_WEBEID_NATIVE_FATAL" and (.error.message | test("8193"))' > /dev/null ||
	bench_fail "8,193 bytes: $out"
out=$(host --raw 4 '{  }')
sed -n 2p <<< "$out" | jq -e '.error.code == "ERR_WEBEID_NATIVE_FATAL" and (.error.message | test("at least 5"))' > /dev/null ||
	bench_fail "4 bytes: $out"
out=$(host --raw 64 '{"command":"quit"')
sed -n 2p <<< "$out" | jq -e '.error.code == "ERR_WEBEID_NATIVE_FATAL" and (.error.message | test("truncated"))' > /dev/null ||
	bench_fail "truncated: $out"
out=$(host --close)
[ "$(wc -l <<< "$out")" = 2 ] && grep -q '"exit": 0' <<< "$out" || bench_fail "EOF after the version: $out"
expect_code '{   }' ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code 'not json at all' ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code '{"command":"unknown","arguments":{}}' ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code '{"command":"authenticate"}' ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code '{"command":"quit","arguments":[]}' ERR_WEBEID_NATIVE_INVALID_ARGUMENT

echo "--- arguments as the official host checks them"
n=$(nonce)
auth() { printf '{"command":"authenticate","arguments":{"challengeNonce":"%s","origin":"%s"%s}}' "$1" "$2" "${3:-}"; }
expect_code "$(auth "${n:0:43}" "$ORIGIN")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code "$(auth "$(printf 'a%.0s' {1..129})" "$ORIGIN")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
for o in http://portail.ville.example https://portail.ville.example/ https://portail.ville.example/login \
	'https://portail.ville.example?x=1' https://user@portail.ville.example https://portail.ville.example:0 \
	https://portail.ville.example:65536 https:// ftp://portail.ville.example; do
	expect_code "$(auth "$n" "$o")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
done
expect_code "$(auth "$n" "$ORIGIN" ',"extra":"x"')" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code '{"command":"authenticate","arguments":{"origin":"'"$ORIGIN"'"}}' ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code '{"command":"get-signing-certificate","arguments":{"origin":"","lang":"fr"}}' ERR_WEBEID_NATIVE_INVALID_ARGUMENT
# No dialog was shown for any refused command.
[ ! -s "$CVQ_FAKE_PINENTRY_LOG" ] || bench_fail "a dialog for a refused command: $(cat "$CVQ_FAKE_PINENTRY_LOG")"

echo "--- authenticate: a token valid by Web eID's rules"
pin_reset
host_reply "$(auth "$n" "$ORIGIN" ',"lang":"fr"')" > "$W/token.json"
jq -e '.format == "web-eid:1.0" and .algorithm == "ES256" and (.appVersion | startswith("https://"))' \
	"$W/token.json" > /dev/null || bench_fail "token: $(cat "$W/token.json")"
"$PY" "$VALIDATE" "$W/token.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" ||
	bench_fail "the token is not valid by Web eID's rules"
# The validator can say no: another origin, another nonce.
if "$PY" "$VALIDATE" "$W/token.json" --origin https://evil.example --nonce "$n" --ca "$W/ca/ca.pem"; then
	bench_fail "the validator accepted the token for another origin"
fi
if "$PY" "$VALIDATE" "$W/token.json" --origin "$ORIGIN" --nonce "$(nonce)" --ca "$W/ca/ca.pem"; then
	bench_fail "the validator accepted the token for another nonce"
fi
cmp <(jq -r .unverifiedCertificate "$W/token.json" | base64 -d) <(openssl x509 -in "$W/auth.pem" -outform DER) ||
	bench_fail "the token's certificate is not the card's 9A certificate"
grep -qx "SETDESC Connexion à $ORIGIN en tant que Marie Dupont" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "login dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
grep -qx "SETPROMPT Code PIN :" "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "PIN prompt not in French"
# 128 characters and a port: still fine.
n128=$(openssl rand -base64 96 | tr -d '\n')
pin_reset
host_reply "$(auth "$n128" "https://portail.ville.example:8443")" > "$W/token2.json"
"$PY" "$VALIDATE" "$W/token2.json" --origin https://portail.ville.example:8443 --nonce "$n128" --ca "$W/ca/ca.pem" ||
	bench_fail "128-character nonce with a port"

echo "--- a wrong PIN is asked again with the tries left; Cancel is the user's"
pin_reset
printf '999999\n%s\n' "$PIN" > "$CVQ_FAKE_PIN_FILE"
host_reply "$(auth "$n" "$ORIGIN")" > "$W/token3.json"
"$PY" "$VALIDATE" "$W/token3.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" > /dev/null ||
	bench_fail "no token after a wrong then a right PIN"
grep -qx "SETERROR Code PIN incorrect : il reste 2 essais." "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "wrong PIN text: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
echo "$PIN" > "$CVQ_FAKE_PIN_FILE"
pin_reset
CVQ_FAKE_PINENTRY_CANCEL=1 expect_code "$(auth "$n" "$ORIGIN")" ERR_WEBEID_USER_CANCELLED

echo "--- get-signing-certificate and sign"
pin_reset
getc='{"command":"get-signing-certificate","arguments":{"origin":"'"$ORIGIN"'"}}'
host_reply "$getc" > "$W/getcert.json"
cmp <(jq -r .certificate "$W/getcert.json" | base64 -d) <(openssl x509 -in "$W/sign.pem" -outform DER) ||
	bench_fail "get-signing-certificate: $(cat "$W/getcert.json")"
jq -e '.supportedSignatureAlgorithms | any(.cryptoAlgorithm == "ECC" and .hashFunction == "SHA-256" and .paddingScheme == "NONE")' \
	"$W/getcert.json" > /dev/null || bench_fail "supportedSignatureAlgorithms: $(cat "$W/getcert.json")"
grep -q "SETDESC $ORIGIN demande le certificat de signature de Marie Dupont." "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "certificate dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
CVQ_FAKE_CONFIRM=no expect_code "$getc" ERR_WEBEID_USER_CANCELLED
echo "contrat d'inscription à l'école de musique" > "$W/doc.txt"
h=$(openssl dgst -sha256 -binary "$W/doc.txt" | base64)
hex=$(openssl dgst -sha256 -r "$W/doc.txt" | cut -d' ' -f1)
cert=$(jq -r .certificate "$W/getcert.json")
signc() { printf '{"command":"sign","arguments":{"hash":"%s","hashFunction":"%s","certificate":"%s","origin":"%s"}}' "$1" "$2" "$3" "$ORIGIN"; }
pin_reset
host_reply "$(signc "$h" SHA-256 "$cert")" > "$W/sign.json"
jq -e '.signatureAlgorithm == {"cryptoAlgorithm":"ECC","hashFunction":"SHA-256","paddingScheme":"NONE"}' \
	"$W/sign.json" > /dev/null || bench_fail "sign: $(cat "$W/sign.json")"
jq -r .signature "$W/sign.json" | base64 -d > "$W/doc.sig.raw"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"
ecdsa_raw_to_der "$W/doc.sig.raw" "$W/doc.sig.der"
openssl x509 -in "$W/sign.pem" -pubkey -noout > "$W/sign.pub"
openssl dgst -sha256 -verify "$W/sign.pub" -signature "$W/doc.sig.der" "$W/doc.txt" ||
	bench_fail "openssl does not verify the document signature"
grep -qx "SETDESC Signature électronique d'un document pour $ORIGIN en tant que Marie Dupont" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "sign dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
grep -qx "Empreinte du document (SHA-256) : $hex" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "sign dialog hash: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
expect_code "$(signc "${h:0:20}" SHA-256 "$cert")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code "$(signc "$h" MD5 "$cert")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code "$(signc "$h" SHA-384 "$cert")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
expect_code "$(signc "$h" SHA-256 "bm90IGEgY2VydGlmaWNhdGU=")" ERR_WEBEID_NATIVE_INVALID_ARGUMENT
# The 9A certificate is on no card's signature slot.
expect_code "$(signc "$h" SHA-256 "$(openssl x509 -in "$W/auth.pem" -outform DER | base64 -w0)")" ERR_WEBEID_NATIVE_FATAL

echo "--- the card pulled out at GENERAL AUTHENTICATE"
bench_card_stop 0
bench_card_start 0 --remove-at 87
pin_reset
out=$(host "$(auth "$n" "$ORIGIN")")
sed -n 2p <<< "$out" | jq -e '.error.code == "ERR_WEBEID_NATIVE_FATAL" and (.error.message | test("card"))' > /dev/null ||
	bench_fail "card pulled: $out"
bench_card_stop 0

echo "--- no card: the citizen is asked to insert one"
pin_reset
CVQ_FAKE_CONFIRM=no expect_code "$(auth "$n" "$ORIGIN")" ERR_WEBEID_USER_CANCELLED
grep -q "SETDESC Insérez votre carte citoyenne dans le lecteur pour continuer avec $ORIGIN" "$CVQ_FAKE_PINENTRY_LOG" ||
	bench_fail "insert dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
pin_reset
expect_code "$(auth "$n" "$ORIGIN")" ERR_WEBEID_NATIVE_FATAL

echo "--- several cards: offered one by one"
bench_card_start 0
bench_card_new 1
"$A" citizen add --id 0002 --given Jean --family Martin > /dev/null
admin_enrol 0002 1 > /dev/null
PIN2=$(admin_pin "$W/letter-0002.txt")
pin_reset
host_reply "$(auth "$n" "$ORIGIN")" > "$W/token4.json"
"$PY" "$VALIDATE" "$W/token4.json" --origin "$ORIGIN" --nonce "$n" --ca "$W/ca/ca.pem" | grep -q "CN=Marie Dupont" ||
	bench_fail "first card not used"
grep -q "SETDESC Plusieurs cartes sont présentes (1 sur 2). Utiliser la carte de Marie Dupont dans le lecteur" \
	"$CVQ_FAKE_PINENTRY_LOG" || bench_fail "choice dialog: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
pin_reset
CVQ_FAKE_CONFIRM=no expect_code "$(auth "$n" "$ORIGIN")" ERR_WEBEID_USER_CANCELLED
grep -q "SETDESC Plusieurs cartes sont présentes (2 sur 2). Utiliser la carte de Jean Martin" \
	"$CVQ_FAKE_PINENTRY_LOG" || bench_fail "second card not offered: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
# sign finds the card holding the certificate asked for, without a choice.
echo "$PIN2" > "$CVQ_FAKE_PIN_FILE"
pin_reset
cert2=$(admin_card_cert 1 9c | openssl x509 -outform DER | base64 -w0)
host_reply "$(signc "$h" SHA-256 "$cert2")" | jq -e .signature > /dev/null || bench_fail "sign with card 1"
if grep -q "Plusieurs cartes" "$CVQ_FAKE_PINENTRY_LOG"; then bench_fail "a choice for sign"; fi
grep -q "en tant que Jean Martin" "$CVQ_FAKE_PINENTRY_LOG" || bench_fail "sign with card 1: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
echo "webeid protocol: all checks passed"
