#!/usr/bin/env bash
# Kiosks keep their CRLs fresh on their own (issue #16): cvqd's [crl]
# fetches the CRL that `cvq-admin publish` wrote and nginx serves on
# loopback (inside the bench's private network namespace). A card reported
# stolen at the CA is refused once the CA publishes again, without SIGHUP;
# nginx stopped, a server that accepts and never answers, garbage, a CRL
# signed by another key under the CA's name, an older CRL: each refused,
# the last good CRL kept and in use, /v1/status says it is not fresh and
# still answers while a fetch hangs; nginx back: refreshed; a restart uses
# the cache; without urls the card's own distribution point is fetched;
# cvq-admin verify --fetch-crls / --crl-url agree. Judged by
# nginx's access log (conditional GETs, 304), the journal, openssl and cmp.
set -euo pipefail
. "$CVQ_SRC/tests/integration/admin/lib-admin.sh"
. "$CVQ_SRC/tests/integration/daemon/lib.sh"

PORT=18096
OCSP_PORT=$PORT   # admin_setup's --url: the CRL distribution point is nginx's /ca.crl
URL=http://127.0.0.1:$PORT/ca.crl
PKI=$W/ca         # cvqd_config's anchors = $PKI/ca.pem
admin_setup
admin_enrol 0001 0 > /dev/null
guid=$(admin_guid 0)
admin_card_cert 0 9c > "$W/sign.pem"
openssl x509 -in "$W/sign.pem" -noout -ext crlDistributionPoints | grep -qF "URI:$URL" ||
	bench_fail "the card's certificate does not name $URL"
export CVQ_FAKE_PIN_FILE=$CVQ_BENCH/pin.txt CVQ_FAKE_PINENTRY_LOG=$CVQ_BENCH/pinentry.log
admin_pin "$W/letter-0001.txt" > "$CVQ_FAKE_PIN_FILE"
"$A" publish "$W/pub" --new-crl > /dev/null
cp "$W/pub/ca.crl" "$W/first.crl"

# nginx serves the published directory; its log says what was asked.
mkdir -p "$W/nginx/tmp"
cat > "$W/nginx/nginx.conf" <<NGINX
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
daemon off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 64; }
http {
	log_format cond '\$status inm=[\$http_if_none_match] ims=[\$http_if_modified_since] \$request';
	access_log $W/nginx/access.log cond;
	client_body_temp_path $W/nginx/tmp;
	proxy_temp_path $W/nginx/tmp;
	fastcgi_temp_path $W/nginx/tmp;
	uwsgi_temp_path $W/nginx/tmp;
	scgi_temp_path $W/nginx/tmp;
	server {
		listen 127.0.0.1:$PORT;
		root $W/pub;
		location = /ca.crl { default_type application/pkix-crl; }
	}
}
NGINX
# nginx reads only what is published (the CA key stays 0600).
chmod a+x "$CVQ_BENCH" "$W"
chmod -R a+rX "$W/pub" "$W/nginx"
NGINX_PID=
SRV_PID=
nginx_start() {
	nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" &
	NGINX_PID=$!
	local n
	for ((n = 0; n < 200; n++)); do
		curl -s -o /dev/null "$URL" && return 0
		sleep 0.05
	done
	bench_fail "nginx did not start"
}
nginx_stop() { kill "$NGINX_PID"; wait "$NGINX_PID" || true; NGINX_PID=; }
cleanup() {
	kill -TERM ${CVQD_PID:-} ${NGINX_PID:-} ${SRV_PID:-} 2>/dev/null || true
}
nginx_start

cvqd_config "$CVQ_BENCH/cvqd.conf" "[trust]" "crls =" \
	"[crl]" "urls = $URL" "cache_dir = $CVQ_BENCH/crlcache" \
	"interval = 1" "retry_min = 1" "retry_max = 2" "timeout = 3"
