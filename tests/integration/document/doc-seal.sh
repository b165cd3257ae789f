#!/usr/bin/env bash
# The city's seal on a marriage certificate, judged by peers (issue #14):
#   - the seal certificate (profile seal, EKU documentSigning) needs two
#     CA officers (one is refused), its key born on a SoftHSM2 token;
#   - `cvq-admin document sign` makes PAdES B-LT: signingCertificateV2,
#     the city TSA's timestamp, the CA certificate and CRL in the /DSS of
#     the signed revision;
#   - poppler's pdfsig: "Signature is Valid", "Certificate is Trusted"
#     (an NSS database trusting the city CA), "Total document signed";
#     qpdf --check clean; openssl cms -verify on the extracted CMS and
#     openssl ts -verify on its token;
#   - `cvq-admin document verify`: valid, with a French verdict, offline;
#     a byte changed, a copy signed by a non-seal certificate, a seal
#     revoked before the timestamp: refused; a .p7s for a non-PDF file.
. "$(dirname "$0")/../ca/lib.sh"
. "$(dirname "$0")/seal-lib.sh"
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
B=${CVQ_BUILD:?}/tests/integration/document
cd "$W"
PORT=18093

# The city CA and TSA, the seal's key on the token, the issuing agent.
seal_pki $PORT

# Two officers: the request of one issues nothing; the other's approval does.
if as $OFF1 "$ADMIN" cert issue --profile seal --out "$W/pub/seal.pem" seal.csr 2>/dev/null; then
	fail "one officer issued a seal"
fi
seal_request
if as $OFF1 "$ADMIN" ca approve --out "$W/pub/seal.pem" "$SEAL_REQ" 2>/dev/null; then
	fail "the requesting officer approved his own seal"
fi
[ ! -e pub/seal.pem ] || fail "a seal was written before the second officer"
seal_approve
openssl verify -CAfile ca/ca.pem seal.pem >/dev/null || fail "openssl verify seal.pem"
"$ADMIN" cert check --profile seal seal.pem >/dev/null || fail "profile check of the seal"
openssl x509 -in seal.pem -noout -ext extendedKeyUsage | grep -q "1.3.6.1.5.5.7.3.36" ||
	fail "no documentSigning EKU"
ok "seal certificate: two officers, key on the token"

# A marriage certificate from cairo, sealed (B-LT).
"$ADMIN" crl issue --out crl.pem --pem >/dev/null
"$B/cvq-mkpdf" acte.pdf 2 "Marie Dupont" "Jean Martin"
"$ADMIN" --json document sign --key "$KEY" --pin-source "file:$W/pin" --cert seal.pem \
	--chain ca/ca.pem --tsa "$TSA" --tsa-anchors ca/ca.pem --dss-certs ca/tsa.pem --crl crl.pem \
	--reason "Copie conforme de l'acte" --location "Alençon" --out acte-scelle.pdf acte.pdf > sign.json ||
	fail "document sign: $(cat sign.json)"
grep -q '"level": "B-LT"' sign.json || fail "not B-LT: $(cat sign.json)"
qpdf --check acte-scelle.pdf > check.txt 2>&1 || { cat check.txt; fail "qpdf --check"; }
grep -q "No syntax or stream encoding errors" check.txt || fail "qpdf warnings"

# pdfsig, trusting the city CA in an NSS database.
mkdir nss
certutil -N -d sql:nss --empty-password
certutil -A -d sql:nss -n "CVQ city CA" -t "CT,C,C" -i ca/ca.pem
# (poppler 22.12 with -no-ocsp says "Unknown issue" for any chain: OCSP is
# simply not reached here, the bench has no network and our seal no AIA.)
pdfsig -nssdir sql:nss acte-scelle.pdf > pdfsig.txt 2>&1 || true
for want in "Signature is Valid" "Certificate is Trusted" "Total document signed" "ETSI.CAdES.detached"; do
	grep -q "$want" pdfsig.txt || { cat pdfsig.txt; fail "pdfsig: no '$want'"; }
done
ok "pdfsig: valid, trusted, whole document; qpdf clean"

# The CMS and its timestamp, by plain openssl (docs/documents.md's recipe).
pdfsig -dump acte-scelle.pdf >/dev/null 2>&1 || true
[ -s acte-scelle.pdf.sig0 ] || fail "pdfsig -dump wrote no signature"
read -r _ a b c <<< "$(sed -n 's/.*Signed Ranges: \[0 - \([0-9]*\)\], \[\([0-9]*\) - \([0-9]*\)\].*/x \1 \2 \3/p' pdfsig.txt | tail -1)"
{ head -c "$a" acte-scelle.pdf; tail -c +$((b + 1)) acte-scelle.pdf | head -c $((c - b)); } > signed-bytes
openssl cms -verify -inform DER -in acte-scelle.pdf.sig0 -binary -content signed-bytes \
	-CAfile ca/ca.pem -purpose any -out /dev/null 2>cms.txt || { cat cms.txt; fail "openssl cms -verify"; }
