#!/usr/bin/env bash
# Enrolment survives interruptions: the card pulled out at chosen APDUs
# (cvq-vcard --remove-at), cvq-admin killed with SIGKILL, and a failure
# the CA refuses to go on with. Enrol again: it finishes or starts over,
# and the card works; no certificate of an interrupted attempt stays good.
. "$(dirname "$0")/lib-admin.sh"

admin_setup
for id in 0002 0003 0004 0005 0006 0007; do
	"$A" citizen add --id "$id" --given "Citizen" --family "N$id" > /dev/null
done

expect_rc() { # expect_rc WANT CMD...
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" = "$want" ] || bench_fail "$* exited $rc, expected $want"
}

echo "== pulled out at the first GENERATE (47): resumes after the management key"
bench_card_stop 0
bench_card_new 0 --remove-at 47
expect_rc 4 admin_enrol 0001 0
bench_card_stop 0; bench_card_start 0
admin_enrol 0001 0 | tee "$W/out1"
grep -q "resuming the enrolment .* after step 'management-key'" "$W/out1" ||
	bench_fail "did not resume"
admin_card_works 0 "$W/letter-0001.txt"

echo "== pulled out while the 9A certificate is written (2nd PUT DATA: chained): the issued one is superseded"
bench_card_stop 0
bench_card_new 0 --remove-at DB:2
expect_rc 4 admin_enrol 0002 0
bench_card_stop 0; bench_card_start 0
admin_enrol 0002 0 | tee "$W/out2"
admin_card_works 0 "$W/letter-0002.txt"
guid=$(admin_guid 0)
admin_certs "$guid" | tee "$W/certs2"
grep -q 'citizen-auth revoked superseded' "$W/certs2" ||
	bench_fail "the certificate issued before the pull is not revoked as superseded"

echo "== pulled out at the PUK change (24): resumes with the PUK sealed beforehand"
bench_card_stop 0
bench_card_new 0 --remove-at 24
expect_rc 4 admin_enrol 0003 0
bench_card_stop 0; bench_card_start 0
admin_enrol 0003 0 | tee "$W/out3"
grep -q "after step 'signed-objects'" "$W/out3" || bench_fail "did not resume at the PUK"
admin_card_works 0 "$W/letter-0003.txt"

echo "== cvq-admin killed with SIGKILL in the middle, then enrol again"
bench_card_stop 0
bench_card_new 0
before=$(bench_apdu_count 0)
"$A" card enrol --citizen 0004 --reader "$CVQ_READER_0" --letter "$W/letter-0004.txt" \
	> "$W/out4a" 2>&1 &
pid=$!
# Wait until the enrolment is under way (certificates being issued), then kill.
for ((n = 0; n < 400; n++)); do
	grep -q '3/11' "$W/out4a" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.01
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "killed after $(($(bench_apdu_count 0) - before)) APDUs: $(tail -1 "$W/out4a")"
admin_enrol 0004 0 | tee "$W/out4"
admin_card_works 0 "$W/letter-0004.txt"

echo "== pulled out while the signed CHUID is written (step 8): resumes, the card is genuine"
# Where that write is: in the trace of a whole enrolment on a fresh card,
# the 2nd CHUID PUT DATA (the 1st is step 2's); its 3rd block of 5 is
# inside it whatever a certificate's length does to the count before.
bench_card_stop 0
bench_card_new 0
from=$(($(wc -l < "$CVQ_CARD_0_TRACE") + 1))
admin_enrol 0006 0 > /dev/null
n=$(tail -n +"$from" "$CVQ_CARD_0_TRACE" | grep -E '> [01]0DB3FFF' | grep -n '5C035FC102' |
	sed -n 2p | cut -d: -f1)
[ -n "$n" ] || bench_fail "no signed CHUID write in the trace"
echo "the signed CHUID is PUT DATA number $n"
bench_card_stop 0
bench_card_new 0 --remove-at "DB:$((n + 2))"
expect_rc 4 admin_enrol 0007 0 2> "$W/err7"
grep -q "interrupted at step 'signed-objects'" "$W/err7" || bench_fail "$(cat "$W/err7")"
bench_card_stop 0; bench_card_start 0
admin_enrol 0007 0 | tee "$W/out7"
grep -q "after step 'printed-information'" "$W/out7" || bench_fail "did not resume at the signed objects"
admin_card_works 0 "$W/letter-0007.txt"
"$A" card info --reader "$CVQ_READER_0" | grep -q '^authentic *yes' ||
	bench_fail "the resumed card is not authentic"

echo "== a failure the CA will not go on with: marked failed, revoked; enrol starts over"
bench_card_stop 0
bench_card_new 0 --remove-at DB:3
expect_rc 4 admin_enrol 0005 0
bench_card_stop 0; bench_card_start 0
old=$(admin_guid 0)
"$A" citizen card-status "$old" suspended
expect_rc 1 admin_enrol 0005 0
admin_certs "$old" | tee "$W/certs5"
if grep -q ' good ' "$W/certs5"; then bench_fail "the failed card kept a good certificate"; fi
"$A" --json card show "$old" | grep -q '"state": "failed"' || bench_fail "not marked failed"
admin_enrol 0005 0 | tee "$W/out5"
grep -q 'starting over with a new identity' "$W/out5" || bench_fail "did not start over"
new=$(admin_guid 0)
[ "$new" != "$old" ] || bench_fail "the new enrolment kept the old GUID"
admin_card_works 0 "$W/letter-0005.txt"
echo "== reported stolen while its enrolment was interrupted: not finished, stays stolen"
bench_card_stop 0
bench_card_new 0 --remove-at 24
expect_rc 4 admin_enrol 0006 0
bench_card_stop 0; bench_card_start 0
g6=$(admin_guid 0)
"$A" card stolen "$g6" > /dev/null
rm -f "$W/letter-0006.txt"
expect_rc 1 admin_enrol 0006 0 > "$W/out6" 2>&1
grep -q "is stolen" "$W/out6" || bench_fail "resumed a stolen card: $(cat "$W/out6")"
[ ! -e "$W/letter-0006.txt" ] || bench_fail "a PIN letter for a stolen card"
"$A" --json card show "$g6" | grep -q '"status": "stolen"' || bench_fail "the stolen card is no longer stolen in the CA"
echo "PASS enrol-recover"
