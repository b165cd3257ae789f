#!/usr/bin/python3
"""A portal on loopback for the browser test: serves the login page, hands
out a fresh challenge nonce, and writes what the page got back to a file.

    portal.py PORT OUTDIR     (OUTDIR/nonce, OUTDIR/result.json)
"""
import base64
import http.server
import os
import sys

PAGE = b"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Portail citoyen</title></head>
<body><p id="state">Connexion...</p>
<script>
// What a portal does with @web-eid/web-eid-library's authenticate(): a
// challenge from the server, the token through the extension, back to the server.
(async () => {
  const nonce = (await (await fetch("/challenge")).json()).nonce;
  const answer = await new Promise((resolve) => {
    window.addEventListener("message", (e) => {
      if (e.data && (e.data.action === "web-eid:authenticate-success" ||
                     e.data.action === "web-eid:authenticate-failure")) resolve(e.data);
    });
    // The content script runs at document_start, so it listens already.
    const send = () => window.postMessage({ action: "web-eid:authenticate", challengeNonce: nonce, lang: "fr" }, "*");
    send();
  });
  await fetch("/result", { method: "POST", body: JSON.stringify(answer) });
  document.getElementById("state").textContent = answer.action;
})();
</script></body></html>
"""


class Portal(http.server.BaseHTTPRequestHandler):
    def reply(self, body, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/challenge":
            nonce = base64.b64encode(os.urandom(32)).decode()
            with open(os.path.join(OUT, "nonce"), "w") as f:
                f.write(nonce)
            self.reply(('{"nonce":"%s"}' % nonce).encode(), "application/json")
        else:
            self.reply(PAGE, "text/html; charset=utf-8")

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        tmp = os.path.join(OUT, "result.tmp")
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(OUT, "result.json"))
        self.reply(b"{}", "application/json")

    def log_message(self, *args):
        pass


OUT = sys.argv[2]
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Portal).serve_forever()
