# netns-lib.sh — a counter on another machine (issue #13): the CA's side in
# the bench's network namespace, the counter's in a namespace of its own
# joined by a veth pair, the CA folder hidden from it under a tmpfs. Shared
# by enrol-netns.sh and story-netns.sh. The CA's side sources it after
# lib-admin.sh; the counter's script (run by netns_run) sources it alone,
# so nothing here runs when sourced: functions and defaults only.
#
# CA side (needs $A, $W from lib-admin.sh; sets CA=$W/ca, CTR=$W/counter):
#   netns_need                      skip (77) without root, ip and unshare
#   netns_ca URL OFFICERS           the CA (OCSP URL in its certificates), its
#                                   citizens, content signer, TLS and desk keys,
#                                   [roles] officer = OFFICERS, the two operators
#   netns_up NS CA_IF CTR_IF CA_IP CTR_IP   the counter's namespace, a veth pair;
#                                   everything torn down on exit (trap)
#   netns_agent PORT                the issuing agent, its TLS front on $CA_IP:PORT
#   netns_run CARDS SCRIPT [VAR=VALUE...]   SCRIPT in the counter's namespace
#                                   on a bench of its own (cards CARDS)
# Counter side (CA, CTR, CA_IP, PORT, CA_NETNS in the environment):
#   netns_fail MSG                  the counter's failure
#   netns_hide_ca                   the CA folder under a tmpfs, no CA secret left
#                                   readable, the agent reached over the veth only;
#                                   sets NETNS_LINK, the options naming the agent
#   netns_enrol ID READER LETTER LINK-OPTIONS...   one enrolment to its end
#   netns_staff                     the operator's staff card (card 1), enrolled
#                                   with the desk's key file; sets STAFF_LINK, the
#                                   link options with the staff card's 9A key
#   netns_pin LETTER                the PIN of a PIN letter

NETNS_NS= NETNS_IF= NETNS_PIDS=()

netns_need() {
	[ "$(id -u)" = 0 ] && command -v ip > /dev/null && command -v unshare > /dev/null ||
		{ echo "SKIP: needs root, ip and unshare"; exit 77; }
}

# Whatever happened: the processes we started, the namespace, the veth
# (its peer goes with the namespace; the bench's own namespaces and the
# tmpfs on /run/netns go with the test's process).
netns_cleanup() {
	local p n
	for p in "${NETNS_PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
	for p in "${NETNS_PIDS[@]}"; do
		for ((n = 0; n < 100; n++)); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
	done
	[ -z "$NETNS_NS" ] || ip netns del "$NETNS_NS" 2> /dev/null || true
	[ -z "$NETNS_IF" ] || ip link del "$NETNS_IF" 2> /dev/null || true
}

# netns_issue NAME CN ARGS...: a key and a certificate issued at the CA's desk
netns_issue() {
	local n=$1 cn=$2
	shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" \
		-subj "/CN=$cn" -out "$n.csr" 2> /dev/null
	chmod 600 "$n.key"
	"$A" cert issue --no-agent --pass "file:$CA/ca.pass" --out "$n.pem" "$@" "$n.csr" > /dev/null
}

netns_ca() {
	local url=$1 officers=$2
	CA=$W/ca CTR=$W/counter
	mkdir -p "$W" "$CTR"
	( umask 077; mkdir -p "$CA"; printf 'bench-ca-passphrase\n' > "$CA/ca.pass" )
	"$A" ca init --dir "$CA" --pass "file:$CA/ca.pass" --unattested admit \
		--subject "/C=FR/O=Ville d'Alencon/CN=CVQ Test CA" --url "$url" > /dev/null
	"$A" card master-key --out "$CA/master.key" > /dev/null
	"$A" citizen add --id 0001 --given Marie --family Dupont > /dev/null
	"$A" citizen add --id INF-OP --given Odile --family Guichet > /dev/null
	"$A" citizen add --id INF-DESK --given Accueil --family Mairie > /dev/null
	"$A" citizen add-card INF-DESK 0C00000000000000000000000000000C > /dev/null
	printf '\n[roles]\nofficer = %s\noperator = citizen:INF-DESK, citizen:INF-OP\n' \
		"$officers" >> "$CA/ca.conf"
	# The PIV content signer (two officers: lib-admin.sh) and the TLS
	# front's key stay with the agent.
	make_content_signer "$CA/ca.conf" "$CA/ca.pass"
	netns_issue "$CA/tls" "CA agent" --profile service --dns ca.cvq.test
	# The desk's bootstrap credential, enough to enrol the operator's staff
	# card: a citizen-auth certificate with its key in a file.
	netns_issue "$CTR/op" "x" --profile citizen-auth --card 0C00000000000000000000000000000C
	# The only thing of the CA the counter is given: its certificate.
	cp "$CA/ca.pem" "$CTR/city-ca.pem"
}

netns_up() {
	local ns=$1 ca_if=$2 ctr_if=$3
	CA_IP=$4 CTR_IP=$5
	trap netns_cleanup EXIT
	mkdir -p /run/netns
	# Ours only (the bench's private mount namespace): the machine's /run/netns is untouched.
	mountpoint -q /run/netns || mount -t tmpfs -o mode=0755 tmpfs /run/netns
	ip netns add "$ns"
	NETNS_NS=$ns
	ip link add "$ca_if" type veth peer name "$ctr_if"
	NETNS_IF=$ca_if
	ip link set "$ctr_if" netns "$ns"
	ip addr add "$CA_IP/24" dev "$ca_if"
	ip link set "$ca_if" up
	ip -n "$ns" addr add "$CTR_IP/24" dev "$ctr_if"
	ip -n "$ns" link set "$ctr_if" up
	ip -n "$ns" link set lo up
}

