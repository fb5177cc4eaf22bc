"""The website tracking script in a real headless Chromium (Debian's /usr/bin/chromium), on a page of another
origin (a local site server) that loads `/js/penguinflow.js` from a live PenguinFlow and sends to
`POST /api/v1/track` through real CORS: its events must arrive in PostgreSQL.

The same site server answers as `http://localhost:<port>` (declared in `tracking_origins`) and as
`http://127.0.0.1:<port>` (a different origin, not declared): the browser's preflight is refused there.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contacts.models import Contact
from events.models import Event
from events.tracking import forget_cached_sites
from penguinflow.workspaces.services import workspace_settings_change, write_key_rotate

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 20_000
DEADLINE_S = 60.0  # generous: the machine may be loaded; every wait ends as soon as its condition holds

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<script>
  window.penguinflow = window.penguinflow || [];
  penguinflow.push(["init", {{writeKey: "{key}", requireConsent: {consent}}}]);
</script>
<script async src="{pf}/js/penguinflow.js"></script></head>
<body><h1>{title}</h1>
<form id="signup" action="/thanks.html" method="get">
  <input name="name" value=""><input type="email" name="email"><input type="password" name="password">
  <button type="submit">Sign up</button>
</form></body></html>"""

# Counts the script's sends as they are made (synchronously), so a test can tell that none was made.
COUNT_SENDS = """
window.__sends = 0;
const fetch0 = window.fetch.bind(window);
window.fetch = (...args) => { window.__sends += 1; return fetch0(...args); };
const beacon0 = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (...args) => { window.__sends += 1; return beacon0(...args); };
"""


@contextlib.contextmanager
def site_server(folder: Path):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
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


@pytest.fixture
def site(live_server, workspace, tmp_path):
    """The site's folder served on a free port; `http://localhost:<port>` declared, with a write key."""
    with site_server(tmp_path) as port:
        origin = f"http://localhost:{port}"
        workspace_settings_change(workspace=workspace, changes={"tracking_origins": [origin]})
        key = write_key_rotate(workspace=workspace).write_key
        forget_cached_sites()

        def write_page(name: str, title: str, consent: bool = False) -> None:
            (tmp_path / name).write_text(PAGE.format(title=title, key=key, pf=live_server.url,
                                                     consent="true" if consent else "false"))

        yield origin, port, write_page
        forget_cached_sites()


def wait_for(query, count: int = 1):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = list(query())
        if len(found) >= count:
            return found
        time.sleep(0.05)  # a poll interval, not a wait for something to happen: the loop ends on the condition
    raise AssertionError(f"expected {count} matching events within {DEADLINE_S} s, found {list(query())}")


def web_events(workspace, event_type, **filters):
    return lambda: Event.objects.filter(workspace=workspace, source=Event.Source.WEB, type=event_type, **filters)


def test_page_views_track_and_a_form_reach_the_database_from_a_declared_site(chromium, site, workspace):
    origin, _, write_page = site
    write_page("index.html", "Home")
    write_page("thanks.html", "Thanks")
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{origin}/index.html")
    (home,) = wait_for(web_events(workspace, "page.viewed"))
    anonymous_id = home.properties["anonymous_id"]
    assert home.contact_id is None and home.properties["url"] == f"{origin}/index.html"

    page.evaluate("""() => { penguinflow.track("cart.updated", {items: 3});
                             history.pushState({}, "", "/pricing"); }""")
    (cart,) = wait_for(web_events(workspace, "cart.updated"))
    wait_for(web_events(workspace, "page.viewed", properties__path="/pricing"))
    assert cart.properties == {"items": 3, "anonymous_id": anonymous_id}

    page.fill("input[name=name]", "Ada")
    page.fill("input[type=email]", "Ada@Example.com")
    page.fill("input[type=password]", "hunter2")
    with page.expect_navigation():
        page.click("button[type=submit]")

    (form,) = wait_for(web_events(workspace, "form.submitted"))
    ada = Contact.objects.get(workspace=workspace, email="ada@example.com")
    assert form.contact_id == ada.pk
    assert form.properties["fields"] == {"name": "Ada", "email": "Ada@Example.com"}  # never the password
    assert form.properties["form"] == "signup"
    # The page after the form knows the visitor: its view carries the contact (and the same anonymous id).
    (thanks,) = wait_for(web_events(workspace, "page.viewed", properties__title="Thanks"))
    assert (thanks.contact_id, thanks.properties["anonymous_id"]) == (ada.pk, anonymous_id)
    # Sent once each, whatever went by beacon and again from storage: the server dropped the repeats by id.
    assert Event.objects.filter(workspace=workspace, type="form.submitted").count() == 1
    assert errors == []
    context.close()


def test_an_undeclared_origin_is_refused_by_the_preflight(chromium, site, workspace, live_server):
    _, port, write_page = site
    write_page("index.html", "Home")
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{port}/index.html")  # same server, another origin: not declared
    page.wait_for_function("window.penguinflow && !Array.isArray(window.penguinflow)")

    outcome = page.evaluate("""async ([url, key]) => {
        try { await fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-Write-Key": key},
                                body: JSON.stringify({type: "page.viewed", anonymous_id: "x"})}); return "sent"; }
        catch (error) { return "refused"; } }""", [f"{live_server.url}/api/v1/track", workspace.write_key])

    assert outcome == "refused"
    assert not Event.objects.filter(workspace=workspace).exists()
    context.close()


def test_nothing_is_sent_or_stored_before_consent(chromium, site, workspace):
    origin, _, write_page = site
    write_page("index.html", "Home", consent=True)
    context = chromium.new_context()
    context.add_init_script(COUNT_SENDS)
    page = context.new_page()
    page.goto(f"{origin}/index.html")
    page.wait_for_function("window.penguinflow && !Array.isArray(window.penguinflow)")

    page.evaluate("() => { penguinflow.track('cart.updated', {items: 1}); penguinflow.flush(); }")
    assert page.evaluate("window.__sends") == 0
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('pf_'))") == []

    page.evaluate("() => penguinflow.consent(true)")
    found = wait_for(lambda: Event.objects.filter(workspace=workspace, type__in=["page.viewed", "cart.updated"]), 2)
    assert {event.type for event in found} == {"page.viewed", "cart.updated"}
    context.close()


def test_a_batch_whose_answer_was_lost_is_sent_again_and_stored_once(chromium, site, workspace):
    origin, _, write_page = site
    write_page("index.html", "Home")
    context = chromium.new_context()
    answers: list[dict] = []

    def lose_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()  # the server gets the batch and answers...
        answers.append(response.json())
        if len(answers) == 1:
            route.abort("connectionreset")  # ...but the page sees a network failure
        else:
            route.fulfill(response=response)

    context.route("**/api/v1/track", lose_the_first_answer)
    page = context.new_page()
    page.goto(f"{origin}/index.html")

    deadline = time.monotonic() + DEADLINE_S
    while len(answers) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # a poll: lets the page's timers and the route handler run; ends on the condition
    assert [answer["accepted"] for answer in answers[:2]] == [1, 0]
    assert answers[1]["duplicates"] == 1  # the same id, sent again after the failure
    assert Event.objects.filter(workspace=workspace, type="page.viewed").count() == 1
    context.close()
