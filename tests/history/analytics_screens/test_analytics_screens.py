"""The analytics screen and the canvas's counts, in a real Chromium, over counters made by the real runtime:
contacts enrolled, run through a condition, a failing step, a split and waits, some converting on a goal event."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import show_graph

pytestmark = pytest.mark.django_db(transaction=True)

VARIANTS = [{"id": "A", "label": "Short subject", "weight": 1}, {"id": "B", "label": "Long subject", "weight": 1}]


def _node(id_, type_, label, x, y, config=None):
    return {"id": id_, "type": type_, "position": {"x": x, "y": y}, "data": {"label": label, "config": config or {}}}


def _edge(source, target, branch="default"):
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": branch}


class Journey:
    """t → k (VIP?) yes → c (a deleted campaign: fails); no → s (split A/B) → dA/dB (a week's delay) → tag.

    Enrolls 3 VIP contacts and 20 others, runs what is due, offers 2 of the waiting contacts again (they do not
    start: still in the workflow), then 7 of the waiting contacts buy (a goal exit)."""

    VIPS, OTHERS, BUYERS, AGAIN = 3, 20, 7, 2

    def __init__(self, workspace):
        from tests.factories import CampaignFactory, ContactFactory
        from tests.workflows.builders import publish, run_due

        campaign = CampaignFactory(workspace=workspace)
        nodes = [
            _node("t", "trigger_manual", "Signed up", 300, 0),
            _node("k", "condition", "Is VIP?", 300, 130, {"rule": {"in": ["vip", {"var": "contact.tags"}]}}),
            _node("c", "add_to_campaign", "Add to VIP campaign", 0, 290, {"campaign_id": str(campaign.pk)}),
            _node("s", "split", "Subject test", 520, 290, {"variants": VARIANTS}),
            _node("dA", "delay", "Wait a week (A)", 360, 470, {"duration": "P7D"}),
            _node("dB", "delay", "Wait a week (B)", 700, 470, {"duration": "P7D"}),
            _node("tA", "add_tag", "Tag A", 360, 640, {"tag": "a"}),
            _node("tB", "add_tag", "Tag B", 700, 640, {"tag": "b"}),
        ]
        edges = [_edge("t", "k"), _edge("k", "c", "yes"), _edge("k", "s", "no"), _edge("s", "dA", "A"),
                 _edge("s", "dB", "B"), _edge("dA", "tA"), _edge("dB", "tB")]
        self.nodes, self.edges = nodes, edges
        self.settings = {"exit_conditions": [{"event": "custom.purchase", "goal": "Purchased"}]}
        self.workflow = publish(workspace, nodes, edges, name="Onboarding", settings=self.settings)
        campaign.delete()
        vips = [ContactFactory(workspace=workspace, tags=["vip"]) for _ in range(self.VIPS)]
        others = [ContactFactory(workspace=workspace, tags=[]) for _ in range(self.OTHERS)]
        self._enroll(vips + others)
        run_due()
        self._enroll(others[-self.AGAIN:])
        self._buy(others[: self.BUYERS])

    def _enroll(self, contacts):
        from workflows.enrollment_starts import Entry, enrollments_start
        from workflows.live_versions import published_version_of

        enrollments_start(version=published_version_of(self.workflow), entries=[Entry(c.pk, "t") for c in contacts])

    def _buy(self, contacts):
        from tests.workflows.test_runtime import event_record
        from workflows.runtime_gateway import RuntimeGateway

        RuntimeGateway().process(events=[event_record(contact, "custom.purchase") for contact in contacts])

    def analytics(self):
        from workflows.selectors import workflow_analytics

        return workflow_analytics(workflow=self.workflow, version_number=1)


@pytest.fixture
def journey(workspace):
    return Journey(workspace)


def _cells(row):
    return {name: row.locator(f"[data-cell={name}]").inner_text() for name in ("entered", "waiting", "failed")}


def _goals_text(goals, entered):
    return f"{goals} ({goals / entered:.1%})" if goals and entered else str(goals)


def test_the_funnel_series_and_split_show_the_runtime_s_counts(logged_in, journey, screenshot):
    page: Page = logged_in
    counts = journey.analytics()
    nodes, split = counts["nodes"], counts["splits"]["s"]
    # What the runtime did, checked before the screen is: the test's numbers are real, not assumed.
    assert nodes["t"]["entered"] == nodes["k"]["entered"] == 23
    assert (nodes["c"]["entered"], nodes["c"]["failed"], nodes["s"]["entered"]) == (3, 3, 20)
    assert nodes["dA"]["entered"] + nodes["dB"]["entered"] == 20
    assert split["A"]["goal_reached"] + split["B"]["goal_reached"] == 7 == counts["goals"]["reached"]
    assert nodes["t"]["goal_reached"] == nodes["s"]["goal_reached"] == 7 and nodes["c"]["goal_reached"] == 0

    page.locator("tr[data-workflow=Onboarding]").get_by_role("link", name="Analytics", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/builder/workflows/{journey.workflow.id}/analytics$"))
    expect(page.get_by_role("heading", name="Analytics of Onboarding")).to_be_visible()
    expect(page.get_by_label("Version", exact=True)).to_have_value("1")

    funnel = page.get_by_role("table", name="Funnel by step")
    rows = funnel.locator("tbody tr")
    # Graph order: trigger, condition, its yes branch then its no branch, the split's A then B, then the tags.
    expect(rows).to_have_count(8)
    assert [rows.nth(i).get_attribute("data-node") for i in range(8)] == ["t", "k", "c", "s", "dA", "dB", "tA", "tB"]
    for node_id in ("t", "k", "c", "s", "dA", "dB", "tA"):
        row = funnel.locator(f"tr[data-node={node_id}]")
        expected = nodes.get(node_id, {"entered": 0, "waiting_now": 0, "failed": 0})
        assert _cells(row) == {"entered": str(expected["entered"]), "waiting": str(expected["waiting_now"]),
                               "failed": str(expected["failed"])}
        expect(row.locator("[data-cell=goals]")).to_have_text(
            _goals_text(expected.get("goal_reached", 0), expected["entered"]))
    expect(funnel.locator("tr[data-node=k] [data-cell=from-before]")).to_have_text("none lost")
    expect(funnel.locator("tr[data-node=s] [data-cell=from-before]")).to_have_text(
        "87.0% of “Is VIP?” took “no”")
    expect(page.get_by_role("img", name=re.compile(r"^Bar chart of contacts who entered each step\. Signed up: 23;")))\
        .to_be_visible()
    # Under the funnel, what the trigger offered that did not start, and why.
    expect(page.locator("[data-not-started=t]")).to_have_text(
        "“Signed up” offered 2 more entries that did not start: 2 were in the workflow already.")

    # The goal series: today's 23 entries and 7 conversions.
    page.get_by_text("The numbers by day").click()
    by_day = page.get_by_role("table", name="Goal conversions and entries by day")
    last = by_day.locator("tbody tr").last
    expect(last.locator("[data-cell=goals]")).to_have_text("7")
    expect(last.locator("[data-cell=entries]")).to_have_text("23")
    expect(page.get_by_text("7 goal conversions and 23 entries in the range")).to_be_visible()

    # The split: each variant's sample size, conversions and chance of being best, as the API computed them.
    test = page.locator("[data-split=s]")
    expect(test.get_by_role("heading", name="Subject test")).to_be_visible()
    variants = test.get_by_role("table", name="Variants of Subject test")
    for variant, label in (("A", "Short subject"), ("B", "Long subject")):
        row = variants.locator(f"tr[data-variant={variant}]")
        expect(row.get_by_role("rowheader")).to_have_text(label)
        expect(row.locator("[data-cell=entered]")).to_have_text(str(split[variant]["entered"]))
        expect(row.locator("[data-cell=goals]")).to_have_text(str(split[variant]["goal_reached"]))
    expect(test.locator("[data-verdict=too-early]")).to_contain_text("Too early to call")
    expect(test.get_by_role("img", name=re.compile("^Chance of being best by variant"))).to_be_visible()
    screenshot("analytics-page")
    _check_fits_and_is_accessible(page)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("analytics-page-1920")
    _check_fits_and_is_accessible(page)


def _check_fits_and_is_accessible(page: Page) -> None:
    assert_accessible(page)
    assert page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth") <= 0


def test_a_split_with_enough_contacts_shows_its_chance_of_being_best(logged_in, workspace, screenshot):
    from tests.history.conftest import Failing
    from workflows.models import WorkflowCounter

    page: Page = logged_in
    failing = Failing(workspace, name="Pricing test")
    version = failing.workflow.versions.get(number=1)
    # The counts test_analytics checks the API's figures on: 1000 contacts each, 10% against 12%.
    for variant, entered, reached in (("A", 1000, 100), ("B", 1000, 120)):
        WorkflowCounter.objects.create(version=version, key=f"split.s.{variant}.entered", value=entered)
        WorkflowCounter.objects.create(version=version, key=f"split.s.{variant}.goal_reached", value=reached)
    WorkflowCounter.objects.create(version=version, key="enrollments.waiting", value=2000)
    page.goto(f"/builder/workflows/{failing.workflow.id}/analytics")
    test = page.locator("[data-split=s]")
    # The split is no longer in the version's graph: it is still shown, named for what it is.
    expect(test.get_by_role("heading")).to_have_text("A split no longer in this version (s)")
    best = {v: test.locator(f"tr[data-variant={v}] [data-cell=best]") for v in ("A", "B")}
    expect(best["B"]).to_have_text(re.compile(r"^9[0-4]\.\d%$"))
    expect(test.locator("tr[data-variant=B] [data-cell=rate]")).to_have_text("12.0%")
    expect(test.locator("tr[data-variant=A] [data-cell=entered]")).to_have_text("1,000")
    expect(test.locator("[data-verdict=undecided]")).to_contain_text("No clear winner yet: “B” leads")
    screenshot("split-test-undecided")
    assert_accessible(page)


def test_an_unpublished_workflow_says_there_is_nothing_to_measure(logged_in, workspace):
    from workflows import services

    page: Page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Fresh")
    page.goto(f"/builder/workflows/{workflow.id}/analytics")
    expect(page.get_by_text("Nothing to measure yet: this workflow has never been published.")).to_be_visible()


def test_canvas_counts_show_each_step_s_figures_and_open_its_executions(logged_in, journey, screenshot):
    from workflows.services import workflow_draft_save

    page: Page = logged_in
    nodes = journey.analytics()["nodes"]
    # A step added to the draft since the publish has no counts of the published version, and says so.
    draft = journey.workflow.versions.get(number__isnull=True)
    graph = {"nodes": [*journey.nodes, _node("new", "add_tag", "New step", 0, 640, {"tag": "n"})], "edges": journey.edges}
    workflow_draft_save(workflow=journey.workflow, graph=graph, settings=journey.settings, revision=draft.revision)
    page.goto(f"/builder/workflows/{journey.workflow.id}")
    show_graph(page)
    toggle = page.get_by_role("button", name="Show counts")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator("[data-counts-node]")).to_have_count(0)  # off until asked for
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("Counts of version 1, the latest published (you are editing the draft).")).to_be_visible()
    for node_id in ("t", "c", "s", "dA", "dB"):
        badge = page.locator(f"[data-counts-node={node_id}]")
        expect(badge.locator("[data-count=entered] b")).to_have_text(str(nodes[node_id]["entered"]))
        expect(badge.locator("[data-count=waiting] b")).to_have_text(str(nodes[node_id]["waiting_now"]))
        expect(badge.locator("[data-count=failed] b")).to_have_text(str(nodes[node_id]["failed"]))
        expect(badge.locator("[data-count=goals] b")).to_have_text(str(nodes[node_id]["goal_reached"]))
    expect(page.locator("[data-counts-node=s] [data-count=goals] b")).to_have_text("7")
    # The trigger's badge says how many entries it offered did not start, and why (on hover, and read out).
    not_started = page.locator("[data-counts-node=t] [data-count=not-started]")
    expect(not_started).to_contain_text("2 not started")
    expect(not_started).to_have_attribute("title", "2 were in the workflow already")
    expect(page.locator("[data-counts-node=k] [data-count=not-started]")).to_have_count(0)
    expect(page.locator(".counts-none")).to_have_text("Not in version 1 yet")
    screenshot("canvas-counts")
    assert_accessible(page)
    _dragging_a_step_moves_its_counts_only(page)
    page.get_by_role("link", name="3 failed at “Add to VIP campaign”: show their executions").click()
    expect(page).to_have_url(re.compile(
        rf"/builder/executions\?workflow={journey.workflow.id}&node=c&status=failed$"))
    page.go_back()
    waiting = nodes["dB"]["waiting_now"]
    # From the keyboard (the minimap covers this badge at this size).
    page.get_by_role("link", name=f"{waiting} waiting at “Wait a week (B)” now: show them").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(
        rf"/builder/executions\?workflow={journey.workflow.id}&node=dB&status=waiting$"))
    page.go_back()
    # A published version's canvas counts that version's (the choice to show counts is remembered).
    page.goto(f"/builder/workflows/{journey.workflow.id}/versions/1")
    expect(page.get_by_text("Counts of version 1.")).to_be_visible()
    expect(page.locator("[data-counts-node=s] [data-count=entered] b")).to_have_text("20")
    expect(page.locator(".counts-none")).to_have_count(0)
    page.go_back()
    # A step's goal conversions lead to its row of the funnel, a split's to its test, on the analytics screen.
    page.locator("[data-counts-node=dB] [data-count=goals]").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/builder/workflows/{journey.workflow.id}/analytics#step-dB$"))
    expect(page.locator("tr[data-node=dB]")).to_be_in_viewport()
    page.go_back()
    page.locator("[data-counts-node=s] [data-count=goals]").click()
    expect(page).to_have_url(re.compile(rf"/builder/workflows/{journey.workflow.id}/analytics#split-s$"))
    expect(page.locator("[data-split=s]")).to_be_in_viewport()


def _dragging_a_step_moves_its_counts_only(page: Page) -> None:
    from tests.builder.pages import canvas_node

    moved, still = page.locator("[data-counts-node=dA]"), page.locator("[data-counts-node=k]")
    still_step = page.locator(".react-flow__node[data-id=k]")
    before, other = moved.bounding_box(), _offset(still, still_step)
    step = canvas_node(page, "Wait a week (A)")
    box = step.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 20 - 90, box["y"] + 10 + 30, steps=6)
    page.mouse.up()
    # The badge moved with its step (by as much as the step did, past React Flow's drag threshold); others stayed.
    after, step_after = moved.bounding_box(), step.bounding_box()
    assert step_after["x"] < box["x"] - 40
    assert (round(after["x"] - before["x"]), round(after["y"] - before["y"])) == (
        round(step_after["x"] - box["x"]), round(step_after["y"] - box["y"]))
    # The view may pan once the dragged step is selected (its panel opens): the other badge keeps its place by its
    # own step.
    assert _offset(still, still_step) == other


def _offset(badge, step) -> tuple[int, int]:
    """Where a badge sits from its step's top left corner."""
    badge_box, step_box = badge.bounding_box(), step.bounding_box()
    return round(badge_box["x"] - step_box["x"]), round(badge_box["y"] - step_box["y"])
