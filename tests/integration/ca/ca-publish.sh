#!/usr/bin/env bash
# Publishing beyond one machine: `cvq-admin publish DIR` writes the CRL and
# pre-signed OCSP responses at their RFC 5019 GET paths; nginx (from a
# temporary config, on loopback) serves DIR; openssl checks what it gets.
. "$(dirname "$0")/lib.sh"
cd "$W"
PORT=18081
URL=http://127.0.0.1:$PORT

make_ca ca --subject "/C=FR/O=Ville de Test/CN=CVQ Publication" --url "$URL" --unattested admit
export CVQ_CA_CONFIG=$W/ca/ca.conf
"$ADMIN" citizen add --id INF-1 --given Ada --family Lovelace >/dev/null
"$ADMIN" citizen add-card INF-1 0123456789ABCDEF0123456789ABCDEF >/dev/null
for i in 1 2 3; do
	csr c$i.csr
	"$ADMIN" cert issue --profile citizen-auth --card 0123456789ABCDEF0123456789ABCDEF --out c$i.pem c$i.csr
done
"$ADMIN" cert revoke "$(serial_of c2.pem)" --reason cessationOfOperation >/dev/null
"$ADMIN" --json publish pub --new-crl > pub.json
python3 -c 'import json; d=json.load(open("pub.json")); assert d["failed"]==0 and d["ocsp_responses"]>=4, d'

mkdir -p nginx/tmp
# The bench dir is private (0700): workers run as ourselves.
cat > nginx/nginx.conf <<NGINX
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
daemon off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 256; }
http {
	access_log $W/nginx/access.log;
	client_body_temp_path $W/nginx/tmp;
	proxy_temp_path $W/nginx/tmp;
	fastcgi_temp_path $W/nginx/tmp;
	uwsgi_temp_path $W/nginx/tmp;
	scgi_temp_path $W/nginx/tmp;
	# base64 has '/' and may hold '//': keep the path as sent.
	merge_slashes off;
	server {
		listen 127.0.0.1:$PORT;
		root $W/pub;
		location /ocsp/ { default_type application/ocsp-response; expires 1h; }
		location = /ca.crl { default_type application/pkix-crl; }
		location = /ca.der { default_type application/pkix-cert; }
	}
}
NGINX
chmod -R a+rX "$W"
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" &
PIDS+=($!)
wait_port $PORT

# The CRL from the web server, as a relying party fetches it.
curl -sf -o web.crl "$URL/ca.crl"
openssl crl -inform DER -in web.crl -out web-crl.pem
has "verify OK" openssl crl -in web-crl.pem -CAfile ca/ca.pem -noout || fail "CRL from nginx"
cat ca/ca.pem web-crl.pem > chain-crl.pem
openssl verify -crl_check -CAfile chain-crl.pem c1.pem >/dev/null || fail "good with web CRL"
has "certificate revoked" openssl verify -crl_check -CAfile chain-crl.pem c2.pem || fail "revoked with web CRL"
curl -sf -o web-ca.der "$URL/ca.der"
cmp web-ca.der <(openssl x509 -in ca/ca.pem -outform DER) || fail "caIssuers"

# OCSP: openssl builds the request, the web server answers by GET.
check() { # cert expected-status
	openssl ocsp -issuer ca/ca.pem -cert "$1" -no_nonce -reqout "$1.req" >/dev/null 2>&1
	curl -sf -D "$1.h" -o "$1.resp" "$URL/ocsp/$(base64 -w0 "$1.req")" || fail "GET for $1"
	grep -qi "^content-type: application/ocsp-response" "$1.h" || fail "content type"
	openssl ocsp -respin "$1.resp" -reqin "$1.req" -issuer ca/ca.pem -cert "$1" -CAfile ca/ca.pem \
		> "$1.txt" 2>&1 || true
	grep -q "^$1: $2" "$1.txt" || { cat "$1.txt"; fail "$1 not $2 via nginx"; }
	grep -q "Response verify OK" "$1.txt" || fail "signature of the published response"
}
check c1.pem good
check c2.pem revoked
check c3.pem good
# Percent-encoded paths reach the same file.
openssl ocsp -issuer ca/ca.pem -cert c1.pem -no_nonce -reqout e.req >/dev/null 2>&1
curl -sf -o e.resp "$URL/ocsp/$(base64 -w0 e.req | sed 's/+/%2B/g; s/=/%3D/g')" || fail "encoded GET"
cmp e.resp c1.pem.resp || fail "encoded GET differs"
ok "publish: CRL, caIssuers and pre-signed OCSP served by nginx, judged by openssl"
echo "PASS ca-publish"
