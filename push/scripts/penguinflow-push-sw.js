/* PenguinFlow web push service worker: shows the notifications PenguinFlow sends and opens their (tracked) link
 * when one is clicked. Import it from a service worker your site serves:
 *   importScripts("https://YOUR-PENGUINFLOW/js/penguinflow-push-sw.js");
 * The payload is JSON: {id, title, body, url?, icon?}; `url` is PenguinFlow's click URL, which records the click
 * and redirects to the page the workflow named.
 */
(function () {
  "use strict";

  function parsed(event) {
    if (!event.data) return {};
    try { return event.data.json(); } catch (ignored) { return {title: event.data.text()}; }
  }

  self.addEventListener("push", function (event) {
    var data = parsed(event);
    if (!data.title) return;
    event.waitUntil(self.registration.showNotification(data.title, {
      body: data.body || "", icon: data.icon, tag: data.id, data: {id: data.id, url: data.url},
    }));
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var url = event.notification.data && event.notification.data.url;
    if (url) event.waitUntil(self.clients.openWindow(url));
  });
})();