cvqd_start "$CVQ_BENCH/cvqd.conf"
trap cleanup EXIT
crl() { api GET /v1/status | cut -d' ' -f2- | jq -c ".trust.crl_fetch[0]$1"; }
tx='{"type":"payment","payee":"École de musique","amount":"45.00","currency":"EUR","reference":"INSCR-2026-0042"}'
sign() { rm -f "$CVQ_FAKE_PIN_FILE.count"; api POST /v1/sign "{\"transaction\":$tx}"; }
num() { echo $(( $(openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/.*=//') )); }
n1=$(num "$W/first.crl")

echo "--- the published CRL fetched, verified, cached (0644, the bytes nginx served)"
wait_status ".readers[0].card_present and .trust.crl_fetch[0].crl_number == $n1 and
	.trust.crl_fetch[0].fresh and .trust.crl_fetch[0].last_detail == \"\""
cache=$(crl .cache | jq -r .)
cmp "$cache" "$W/pub/ca.crl" || bench_fail "the cached CRL is not the one nginx served"
[ "$(stat -c %a "$cache")" = 644 ] || bench_fail "cache mode $(stat -c %a "$cache")"
out=$(sign)
[ "${out%% *}" = 200 ] || bench_fail "sign with a fresh CRL: $out"
receipt=$(jq -r .receipt <<< "${out#* }")
# The partner's side: cvq-admin verify fetches the CRL itself (the DP in
# the receipt's certificate, or the URL given).
vrc() { local rc=0; "$A" verify --anchors "$W/ca/ca.pem" --ocsp-timeout 3 "$@" > "$W/v.out" 2> "$W/v.err" || rc=$?; echo $rc; }
[ "$(vrc --fetch-crls - <<< "$receipt")" = 0 ] || bench_fail "verify --fetch-crls: $(cat "$W/v.out" "$W/v.err")"
[ "$(vrc - <<< "$receipt")" = 1 ] || bench_fail "verify without a CRL decided: $(cat "$W/v.out")"

echo "--- then conditional GETs: nginx answers 304 to our ETag"
wait_status '.trust.crl_fetch[0].last_result == "not_modified"'
grep -q '^304 inm=\[\\x22.*\\x22\] ims=\[[A-Z][a-z][a-z], ' "$W/nginx/access.log" ||
	{ cat "$W/nginx/access.log" >&2; bench_fail "no conditional GET answered 304"; }

echo "--- the card reported stolen, the CA publishes: refused without SIGHUP"
"$A" card stolen "$guid" > /dev/null
"$A" publish "$W/pub" --new-crl > /dev/null
n2=$(num "$W/pub/ca.crl")
[ "$n2" -gt "$n1" ] || bench_fail "publish did not issue a new CRL"
wait_status ".trust.crl_fetch[0].crl_number == $n2 and .trust.crl_fetch[0].revoked >= 1"
expect_error "$(sign)" 403 certificate_revoked
expect_error "$(api POST /v1/verify "{\"receipt\":\"$receipt\"}")" 403 certificate_revoked
[ "$(vrc --crl-url "$URL" --cert "$W/sign.pem" --signing)" = 6 ] ||
	bench_fail "verify --crl-url of the stolen card: $(cat "$W/v.out" "$W/v.err")"
[ "$(vrc --fetch-crls - <<< "$receipt")" = 6 ] || bench_fail "verify --fetch-crls of the receipt: $(cat "$W/v.out")"
grep -q "key_compromised\|revoked" "$W/v.out" || bench_fail "verify does not say revoked: $(cat "$W/v.out")"

echo "--- the cache cannot be written: the new CRL is used anyway, the write retried"
mkdir "$cache.tmp"   # where the next CRL would be written first
"$A" publish "$W/pub" --new-crl > /dev/null
n2=$(num "$W/pub/ca.crl")
wait_status ".trust.crl_fetch[0].crl_number == $n2 and .trust.crl_fetch[0].last_result == \"store_failed\""
! cmp -s "$cache" "$W/pub/ca.crl" || bench_fail "the cache was written through a blocked temporary"
rmdir "$cache.tmp"
wait_status '.trust.crl_fetch[0].last_result == "not_modified"'
cmp "$cache" "$W/pub/ca.crl" || bench_fail "the cache was not written once it could be"
cp "$cache" "$W/good.crl"

echo "--- the network cut (nginx stopped): the last good CRL kept, not fresh"
nginx_stop
wait_status '.trust.crl_fetch[0].last_result == "network" and (.trust.crl_fetch[0].fresh | not)
	and .trust.crl_fetch[0].have and .trust.crl_fetch[0].failures >= 1
	and (.trust.crl_fetch[0].last_detail | test("connect"))'
expect_error "$(sign)" 403 certificate_revoked
cmp "$cache" "$W/good.crl" || bench_fail "the cached CRL changed while the network was cut"
[ "$(vrc --crl-url "$URL" --cert "$W/sign.pem" --signing)" = 1 ] ||
	bench_fail "verify with the CRL server down decided: $(cat "$W/v.out")"
grep -q "CRL $URL: network" "$W/v.err" || bench_fail "verify did not say the fetch failed: $(cat "$W/v.err")"

echo stall > "$W/srv.mode"
# A server we steer: "stall" accepts and holds every connection (and says
# when the client gave up), otherwise it answers 200 with the file body.
steer_start() {
	rm -f "$W/srv.up"
	python3 - "$W" "$PORT" <<'PY' &
import os, socket, sys, threading
w, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
open(os.path.join(w, "srv.up"), "w").close()
def note(what):
    with open(os.path.join(w, "srv.log"), "a") as f: f.write(what + "\n")
def serve(c, k):
    mode = open(os.path.join(w, "srv.mode")).read().strip()
    if mode == "stall":
        note("accepted %d" % k)
        while c.recv(4096): pass  # until cvqd closes it
        note("closed %d" % k)
        return
    body = open(os.path.join(w, "srv.body"), "rb").read()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % len(body) + body)
    c.close()
    note("served " + mode)
k = 0
while True:
    c, _ = s.accept(); k += 1
    threading.Thread(target=serve, args=(c, k), daemon=True).start()
PY
	SRV_PID=$!
	for ((n = 0; n < 200; n++)); do [ -e "$W/srv.up" ] && break; sleep 0.05; done
}
steer_start

echo "--- a server that accepts and never answers: /v1/status answers meanwhile"
for ((n = 0; n < 400; n++)); do grep -q accepted "$W/srv.log" 2>/dev/null && break; sleep 0.05; done
k=$(sed -n 's/^accepted //p' "$W/srv.log" 2>/dev/null | head -1)
[ -n "$k" ] || bench_fail "cvqd never connected to the stalling server"
out=$(api GET /v1/status)
[ "${out%% *}" = 200 ] || bench_fail "/v1/status while a fetch hangs: $out"
! grep -qx "closed $k" "$W/srv.log" || bench_fail "/v1/status waited for the fetch to give up"
for ((n = 0; n < 400; n++)); do grep -qx "closed $k" "$W/srv.log" && break; sleep 0.05; done
grep -qx "closed $k" "$W/srv.log" || bench_fail "the hung fetch was not abandoned"
wait_status '.trust.crl_fetch[0].last_detail | test("no complete answer")'
expect_error "$(sign)" 403 certificate_revoked

jcount() { sqlite3 "$CVQ_BENCH/journal.sqlite" "SELECT count(*) FROM journal WHERE op = 'crl_refresh' AND result = '$1'"; }
refused() { # MODE BODY-FILE RESULT: served with 200, refused, the last good kept
	cp "$2" "$W/srv.body"
	echo "$1" > "$W/srv.mode"
	local n c
	for ((n = 0; n < 400; n++)); do grep -qx "served $1" "$W/srv.log" && break; sleep 0.05; done
	grep -qx "served $1" "$W/srv.log" || bench_fail "$1 was never fetched"
	# Every fetch journalled from now on got this body.
	c=$(jcount "$3")
	for ((n = 0; n < 400; n++)); do [ "$(jcount "$3")" -gt "$c" ] && break; sleep 0.05; done
	[ "$(jcount "$3")" -gt "$c" ] || bench_fail "$1: not refused as $3: $(crl .)"
	[ "$(crl .last_result)" = "\"$3\"" ] || bench_fail "$1: $(crl .)"
	[ "$(crl .crl_number)" = "$n2" ] || bench_fail "$1: the CRL held changed: $(crl .)"
	cmp "$cache" "$W/good.crl" || bench_fail "$1: the cached CRL was replaced"
	expect_error "$(sign)" 403 certificate_revoked
}
echo "--- packets lost (a listener whose queue is full drops our SYN): the connect times out"
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
python3 - "$W" "$PORT" <<'PY' &
import os, socket, sys, time
w, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(0)
# Fill the accept queue ourselves and never accept: Linux then drops new SYNs.
held = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.5)
open(os.path.join(w, "hole.up"), "w").close()
time.sleep(3600)
PY
SRV_PID=$!
for ((n = 0; n < 200; n++)); do [ -e "$W/hole.up" ] && break; sleep 0.05; done
wait_status '.trust.crl_fetch[0].last_detail | test("connect .*timed out")'
[ "$(crl .crl_number)" = "$n2" ] || bench_fail "the CRL held changed while packets were lost"
expect_error "$(sign)" 403 certificate_revoked
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
steer_start

echo "--- garbage"
head -c 3000 /dev/urandom > "$W/garbage.bin"
refused garbage "$W/garbage.bin" malformed
echo "--- a CRL under the CA's name, signed by another key, with a higher number"
mkdir -p "$W/other"
openssl ecparam -name prime256v1 -genkey -noout -out "$W/other/key.pem"
subj=$(openssl x509 -in "$W/ca/ca.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
openssl req -new -x509 -key "$W/other/key.pem" -subj "$subj" -days 30 -out "$W/other/ca.pem" \
	-addext keyUsage=critical,keyCertSign,cRLSign
: > "$W/other/index.txt"; echo 9999 > "$W/other/crlnumber"
cat > "$W/other/ca.cnf" <<EOC
[ca]
default_ca = x
[x]
database = $W/other/index.txt
crlnumber = $W/other/crlnumber
certificate = $W/other/ca.pem
private_key = $W/other/key.pem
default_md = sha256
default_crl_days = 7
EOC
openssl ca -config "$W/other/ca.cnf" -gencrl -batch 2>/dev/null | openssl crl -outform DER -out "$W/other.crl"
openssl crl -inform DER -in "$W/other.crl" -noout -issuer | grep -qF "$(openssl x509 -in "$W/ca/ca.pem" -noout -subject | sed 's/^subject=//')" ||
	bench_fail "the forged CRL does not carry the CA's name"
refused forged "$W/other.crl" untrusted
echo "--- an older CRL of the CA (the first one published, number $n1)"
refused older "$W/first.crl" older
echo "--- a CRL signed by the CA's key, newer thisUpdate, but a lower number ($n1)"
printf '%04x\n' "$n1" > "$W/other/crlnumber"
sed -e "s|^certificate = .*|certificate = $W/ca/ca.pem|" -e "s|^private_key = .*|private_key = $W/ca/ca-key.pem|" \
	"$W/other/ca.cnf" > "$W/other/real.cnf"
sleep 1  # a thisUpdate one second after the CRL held (the only wait: not an assertion)
openssl ca -config "$W/other/real.cnf" -gencrl -batch -passin "file:$W/ca.pass" 2>/dev/null |
	openssl crl -outform DER -out "$W/lower.crl"
openssl crl -inform DER -in "$W/lower.crl" -CAfile "$W/ca/ca.pem" -noout 2>&1 | grep -q "verify OK" ||
	bench_fail "openssl does not accept the lower-numbered CRL as the CA's"
[ "$(num "$W/lower.crl")" = "$n1" ] || bench_fail "the lower CRL's number"
refused lower "$W/lower.crl" older

echo "--- the network restored (nginx, and the CA published meanwhile): refreshed"
"$A" publish "$W/pub" --new-crl > /dev/null
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=
nginx_start
n3=$(num "$W/pub/ca.crl")
wait_status ".trust.crl_fetch[0].crl_number == $n3 and .trust.crl_fetch[0].fresh and
	.trust.crl_fetch[0].failures == 0"
cmp "$cache" "$W/pub/ca.crl" || bench_fail "the cache is not the CRL nginx serves"
expect_error "$(sign)" 403 certificate_revoked

echo "--- the journal: one row per fetch, the URL as where"
q() { sqlite3 "$CVQ_BENCH/journal.sqlite" "$1"; }
for r in ok not_modified network malformed untrusted older; do
	[ "$(q "SELECT count(*) FROM journal WHERE op = 'crl_refresh' AND result = '$r' AND reader = '$URL'")" -ge 1 ] ||
		bench_fail "no crl_refresh '$r' in the journal: $(q "SELECT op, reader, result FROM journal")"
done

echo "--- restarted with the network cut: the cached CRL is in use at once"
cvqd_stop
nginx_stop
cvqd_start "$CVQ_BENCH/cvqd.conf"
trap cleanup EXIT
wait_status '.readers[0].card_present and .trust.crl_fetch[0].have'
expect_error "$(sign)" 403 certificate_revoked
cvqd_stop

echo "--- no urls, nothing cached: the distribution point of the card's certificate"
nginx_start
cvqd_config "$CVQ_BENCH/cvqd.conf" "[trust]" "crls =" \
	"[crl]" "cache_dir = $CVQ_BENCH/crlcache2" "interval = 1" "retry_min = 1" "retry_max = 2" "timeout = 3"
cvqd_start "$CVQ_BENCH/cvqd.conf"
trap cleanup EXIT
wait_status '.readers[0].card_present and (.trust.crl_fetch | length) == 0'
out=$(sign)  # reads the card's certificate; may be refused for want of a CRL yet
[ "${out%% *}" != 200 ] || bench_fail "signed without any CRL: $out"
wait_status ".trust.crl_fetch[0].url == \"$URL\" and .trust.crl_fetch[0].crl_number == $n3"
expect_error "$(sign)" 403 certificate_revoked
cvqd_stop
echo "PASS"
