#!/usr/bin/env bash
# cvqd with a card (cvq-vcard in reader 0), a scripted pinentry speaking
# Assuan, and peers as judges: login (Web eID token checked with openssl),
# payment (receipt checked by openssl cms -verify with the CRL; the PIN
# dialog text in French), the journal, wrong PIN, card pulled out during
# PIN entry and during signing, the client leaving, 50 concurrent payments
# with nothing lost or duplicated, a revoked card refused without a PIN
# dialog, and a blocked PIN.
set -euo pipefail
. "$CVQ_SRC/tests/bench/lib.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PKI=$CVQ_BENCH/pki
pki_init "$PKI"
card_enrol 0 0x1000 "Marie Dupont"
pki_crl "$PKI"
cat "$PKI/ca.pem" "$PKI/crl.pem" > "$PKI/ca-crl.pem"

export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
echo 123456 > "$CVQ_FAKE_PIN_FILE"
cvqd_config "$CVQ_BENCH/cvqd.conf" "[daemon]" "max_card_ops_per_caller = 64" "max_clients_per_caller = 64"
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '.readers[0].card_present and .readers[0].pin_tries_left == 3 and (.readers[0].guid | length) == 32'
guid=$(api GET /v1/status | cut -d' ' -f2- | jq -r .readers[0].guid)
api GET /v1/status | cut -d' ' -f2- | jq -e '.readers[0].holder == "Marie Dupont"' > /dev/null \
	|| bench_fail "holder missing"

