#!/usr/bin/env bash
# After-care on cvq-vcard: renewal (PIN typed in a pinentry), PIN unblock
# after three wrong PINs, a stolen card revoked in the CRL, a master
# secret file readable by others refused; judged by openssl, OpenSC and
# yubico-piv-tool.
. "$(dirname "$0")/lib-admin.sh"

expect_rc() { # expect_rc WANT CMD...
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" = "$want" ] || bench_fail "$* exited $rc, expected $want"
}
R=$CVQ_READER_0

admin_setup
echo "== a master secret readable by others is refused"
chmod 644 "$W/ca/master.key"
expect_rc 3 admin_enrol 0001 0 2> "$W/perm.err"
grep -q 'chmod 600' "$W/perm.err" || bench_fail "no clear message: $(cat "$W/perm.err")"
chmod 600 "$W/ca/master.key"

echo "== one enrolment at a time on a reader (the lock is held by someone else)"
lock="$W/ca/ca.db.enrol-${R//[^A-Za-z0-9]/_}.lock"
expect_rc 1 flock "$lock" "$A" card enrol --citizen 0001 --reader "$R" 2> "$W/lock.err"
grep -q 'another enrolment is running' "$W/lock.err" || bench_fail "no lock message: $(cat "$W/lock.err")"

admin_enrol 0001 0 > /dev/null
guid=$(admin_guid 0)
admin_card_works 0 "$W/letter-0001.txt"
old_auth=$(openssl x509 -in "$W/auth.pem" -noout -serial)

echo "== renew: the holder types the PIN in a pinentry"
admin_pin "$W/letter-0001.txt" > "$W/pins"
export CVQ_FAKE_PIN_FILE=$W/pins CVQ_FAKE_PINENTRY_LOG=$W/pinentry.log
"$A" card renew --reader "$R" --pin-source "pinentry:$CVQ_SRC/tests/bench/fake-pinentry"
admin_card_works 0 "$W/letter-0001.txt"
[ "$(openssl x509 -in "$W/auth.pem" -noout -serial)" != "$old_auth" ] ||
	bench_fail "renew kept the old certificate"
admin_certs "$guid" | tee "$W/certs"
[ "$(grep -c 'revoked superseded' "$W/certs")" = 2 ] ||
	bench_fail "the two old certificates are not revoked as superseded"
if grep -q "$(cat "$W/pins")" "$W/pinentry.log"; then bench_fail "the PIN is in the pinentry log"; fi

echo "== three wrong PINs block the card; the counter unblocks it with the city's PUK"
for i in 1 2 3; do
	yubico-piv-tool -r "$R" -a verify-pin -P 000000 > /dev/null 2>&1 || true
done
yubico-piv-tool -r "$R" -a status | grep -q 'PIN tries left:\s*0' || bench_fail "the PIN is not blocked"
"$A" --json card show --reader "$R" > "$W/show.json" || true; grep -q '"state": "pin-blocked"' "$W/show.json" || { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(\"card\"))" "$W/show.json"; bench_fail "show does not say pin-blocked"; }
expect_rc 1 "$A" card unblock --citizen 0002 --reader "$R" 2> /dev/null
"$A" card unblock --citizen 0001 --reader "$R" --letter "$W/letter-new.txt"
[ "$(stat -c %a "$W/letter-new.txt")" = 600 ] || bench_fail "the new PIN letter is not 0600"
[ "$(admin_pin "$W/letter-new.txt")" != "$(admin_pin "$W/letter-0001.txt")" ] ||
	bench_fail "unblock kept the old PIN"
yubico-piv-tool -r "$R" -a status | grep -q 'PIN tries left:\s*3' || bench_fail "PIN tries not back to 3"
admin_card_works 0 "$W/letter-new.txt"

echo "== out of memory for the list of cards: an error, nothing revoked"
failalloc=$CVQ_BUILD/tests/integration/admin/libfailalloc.so
for how in calloc realloc; do
	set -- "$guid"
	[ $how = realloc ] && set -- --citizen 0001
	rc=0
	CVQ_FAILALLOC_FN=$how CVQ_FAILALLOC_SIZE=33 LD_PRELOAD=$failalloc \
		"$A" card lost "$@" 2> "$W/nomem.err" || rc=$?
	[ "$rc" = 1 ] || bench_fail "card lost with $how failing exited $rc: $(cat "$W/nomem.err")"
	grep -q 'out of memory' "$W/nomem.err" || bench_fail "no clear message: $(cat "$W/nomem.err")"
	"$A" citizen cards 0001 | grep -q ' active ' || bench_fail "the card left active after $how failed"
done

echo "== stolen: every certificate revoked, the CRL lists them, renewal refused"
"$A" card stolen --citizen 0001 --crl "$W/crl.pem"
openssl crl -in "$W/crl.pem" -CAfile "$W/ca/ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	bench_fail "the CRL does not verify"
for f in auth sign; do
	s=$(openssl x509 -in "$W/$f.pem" -noout -serial | cut -d= -f2)
	openssl crl -in "$W/crl.pem" -noout -text | grep -q "Serial Number: $s" ||
		bench_fail "$f certificate $s not in the CRL"
done
if openssl verify -crl_check -CAfile "$W/ca/ca.pem" -CRLfile "$W/crl.pem" "$W/sign.pem" 2>/dev/null; then
	bench_fail "openssl verify accepts the stolen card's certificate"
fi
expect_rc 6 "$A" card renew --reader "$R" --pin-source "pinentry:$CVQ_SRC/tests/bench/fake-pinentry" 2> /dev/null
"$A" citizen cards 0001 | grep -q ' stolen ' || bench_fail "the card is not marked stolen"
echo "PASS card-care"
