#!/usr/bin/env bash
# Enrolment end to end on cvq-vcard, judged by peer tools: the card works
# with OpenSC (pkcs11-tool signs, the signature verifies with openssl) and
# yubico-piv-tool; its certificates chain to the CA (openssl verify); the
# PIN is only in the PIN letter (0600); a lost card reads revoked over OCSP
# and in the CRL.
. "$(dirname "$0")/lib-admin.sh"

admin_setup
admin_enrol 0001 0 > "$W/enrol.out"
cat "$W/enrol.out"
grep -q '11/11 card active' "$W/enrol.out" || bench_fail "enrolment did not finish"

letter=$W/letter-0001.txt
[ "$(stat -c %a "$letter")" = 600 ] || bench_fail "PIN letter mode is not 0600"
PIN=$(admin_pin "$letter")
[[ $PIN =~ ^[0-9]{6,8}$ ]] || bench_fail "no 6-8 digit PIN in the letter"
# The PIN is nowhere else: not in the output, the store, the APDU trace.
for f in "$W/enrol.out" "$W/ca/ca.db" "$W/ca/ca.db-wal" "$CVQ_CARD_0_TRACE"; do
	[ -f "$f" ] || continue
	if grep -a -q "$PIN" "$f"; then bench_fail "the PIN appears in $f"; fi
done

# The CA's chained audit log holds the card, its certificates, every
# on-card step of the enrolment and its activation, and the chain verifies.
"$A" audit show > "$W/audit.txt"
for a in card.add cert.issue card.status enrol.start enrol.management-key \
	enrol.signature-key enrol.puk enrol.pin enrol.active; do
	grep -q " $a " "$W/audit.txt" || bench_fail "no $a in the CA's audit log"
done
"$A" audit verify

# The card is no longer on the factory management key (yubico-piv-tool
# authenticates with the default 3DES key, and must fail).
if yubico-piv-tool -r "$CVQ_READER_0" -a set-chuid > /dev/null 2>&1; then
	bench_fail "the factory management key still works"
fi
yubico-piv-tool -r "$CVQ_READER_0" -a status | tee "$W/status.txt"
grep -q 'Slot 9a' "$W/status.txt" && grep -q 'Slot 9c' "$W/status.txt" ||
	bench_fail "yubico-piv-tool does not see both certificates"
grep -q 'PIN tries left:\s*3' "$W/status.txt" || bench_fail "PIN tries are not 3"

# Both certificates chain to the CA.
admin_card_cert 0 9a > "$W/auth.pem"
admin_card_cert 0 9c > "$W/sign.pem"
openssl verify -CAfile "$W/ca/ca.pem" "$W/auth.pem" "$W/sign.pem"

# OpenSC signs with the signature key; openssl verifies with the certificate.
echo "pay 45 EUR to the school of music" > "$W/data.txt"
openssl dgst -sha256 -binary "$W/data.txt" > "$W/data.sha256"
# The PIN goes to pkcs11-tool only, not to every later child (#18).
CVQ_TEST_PIN=$PIN pkcs11-tool --module "$CVQ_OPENSC_MODULE" --login --pin env:CVQ_TEST_PIN \
	--sign --mechanism ECDSA --signature-format openssl --id 02 \
	--input-file "$W/data.sha256" --output-file "$W/data.sig"
openssl x509 -in "$W/sign.pem" -pubkey -noout > "$W/sign.pub"
openssl dgst -sha256 -verify "$W/sign.pub" -signature "$W/data.sig" "$W/data.txt"

# Lost: revoked over OCSP and in the CRL.
admin_ocsp_start
admin_ocsp "$W/sign.pem" | tee "$W/ocsp1.txt"
grep -q ': good' "$W/ocsp1.txt" || bench_fail "OCSP does not say good before the loss"
guid=$("$A" --json card show --reader "$CVQ_READER_0" | sed -n 's/.*"guid": "\([0-9A-Fa-f]*\)".*/\1/p' | head -1)
"$A" card lost "$guid" --crl "$W/crl.pem"
admin_ocsp "$W/sign.pem" | tee "$W/ocsp2.txt"
grep -q ': revoked' "$W/ocsp2.txt" || bench_fail "OCSP does not say revoked"
grep -q 'keyCompromise' "$W/ocsp2.txt" || bench_fail "OCSP gives no keyCompromise reason"
if openssl verify -crl_check -CAfile "$W/ca/ca.pem" -CRLfile "$W/crl.pem" "$W/sign.pem" \
	> "$W/verify.txt" 2>&1; then
	bench_fail "openssl verify accepts a revoked certificate"