echo "--- login: a Web eID token whose signature openssl verifies"
challenge=$(openssl rand -base64 32)
out=$(api POST /v1/authenticate "{\"challenge\":\"$challenge\",\"origin\":\"https://portail.ville.example\"}")
[ "${out%% *}" = 200 ] || bench_fail "authenticate: $out"
tok=${out#* }
jq -e '.token.format == "web-eid:1.0" and .token.algorithm == "ES256" and .identity.card == "'"$guid"'"' \
	<<< "$tok" > /dev/null || bench_fail "token: $tok"
jq -r .token.unverifiedCertificate <<< "$tok" | base64 -d | openssl x509 -inform DER -out "$CVQ_BENCH/auth.pem"
cmp <(openssl x509 -in "$CVQ_BENCH/auth.pem" -outform DER) <(openssl x509 -in "$PKI/card0-9a.pem" -outform DER) \
	|| bench_fail "token certificate is not the card's 9A certificate"
{ printf '%s' "https://portail.ville.example" | openssl dgst -sha256 -binary
  printf '%s' "$challenge" | openssl dgst -sha256 -binary; } > "$CVQ_BENCH/tbs.bin"
jq -r .token.signature <<< "$tok" | base64 -d > "$CVQ_BENCH/sig.raw"
ecdsa_raw_to_der "$CVQ_BENCH/sig.raw" "$CVQ_BENCH/sig.der"
openssl x509 -in "$CVQ_BENCH/auth.pem" -pubkey -noout > "$CVQ_BENCH/auth.pub"
openssl dgst -sha256 -verify "$CVQ_BENCH/auth.pub" -signature "$CVQ_BENCH/sig.der" "$CVQ_BENCH/tbs.bin" \
	|| bench_fail "token signature does not verify"
grep -q "SETDESC Connexion à https://portail.ville.example en tant que Marie Dupont" "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "login dialog text: $(cat "$CVQ_FAKE_PINENTRY_LOG")"

echo "--- payment: receipt verified by openssl cms, dialog in French"
tx='{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}'
: > "$CVQ_FAKE_PINENTRY_LOG"
out=$(api POST /v1/sign "{\"transaction\":$tx}")
[ "${out%% *}" = 200 ] || bench_fail "sign: $out"
body=${out#* }
grep -qx "SETDESC Paiement de 45,00"$'\xc2\xa0'"€ à École de musique — réf. INSCR-2026-0042" "$CVQ_FAKE_PINENTRY_LOG" \
	|| bench_fail "payment dialog text: $(cat "$CVQ_FAKE_PINENTRY_LOG")"
jq -r .receipt <<< "$body" | base64 -d > "$CVQ_BENCH/receipt.der"
openssl cms -verify -binary -inform DER -in "$CVQ_BENCH/receipt.der" -CAfile "$PKI/ca-crl.pem" -crl_check \
	-out "$CVQ_BENCH/receipt.json" || bench_fail "openssl cms -verify refused the receipt"
cmp "$CVQ_BENCH/receipt.json" <(jq -j .content <<< "$body") || bench_fail "receipt content"
jq -e '.transaction.payee == "École de musique" and .cvq == "receipt/2" and .lang == "fr"' "$CVQ_BENCH/receipt.json" > /dev/null \
	|| bench_fail "receipt transaction"
# The receipt holds the dialog's exact text: what the pinentry was told to show.
[ "SETDESC $(jq -r .dialog "$CVQ_BENCH/receipt.json")" = "$(grep '^SETDESC Paiement' "$CVQ_FAKE_PINENTRY_LOG")" ] \
	|| bench_fail "receipt dialog: $(jq -r .dialog "$CVQ_BENCH/receipt.json")"
openssl cms -cmsout -print -inform DER -in "$CVQ_BENCH/receipt.der" | grep -q "CN=Marie Dupont" \
	|| bench_fail "signer certificate not in the receipt"
cmp <(openssl cms -verify -binary -inform DER -in "$CVQ_BENCH/receipt.der" -noverify -signer "$CVQ_BENCH/signer.pem" -out /dev/null 2>/dev/null; openssl x509 -in "$CVQ_BENCH/signer.pem" -outform DER) \
    <(openssl x509 -in "$PKI/card0-9c.pem" -outform DER) || bench_fail "receipt not signed with the 9C key"
out=$(api POST /v1/verify "{\"receipt\":\"$(jq -r .receipt <<< "$body")\"}")
[ "${out%% *}" = 200 ] || bench_fail "verify own receipt: $out"

echo "--- journal: one row per operation, never the PIN"
rows=$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT op||','||card||','||result FROM journal ORDER BY id")
[ "$rows" = "authenticate,$guid,ok"$'\n'"sign,$guid,ok" ] || bench_fail "journal: $rows"
dig=$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT digest FROM journal WHERE op='sign'")
[ "$dig" = "$(openssl dgst -sha256 -r "$CVQ_BENCH/receipt.json" | cut -d' ' -f1)" ] || bench_fail "journal digest"

echo "--- wrong PIN: an error with the tries left, no retry"
echo 999999 > "$CVQ_FAKE_PIN_FILE"; rm -f "$CVQ_FAKE_PIN_FILE.count"
: > "$CVQ_FAKE_PINENTRY_LOG"
out=$(api POST /v1/sign "{\"transaction\":$tx}")
expect_error "$out" 403 pin_wrong
jq -e '.error.pin_tries_left == 2' <<< "${out#* }" > /dev/null || bench_fail "tries left: $out"
[ "$(grep -c GETPIN "$CVQ_FAKE_PINENTRY_LOG")" = 1 ] || bench_fail "the PIN was asked again"
wait_status '.readers[0].pin_tries_left == 2'
echo 123456 > "$CVQ_FAKE_PIN_FILE"; rm -f "$CVQ_FAKE_PIN_FILE.count"
[ "$(api POST /v1/sign "{\"transaction\":$tx}" | cut -d' ' -f1)" = 200 ] || bench_fail "sign after a wrong PIN"

echo "--- 50 concurrent payments: all signed, in order, none lost or duplicated"
for i in $(seq 1 50); do
	printf '{"transaction":{"type":"payment","payee":"Piscine","amount":"%d.00","currency":"EUR","reference":"C-%d"}}' \
		"$i" "$i" > "$CVQ_BENCH/tx$i.json"
done
seq 1 50 | xargs -P 50 -I{} sh -c 'curl -s --unix-socket "$1/cvqd.sock" -H "Content-Type: application/json" \
	--data-binary @"$1/tx$2.json" -o "$1/res$2.json" -w "%{http_code}\n" http://cvqd/v1/sign' _ "$CVQ_BENCH" {} \
	> "$CVQ_BENCH/codes.txt"
[ "$(grep -c '^200$' "$CVQ_BENCH/codes.txt")" = 50 ] || bench_fail "concurrent: $(sort "$CVQ_BENCH/codes.txt" | uniq -c)"
for i in $(seq 1 50); do
	jq -e '.transaction.reference == "C-'"$i"'"' "$CVQ_BENCH/res$i.json" > /dev/null || bench_fail "answer $i mixed up"
	jq -r .nonce "$CVQ_BENCH/res$i.json"
done | sort | uniq -d | grep -q . && bench_fail "duplicate nonce"
[ "$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT count(*) FROM journal WHERE op='sign' AND result='ok'")" = 52 ] \
	|| bench_fail "journal count after concurrency"

echo "--- the card pulled out during PIN entry"
cvqd_stop
export CVQ_FAKE_PINENTRY_DELAY=30
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '.readers[0].card_present and .readers[0].pin_tries_left == 3'
: > "$CVQ_FAKE_PINENTRY_LOG"
api POST /v1/sign "{\"transaction\":$tx}" > "$CVQ_BENCH/pulled.out" &
req=$!
for ((n = 0; n < 200; n++)); do grep -q GETPIN "$CVQ_FAKE_PINENTRY_LOG" && break; sleep 0.05; done
# Meanwhile status and verification do not wait behind the card operation,
# and a second operation on the same card queues behind it.
[ "$(api GET /v1/status | cut -d' ' -f1)" = 200 ] || bench_fail "status during a PIN dialog"
[ "$(api POST /v1/verify "{\"receipt\":\"$(jq -r .receipt <<< "$body")\"}" | cut -d' ' -f1)" = 200 ] \
	|| bench_fail "verify during a PIN dialog"
api POST /v1/sign "{\"transaction\":$tx}" > "$CVQ_BENCH/queued.out" &
queued=$!
bench_card_remove 0
wait "$req"
wait "$queued"
# The queued one found the card gone too (or none within the wait).
grep -qE '"(card_removed|no_card)"' "$CVQ_BENCH/queued.out" || bench_fail "queued: $(cat "$CVQ_BENCH/queued.out")"
expect_error "$(cat "$CVQ_BENCH/pulled.out")" 409 card_removed
bench_card_insert 0

echo "--- the client goes away during PIN entry: the dialog is closed"
wait_status '.readers[0].card_present and .readers[0].usable'
: > "$CVQ_FAKE_PINENTRY_LOG"
curl -s --unix-socket "$CVQ_BENCH/cvqd.sock" -H "Content-Type: application/json" \
	--data-binary "{\"transaction\":$tx}" http://cvqd/v1/sign > /dev/null &
req=$!
for ((n = 0; n < 200; n++)); do grep -q GETPIN "$CVQ_FAKE_PINENTRY_LOG" && break; sleep 0.05; done
kill "$req"; wait "$req" || true
for ((n = 0; n < 200; n++)); do
	[ "$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT count(*) FROM journal WHERE result='client_gone'")" = 1 ] && break
	sleep 0.05
done
[ "$(sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT count(*) FROM journal WHERE result='client_gone'")" = 1 ] \
	|| bench_fail "client_gone not journaled"
cvqd_stop
unset CVQ_FAKE_PINENTRY_DELAY

echo "--- the card pulled out during signing (at GENERAL AUTHENTICATE)"
bench_card_stop 0
bench_card_start 0 --remove-at 87
cvqd_start "$CVQ_BENCH/cvqd.conf"
wait_status '.readers[0].card_present and .readers[0].usable'
out=$(api POST /v1/sign "{\"transaction\":$tx}")
expect_error "$out" 409 card_removed
bench_card_stop 0
bench_card_start 0
wait_status '.readers[0].card_present and .readers[0].usable'
[ "$(api POST /v1/sign "{\"transaction\":$tx}" | cut -d' ' -f1)" = 200 ] || bench_fail "sign after reinsertion"

echo "--- a revoked card is refused before any PIN dialog"
pki_revoke "$PKI" card0-9c
pki_crl "$PKI"
kill -HUP "$CVQD_PID"
for ((n = 0; n < 100; n++)); do grep -q reloaded "$CVQ_BENCH/cvqd.log" && break; sleep 0.05; done
: > "$CVQ_FAKE_PINENTRY_LOG"
out=$(api POST /v1/sign "{\"transaction\":$tx}")
expect_error "$out" 403 certificate_revoked
[ ! -s "$CVQ_FAKE_PINENTRY_LOG" ] || bench_fail "a PIN dialog was shown for a revoked card"
out=$(api POST /v1/verify "{\"receipt\":\"$(jq -r .receipt <<< "$body")\"}")
expect_error "$out" 403 certificate_revoked

echo "--- blocked PIN: a clear error"
echo 999999 > "$CVQ_FAKE_PIN_FILE"; rm -f "$CVQ_FAKE_PIN_FILE.count"
for t in 2 1; do
	out=$(api POST /v1/authenticate '{"challenge":"JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU=","origin":"https://portail.ville.example"}')
	expect_error "$out" 403 pin_wrong
	jq -e ".error.pin_tries_left == $t" <<< "${out#* }" > /dev/null || bench_fail "tries $t: $out"
done
expect_error "$(api POST /v1/authenticate '{"challenge":"JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU=","origin":"https://portail.ville.example"}')" 403 pin_blocked
echo 123456 > "$CVQ_FAKE_PIN_FILE"; rm -f "$CVQ_FAKE_PIN_FILE.count"
expect_error "$(api POST /v1/authenticate '{"challenge":"JCqLDmKlOB/CIWG6f6nOM8w7B9p2oBFlFYKyXLdrCUU=","origin":"https://portail.ville.example"}')" 403 pin_blocked
wait_status '.readers[0].pin_tries_left == 0'

cvqd_stop
! grep -q 123456 "$CVQ_BENCH/cvqd.log" || bench_fail "the PIN is in the log"
! strings "$CVQ_BENCH/journal.sqlite" | grep -q 123456 || bench_fail "the PIN is in the journal"
echo PASS
