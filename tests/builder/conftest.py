"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright against a live Django server.

No browser is downloaded: `.ci/run` installs Debian's package when it is missing; elsewhere these tests fail
with the command to run, instead of being skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.live_server import asgi_live_server  # noqa: F401  (a live server with websockets: see its module)

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "static" / "builder"
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
# Generous: the machine may be busy. Every wait is on a condition; none is a fixed sleep.
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: the builder's browser tests drive Debian's package. "
                    "Install it with `sudo apt-get install -y chromium` (CI's .ci/run does), then run them again.")
    if not (BUILD / "index.html").exists():
        pytest.fail("The builder is not built: run `make frontend` (`make test` builds it before the tests).")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, so Django's async-safety check would take
    # the test's own ORM calls (fixtures, assertions) for calls from async code. They are plain sync calls made
    # between browser steps, so the check is lifted here, for these browser tests only, and restored after.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        expect.set_options(timeout=TIMEOUT_MS)
        with sync_playwright() as playwright:
            # As root (CI containers), Chromium runs only without its sandbox.
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser, live_server, request):
    # A test that asks for `asgi_live_server` (websockets, tests/live_server.py) gets its page on that server.
    if "asgi_live_server" in request.fixturenames:
        live_server = request.getfixturevalue("asgi_live_server")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught error in the page: {error}"))
    # The pages' Content-Security-Policy (penguinflow/common/csp.py) must never have to refuse anything of ours:
    # Chromium reports each refusal on the console, so a style or script the policy blocks fails the test.
    page.on("console", lambda message: problems.append(f"refused by the CSP: {message.text}")
            if "Content Security Policy" in message.text else None)
    # Everything is bundled: the builder fetches nothing from another origin (no CDN, font or script).
    context.on("request", lambda sent: None if sent.url.startswith((live_server.url, "data:"))
               else problems.append(f"request to another origin: {sent.url}"))
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def screenshot(page, request):
    """Save a screenshot of the page as var/screenshots/<test>/<n>-<name>.png (kept as CI artefacts)."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    taken = []

    def take(name: str) -> None:
        taken.append(name)
        page.screenshot(path=str(folder / f"{len(taken):02d}-{name}.png"), full_page=True)

    return take


def member(workspace, username: str, role: str):
    """A user (password "pw") with `role` in `workspace`."""
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username=username)
    MembershipFactory(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def marketer(transactional_db, workspace):
    from penguinflow.workspaces.models import Membership

    return member(workspace, "marketer", Membership.Role.ADMIN)


@pytest.fixture
def logged_in(page, marketer, screenshot):
    """The page, logged in through the builder's own login form."""
    from playwright.sync_api import expect

    page.goto("/builder/")
    expect(page).to_have_url(re.compile(r"/builder/login\?next="))
    screenshot("login")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    return page


def assert_accessible(page) -> None:
    """Fail on any serious or critical accessibility violation axe-core finds on the page as it is now."""
    # Evaluated through the browser's debugging protocol, which the page's CSP does not govern (a <script> tag
    # added with the file's text would be refused as inline script, as it should be).
    page.evaluate(AXE.read_text() + "\n;undefined")
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id}: ${v.help} (${v.nodes.length}x, e.g. ${v.nodes[0].html.slice(0, 160)})`)""")
    assert not violations, violations


@pytest.fixture
def onboarding(workspace):
    """t (manual) → d (delay 1 day, "Wait a day") → a (add tag "onboarded"), published as version 1."""
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish

    nodes = [node("t", "trigger_manual"), node("d", "delay", {"duration": "P1D"}, "Wait a day"),
             node("a", "add_tag", {"tag": "onboarded"})]
    return publish(workspace, nodes, chain("t", "d", "a"), name="Onboarding")
