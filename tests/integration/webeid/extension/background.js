// The part of the Web eID extension the test needs, written from its
// published behaviour: connect to "eu.webeid", expect a semver version
// first (major >= 2, as the extension's compatibility check), send one
// command of at most 8,192 bytes, take one answer, disconnect. The page's
// origin goes to the host; a loopback http origin is reported as https,
// as the extension's ALLOW_HTTP_LOCALHOST setting does.
const NATIVE_APP = "eu.webeid";
const MAX_BYTES = 8192;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

function fault(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function nextMessage(port) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => { cleanup(); resolve(m); };
    const onDisconnect = () => {
      cleanup();
      reject(fault("ERR_WEBEID_NATIVE_UNAVAILABLE",
        "connection to the native app was closed: " + (chrome.runtime.lastError?.message || "")));
    };
    const cleanup = () => {
      port.onMessage.removeListener(onMessage);
      port.onDisconnect.removeListener(onDisconnect);
    };
    port.onMessage.addListener(onMessage);
    port.onDisconnect.addListener(onDisconnect);
  });
}

async function authenticate(msg, sender) {
  const port = chrome.runtime.connectNative(NATIVE_APP);
  try {
    const hello = await nextMessage(port);
    const v = SEMVER.exec(hello.version || "");
    if (!v) throw fault("ERR_WEBEID_VERSION_INVALID", "bad version " + JSON.stringify(hello));
    if (Number(v[1]) < 2) throw fault("ERR_WEBEID_VERSION_MISMATCH", "native app " + hello.version);
    const url = new URL(sender.url);
    if (url.protocol === "http:" && url.hostname === "127.0.0.1") url.protocol = "https:";
    const request = {
      command: "authenticate",
      arguments: { challengeNonce: msg.challengeNonce, origin: url.origin, lang: msg.lang || "fr" },
    };
    if (new TextEncoder().encode(JSON.stringify(request)).length > MAX_BYTES)
      throw fault("ERR_WEBEID_UNKNOWN_ERROR", "message too large");
    port.postMessage(request);
    const r = await nextMessage(port);
    if (r.error) throw fault(r.error.code, r.error.message);
    if (!(r.unverifiedCertificate && r.algorithm && r.signature && r.format && r.appVersion))
      throw fault("ERR_WEBEID_UNKNOWN_ERROR", "unexpected response from native application");
    return { action: "web-eid:authenticate-success", nativeAppVersion: hello.version, ...r };
  } finally {
    port.disconnect();
  }
}

chrome.runtime.onMessage.addListener((msg, sender, reply) => {
  if (msg.action !== "web-eid:authenticate") return false;
  authenticate(msg, sender).then(reply, (e) => reply({
    action: "web-eid:authenticate-failure",
    error: { code: e.code || "ERR_WEBEID_UNKNOWN_ERROR", message: String(e.message) },
  }));
  return true;
});
