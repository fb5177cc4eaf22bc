/* PenguinFlow website tracking: page views, form submissions and your own events, sent to a workspace.
 *
 *   <script>
 *     window.penguinflow = window.penguinflow || [];
 *     penguinflow.push(["init", {writeKey: "wk_...", requireConsent: false}]);
 *   </script>
 *   <script async src="https://YOUR-PENGUINFLOW/js/penguinflow.js"></script>
 *
 * Then, anywhere (before the script has loaded too, as penguinflow.push(["track", "cart.updated", {...}])):
 *   penguinflow.identify("ada@example.com", {plan: "pro"});   // or an id of your own (the contact's external_id)
 *   penguinflow.track("cart.updated", {items: 3});
 *   penguinflow.page();                                       // automatic on load and on history.pushState
 *   penguinflow.consent(true);                                // with requireConsent: nothing is sent before it
 *
 * Hand-written ES5 served as it is by PenguinFlow (no build step, no CDN): it runs in every browser a site's
 * visitors may use and stays small enough to read. See docs/api-additions.md, "Website tracking".
 *
 * Delivery: events wait in a queue (also kept in localStorage) and go out in batches of up to 20 every second.
 * Each event has an id of its own: a batch that failed (network, 5xx, 429) is sent again with the same ids, and
 * the server stores each id once. When the page is hidden or left, the queue goes out with navigator.sendBeacon;
 * those events also stay in storage and are sent once more on the next page of the site (answered as duplicates),
 * since a beacon's fate is unknown.
 */
