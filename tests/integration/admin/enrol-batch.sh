#!/usr/bin/env bash
# Batch enrolment: three citizens on two readers; when a reader's card is
# done, the "staff" swaps it for a blank one. Every card ends up working.
. "$(dirname "$0")/lib-admin.sh"

admin_setup
"$A" citizen add --id 0002 --given Jean --family Martin > /dev/null
"$A" citizen add --id 0003 --given Lea --family Bernard > /dev/null
printf '# today at the counter\n0001\n0002\n\n0003\n' > "$W/list.txt"
mkdir -p "$W/letters"
"$A" card enrol-batch --list "$W/list.txt" --reader "$CVQ_READER_0" --reader "$CVQ_READER_1" \
	--letter-dir "$W/letters" --wait 60 > "$W/batch.out" 2>&1 &
pid=$!
# The first reader to finish asks for the next card: swap it.
swapped=
for ((n = 0; n < 1200; n++)); do
	kill -0 "$pid" 2>/dev/null || break
	if [ -z "$swapped" ] && grep -q 'take the card out' "$W/batch.out"; then
		line=$(grep -m1 'take the card out' "$W/batch.out")
		i=0
		[[ $line == *"$CVQ_READER_1"* ]] && i=1
		cp "$CVQ_BENCH/card$i.state" "$W/done$i.state"
		bench_card_stop "$i"
		bench_card_new "$i"
		swapped=$i
	fi
	sleep 0.05
done
rc=0
wait "$pid" || rc=$?
cat "$W/batch.out"
[ "$rc" = 0 ] || bench_fail "enrol-batch exited $rc"
grep -q 'Batch finished: 3 enrolled, 0 failed' "$W/batch.out" || bench_fail "not all enrolled"
[ -n "$swapped" ] || bench_fail "no card was swapped"
# Each enrolment's steps reach the batch through libcvqenrol's progress
# callback: eleven step lines per citizen, ending with the activation.
for id in 0001 0002 0003; do
	[ "$(grep -c ": $id step [0-9]*/11 " "$W/batch.out")" = 11 ] ||
		bench_fail "citizen $id: not 11 step lines from the progress callback"
	grep -q ": $id step 11/11 active$" "$W/batch.out" || bench_fail "citizen $id: no activation step"
done
for id in 0001 0002 0003; do
	[ "$(stat -c %a "$W/letters/pin-letter-$id.txt")" = 600 ] || bench_fail "letter $id"
	"$A" citizen cards "$id" | grep -q ' active ' || bench_fail "citizen $id has no active card"
done
# The two cards still in the readers work with OpenSC.
for i in 0 1; do
	guid=$(admin_guid "$i")
	holder=$("$A" --json card show "$guid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["holder"])')
	admin_card_works "$i" "$W/letters/pin-letter-$holder.txt"
done
echo "PASS enrol-batch"
