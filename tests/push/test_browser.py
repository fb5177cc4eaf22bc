"""The website script and service worker in a real headless Chromium (Debian's /usr/bin/chromium).

What is real: a page of another origin (a local site server) loads `/js/penguinflow-push.js` from a live
PenguinFlow, registers its own service worker that imports `/js/penguinflow-push-sw.js`, asks for permission
(granted by the browser context), reads the VAPID key and stores the subscription through the CORS-limited public
endpoints; a notification sent by PenguinFlow is encrypted for the browser's keys and checked by the local push
service; the decrypted payload is given to the real service worker as a push event, which shows the notification;
its notificationclick handler opens the tracked click URL, which records `push.clicked` and redirects.

What cannot be real here: Chromium's own push service (Firebase Cloud Messaging) is out of reach, so
`PushManager.subscribe` is replaced in the page by one that answers a subscription of the local push service (the
browser's keys made by the test); and a headless browser shows no clickable notification, so the click is a
`notificationclick` event dispatched in the service worker with the notification it showed, `clients.openWindow`
recorded instead of opening a window (a window may only be opened on a real user's click).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from events.models import Event
from penguinflow.workspaces.services import workspace_settings_change
from push.engagement import identity_signature
from push.models import PushMessage, PushSubscription
from push.outbox import Notification, push_send
from push.services import identity_secret_rotate
from push.vapid import push_settings_get
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 20_000

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Acme</title>
<script src="{pf}/js/penguinflow-push.js"></script></head><body><h1>Acme</h1><p id="landing">welcome</p></body></html>"""
WORKER = 'importScripts("{pf}/js/penguinflow-push-sw.js");\n'

# Stands in for Chromium's push service (unreachable here): a subscription on the local push service.
FAKE_SUBSCRIBE = """
(subscription) => {
  const made = {endpoint: subscription.endpoint, expirationTime: null,
                toJSON() { return {endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys}; },
                async unsubscribe() { window.__unsubscribed = true; return true; }};
  let current = null;
  PushManager.prototype.subscribe = async function (options) {
    window.__applicationServerKey = Array.from(new Uint8Array(options.applicationServerKey));
    current = made; return made;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
}
"""


@contextlib.contextmanager
def site_server(folder: Path):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `sudo apt-get install -y chromium`.")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test's ORM calls between browser steps
        with sync_playwright() as playwright:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
            yield browser
            browser.close()


def test_the_script_subscribes_a_visitor_and_the_service_worker_shows_and_opens_a_notification(
    chromium, live_server, workspace, push_service, run_push_jobs, tmp_path, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    (tmp_path / "index.html").write_text(PAGE.format(pf=live_server.url))
    (tmp_path / "sw.js").write_text(WORKER.format(pf=live_server.url))
    contact = ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada")
    secret = identity_secret_rotate(workspace=workspace)
    browser_keys = push_service.browser()
    with site_server(tmp_path) as site:
        (tmp_path / "landing.html").write_text("<p>landed</p>")
        workspace_settings_change(workspace=workspace, changes={"push_origins": [site]})
        site_key = push_settings_get(workspace=workspace).site_key
        context = chromium.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        context.grant_permissions(["notifications"], origin=site)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site}/index.html")
        page.evaluate(FAKE_SUBSCRIBE, browser_keys)

        answer = page.evaluate(
            "(o) => PenguinFlowPush.subscribe(o)",
            {"siteKey": site_key, "email": "ada@example.com", "signature": identity_signature(secret, "ada@example.com"),
             "serviceWorker": "/sw.js"},
        )  # fmt: skip

        assert answer["status"] == "subscribed" and errors == []
        stored = PushSubscription.objects.get()
        assert (stored.contact_id, stored.endpoint, stored.source) == (
            contact.pk,
            browser_keys["endpoint"],
            "website",
        )
        # The page subscribed with the workspace's VAPID public key.
        sent_key = bytes(page.evaluate("window.__applicationServerKey"))
        assert (
            base64.urlsafe_b64encode(sent_key).decode().rstrip("=")
            == push_settings_get(workspace=workspace).vapid_public_key
        )

        # PenguinFlow sends; the local push service decrypts; the real service worker gets the payload.
        push_send(
            key="enr-1:n1:1",
            workspace=workspace,
            contact=contact,
            notification=Notification(
                title="Hello Ada", body="Your plan is ready.", url=f"{site}/landing.html"
            ),
        )
        run_push_jobs()
        (message,) = push_service.received
        worker = (
            context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        )
        # Headless Chromium now and then resolves showNotification without keeping the notification (about one
        # run in ten here: getNotifications() stays empty, no notificationclose comes), so a push whose notification
        # the browser dropped is delivered again. The tag (the message id) makes a second one replace the first.
        shown = worker.evaluate("""async (payload) => {
            const original = self.registration.showNotification.bind(self.registration);
            const calls = [];
            self.registration.showNotification = (title, options) => {
                const call = original(title, options); calls.push(call); return call;
            };
            try {
                for (let attempt = 0; attempt < 5; attempt++) {
                    self.dispatchEvent(new PushEvent("push", {data: JSON.stringify(payload)}));
                    if (!calls.length) return "the push handler showed no notification";
                    await calls.pop();
                    const found = await self.registration.getNotifications();
                    if (found.length) return found.map((n) => ({title: n.title, body: n.body, data: n.data}));
                }
                return [];
            } finally {
                self.registration.showNotification = original;
            }
        }""", message.payload)  # fmt: skip
        assert shown == [
            {
                "title": "Hello Ada",
                "body": "Your plan is ready.",
                "data": {"id": message.payload["id"], "url": message.payload["url"]},
            }
        ]

        opened = worker.evaluate("""async () => {
            const opened = [];
            self.clients.openWindow = async (url) => { opened.push(url); return null; };
            const [notification] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
            for (const deadline = Date.now() + 60000; Date.now() < deadline && !opened.length;) await new Promise((r) => setTimeout(r, 25));
            return opened;
        }""")  # fmt: skip
        assert opened == [message.payload["url"]]
        assert opened[0].startswith(f"{live_server.url}/t/p/")

        # Following the click URL records the click and lands on the page the workflow named.
        page.goto(opened[0])
        assert page.url == f"{site}/landing.html"
        clicked = Event.objects.get(type="push.clicked")
        assert clicked.contact_id == contact.pk
        assert clicked.properties["message_id"] == str(PushMessage.objects.get().pk)

        # Unsubscribing from the page removes the browser.
        page.goto(f"{site}/index.html")
        page.evaluate(FAKE_SUBSCRIBE, browser_keys)
        page.evaluate(
            "async () => { await PushManager.prototype.subscribe({applicationServerKey: new Uint8Array(65)}); }"
        )
        gone = page.evaluate(
            "(o) => PenguinFlowPush.unsubscribe(o)", {"siteKey": site_key, "serviceWorker": "/sw.js"}
        )
        assert gone == {"status": "unsubscribed"} and not PushSubscription.objects.exists()
        assert errors == []
        context.close()
