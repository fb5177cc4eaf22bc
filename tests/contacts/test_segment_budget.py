"""Segment rules have a budget: refused at save when their worst case is over it, stopped per contact at refresh."""

from __future__ import annotations

import logging

from contacts.models import Segment, SegmentMembership
from contacts.segments import segments_refresh
from tests.factories import ContactFactory, SegmentFactory
from workflows.engine.conditions import MAX_RULE_COST

THOUSAND = list(range(1000))
MILLION = {"some": [{"map": [THOUSAND, {"map": [THOUSAND, {"+": [1, 1]}]}]}, {"==": [1, 2]}]}
SOME_TAG = {"some": [{"var": "contact.tags"}, {"==": [{"var": ""}, "vip"]}]}


def members(segment) -> set[str]:
    return set(SegmentMembership.objects.filter(segment=segment).values_list("contact__email", flat=True))


def test_a_segment_rule_over_the_budget_is_refused_with_400_and_not_saved(api, workspace):
    response = api.post("/api/v1/segments", {"name": "Costly", "rule": MILLION}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert f"the limit is {MAX_RULE_COST:,}" in error["details"]["rule"]
    assert not Segment.objects.filter(workspace=workspace).exists()


def test_changing_a_segment_rule_to_one_over_the_budget_is_refused_and_keeps_the_old_rule(api, workspace):
    segment = SegmentFactory(workspace=workspace, rule=SOME_TAG)

    response = api.patch(f"/api/v1/segments/{segment.pk}", {"rule": MILLION}, format="json")

    assert response.status_code == 400
    assert "operations" in response.json()["error"]["details"]["rule"]
    segment.refresh_from_db()
    assert segment.rule == SOME_TAG


def test_refresh_leaves_out_only_the_contact_whose_data_takes_the_rule_over_its_budget(workspace, caplog):
    segment = SegmentFactory(workspace=workspace, rule=SOME_TAG)
    other = SegmentFactory(workspace=workspace, rule={"==": [{"var": "contact.first_name"}, "Ada"]})
    small = ContactFactory(workspace=workspace, email="small@x.test", tags=["vip"])
    huge = ContactFactory(workspace=workspace, email="huge@x.test", tags=["vip"] + ["x"] * MAX_RULE_COST)

    with caplog.at_level(logging.WARNING, logger="contacts.segments"):
        segments_refresh(workspace=workspace, contact_ids=[small.pk, huge.pk])

    assert members(segment) == {"small@x.test"}
    assert members(other) == {"small@x.test", "huge@x.test"}  # the other segment is evaluated as usual
    warnings = [r.getMessage() for r in caplog.records if "budget" in r.getMessage()]
    assert warnings == [
        f"Segment {segment.pk}: the rule went over its budget for 1 of 2 contacts (first: {huge.pk}); "
        "they are not members"
    ]


def test_a_rule_saved_before_the_budget_is_stopped_for_every_contact_and_gives_no_members(workspace, caplog):
    segment = SegmentFactory(workspace=workspace, rule=MILLION)  # written directly: the API would refuse it
    contacts = [ContactFactory(workspace=workspace, email=f"p{i}@x.test") for i in range(3)]

    with caplog.at_level(logging.WARNING, logger="contacts.segments"):
        changes = segments_refresh(workspace=workspace, contact_ids=[c.pk for c in contacts])

    assert changes.entered == []
    assert members(segment) == set()
    assert any("over its budget for 3 of 3 contacts" in r.getMessage() for r in caplog.records)


def _looping_rule(items: int) -> dict:
    """A rule whose worst case is about `items` times a comparison: it loops over a literal list."""
    return {"some": [list(range(items)), {"==": [{"var": ""}, -1]}]}


def test_a_workspace_segments_together_stay_within_what_a_contact_change_may_spend(api, other_api, workspace):
    from contacts.segments import WORKSPACE_SEGMENTS_COST
    from workflows.engine.conditions import MAX_RULE_COST, rule_cost

    rule = _looping_rule(900)
    assert rule_cost(rule) <= MAX_RULE_COST
    fitting = WORKSPACE_SEGMENTS_COST // rule_cost(rule)
    for index in range(fitting):
        assert api.post("/api/v1/segments", {"name": f"s{index}", "rule": rule}, format="json").status_code == 201
    before = Segment.objects.count()
    refused = api.post("/api/v1/segments", {"name": "one too many", "rule": rule}, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "segment_budget_exceeded"
    assert Segment.objects.count() == before
    cheap = {"in": ["vip", {"var": "contact.tags"}]}
    assert api.post("/api/v1/segments", {"name": "cheap", "rule": cheap}, format="json").status_code == 201
    # Replacing a rule counts the new rule instead of the old one, and other workspaces have budgets of their own.
    segment = Segment.objects.filter(workspace=workspace, name="s0").get()
    assert api.patch(f"/api/v1/segments/{segment.pk}", {"rule": cheap}, format="json").status_code == 200
    assert other_api.post("/api/v1/segments", {"name": "theirs", "rule": rule}, format="json").status_code == 201
