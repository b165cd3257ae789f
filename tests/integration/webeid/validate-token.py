#!/usr/bin/python3
"""An independent check of a Web eID authentication token (format web-eid:1),
written from the rules of Web eID's server-side validation libraries, with
Python's cryptography package — no cvq code involved.

    validate-token.py TOKEN.json --origin ORIGIN --nonce NONCE --ca CA.pem

Checks, in the libraries' order:
  - the token: format "web-eid:1" or "web-eid:1.x", the fields present,
    appVersion an https URL;
  - the certificate (unverifiedCertificate, base64 DER): valid now, key
    usage digitalSignature, extended key usage clientAuth, a
    certificatePolicies extension (the libraries' policy validator needs
    one: without it web-eid-authtoken-validation-java throws), issued and
    signed by the trusted CA;
  - the signature: the JWS algorithm named in "algorithm" over
    hash(origin) || hash(nonce), ECDSA given as r || s.
Crypto with Python's cryptography, extensions read by openssl (see below).
Prints "token valid: <subject>" and exits 0, or the first rule broken and 1.
"""
import argparse
import base64
import datetime
import hashlib
import json
import subprocess
import sys
import urllib.parse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

ALGS = {
    "ES256": ("ec", hashes.SHA256, hashlib.sha256),
    "ES384": ("ec", hashes.SHA384, hashlib.sha384),
    "ES512": ("ec", hashes.SHA512, hashlib.sha512),
    "RS256": ("rsa", hashes.SHA256, hashlib.sha256),
    "RS384": ("rsa", hashes.SHA384, hashlib.sha384),
    "RS512": ("rsa", hashes.SHA512, hashlib.sha512),
    "PS256": ("pss", hashes.SHA256, hashlib.sha256),
    "PS384": ("pss", hashes.SHA384, hashlib.sha384),
    "PS512": ("pss", hashes.SHA512, hashlib.sha512),
}


def fail(why):
    print("token invalid: " + why)
    sys.exit(1)


def b64(s, what):
    try:
        return base64.b64decode(s, validate=True)
    except Exception:
        fail(what + " is not base64")


def verify_issued(cert, ca):
    if cert.issuer != ca.subject:
        fail("certificate not issued by the trusted CA (issuer %s)" % cert.issuer.rfc4514_string())
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    if not bc.ca:
        fail("the trust anchor is not a CA")
    pub = ca.public_key()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
    except InvalidSignature:
        fail("the CA's signature on the certificate does not verify")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("token")
    ap.add_argument("--origin", required=True)
    ap.add_argument("--nonce", required=True)
    ap.add_argument("--ca", required=True)
    a = ap.parse_args()
    with open(a.token) as f:
        tok = json.load(f)
    for k in ("format", "unverifiedCertificate", "algorithm", "signature", "appVersion"):
        if not isinstance(tok.get(k), str) or not tok[k]:
            fail("field %s missing" % k)
    if not (tok["format"] == "web-eid:1" or tok["format"].startswith("web-eid:1.")):
        fail("format %s is not web-eid:1" % tok["format"])
    if urllib.parse.urlparse(tok["appVersion"]).scheme != "https":
        fail("appVersion is not an https URL")
    if tok["algorithm"] not in ALGS:
        fail("algorithm %s is not a JWS signature algorithm" % tok["algorithm"])

    cert = x509.load_der_x509_certificate(b64(tok["unverifiedCertificate"], "unverifiedCertificate"))
    with open(a.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    now = datetime.datetime.utcnow()
    if not cert.not_valid_before <= now <= cert.not_valid_after:
        fail("certificate not valid now")
    # The extensions through openssl: Debian 12's cryptography (38) refuses
    # a certificatePolicies OID with an arc over 32 bits, such as the
    # 2.25.<UUID> a city without an arc of its own gets.
    ext = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-ext",
                          "keyUsage,extendedKeyUsage,certificatePolicies"],
                         input=cert.public_bytes(serialization.Encoding.DER),
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    sections = {}
    for line in ext.splitlines():
        if line.startswith("X509v3 "):
            cur = sections.setdefault(line.split(":")[0][7:], [])
        elif line.strip():
            cur.append(line.strip())
    if "Digital Signature" not in " ".join(sections.get("Key Usage", [])):
        fail("key usage lacks digitalSignature")
    if "TLS Web Client Authentication" not in " ".join(sections.get("Extended Key Usage", [])):
        fail("extended key usage lacks clientAuth")
    pols = [p for p in sections.get("Certificate Policies", []) if p.startswith("Policy: ")]
    if not pols:
        fail("certificate has no certificatePolicies (Web eID's policy validator refuses it)")
    verify_issued(cert, ca)

    kind, jws_hash, h = ALGS[tok["algorithm"]]
    data = h(a.origin.encode()).digest() + h(a.nonce.encode()).digest()
    sig = b64(tok["signature"], "signature")
    pub = cert.public_key()
    try:
        if kind == "ec":
            if not isinstance(pub, ec.EllipticCurvePublicKey):
                fail("ES algorithm with a non-EC key")
            n = (pub.curve.key_size + 7) // 8
            if len(sig) != 2 * n:
                fail("ECDSA signature is not r || s of %d bytes" % (2 * n))
            der = utils.encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
            pub.verify(der, data, ec.ECDSA(jws_hash()))
        elif kind == "rsa":
            pub.verify(sig, data, padding.PKCS1v15(), jws_hash())
        else:
            pub.verify(sig, data, padding.PSS(mgf=padding.MGF1(jws_hash()), salt_length=jws_hash.digest_size),
                       jws_hash())
    except InvalidSignature:
        fail("signature over hash(origin) || hash(nonce) does not verify")
    print("token valid: " + cert.subject.rfc4514_string())


main()
