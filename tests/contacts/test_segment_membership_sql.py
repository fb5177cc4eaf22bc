"""Segment membership computed by SQL: refusals with a reason, the full rebuild at save, members read by cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contacts.models import Segment, SegmentMembership
from contacts.rule_sql import RuleNotCompilable, compile_rule_sql
from contacts.segments import (
    REBUILD_QUEUE,
    SQL_FROM_CONTACTS,
    segment_members_rebuild,
    segment_rebuild_job,
    segments_refresh,
)
from events.models import Event
from tests.factories import ContactFactory, SegmentFactory

NOW = datetime(2026, 12, 2, tzinfo=UTC)
TAG = {"var": "contact.tags"}


@pytest.mark.parametrize(("rule", "reason", "at_save"), [
    ({"regex": [{"var": "contact.email"}, "^a+$"]}, "PostgreSQL's ~ has no time bound", True),
    ({"some": [{"var": "contact.fields.a"}, {"==": [{"var": ""}, 1]}]}, "some is compiled over contact.tags only",
     False),
    ({"all": [["a"], {"==": [{"var": ""}, "a"]}]}, "all is compiled over contact.tags only", False),
    ({"none": [{"merge": [TAG]}, True]}, "none is compiled over contact.tags only", False),
    ({"some": [TAG, {"==": [{"var": "contact.score"}, 1]}]}, "a loop body reading more than its item", False),
    ({"some": [TAG, {"==": [{"cat": [{"var": ""}, "x"]}, "vipx"]}]}, "body uses cat", False),
    ({"map": [TAG, {"var": ""}]}, "map builds a list", False),
    ({"filter": [TAG, True]}, "filter builds a list", False),
    ({"reduce": [TAG, 1, 0]}, "reduce folds a list", False),
    ({"merge": [TAG, ["a"]]}, "merge builds lists", False),
    ({">": [{"+": [{"var": "contact.score"}, 1]}, 2]}, "arithmetic (+)", False),
    ({"!!": {"var": "contact"}}, "whole contact object", False),
    ({"!!": {"var": "contact.fields"}}, "whole fields object", False),
    ({"==": [{"var": "contact.tags.length"}, 1]}, "reads into a value", False),
    ({"==": [{"var": "contact.score"}, 2**60]}, "beyond 2**53", False),
    ({"frobnicate": [1]}, "unknown operation", True),
])
def test_an_operation_without_exact_sql_is_refused_with_its_reason(rule, reason, at_save):
    with pytest.raises(RuleNotCompilable) as refused:
        compile_rule_sql(rule, now=NOW)

    assert reason in refused.value.reason
    assert refused.value.at_save is at_save


def test_a_regex_segment_is_refused_at_save_with_422_and_the_reason(api, workspace):
    response = api.post("/api/v1/segments", {"name": "R", "rule": {"regex": [{"var": "contact.email"}, "a"]}},
                        format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "rule_not_compilable"
    assert "regex" in error["details"]["rule"]
    assert not Segment.objects.filter(workspace=workspace).exists()


@pytest.fixture
def rebuild_jobs(django_capture_on_commit_callbacks):
    """Saves enqueue their rebuild on commit (`saving()` runs those callbacks); `run()` drains the rebuild queue
    with a real (non-forking) RQ worker and fails the test if a job failed."""
    import django_rq
    from rq import SimpleWorker

    queue = django_rq.get_queue(REBUILD_QUEUE)

    def empty():
        queue.empty()
        for job_id in queue.failed_job_registry.get_job_ids():
            queue.failed_job_registry.remove(job_id, delete_job=True)

    class Jobs:
        def saving(self):
            return django_capture_on_commit_callbacks(execute=True)

        def run(self) -> int:
            count = queue.count
            SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
            assert queue.failed_job_registry.get_job_ids() == []
            return count

    empty()
    yield Jobs()
    empty()


def test_creating_a_segment_computes_its_members_in_a_job_and_emits_entered_events(api, workspace, rebuild_jobs):
    vip = ContactFactory(workspace=workspace, tags=["vip"], fields={"plan": "pro"})
    ContactFactory(workspace=workspace, tags=["vip"], fields={"plan": "free"})
    rule = {"and": [{"in": ["vip", TAG]}, {"==": [{"var": "contact.fields.plan"}, "pro"]}]}

    with rebuild_jobs.saving():
        response = api.post("/api/v1/segments", {"name": "Pro VIPs", "rule": rule}, format="json")

    assert response.status_code == 201
    segment = Segment.objects.get(pk=response.json()["id"])
    assert segment.members_as_of is None  # not computed yet: members are read through the rule
    assert [c["id"] for c in api.get(f"/api/v1/segments/{segment.pk}/contacts").json()["results"]] == [str(vip.pk)]
    assert rebuild_jobs.run() == 1
    segment.refresh_from_db()
    assert segment.members_as_of is not None
    assert set(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)) == {vip.pk}
    entered = Event.objects.filter(workspace=workspace, type="segment.entered")
    assert [(e.contact_id, e.properties["segment_id"]) for e in entered] == [(vip.pk, str(segment.pk))]


def test_changing_the_rule_rebuilds_members_in_a_job_and_emits_exits_once(api, workspace, rebuild_jobs):
    first = ContactFactory(workspace=workspace, score=10)
    second = ContactFactory(workspace=workspace, score=60)
    with rebuild_jobs.saving():
        created = api.post("/api/v1/segments", {"name": "S", "rule": {">=": [{"var": "contact.score"}, 5]}},
                           format="json").json()
    rebuild_jobs.run()

    with rebuild_jobs.saving():
        assert api.patch(f"/api/v1/segments/{created['id']}", {"rule": {">=": [{"var": "contact.score"}, 50]}},
                         format="json").status_code == 200
    # Before the job: the old rule's membership is kept, but members are read through the new rule.
    assert Segment.objects.get(pk=created["id"]).members_as_of is None
    assert [c["id"] for c in api.get(f"/api/v1/segments/{created['id']}/contacts").json()["results"]] == [
        str(second.pk)]
    assert rebuild_jobs.run() == 1
    segment_members_rebuild(segment=Segment.objects.get(pk=created["id"]))  # a second rebuild changes nothing
    assert Segment.objects.get(pk=created["id"]).members_as_of is not None

    members = set(SegmentMembership.objects.filter(segment_id=created["id"]).values_list("contact_id", flat=True))
    assert members == {second.pk}
    exited = Event.objects.filter(workspace=workspace, type="segment.exited")
    assert [e.contact_id for e in exited] == [first.pk]
    assert Event.objects.filter(workspace=workspace, type="segment.entered").count() == 2


def test_the_rebuild_goes_range_by_range_and_misses_no_contact(workspace):
    contacts = [ContactFactory(workspace=workspace, score=index) for index in range(7)]
    segment = SegmentFactory(workspace=workspace, rule={"<": [{"var": "contact.score"}, 4]})

    changes = segment_members_rebuild(segment=segment, chunk_size=2)

    assert sorted(c for _, c in changes.entered) == sorted(c.pk for c in contacts[:4])
    assert SegmentMembership.objects.filter(segment=segment).count() == 4


def test_members_are_read_from_the_membership_table_a_page_at_a_time(api, workspace):
    contacts = [ContactFactory(workspace=workspace, tags=["vip"]) for _ in range(5)]
    ContactFactory(workspace=workspace, tags=[])
    segment_id = api.post("/api/v1/segments", {"name": "V", "rule": {"in": ["vip", TAG]}}, format="json").json()["id"]

    first = api.get(f"/api/v1/segments/{segment_id}/contacts?limit=3").json()
    second = api.get(first["next"]).json()

    ids = [c["id"] for c in first["results"]] + [c["id"] for c in second["results"]]
    assert ids == sorted(str(c.pk) for c in contacts)
    assert second["next"] is None


def test_a_segment_whose_members_were_never_computed_is_read_through_its_rule(api, workspace):
    vip = ContactFactory(workspace=workspace, tags=["vip"])
    ContactFactory(workspace=workspace, tags=[])
    segment = SegmentFactory(workspace=workspace, rule={"in": ["vip", TAG]})

    response = api.get(f"/api/v1/segments/{segment.pk}/contacts")

    assert [c["id"] for c in response.json()["results"]] == [str(vip.pk)]


def test_a_refresh_of_many_contacts_by_sql_agrees_with_python_and_falls_back_for_loops(workspace):
    contacts = [ContactFactory(workspace=workspace, score=index, fields={"n": str(index)},
                               tags=["vip"] if index % 3 == 0 else [])
                for index in range(SQL_FROM_CONTACTS + 5)]
    by_sql = SegmentFactory(workspace=workspace, rule={"and": [{">": [{"var": "contact.fields.n"}, 9]},
                                                              {"in": ["vip", TAG]}]})
    by_python = SegmentFactory(workspace=workspace, rule={"some": [{"merge": [TAG]}, {"==": [{"var": ""}, "vip"]}]})

    changes = segments_refresh(workspace=workspace, contact_ids=[c.pk for c in contacts])

    expected_sql = {(by_sql.pk, c.pk) for c in contacts if c.score > 9 and c.score % 3 == 0}
    expected_python = {(by_python.pk, c.pk) for c in contacts if c.score % 3 == 0}
    assert set(changes.entered) == expected_sql | expected_python


def test_audience_candidates_leave_out_only_the_contacts_the_rule_surely_fails(workspace):
    from django.db import connection

    from contacts.segments import rule_candidates

    recent = ContactFactory(workspace=workspace, fields={"renewal": "2026-11-30"})
    ContactFactory(workspace=workspace, fields={"renewal": "2025-01-01"})
    unreadable = ContactFactory(workspace=workspace, fields={"renewal": "soon"})  # the evaluator fails: kept
    rule = {"<": [{"days_since": [{"var": "contact.fields.renewal"}]}, 10]}

    sql, params = rule_candidates(workspace_id=workspace.pk, rule=rule, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert {row[0] for row in cursor.fetchall()} == {recent.pk, unreadable.pk}
    assert rule_candidates(workspace_id=workspace.pk, now=NOW,
                           rule={">": [{"event_count": {"type": "email.opened"}}, 0]}) is None


def test_a_loop_over_more_tags_than_the_budget_assumes_is_left_to_the_evaluator(workspace):
    from django.db import connection

    from contacts.segments import rule_members

    many = ContactFactory(workspace=workspace, tags=[f"t{index}" for index in range(150)] + ["vip"])
    few = ContactFactory(workspace=workspace, tags=["vip"])
    ContactFactory(workspace=workspace, tags=["new"])
    rule = {"some": [TAG, {"==": [{"var": ""}, "vip"]}]}
    compiled = compile_rule_sql(rule, now=NOW)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.id FROM contacts_contact c WHERE c.workspace_id = %s AND {compiled.unsure.text}",
                       [workspace.pk, *compiled.unsure.params])
        assert [row[0] for row in cursor.fetchall()] == [many.pk]
    assert rule_members(workspace_id=workspace.pk, rule=rule, now=NOW) == {many.pk, few.pk}


def _unsure_ids(compiled, workspace) -> set:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.id FROM contacts_contact c WHERE c.workspace_id = %s AND {compiled.unsure.text}",
                       [workspace.pk, *compiled.unsure.params])
        return {row[0] for row in cursor.fetchall()}


def test_the_string_methods_of_expressions_compile_and_leave_only_non_ascii_case_mapping_to_python(workspace):
    from contacts.segments import rule_members

    pro = ContactFactory(workspace=workspace, email="a%b@example.com", fields={"plan": "PRO"})
    ContactFactory(workspace=workspace, email="axb@example.com", fields={"plan": "free"})
    turkish = ContactFactory(workspace=workspace, email="c@example.com", fields={"plan": "PRİ"})
    starts = {"starts_with": [{"var": "contact.email"}, "a%"]}  # % is text here, not a LIKE wildcard
    lowered = {"===": [{"lower": [{"var": "contact.fields.plan"}]}, "pro"]}
    counted = {"===": [{"length": [{"var": "contact.fields.plan"}]}, 3]}

    assert rule_members(workspace_id=workspace.pk, rule=starts, now=NOW) == {pro.pk}
    assert _unsure_ids(compile_rule_sql(starts, now=NOW), workspace) == set()
    assert rule_members(workspace_id=workspace.pk, rule=lowered, now=NOW) == {pro.pk}
    assert _unsure_ids(compile_rule_sql(lowered, now=NOW), workspace) == {turkish.pk}
    assert rule_members(workspace_id=workspace.pk, rule=counted, now=NOW) == {pro.pk, turkish.pk}
    assert _unsure_ids(compile_rule_sql(counted, now=NOW), workspace) == set()


def test_the_segment_api_says_whether_the_rule_runs_as_sql_and_why_not(api, workspace):
    compiled = api.post("/api/v1/segments", {"name": "C", "rule": {"js": 'contact.email.startsWith("a")'}},
                        format="json").json()
    slow_rule = {"some": [{"filter": [TAG, True]}, {"==": [{"var": ""}, "vip"]}]}
    slow = api.post("/api/v1/segments", {"name": "S", "rule": slow_rule}, format="json").json()

    assert (compiled["sql_compiled"], compiled["sql_note"]) == (True, "")
    assert slow["sql_compiled"] is False
    assert "some is compiled over contact.tags only" in slow["sql_note"]
    listed = {s["id"]: s for s in api.get("/api/v1/segments").json()["results"]}
    assert listed[slow["id"]]["sql_note"] == slow["sql_note"]
    assert api.patch(f"/api/v1/segments/{slow['id']}", {"rule": {"in": ["vip", TAG]}},
                     format="json").json()["sql_compiled"] is True


def test_a_rebuild_job_for_a_segment_deleted_meanwhile_does_nothing(workspace):
    segment = SegmentFactory(workspace=workspace, rule={"in": ["vip", TAG]})
    ContactFactory(workspace=workspace, tags=["vip"])
    segment_id = str(segment.pk)
    segment.delete()

    segment_rebuild_job(segment_id)

    assert not SegmentMembership.objects.filter(segment_id=segment_id).exists()


def test_a_rebuild_for_a_rule_changed_meanwhile_does_not_mark_the_membership_computed(workspace):
    ContactFactory(workspace=workspace, tags=["vip"])
    segment = SegmentFactory(workspace=workspace, rule={"in": ["vip", TAG]})
    stale = Segment.objects.get(pk=segment.pk)
    Segment.objects.filter(pk=segment.pk).update(rule={"in": ["new", TAG]})

    segment_members_rebuild(segment=stale)  # computed for the old rule: the new rule's rebuild sets members_as_of

    assert Segment.objects.get(pk=segment.pk).members_as_of is None
