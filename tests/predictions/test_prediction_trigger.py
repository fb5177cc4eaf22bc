"""trigger_prediction: scoring fires it once per crossing, with hysteresis, for the published workflows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contacts.models import Contact, ContactScores
from events.gateway import EventRecord
from events.models import Event
from predictions.scoring import _active_triggers, prediction_crossings_fire
from workflows.models import Enrollment
from workflows.runtime_gateway import RuntimeGateway
from workflows.services import workflow_create, workflow_publish

CONFIG = {"model": "churn_risk", "threshold": 70, "direction": "up", "hysteresis": 5}


def _graph(config):
    return {"nodes": [{"id": "t", "type": "trigger_prediction", "data": {"config": config}},
                      {"id": "a", "type": "add_tag", "data": {"config": {"tag": "at-risk"}}}],
            "edges": [{"id": "e", "source": "t", "target": "a"}]}


@pytest.fixture(autouse=True)
def _fresh_trigger_index():
    """No trigger index in memory: workflows published inside a test's transaction never invalidate it."""
    from workflows import trigger_index

    trigger_index._cache.reset()
    yield
    trigger_index._cache.reset()


def test_published_prediction_triggers_are_what_scoring_fires(workspace, other_workspace):
    workflow_publish(workflow=workflow_create(workspace=workspace, name="Save them", graph=_graph(CONFIG)))
    workflow_create(workspace=workspace, name="Draft only", graph=_graph({**CONFIG, "threshold": 90}))
    workflow_publish(workflow=workflow_create(workspace=other_workspace, name="Theirs", graph=_graph(CONFIG)))

    assert _active_triggers(workspace.pk) == [CONFIG]


def test_a_score_fires_once_when_it_crosses_and_not_again_while_it_flaps(workspace):
    workflow = workflow_create(workspace=workspace, name="Save them", graph=_graph(CONFIG))
    workflow_publish(workflow=workflow)
    contacts = [Contact.objects.create(workspace=workspace, email=f"c{i}@example.com") for i in range(2)]
    ids = [c.pk for c in contacts]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    # Contact 0 crosses, flaps around 70 (never below 65), falls to 60 (re-armed), crosses again;
    # contact 1 stays under the threshold.
    path = [(60, 50), (72, 55), (69, 60), (72, 66), (66, 69), (60, 50), (71, 50)]
    fired = []
    previous = np.array([np.nan, np.nan])
    for day, scores in enumerate(path):
        current = np.array(scores, float)
        fired.append(prediction_crossings_fire(workspace=workspace, contact_ids=ids, previous=previous,
                                               scores=current, config=CONFIG, now=start + timedelta(days=day)))
        previous = current

    assert fired == [0, 1, 0, 0, 0, 0, 1]
    events = list(Event.objects.filter(workspace=workspace, type="prediction.crossed").order_by("occurred_at"))
    assert [e.contact_id for e in events] == [ids[0], ids[0]]
    assert events[0].properties == {"model": "churn_risk", "threshold": 70, "direction": "up", "hysteresis": 5.0,
                                    "score": 72, "previous": 60}
    # The runtime enrolls the contact from the crossing event, as for any event trigger.
    RuntimeGateway().process(events=[EventRecord(id=events[0].id, workspace_id=workspace.pk, contact_id=ids[0],
                                                 type=events[0].type, occurred_at=events[0].occurred_at,
                                                 properties=events[0].properties)], now=events[0].occurred_at)
    assert list(Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True)) == [ids[0]]


def test_scores_are_contact_attributes_in_rules_compiled_to_sql_and_in_conditions(workspace):
    from contacts.rule_sql import compile_rule_sql
    from contacts.segments import rule_members
    from contacts.selectors import contact_as_data
    from workflows.engine.conditions import compile_rule

    entry = {"reasons": [], "model_version": "churn_risk-v1", "scored_at": "2026-11-30T00:00:00+00:00"}
    def scored(email: str, **score) -> Contact:
        contact = Contact.objects.create(workspace=workspace, email=email)
        ContactScores.objects.create(contact=contact, predictions={"churn_risk": {**entry, **score}})
        return contact

    risky = scored("risky@example.com", score=81)
    scored("safe@example.com", score=12)
    scored("unknown@example.com", score=None, message="Not enough data")
    Contact.objects.create(workspace=workspace, email="unscored@example.com")
    rule = {">=": [{"var": "contact.predictions.churn_risk.score"}, 70]}

    compile_rule_sql(rule, now=datetime(2026, 12, 1, tzinfo=UTC))  # compiles: segments select in SQL
    assert rule_members(workspace_id=workspace.pk, rule=rule) == {risky.pk}
    assert compile_rule(rule).holds({"contact": contact_as_data(risky)})