openssl cms -cmsout -inform DER -in acte-scelle.pdf.sig0 -print -noout > cms-print.txt
grep -q "id-smime-aa-signingCertificateV2" cms-print.txt || fail "no signingCertificateV2"
grep -q "id-smime-aa-timeStampToken" cms-print.txt || fail "no signature timestamp"
"$B/../../../tools/cvq-admin/cvq-admin" --version >/dev/null 2>&1 || true
python3 - acte-scelle.pdf.sig0 tok.der sigval.bin <<'PY'
# The token (unsigned attribute id-aa-signatureTimeStampToken) and the
# signature value it stamps, cut out of the DER by a minimal TLV walk.
import sys
d = open(sys.argv[1], "rb").read()
def tlv(b, i):
    t = b[i]; l = b[i + 1]; j = i + 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[j:j + n], "big"); j += n
    return t, j, j + l
oid = bytes.fromhex("060b2a864886f70d010910020e")
k = d.index(oid)
# SEQUENCE { oid, SET { token } }: the SET follows the OID
_, s, e = tlv(d, k + len(oid))
t0, ts, te = tlv(d, s)
open(sys.argv[2], "wb").write(d[s:te])
# the signature value: the OCTET STRING just before the [1] unsigned attrs
u = d.rfind(b"\xa1", 0, k)
while True:
    # walk back to the OCTET STRING that ends at u
    for back in range(3, 200):
        i = u - back
        if i >= 0 and d[i] == 0x04:
            try:
                t, vs, ve = tlv(d, i)
            except Exception:
                continue
            if ve == u:
                open(sys.argv[3], "wb").write(d[vs:ve]); sys.exit(0)
    sys.exit(1)
PY
[ -s tok.der ] || fail "no token in the signature"
openssl ts -verify -in tok.der -token_in -data sigval.bin -CAfile ca/ca.pem -untrusted ca/tsa.pem \
	> ts.txt 2>&1 || { cat ts.txt; fail "openssl ts -verify on the seal's timestamp"; }
ok "openssl cms -verify and openssl ts -verify"

# What the water company runs: offline, the CA certificate as the anchor.
"$ADMIN" document verify --anchors ca/ca.pem acte-scelle.pdf > verify.txt ||
	{ cat verify.txt; fail "document verify refused the sealed act"; }
grep -q "Document authentique" verify.txt || fail "no French verdict: $(cat verify.txt)"
"$ADMIN" --json document verify --anchors ca/ca.pem acte-scelle.pdf | grep -q '"valid": true' ||
	fail "json verdict"
ok "cvq-admin document verify: authentique"

# A byte changed in the act: every judge refuses.
cp acte-scelle.pdf modifie.pdf
printf 'X' | dd of=modifie.pdf bs=1 seek=300 conv=notrunc 2>/dev/null
cmp -s acte-scelle.pdf modifie.pdf && fail "the copy was not modified"
expect_rc 6 "$ADMIN" document verify --anchors ca/ca.pem modifie.pdf > mod.txt
grep -q "Document refusé" mod.txt || fail "no refusal sentence: $(cat mod.txt)"
pdfsig -nssdir sql:nss modifie.pdf 2>&1 | grep -q "Signature is Valid" && fail "pdfsig accepts the modified act"
ok "a modified copy refused by cvq-admin and pdfsig"

# Something appended after the seal (a new revision nobody sealed).
cp acte-scelle.pdf ajoute.pdf
printf '\n%% added later\n' >> ajoute.pdf
expect_rc 6 "$ADMIN" document verify --anchors ca/ca.pem ajoute.pdf > add.txt
ok "bytes added after the seal refused"

# A software key under a citizen-signature certificate is no city seal.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fake.key \
	-subj "/O=Ville d'Alencon/CN=Faux sceau" -days 2 -out fake.pem 2>/dev/null
"$B/pdfsign-soft" acte.pdf faux.pdf fake.key fake.pem
expect_rc 6 "$ADMIN" document verify --anchors ca/ca.pem faux.pdf > faux.txt
ok "a seal of another issuer refused"

# Not a PDF: a detached CAdES .p7s.
printf 'Extrait d acte de naissance\n' > extrait.txt
"$ADMIN" document sign --key "$KEY" --pin-source "file:$W/pin" --cert seal.pem --chain ca/ca.pem \
	--tsa "$TSA" --tsa-anchors ca/ca.pem --out extrait.p7s extrait.txt >/dev/null || fail "sign .p7s"
openssl cms -verify -inform DER -in extrait.p7s -binary -content extrait.txt -CAfile ca/ca.pem \
	-purpose any -out /dev/null 2>/dev/null || fail "openssl cms -verify on the .p7s"
"$ADMIN" document verify --anchors ca/ca.pem --crl crl.pem --signature extrait.p7s extrait.txt >/dev/null ||
	fail "document verify of the .p7s"
printf 'Extrait d acte de naissance!\n' > extrait2.txt
expect_rc 6 "$ADMIN" document verify --anchors ca/ca.pem --crl crl.pem --signature extrait.p7s extrait2.txt
ok "detached CAdES for a non-PDF document"
echo "doc-seal: all checks passed"
