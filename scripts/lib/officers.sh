# Two-person control by two uids (docs/ca.md "Two-person control"), for the
# demos and the tests (sourced; needs $ADMIN). This process is the first
# officer; the second, OFF2, is another uid (root becomes it with setpriv)
# that reaches the CA only through its issuing agent (socket group OFF_G),
# as a second person at another desk would.
: "${OFF2:=61502}" "${OFF_G:=61500}"

# officers_can: this process may act as another uid (it is really root).
officers_can() { setpriv --reuid="$OFF2" --regid="$OFF2" --groups="$OFF_G" -- true 2>/dev/null; }

# officers_roles CONF [UID...]: [roles] officer = us, OFF2 (or the UIDs), appended.
officers_roles() {
	local conf=$1
	shift
	local who=("$@")
	[ ${#who[@]} -gt 0 ] || who=("$(id -u)" "$OFF2")
	printf '\n[roles]\nofficer = %s\n' "$(IFS=,; echo "${who[*]}" | sed 's/,/, /g')" >> "$conf"
}

# officer_as UID CMD...: CMD as UID (groups: its own and OFF_G), from /.
officer_as() {
	local u=$1
	shift
	(cd / && setpriv --reuid="$u" --regid="$u" --groups="$OFF_G" -- "$@")
}

# officer_approve UID CONF PASSFILE ID: UID approves request ID of the CA
# of CONF through an agent started for it (CA passphrase in PASSFILE) and
# stopped after. Returns the approval's status; its output goes to
# $OFFICER_OUT (default /dev/null).
officer_approve() {
	local u=$1 conf=$2 passfile=$3 id=$4 d pid rc=0 n start
	# The second officer must reach the socket and read the configuration:
	# the directories down to it inside the bench (or only the CA's own,
	# outside one) are traversable (o+x) for the approval only.
	local dirs=() modes=() i
	d=$(cd "$(dirname "$conf")" && pwd)
	dirs+=("$d")
	while [ -n "${CVQ_BENCH:-}" ] && [[ $d == "$CVQ_BENCH"/* ]]; do
		d=$(dirname "$d")
		dirs+=("$d")
	done
	for d in "${dirs[@]}"; do modes+=("$(stat -c %a "$d")"); chmod o+x "$d"; done
	chmod o+r "$conf"
	# An agent directory made for this approval (its group OFF_G) goes
	# with it: a later agent of another group makes its own.
	local agent_dir=${dirs[0]}/agent made=
	[ -e "$agent_dir" ] || made=1
	start=$("$ADMIN" --config "$conf" ca-agent start --pass "file:$passfile" --idle 0 --group "$OFF_G") ||
		{ echo "officer_approve: no agent: $start" >&2; return 1; }
	pid=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' <<<"$start")
	officer_as "$u" "$ADMIN" --config "$conf" ca approve "$id" > "${OFFICER_OUT:-/dev/null}" 2>&1 ||
		rc=$?
	"$ADMIN" --config "$conf" ca-agent stop >/dev/null 2>&1 || true
	for ((n = 0; n < 200; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	[ -z "$made" ] || rm -rf "$agent_dir"
	for i in "${!dirs[@]}"; do chmod "${modes[$i]}" "${dirs[$i]}"; done
	return $rc
}

# officers_make CONF CAPASSFILE N CMD...: a key of authority of the CA of
# CONF in its three steps: we run CMD (its first N words the command, the
# rest its options), which makes the key and prints "request ID pending";
# OFF2 approves; we take the certificate with the command and --finish ID.
officers_make() {
	local conf=$1 passfile=$2 n=$3 out id
	shift 3
	local cmd=("${@:1:n}")
	out=$("$ADMIN" --config "$conf" "$@" 2>&1) || { printf '%s\n%s failed\n' "$out" "${cmd[*]}" >&2; return 1; }
	id=$(sed -n 's/^request \([0-9]*\) pending$/\1/p' <<<"$out")
	[ -n "$id" ] || { echo "${cmd[*]}: no request ($out)" >&2; return 1; }
	officer_approve "$OFF2" "$conf" "$passfile" "$id" || { echo "${cmd[*]}: $OFF2 did not approve" >&2; return 1; }
	"$ADMIN" --config "$conf" "${cmd[@]}" --finish "$id"
}

# officers_tsa CONF CAPASSFILE [tsa init options...]: the TSA of the CA of
# CONF (tsa init; tsa init --finish).
officers_tsa() {
	local conf=$1 passfile=$2
	shift 2
	officers_make "$conf" "$passfile" 2 tsa init "$@"
}

# officers_content_signer CONF CAPASSFILE [options...]: the PIV content
# signer of the CA of CONF (card content-signer init; ... --finish), which
# every in-process enrolment needs (docs/enrolment.md step 8).
officers_content_signer() {
	local conf=$1 passfile=$2
	shift 2
	officers_make "$conf" "$passfile" 3 card content-signer init "$@"
}