fi
grep -q 'certificate revoked' "$W/verify.txt" || bench_fail "openssl verify: $(cat "$W/verify.txt")"
"$A" citizen cards 0001 | tee "$W/cards.txt"
grep -q ' lost ' "$W/cards.txt" || bench_fail "the card is not marked lost"
kill "$OCSP_PID"

# An RSA-2048 card in reader 1: OpenSC signs (PKCS#1 v1.5), openssl verifies.
# Its journal is a file of its own (--journal), not the CA store, and the
# reader's lock file is beside it.
"$A" citizen add --id 0002 --given Jean --family Martin > /dev/null
J=$W/counter-journal.db
"$A" card enrol --citizen 0002 --reader "$CVQ_READER_1" --key-alg rsa-2048 --journal "$J" \
	--letter "$W/letter-0002.txt" | grep 'rsa-2048' || bench_fail "no RSA enrolment"
guid2=$("$A" --json card show --reader "$CVQ_READER_1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["guid"].lower())')
[ "$(sqlite3 "$J" "SELECT state FROM enrol_cards WHERE guid = '$guid2'")" = active ] ||
	bench_fail "the enrolment is not in the journal $J"
[ "$(sqlite3 "$W/ca/ca.db" "SELECT count(*) FROM enrol_cards WHERE guid = '$guid2'")" = 0 ] ||
	bench_fail "the enrolment with --journal went to the CA store"
ls "$J".enrol-*.lock > /dev/null || bench_fail "no reader lock beside the journal"
CVQ_ENROL_JOURNAL=$J "$A" --json card show "$guid2" | grep -q '"state": "complete"' ||
	bench_fail "card show with \$CVQ_ENROL_JOURNAL does not read that journal"
# --agent: the journal must be named, with no CA configuration here and
# with one readable (the CA store is never the journal of an agent's
# counter); for every card command.
echo 0002 > "$W/one.list"
for cmd in "card enrol --citizen 0002" "card renew" "card show $guid2" "card lost $guid2" \
	"card unblock --citizen 0002" "card enrol-batch --list $W/one.list" \
	"card show --reader $CVQ_READER_1" "citizen cards 0002"; do
	for cfg in none "$CVQ_CA_CONFIG"; do
		rc=0
		# shellcheck disable=SC2086 # the command's words
		(cd "$W" && if [ "$cfg" = none ]; then unset CVQ_CA_CONFIG; fi
			env -u CVQ_ENROL_JOURNAL "$A" $cmd --agent "$W/no-such-socket") \
			> /dev/null 2> "$W/nojournal.err" || rc=$?
		[ "$rc" = 2 ] && grep -q -- '--journal FILE' "$W/nojournal.err" ||
			bench_fail "$cmd --agent without a journal ($cfg): exit $rc, $(cat "$W/nojournal.err")"
	done
done
# The CA's secrets stay with the agent.
rc=0
"$A" card enrol --citizen 0002 --agent "$W/no-such-socket" --journal "$J" \
	--master-key-file "$W/ca/master.key" 2> "$W/nomaster.err" || rc=$?
[ "$rc" = 2 ] && grep -q 'stay with the agent' "$W/nomaster.err" ||
	bench_fail "--agent with --master-key-file: exit $rc, $(cat "$W/nomaster.err")"
rc=0
"$A" card enrol --citizen 0002 --agent https://127.0.0.1:1 2> "$W/notls.err" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--agent-ca' "$W/notls.err" ||
	bench_fail "--agent https:// without its TLS files: exit $rc, $(cat "$W/notls.err")"
yubico-piv-tool -r "$CVQ_READER_1" -a status | grep -c 'RSA2048' | grep -q 3 ||
	bench_fail "yubico-piv-tool does not see three RSA-2048 keys (9A, 9C, 9E)"
admin_card_cert 1 9c > "$W/rsa-sign.pem"
openssl verify -CAfile "$W/ca/ca.pem" "$W/rsa-sign.pem"
CVQ_TEST_PIN=$(admin_pin "$W/letter-0002.txt") pkcs11-tool --module "$CVQ_OPENSC_MODULE" \
	--slot-index 1 --login --pin env:CVQ_TEST_PIN --sign --mechanism SHA256-RSA-PKCS --id 02 \
	--input-file "$W/data.txt" --output-file "$W/rsa.sig"
openssl x509 -in "$W/rsa-sign.pem" -pubkey -noout > "$W/rsa.pub"
openssl dgst -sha256 -verify "$W/rsa.pub" -signature "$W/rsa.sig" "$W/data.txt"
echo "PASS enrol-flow"
