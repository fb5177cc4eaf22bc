from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.activity import ActivityReader
from contacts.models import SegmentMembership
from contacts.segments import segments_refresh
from contacts.services import contact_create, contact_tags_change, contact_update
from events import partitions
from events.models import Event, EventKey
from events.selectors import contact_activity
from events.services import NewEvent, event_emit, events_emit
from tests.factories import ContactFactory, SegmentFactory

# --- the producer ------------------------------------------------------------------------------------------------


def test_event_emit_without_client_id_always_stores(workspace):
    first = event_emit(workspace=workspace, type="page.viewed", properties={"url": "/a"})
    second = event_emit(workspace=workspace, type="page.viewed", properties={"url": "/a"})
    assert first.id != second.id
    assert Event.objects.get(pk=first.id).properties == {"url": "/a"}
    assert not EventKey.objects.exists()


def test_event_emit_dedupes_by_client_id_and_returns_none_for_a_repeat(workspace, other_workspace):
    contact = ContactFactory(workspace=workspace)
    first = event_emit(workspace=workspace, type="email.opened", contact_id=contact.id,
                       client_id="esp:postmark:abc", source=Event.Source.ESP)
    assert first is not None
    assert Event.objects.get(pk=first.id).client_id == "esp:postmark:abc"
    repeat = event_emit(workspace=workspace, type="email.opened", contact_id=contact.id,
                        client_id="esp:postmark:abc", occurred_at=timezone.now() - timedelta(days=2))
    assert repeat is None
    assert Event.objects.filter(type="email.opened").count() == 1
    assert EventKey.objects.get(workspace=workspace, key="esp:postmark:abc").event_id == first.id
    assert event_emit(workspace=other_workspace, type="email.opened", client_id="esp:postmark:abc") is not None


def test_events_emit_returns_only_new_events_in_order(workspace):
    event_emit(workspace=workspace, type="email.delivered", client_id="k1")
    stored = events_emit(workspace=workspace, events=[
        NewEvent(type="email.delivered", client_id="k1"),
        NewEvent(type="email.delivered", client_id="k2"),
        NewEvent(type="email.delivered", client_id="k2"),
        NewEvent(type="email.delivered"),
    ])
    assert [e.client_id for e in stored] == ["k2", None]
    assert all(e.pk for e in stored)
    assert Event.objects.count() == 3


def test_event_emit_flags_are_stored(workspace):
    event = event_emit(workspace=workspace, type="email.clicked", flags={"bot": True})
    assert Event.objects.get(pk=event.id).flags == {"bot": True}


def test_event_emit_refuses_far_future_times(workspace):
    with pytest.raises(ValueError, match="future"):
        event_emit(workspace=workspace, type="page.viewed", occurred_at=timezone.now() + timedelta(days=3))


# --- segments ------------------------------------------------------------------------------------------------


def segment_events(contact_id):
    return list(Event.objects.filter(contact_id=contact_id, type__startswith="segment.").order_by("id")
                .values_list("type", "properties"))


def test_segment_entered_and_exited_are_emitted_on_real_changes_only(workspace):
    vip = SegmentFactory(workspace=workspace, rule={"in": ["vip", {"var": "contact.tags"}]})
    SegmentFactory(workspace=workspace, rule={"==": [{"var": "contact.status"}, "nobody"]})
    contact = contact_create(workspace=workspace, email="ada@example.com", tags=["vip"])
    assert segment_events(contact.id) == [("segment.entered", {"segment_id": str(vip.id)})]
    contact_tags_change(contact=contact, add=["trial"])
    contact_update(contact=contact, changes={"first_name": "Ada"})
    assert len(segment_events(contact.id)) == 1
    contact_tags_change(contact=contact, remove=["vip"])
    assert segment_events(contact.id)[-1] == ("segment.exited", {"segment_id": str(vip.id)})
    assert not SegmentMembership.objects.filter(contact=contact).exists()
    assert segments_refresh(workspace=workspace, contact_ids=[contact.id]).entered == []
    assert len(segment_events(contact.id)) == 2