(function (window, document) {
  "use strict";
  var FLUSH_MS = 1000;
  var MAX_BATCH = 20;
  var MAX_QUEUE = 500;
  var MAX_VALUE = 1000;
  var STORE = {aid: "pf_aid", user: "pf_user", consent: "pf_consent", queue: "pf_queue", beaconed: "pf_beaconed"};
  var SKIPPED_INPUTS = {password: 1, hidden: 1, file: 1, submit: 1, button: 1, reset: 1, image: 1};

  var current = document.currentScript;
  var scriptBase = current && current.src ? current.src.replace(/^(https?:\/\/[^\/]+).*$/, "$1") : "";
  var config = null;
  var queue = [];
  var inflight = [];
  var consent = null; // null: not asked; true / false: the visitor's answer
  var anonymousId = null;
  var user = null;
  var timer = null;
  var backoff = 0;
  var lastPage = null;
  var memory = {};

  // --- storage (first party; in memory when the browser refuses it) ------------------------------------------

  function read(name) {
    try { return window.localStorage.getItem(name); } catch (ignored) { return memory[name] || null; }
  }

  function write(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(name); else window.localStorage.setItem(name, value);
    } catch (ignored) {
      if (value === null) delete memory[name]; else memory[name] = value;
    }
  }

  function readJson(name) {
    try { return JSON.parse(read(name) || "null"); } catch (ignored) { return null; }
  }

  // Nothing is written to the visitor's storage before consent, when the site asks for it.
  function mayStore() { return !config || !config.requireConsent || consent === true; }

  function maySend() { return !!config && (!config.requireConsent || consent === true); }

  function uuid() {
    var crypto = window.crypto;
    if (crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Array(16);
    for (var i = 0; i < 16; i += 1) {
      bytes[i] = crypto && crypto.getRandomValues ? crypto.getRandomValues(new Uint8Array(1))[0]
                                                   : Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = "";
    for (var j = 0; j < 16; j += 1) hex += (bytes[j] + 256).toString(16).slice(1);
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" +
      hex.slice(20);
  }

  function anonymous() {
    if (!anonymousId) anonymousId = (mayStore() && read(STORE.aid)) || uuid();
    if (mayStore()) write(STORE.aid, anonymousId);
    return anonymousId;
  }

  function persist() {
    if (!mayStore()) return;
    var kept = inflight.concat(queue);
    write(STORE.queue, kept.length ? JSON.stringify(kept) : null);
  }

  // --- sending ------------------------------------------------------------------------------------------------

  function endpoint() { return (config.host || scriptBase || window.location.origin) + "/api/v1/track"; }

  function schedule(delay) {
    if (timer === null) timer = window.setTimeout(function () { timer = null; flush(); }, delay);
  }

  function settled(retry) {
    if (retry) {
      queue = inflight.concat(queue);
      backoff = Math.min(30000, backoff ? backoff * 2 : FLUSH_MS * 2);
    } else {
      backoff = 0;
    }
    inflight = [];
    persist();
    if (queue.length) schedule(backoff || FLUSH_MS);
  }

  // A refusal (4xx but 408 and 429) will be the same next time: the batch is dropped, not sent again.
  function shouldRetry(status) { return status === 0 || status === 408 || status === 429 || status >= 500; }

  function post(body, done) {
    var url = endpoint();
    if (window.fetch) {
      window.fetch(url, {method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors",
                         headers: {"Content-Type": "application/json", "X-Write-Key": config.writeKey}})
        .then(function (response) { done(response.status); }, function () { done(0); });
      return;
    }
    var request = new window.XMLHttpRequest();
    request.open("POST", url, true);
    request.setRequestHeader("Content-Type", "application/json");
    request.setRequestHeader("X-Write-Key", config.writeKey);
    request.onreadystatechange = function () { if (request.readyState === 4) done(request.status); };
    request.send(body);
  }

  function flush() {
    if (!maySend() || inflight.length || !queue.length) return;
    if (timer !== null) { window.clearTimeout(timer); timer = null; }
    inflight = queue.splice(0, MAX_BATCH);
    persist();
    post(JSON.stringify({events: inflight}), function (status) { settled(shouldRetry(status)); });
  }

  // The page is going away (or hidden, which on mobile may be the last chance): hand what waits to a beacon.
  function beacon() {
    if (!maySend() || !queue.length || !window.navigator.sendBeacon) return;
    var events = queue.slice(0, MAX_BATCH * 3);
    var body = JSON.stringify({write_key: config.writeKey, events: events});
    if (window.navigator.sendBeacon(endpoint(), body)) {
      queue = queue.slice(events.length);
      write(STORE.beaconed, JSON.stringify((readJson(STORE.beaconed) || []).concat(events).slice(-MAX_QUEUE)));
      persist();
    }
  }

  function enqueue(type, properties, contact) {
    if (consent === false) return; // refused: nothing is kept or sent
    var event = {id: uuid(), type: type, occurred_at: new Date().toISOString(), properties: properties || {},
                 anonymous_id: anonymous()};
    var who = contact || user;
    if (who) event.contact = who;
    queue.push(event);
    if (queue.length > MAX_QUEUE) queue = queue.slice(queue.length - MAX_QUEUE);
    persist();
    if (queue.length >= MAX_BATCH) flush(); else schedule(FLUSH_MS);
  }

  // --- automatic page views and forms -------------------------------------------------------------------------

  function pageView(properties) {
    var props = {url: window.location.href, path: window.location.pathname, title: document.title,
                 referrer: lastPage || document.referrer || null};
    for (var name in properties || {}) {
      if (Object.prototype.hasOwnProperty.call(properties, name)) props[name] = properties[name];
    }
    lastPage = window.location.href;
    enqueue("page.viewed", props);
  }

  function urlChanged() {
    // After the router has set the title of the new page.
    window.setTimeout(function () { if (window.location.href !== lastPage) pageView(); }, 0);
  }

  function watchHistory() {
    var push = window.history.pushState;
    window.history.pushState = function () {
      var result = push.apply(this, arguments);
      urlChanged();
      return result;
    };
    window.addEventListener("popstate", urlChanged);
  }

  function fieldValue(element) {
    var type = (element.type || "").toLowerCase();
    if (SKIPPED_INPUTS[type] || element.disabled || element.hasAttribute("data-pf-ignore")) return undefined;
    if (/^cc-/.test(element.getAttribute("autocomplete") || "")) return undefined; // payment cards: never
    if ((type === "checkbox" || type === "radio") && !element.checked) return undefined;
    if (type === "select-multiple") {
      var chosen = [];
      for (var i = 0; i < element.options.length; i += 1) {
        if (element.options[i].selected) chosen.push(element.options[i].value);
      }
      return chosen;
    }
    return String(element.value || "").slice(0, MAX_VALUE);
  }

  function formSubmitted(event) {
    var form = event.target;
    if (!form || form.nodeName !== "FORM" || form.hasAttribute("data-pf-ignore")) return;
    var fields = {};
    var email = null;
    for (var i = 0; i < form.elements.length; i += 1) {
      var element = form.elements[i];
      var name = element.name || element.id;
      var value = name ? fieldValue(element) : undefined;
      if (value === undefined) continue;
      fields[name] = value;
      var type = (element.type || "").toLowerCase();
      if (!email && (type === "email" || element.getAttribute("autocomplete") === "email") &&
          /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
        email = value;
      }
    }
    if (email) identify(email);
    enqueue("form.submitted", {form: form.id || form.getAttribute("name") || form.getAttribute("action") || "form",
                               url: window.location.href, fields: fields});
    beacon(); // the submission usually leaves the page
  }

  // --- the API ------------------------------------------------------------------------------------------------

  function identify(idOrEmail, traits) {
    if (idOrEmail === undefined || idOrEmail === null || idOrEmail === "") return;
    var value = String(idOrEmail).trim();
    user = value.indexOf("@") > 0 ? {email: value.toLowerCase()} : {external_id: value};
    if (mayStore()) write(STORE.user, JSON.stringify(user));
    enqueue("visitor.identified", {traits: traits || {}}, user);
  }

  function track(type, properties) { enqueue(String(type), properties); }

  function giveConsent(granted) {
    consent = !!granted;
    write(STORE.consent, consent ? "granted" : "refused");
    if (!consent) {
      queue = [];
      anonymousId = null;
      user = null;
      write(STORE.aid, null);
      write(STORE.user, null);
      write(STORE.queue, null);
      write(STORE.beaconed, null);
      return;
    }
    if (anonymousId) write(STORE.aid, anonymousId);
    if (user) write(STORE.user, JSON.stringify(user));
    persist();
    flush();
  }

  function reset() {
    user = null;
    anonymousId = null;
    write(STORE.user, null);
    write(STORE.aid, null);
  }

  function init(options) {
    if (config || !options || !options.writeKey) return;
    config = options;
    var stored = read(STORE.consent);
    consent = stored === "granted" ? true : stored === "refused" ? false : null;
    if (mayStore()) {
      user = readJson(STORE.user);
      // What an earlier page left unsent or gave to a beacon goes (again) first: the server drops repeats by id.
      queue = (readJson(STORE.beaconed) || []).concat(readJson(STORE.queue) || [], queue).slice(-MAX_QUEUE);
      write(STORE.beaconed, null);
      persist();
    }
    if (options.autoPage !== false) {
      pageView();
      watchHistory();
    }
    if (options.autoForms !== false) document.addEventListener("submit", formSubmitted, true);
    window.addEventListener("pagehide", beacon);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") beacon();
    });
    if (queue.length) schedule(FLUSH_MS);
  }

  var api = {
    init: init,
    identify: identify,
    track: track,
    page: pageView,
    consent: giveConsent,
    reset: reset,
    flush: flush,
    anonymousId: function () { return anonymous(); },
    push: function (call) { api[call[0]].apply(api, Array.prototype.slice.call(call, 1)); }
  };

  var waiting = window.penguinflow;
  window.penguinflow = api;
  if (current && current.getAttribute("data-write-key")) {
    init({writeKey: current.getAttribute("data-write-key"),
          requireConsent: current.getAttribute("data-require-consent") === "true"});
  }
  if (waiting && waiting.length) {
    for (var i = 0; i < waiting.length; i += 1) api.push(waiting[i]);
  }
})(window, document);
