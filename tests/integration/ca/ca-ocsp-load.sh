#!/usr/bin/env bash
# The OCSP responder's cached, pre-signed answers under load while other
# processes commit: certificates issued and revoked by `cvq-admin` while
# bench/ca-load keeps 16 kept-alive and 8 one-shot connections busy. Every
# revocation is seen by the next nonce-less request (judged by openssl
# ocsp), the good ones stay good, the responder survives and no load
# request fails. (Regression: a private descriptor on the store's -shm once
# dropped SQLite's locks, and another process's open truncated it: SIGBUS.)
. "$(dirname "$0")/lib.sh"
cd "$W"
PORT=18082
URL=http://127.0.0.1:$PORT
LOAD=${CVQ_BUILD:?}/bench/ca-load
[ -x "$LOAD" ] || fail "no $LOAD"

make_ca ca --subject "/C=FR/O=Ville de Test/CN=CVQ OCSP load" --url "$URL"
export CVQ_CA_CONFIG=$W/ca/ca.conf
mkdir csrs
"$LOAD" csrs csrs 40
"$ADMIN" cert issue --profile service --out all.pem csrs/*.csr >/dev/null
sqlite3 ca/ca.db "SELECT serial FROM certs" > serials
"$ADMIN" ocsp serve --listen 127.0.0.1:$PORT --threads 2 > ocsp.log 2>&1 &
SRV=$!
PIDS+=($SRV)
wait_port $PORT

status() {
	openssl ocsp -issuer ca/ca.pem -serial "0x$1" -url $URL/ocsp -CAfile ca/ca.pem -no_nonce 2>&1 |
		awk -v c="0x$1:" '$1 == c { print $2 }'
}
"$LOAD" ocsp -k 127.0.0.1 $PORT ca/ca.pem serials 16 6 > load-k.out &
L1=$!
"$LOAD" ocsp 127.0.0.1 $PORT ca/ca.pem serials 8 6 > load-c.out &
L2=$!
i=0
while read -r s; do
	i=$((i + 1))
	[ $((i % 4)) -eq 0 ] || continue
	[ "$(status "$s")" = good ] || fail "$s not good before its revocation"
	"$ADMIN" cert revoke "$s" --reason keyCompromise >/dev/null
	[ "$(status "$s")" = revoked ] || fail "$s: revocation not seen by the next request"
	# Another process commits something unrelated: the answer stays right.
	csr x$i.csr
	"$ADMIN" cert issue --profile service --out x$i.pem x$i.csr >/dev/null
	[ "$(status "$s")" = revoked ] || fail "$s: revoked answer lost after an issuance"
	[ "$(status "$(sed -n 1p serials)")" = good ] || fail "good certificate no longer good"
done < serials
wait $L1 $L2
for f in load-k.out load-c.out; do
	read -r _ n _ e _ <"$f"
	[ "$n" -gt 0 ] && [ "$e" = 0 ] || fail "$f: $(cat "$f")"
done
kill -0 $SRV || fail "responder died: $(cat ocsp.log)"
ok "OCSP under load: 10 revocations and 10 issuances by other processes seen at once ($(cut -d' ' -f2 load-k.out) + $(cut -d' ' -f2 load-c.out) load requests)"