def test_segments_refresh_is_batch_shaped(workspace, django_assert_max_num_queries):
    SegmentFactory(workspace=workspace, rule={"in": ["vip", {"var": "contact.tags"}]})
    SegmentFactory(workspace=workspace, rule={">": [{"var": "contact.score"}, 10]})
    contacts = [ContactFactory(workspace=workspace, tags=["vip"] if i % 2 else [], score=i) for i in range(40)]
    # Two of them ask whether anything reacts to the segment events (workflows.event_reactions): their count
    # does not grow with the contacts either.
    with django_assert_max_num_queries(10):
        changes = segments_refresh(workspace=workspace, contact_ids=[c.id for c in contacts])
    assert len(changes.entered) == 20 + 29
    assert Event.objects.filter(type="segment.entered").count() == 49


def test_segment_rule_that_errors_means_not_a_member(workspace):
    SegmentFactory(workspace=workspace, rule={"regex": [{"var": "contact.email"}, {"var": "contact.score"}]})
    contact = ContactFactory(workspace=workspace)
    assert segments_refresh(workspace=workspace, contact_ids=[contact.id]).entered == []


def test_ingestion_created_contacts_enter_segments(post, workspace):
    segment = SegmentFactory(workspace=workspace, rule={"==": [{"var": "contact.status"}, "subscribed"]})
    post({"type": "form.submitted", "contact": {"email": "new@x.test"}, "properties": {"form": "demo"}})
    (membership,) = SegmentMembership.objects.all()
    assert membership.segment_id == segment.id
    assert Event.objects.filter(type="segment.entered", contact_id=membership.contact_id).count() == 1


# --- activity -----------------------------------------------------------------------------------------------


def test_contact_activity_answers_for_many_contacts_in_one_query(workspace, django_assert_num_queries):
    contacts = [ContactFactory(workspace=workspace) for _ in range(30)]
    now = timezone.now()
    events_emit(workspace=workspace, events=[
        NewEvent(type="email.opened", contact_id=c.id, occurred_at=now - timedelta(days=d))
        for c in contacts for d in (1, 10, 40)
    ])
    with django_assert_num_queries(1):
        found = contact_activity(workspace_id=workspace.id, contact_ids=[c.id for c in contacts],
                                 since=now - timedelta(days=30))
    assert len(found) == 30
    assert all(len(items) == 2 for items in found.values())


def test_activity_reader_answers_event_count_email_event_and_in_segment(workspace, django_assert_num_queries):
    from workflows.engine.conditions import evaluate

    contacts = [ContactFactory(workspace=workspace) for _ in range(10)]
    segment = SegmentFactory(workspace=workspace)
    SegmentMembership.objects.create(segment=segment, contact=contacts[0])
    now = timezone.now()
    events_emit(workspace=workspace, events=[
        NewEvent(type="email.opened", contact_id=contacts[0].id, occurred_at=now - timedelta(days=1)),
        NewEvent(type="email.opened", contact_id=contacts[0].id, occurred_at=now - timedelta(days=20)),
        NewEvent(type="email.clicked", contact_id=contacts[0].id, occurred_at=now - timedelta(hours=5),
                 properties={"url": "https://x.test/book-demo", "node_id": "n3", "workflow_id": "w"}),
        NewEvent(type="email.clicked", contact_id=contacts[1].id, occurred_at=now - timedelta(hours=5),
                 properties={"url": "https://x.test/book-demo", "node_id": "n3"}, flags={"bot": True}),
    ])
    reader = ActivityReader(contacts=[(workspace.id, c.id) for c in contacts], now=now)
    rules = {
        "opened_week": {">=": [{"event_count": {"type": "email.opened", "within": "P7D"}}, 1]},
        "opened_ever": {"==": [{"event_count": {"type": "email.opened"}}, 2]},
        "demo": {"email_event": {"event": "clicked", "node": "n3", "url_contains": "/BOOK-demo", "within": "P1D"}},
        "other_node": {"email_event": {"event": "clicked", "node": "n9"}},
        "member": {"in_segment": [str(segment.id)]},
    }
    with django_assert_num_queries(3):  # email.opened, email.clicked, memberships: once for all ten contacts
        results = {
            contact.id: {name: bool(evaluate(rule, {}, now=now, contact_id=str(contact.id), activity=reader))
                         for name, rule in rules.items()}
            for contact in contacts
        }
    assert results[contacts[0].id] == {"opened_week": True, "opened_ever": True, "demo": True,
                                       "other_node": False, "member": True}
    assert not any(results[contacts[1].id].values())  # a bot click is not activity


