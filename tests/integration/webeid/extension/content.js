// Relays the page's Web eID requests (window.postMessage, as the
// @web-eid/web-eid-library sends them) to the background, and the answers back.
window.addEventListener("message", (event) => {
  if (event.source !== window || !event.data || typeof event.data.action !== "string") return;
  if (!event.data.action.startsWith("web-eid:") || event.data.action.endsWith("-success") ||
      event.data.action.endsWith("-failure")) return;
  chrome.runtime.sendMessage(event.data, (reply) => window.postMessage(reply, "*"));
});