netns_agent() {
	local pid
	PORT=$1
	"$A" ca-agent start --pass "file:$CA/ca.pass" --idle 0 --listen "$CA_IP:$PORT" \
		--tls-cert "$CA/tls.pem" --tls-key "$CA/tls.key" > "$W/agent.out"
	pid=$(sed -n 's/^agent \([0-9]*\) .*/\1/p' "$W/agent.out")
	[ -n "$pid" ] || bench_fail "the agent did not start: $(cat "$W/agent.out")"
	NETNS_PIDS+=("$pid")
}

# The counter's own mount namespace (the tmpfs over the CA folder, its
# /etc/hosts), its own bench (pcscd, vpcd, cards); no CA configuration.
netns_run() {
	local cards=$1 script=$2
	shift 2
	ip netns exec "$NETNS_NS" unshare --mount --propagation private -- \
		env -u CVQ_CA_CONFIG CVQ_BENCH_NS=1 CA="$CA" CTR="$CTR" CA_IP="$CA_IP" PORT="$PORT" \
		CA_NETNS="$(readlink /proc/self/ns/net)" "$@" \
		"$CVQ_SRC/tests/bench/with-bench" --cards "$cards" -- bash "$script"
}

# ---- the counter's side ----

netns_fail() { echo "FAIL (counter): $*" >&2; exit 1; }

netns_hide_ca() {
	local f
	# The agent, as the counter names it: the server's name from its own /etc/hosts.
	NETNS_LINK=(--journal "$CTR/journal.db" --agent "https://ca.cvq.test:$PORT" --agent-ca "$CTR/city-ca.pem")
	mount -t tmpfs -o mode=0700 tmpfs "$CA"
	for f in ca-key.pem ca.pass master.key content-signer.key tls.key ocsp-key.pem tsa-key.pem \
		tsa.pass ca.db ca.conf agent/socket; do
		[ ! -e "$CA/$f" ] || netns_fail "$CA/$f is visible from the counter"
	done
	[ -z "$(ls -A "$CA")" ] || netns_fail "the CA folder is not empty here: $(ls -A "$CA")"
	# Nor anywhere else in the test's folder: the counter holds its desk key, nothing of the CA.
	f=$(find "$(dirname "$CTR")" \( -name '*.pass' -o -name '*key.pem' -o -name 'master.key' \
		-o -name 'content-signer.key' -o -name 'tls.key' -o -name 'ca.db' \) -print -quit)
	[ -z "$f" ] || netns_fail "a CA secret is readable from the counter: $f"
	# Another network namespace than the CA's, so not its loopback either.
	# (A probe of 127.0.0.1:PORT could not fail: the agent listens on
	# $CA_IP only, so nothing answers there even from the CA's namespace.)
	[ "$(readlink /proc/self/ns/net)" != "${CA_NETNS:?}" ] ||
		netns_fail "the counter runs in the CA's network namespace"
	! ip -o addr show | grep -F " $CA_IP/" > /dev/null || netns_fail "the CA's address $CA_IP is local to the counter"
	printf '%s ca.cvq.test\n' "$CA_IP" > "$CTR/hosts"
	mount --bind "$CTR/hosts" /etc/hosts
	curl -sS --fail --cert "$CTR/op.pem" --key "$CTR/op.key" --cacert "$CTR/city-ca.pem" \
		"https://ca.cvq.test:$PORT/.well-known/est/cacerts" | openssl base64 -d |
		openssl pkcs7 -inform DER -print_certs | grep -q "CVQ Test CA" || netns_fail "no cacerts over the veth"
	echo "ok: the counter reaches the agent over the veth, sees no CA secret"
}

netns_pin() { sed -n 's/^ *Code PIN : *\([0-9]*\)$/\1/p' "$1"; }

netns_enrol() {
	local id=$1 reader=$2 letter=$3
	shift 3
	"$CVQ_ADMIN" card enrol --citizen "$id" --reader "$reader" --letter "$letter" "${NETNS_LINK[@]}" "$@" \
		> "$CTR/enrol-$id.out" 2>&1 ||
		{ cat "$CTR/enrol-$id.out"; netns_fail "enrolment of $id through the TLS agent failed"; }
	grep -q '11/11 card active' "$CTR/enrol-$id.out" ||
		{ cat "$CTR/enrol-$id.out"; netns_fail "enrolment of $id did not reach its 11th step"; }
	echo "ok: $id enrolled over TLS ($(grep -c '^ *[0-9]*/11' "$CTR/enrol-$id.out") steps)"
}

netns_staff() {
	yubico-piv-tool -r "$CVQ_READER_1" -a status > /dev/null 2>&1 || netns_fail "no card in the counter's reader 1"
	netns_enrol INF-OP "$CVQ_READER_1" "$CTR/letter-staff.txt" --agent-cert "$CTR/op.pem" --agent-key "$CTR/op.key"
	yubico-piv-tool -r "$CVQ_READER_1" -a read-certificate -s 9a > "$CTR/staff.pem"
	( umask 077; netns_pin "$CTR/letter-staff.txt" > "$CTR/staff.pin" )
	[ -s "$CTR/staff.pin" ] || netns_fail "no PIN in the staff card's letter"
	# OpenSC probes every reader as it starts, the one of the card being
	# enrolled too: the enrolment loads its TLS key before it takes its card
	# (cvq_admin_link_open), so OpenSC is told nothing (the bench's OPENSC_CONF).
	STAFF_LINK=(--agent-cert "$CTR/staff.pem"
		--agent-key "pkcs11:slot-description=Virtual%20PCD%2000%2001;id=%01;type=private?module-path=$CVQ_OPENSC_MODULE"
		--agent-pin-source "file:$CTR/staff.pin")
}