# --- listing --------------------------------------------------------------------------------------------------


def test_list_events_newest_first_with_filters_and_cursor(api, workspace, other_workspace):
    ada, bob = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    now = timezone.now().replace(microsecond=0)
    same_moment = now - timedelta(hours=1)
    events_emit(workspace=workspace, events=[
        NewEvent(type="page.viewed", contact_id=ada.id, occurred_at=now - timedelta(hours=h)) for h in range(5)
    ] + [NewEvent(type="form.submitted", contact_id=bob.id, occurred_at=same_moment) for _ in range(3)])
    event_emit(workspace=other_workspace, type="page.viewed", occurred_at=now)

    def fetch(url):
        response = api.get(url)
        assert response.status_code == 200, response.content
        return response.json()

    seen, url = [], "/api/v1/events?limit=3"
    while url:
        page = fetch(url)
        seen += page["results"]
        url = page["next"]
    assert len(seen) == 8
    assert len({e["id"] for e in seen}) == 8
    keys = [(e["occurred_at"], e["id"]) for e in seen]
    assert keys == sorted(keys, reverse=True)
    assert {e["type"] for e in fetch(f"/api/v1/events?contact={bob.id}")["results"]} == {"form.submitted"}
    assert len(fetch("/api/v1/events?type=page.viewed")["results"]) == 5
    since = (now - timedelta(hours=2)).isoformat()
    until = (now - timedelta(minutes=30)).isoformat()
    window = fetch(f"/api/v1/events?type=page.viewed&since={since.replace('+', '%2B')}"
                   f"&until={until.replace('+', '%2B')}")["results"]
    assert len(window) == 2


def test_list_events_is_scoped_to_the_workspace(api, other_api, workspace, other_workspace):
    event_emit(workspace=other_workspace, type="page.viewed")
    assert api.get("/api/v1/events").json()["results"] == []
    assert len(other_api.get("/api/v1/events").json()["results"]) == 1


@pytest.mark.parametrize("query", ["contact=nope", "since=yesterday", "until=2026-11-22T10:00:00", "cursor=%%%"])
def test_list_events_bad_filters_are_400(api, workspace, query):
    response = api.get(f"/api/v1/events?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_list_events_needs_auth(client, db):
    assert client.get("/api/v1/events").status_code == 401


# --- retention --------------------------------------------------------------------------------------------------


def test_retention_drops_an_expired_partition_and_keeps_current_ones(workspace, capsys):
    now = timezone.now()
    old_start = partitions.week_start(now - timedelta(days=200))
    old_name = partitions.partition_name(old_start)
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE "{old_name}" PARTITION OF events_event '
            f"FOR VALUES FROM ('{old_start.isoformat()}') TO ('{(old_start + timedelta(weeks=1)).isoformat()}')"
        )
    old = event_emit(workspace=workspace, type="page.viewed", occurred_at=old_start + timedelta(days=1))
    ancient = event_emit(workspace=workspace, type="page.viewed", occurred_at=now - timedelta(days=3000))
    recent = event_emit(workspace=workspace, type="page.viewed", occurred_at=now)
    EventKey.objects.create(workspace=workspace, key="old-key", event_id=old.id)
    EventKey.objects.filter(key="old-key").update(created_at=now - timedelta(days=100))

    call_command("events_retention", "--dry-run")
    assert "would drop 1 partitions" in capsys.readouterr().out
    with connection.cursor() as cursor:
        assert old_name in partitions.existing_partitions(cursor)
    assert Event.objects.filter(pk__in=[old.id, ancient.id]).count() == 2

    call_command("events_retention")
    output = capsys.readouterr().out
    assert f"did drop 1 partitions: {old_name}" in output
    with connection.cursor() as cursor:
        existing = partitions.existing_partitions(cursor)
    assert old_name not in existing
    assert partitions.partition_name(partitions.week_start(now)) in existing
    assert partitions.partition_name(partitions.week_start(now + timedelta(weeks=8))) in existing
    assert list(Event.objects.values_list("id", flat=True)) == [recent.id]
    assert not EventKey.objects.filter(key="old-key").exists()
