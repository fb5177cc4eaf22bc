"""The scoring pass's features (events aggregated in numpy) against training's (aggregated in SQL): the same
values, bit for bit, so that a model scores exactly what it was trained on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import numpy as np
import pytest
from django.utils import timezone

from contacts.models import Contact
from events.models import Event
from predictions.features import FEATURES, Snapshot, snapshots_build
from predictions.scoring import predictions_score
from predictions.scoring_features import scoring_snapshot
from predictions.services import predictions_train
from predictions.synthetic import SyntheticSpec, synthetic_workspace_create
from predictions.training import Requirements
from tests.factories import ContactFactory

NOW = datetime(2026, 11, 30, tzinfo=UTC)
# Not on the hour: window edges then fall between whole seconds, where rounding would show.
AT = NOW + timedelta(hours=9, minutes=41, seconds=7, microseconds=123_457)


def _assert_same(numpy_pass: Snapshot, sql_pass: Snapshot) -> None:
    assert numpy_pass.contact_ids == sql_pass.contact_ids
    for name in ("X", "active_events", "changes_at", "fields_seen"):
        assert np.array_equal(getattr(numpy_pass, name), getattr(sql_pass, name), equal_nan=True), name
    for kind, scores in sql_pass.previous.items():
        assert np.array_equal(numpy_pass.previous[kind], scores, equal_nan=True)
        assert numpy_pass.previous_versions[kind] == sql_pass.previous_versions[kind]


def _event(workspace, contact_id, kind: str, occurred_at: datetime, **extra) -> Event:
    return Event(workspace=workspace, contact_id=contact_id, type=kind, occurred_at=occurred_at,
                 received_at=timezone.now(), processed_at=timezone.now(), **extra)


@pytest.fixture
def edged_workspace(workspace):
    """A synthetic workspace, scored once (stored scores to read back), plus events on every edge."""
    synthetic_workspace_create(workspace=workspace, spec=SyntheticSpec(contacts=400, seed=5), now=NOW)
    predictions_train(workspace=workspace, now=NOW, requirements=Requirements(min_population=100, min_positives=10))
    predictions_score(workspace=workspace, now=NOW)
    edge = ContactFactory(workspace=workspace, score=12, tags=["a", "b"])
    # Two contacts whose ids share their first 64 bits: matched by the whole id, not by a prefix.
    twins = [ContactFactory(workspace=workspace, id=UUID(int=(0x1234_5678_9ABC_DEF0 << 64) | low)) for low in (1, 2)]
    ContactFactory(workspace=workspace)  # no events at all
    events = [_event(workspace, edge.pk, kind, AT - timedelta(days=days) + nudge)
              for days in (0, 7, 28, 56, 57) for nudge in (-timedelta(microseconds=1), timedelta(0),
                                                            timedelta(microseconds=1))
              for kind in ("email.opened", "email.sent", "order.completed")]
    events += [_event(workspace, edge.pk, "page.viewed", AT - timedelta(days=3), properties={"url": "/pricing"}),
               _event(workspace, edge.pk, "page.viewed", AT - timedelta(days=30), properties={"url": "/blog"}),
               _event(workspace, edge.pk, "email.opened", AT - timedelta(days=1), flags={"bot": True}),
               _event(workspace, edge.pk, "contact.updated", AT - timedelta(days=2)),
               _event(workspace, twins[1].pk, "email.clicked", AT - timedelta(days=4)),
               _event(workspace, uuid4(), "email.opened", AT - timedelta(days=2)),  # a contact erased since
               _event(workspace, None, "page.viewed", AT - timedelta(days=2))]  # an anonymous visit
    Event.objects.bulk_create(events)
    return workspace


def test_the_scoring_pass_computes_the_features_training_computes_bit_for_bit(edged_workspace):
    sql_pass = snapshots_build(workspace_id=edged_workspace.pk, times=[AT], with_previous=True)[0]

    numpy_pass = scoring_snapshot(workspace_id=edged_workspace.pk, at=AT)

    _assert_same(numpy_pass, sql_pass)
    assert len(sql_pass.contact_ids) == 404 and np.isfinite(sql_pass.previous["churn_risk"]).sum() > 300
    edge = sql_pass.contact_ids.index(Contact.objects.get(workspace=edged_workspace, score=12).pk)
    assert sql_pass.active_events[edge] > 0 and np.isfinite(sql_pass.changes_at[edge])


def test_the_scoring_pass_keeps_to_named_contacts_and_stripes_as_training_does(edged_workspace):
    everyone = snapshots_build(workspace_id=edged_workspace.pk, times=[AT], with_previous=True)[0].contact_ids
    named = everyone[::3]
    stripe = (UUID(int=2**126), UUID(int=2**127 + 2**125))

    for only, within in ((named, (None, None)), (None, stripe), (named, stripe)):
        _assert_same(scoring_snapshot(workspace_id=edged_workspace.pk, at=AT, only=only, stripe=within),
                     snapshots_build(workspace_id=edged_workspace.pk, times=[AT], with_previous=True, only=only,
                                     stripe=within)[0])


def test_a_workspace_without_contacts_or_events_gives_an_empty_pass(workspace):
    snapshot = scoring_snapshot(workspace_id=workspace.pk, at=AT)

    _assert_same(snapshot, snapshots_build(workspace_id=workspace.pk, times=[AT], with_previous=True)[0])
    assert snapshot.contact_ids == [] and snapshot.X.shape == (0, len(FEATURES))


def test_score_writes_meet_their_contacts_through_its_key_never_a_scan_of_every_contact(edged_workspace):
    """A batch's scores upsert joins its rows to their contacts (an erased one is skipped). Without statistics for
    the temporary tables the planner hashed the whole contacts table for each batch: writing then grew with the
    square of the workspace. The state's upsert reads no contact at all."""
    from django.db import connection

    from predictions.scoring import SCORES_UPSERT, STATE_UPSERT, batch_writes_prepare

    with connection.cursor() as cursor:
        batch_writes_prepare(cursor)
        plans = []
        for statement in (SCORES_UPSERT, STATE_UPSERT):
            cursor.execute("EXPLAIN " + statement)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    scores_plan, state_plan = plans
    assert "contacts_contact_pkey" in scores_plan, scores_plan
    assert "Seq Scan on contacts_contact " not in scores_plan and "Hash" not in scores_plan, scores_plan
    assert "contacts_contact " not in state_plan and "Hash" not in state_plan, state_plan
