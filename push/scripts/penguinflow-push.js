/* PenguinFlow web push for websites: subscribe the visitor's browser to a workspace's notifications.
 *
 *   <script src="https://YOUR-PENGUINFLOW/js/penguinflow-push.js"></script>
 *   PenguinFlowPush.subscribe({siteKey: "ps_...", email: "ada@example.com", signature: "<from your server>",
 *                              serviceWorker: "/penguinflow-push-sw.js"})
 *
 * The service worker must be served by your site (a browser only registers one of the page's own origin): a file
 * with the single line  importScripts("https://YOUR-PENGUINFLOW/js/penguinflow-push-sw.js");
 * See docs/web-push.md.
 */
(function () {
  "use strict";
  var current = document.currentScript;
  var base = current && current.src ? new URL(current.src).origin : window.location.origin;

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function siteUrl(siteKey, path) {
    return base + "/push/sites/" + encodeURIComponent(siteKey) + (path || "");
  }

  async function answer(response) {
    var body = null;
    try { body = await response.json(); } catch (ignored) { body = null; }
    if (!response.ok) {
      var error = new Error((body && body.error && body.error.message) || "PenguinFlow answered " + response.status);
      error.status = response.status;
      error.code = body && body.error ? body.error.code : undefined;
      error.details = body && body.error ? body.error.details : undefined;
      throw error;
    }
    return body;
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  async function registrationOf(options) {
    var script = options.serviceWorker || "/penguinflow-push-sw.js";
    return navigator.serviceWorker.register(script, options.scope ? {scope: options.scope} : undefined);
  }

  /** Ask for permission, subscribe the browser and store the subscription for the visitor. Resolves to
   *  {status: "subscribed", id} or {status: "denied"|"default"} when the visitor did not allow notifications. */
  async function subscribe(options) {
    if (!options || !options.siteKey) throw new Error("PenguinFlowPush.subscribe needs {siteKey, email, signature}.");
    if (!supported()) return {status: "unsupported"};
    var site = await answer(await fetch(siteUrl(options.siteKey), {credentials: "omit"}));
    var permission = await Notification.requestPermission();
    if (permission !== "granted") return {status: permission};
    var registration = await registrationOf(options);
    await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(site.vapid_public_key),
      });
    }
    var stored = await answer(await fetch(siteUrl(options.siteKey, "/subscriptions"), {
      method: "POST", credentials: "omit", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({subscription: subscription.toJSON(), email: options.email, signature: options.signature}),
    }));
    return {status: "subscribed", id: stored.id};
  }

  /** Unsubscribe this browser (at the push service and in PenguinFlow). Resolves to {status: "unsubscribed"}. */
  async function unsubscribe(options) {
    if (!options || !options.siteKey) throw new Error("PenguinFlowPush.unsubscribe needs {siteKey}.");
    if (!supported()) return {status: "unsupported"};
    var registration = await registrationOf(options);
    var subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      await answer(await fetch(siteUrl(options.siteKey, "/unsubscribe"), {
        method: "POST", credentials: "omit", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({endpoint: subscription.endpoint}),
      }));
      await subscription.unsubscribe();
    }
    return {status: "unsubscribed"};
  }

  window.PenguinFlowPush = {subscribe: subscribe, unsubscribe: unsubscribe, supported: supported, base: base};
})();
