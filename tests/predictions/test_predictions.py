"""Predictive scores on synthetic workspaces whose hidden truth is known (predictions.synthetic)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact
from events.models import Event
from predictions.models import PredictionModel, PredictionRun
from predictions.scoring import predictions_score
from predictions.services import predictions_train
from predictions.synthetic import SyntheticSpec, synthetic_workspace_create
from predictions.training import Requirements, auc

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _scores(workspace, kind: str) -> dict:
    return {contact.pk: (contact.predictions.get(kind) or {}) for contact in
            Contact.objects.filter(workspace=workspace).prefetch_related("scores")}


def test_models_trained_on_a_synthetic_workspace_rank_its_hidden_truth_with_auc_of_at_least_080(api, workspace):
    simulation = synthetic_workspace_create(workspace=workspace, spec=SyntheticSpec(contacts=3000, seed=1), now=NOW)

    summaries = {s["kind"]: s for s in predictions_train(workspace=workspace, now=NOW)}
    predictions_score(workspace=workspace, now=NOW)

    assert summaries["churn_risk"]["status"] == summaries["conversion"]["status"] == "active"
    assert summaries["churn_risk"]["metrics"]["auc"] >= 0.8  # the backtest, on held-out recent history
    for kind, outcome, population in (("churn_risk", "churns_in_horizon", 1), ("conversion", "converts_in_horizon", 0)):
        entries = _scores(workspace, kind)
        judged = [cid for cid, truth in simulation.truth.items() if truth.engaged_before >= population
                  and entries[cid].get("score") is not None]
        value = auc(np.array([entries[c]["score"] for c in judged], float),
                    np.array([getattr(simulation.truth[c], outcome) for c in judged], float))
        assert value >= 0.8, (kind, value)
    # Each score carries its model and its top reasons; the API shows them, read-only.
    contact = Contact.objects.filter(workspace=workspace, scores__predictions__churn_risk__score__gte=50).first()
    body = api.get(f"/api/v1/contacts/{contact.pk}").json()
    churn = body["predictions"]["churn_risk"]
    assert churn["model_version"] == "churn_risk-v1" and 50 <= churn["score"] <= 100
    assert 1 <= len(churn["reasons"]) <= 3 and all(r["effect"] > 0 and r["text"] for r in churn["reasons"])
    response = api.patch(f"/api/v1/contacts/{contact.pk}", {"predictions": {}}, format="json")
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.predictions["churn_risk"]["score"] == churn["score"]


@pytest.fixture
def small_workspace(workspace):
    synthetic_workspace_create(workspace=workspace, spec=SyntheticSpec(contacts=600, seed=3), now=NOW)
    return workspace


def test_a_workspace_with_too_little_data_gets_null_scores_saying_not_enough_data(small_workspace):
    summaries = predictions_train(workspace=small_workspace, now=NOW)
    predictions_score(workspace=small_workspace, now=NOW)

    assert {s["status"] for s in summaries} == {"not_enough_data"}
    assert all(s["message"].startswith("Not enough data") for s in summaries)
    assert not PredictionModel.objects.filter(workspace=small_workspace, status="active").exists()
    entry = Contact.objects.filter(workspace=small_workspace).first().predictions["conversion"]
    assert entry["score"] is None and entry["reasons"] == [] and entry["model_version"] is None
    assert entry["message"].startswith("Not enough data")


def test_a_model_that_fails_its_backtest_is_kept_but_not_used(small_workspace, client, django_user_model):
    strict = Requirements(min_population=100, min_positives=10, min_auc=0.999)

    summaries = {s["kind"]: s for s in predictions_train(workspace=small_workspace, now=NOW, requirements=strict)}
    report = predictions_score(workspace=small_workspace, now=NOW)

    assert summaries["churn_risk"]["status"] == "rejected" and "backtest AUC" in summaries["churn_risk"]["message"]
    rejected = PredictionModel.objects.get(workspace=small_workspace, kind="churn_risk")
    assert rejected.status == "rejected" and rejected.booster and rejected.metrics["auc"] < 0.999
    assert report.models["churn_risk"] is None and report.scored["churn_risk"] == 0
    entry = Contact.objects.filter(workspace=small_workspace).first().predictions["churn_risk"]
    assert entry["score"] is None and "backtest" in entry["message"]
    # The admin lists each version with its quality, backtest AUC and age.
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    page = client.get("/admin/predictions/predictionmodel/").content.decode()
    assert "Failed its backtest (not used)" in page and "poor" in page and str(rejected.metrics["auc"]) in page


def test_history_shorter_than_two_horizons_is_not_enough_data(workspace):
    synthetic_workspace_create(workspace=workspace, spec=SyntheticSpec(contacts=50, days=30, seed=2), now=NOW)

    summaries = predictions_train(workspace=workspace, now=NOW)

    assert all(s["status"] == "not_enough_data" and "days of history" in s["message"] for s in summaries)


def test_commands_refuse_bad_input_and_dry_runs_write_nothing(workspace):
    with pytest.raises(CommandError, match="no workspace 'nope'"):
        call_command("predict_train", "--workspace", "nope")
    with pytest.raises(CommandError, match="no workspace 'nope'"):
        call_command("predict_score", "--workspace", "nope")
    with pytest.raises(CommandError, match="Unknown model"):
        call_command("predict_train", "--workspace", workspace.slug, "--model", "lifetime_value")
    Contact.objects.create(workspace=workspace, email="ada@example.com")

    call_command("predict_train", "--workspace", workspace.slug, "--dry-run")
    call_command("predict_score", "--workspace", workspace.slug, "--dry-run")

    assert not PredictionModel.objects.exists() and not PredictionRun.objects.exists()
    assert Contact.objects.get(workspace=workspace).predictions == {}
    assert not Event.objects.filter(workspace=workspace).exists()
    call_command("predict_score", "--workspace", workspace.slug)
    assert Contact.objects.get(workspace=workspace).predictions["churn_risk"]["score"] is None
    assert PredictionRun.objects.filter(workspace=workspace, kind="score").count() == 1


def test_the_schedule_retrains_every_two_weeks_once_a_model_is_in_use_and_rescores_daily(workspace):
    from predictions.jobs import scoring_due, training_due

    assert training_due(workspace.pk, now=NOW) and scoring_due(workspace.pk, now=NOW)
    trained = PredictionRun.objects.create(workspace=workspace, kind="train")
    scored = PredictionRun.objects.create(workspace=workspace, kind="score")
    later = trained.created_at + timedelta(days=2)
    assert training_due(workspace.pk, now=later)  # no model in use: try again the next day
    PredictionModel.objects.create(workspace=workspace, kind="churn_risk", version=1, status="active",
                                   trained_until=NOW)
    assert not training_due(workspace.pk, now=later)
    assert training_due(workspace.pk, now=trained.created_at + timedelta(days=14))
    assert not scoring_due(workspace.pk, now=scored.created_at + timedelta(hours=23))
    assert scoring_due(workspace.pk, now=scored.created_at + timedelta(days=1))


def test_scores_are_written_in_batches_and_a_rescore_writes_only_what_changed(small_workspace):
    from predictions import scoring

    predictions_train(workspace=small_workspace, now=NOW, requirements=Requirements(min_population=100,
                                                                                   min_positives=10))
    first = scoring.predictions_score(workspace=small_workspace, now=NOW)
    assert first.written["churn_risk"] == 600 and first.models["churn_risk"] == "churn_risk-v1"

    scoring.WRITE_BATCH, batch = 7, scoring.WRITE_BATCH
    try:
        again = scoring.predictions_score(workspace=small_workspace, now=NOW + timedelta(days=1))
    finally:
        scoring.WRITE_BATCH = batch
    same = scoring.predictions_score(workspace=small_workspace, now=NOW + timedelta(days=1))

    assert 0 < again.written["churn_risk"] < 600 and sum(same.written.values()) == 0
    stored = [c.predictions for c in Contact.objects.filter(workspace=small_workspace).prefetch_related("scores")]
    assert all(p["churn_risk"]["scored_at"] in (NOW.isoformat(), (NOW + timedelta(days=1)).isoformat())
               for p in stored)


def _due_features(workspace_id, *, now: datetime, last: dict):
    """The features of the contacts the rescoring rule names, stripe after stripe on this test's connection."""
    from predictions import scoring
    from predictions.features import concatenate

    due = scoring._due_contacts(workspace_id, now=now, last=last)
    contacts = Contact.objects.filter(workspace_id=workspace_id).count()
    return concatenate([snapshot for snapshot, _ in scoring._due_snapshots(workspace_id, now=now, due=due,
                                                                             contacts=contacts, threaded=False)])


def test_the_daily_rescore_recomputes_only_the_contacts_whose_features_can_have_changed_and_misses_none(
        small_workspace):
    from django.utils import timezone

    from predictions import scoring
    from predictions.models import ContactScoreState
    from predictions.services import predictions_refresh

    relaxed = Requirements(min_population=100, min_positives=10)
    predictions_train(workspace=small_workspace, now=NOW, requirements=relaxed)
    first = predictions_refresh(workspace=small_workspace, now=NOW)
    assert not first["incremental"] and first["rescored"] == 600
    states = dict(ContactScoreState.objects.filter(workspace=small_workspace).values_list("contact_id", "due_at"))
    assert len(states) == 600
    tomorrow = NOW + timedelta(days=1)
    quiet = [cid for cid, due in states.items() if due is None or due > tomorrow]
    assert quiet, "some contacts' features do not change by tomorrow"
    # Three quiet contacts change: a new event, a late event (it happened before the last scoring, and arrived
    # after it), a new tag. Each must be rescored although none is due.
    fresh, late, tagged = quiet[:3]
    for contact_id, occurred in ((fresh, NOW + timedelta(hours=6)), (late, NOW - timedelta(days=5))):
        Event.objects.create(workspace=small_workspace, contact_id=contact_id, type="email.opened",
                             occurred_at=occurred, received_at=timezone.now(), processed_at=timezone.now())
    Contact.objects.filter(pk=tagged).update(tags=["vip", "new"])
    last = scoring._last_scoring(small_workspace.pk)

    due = set(scoring._due_contacts(small_workspace.pk, now=tomorrow, last=last))
    # The due contacts' features, looked up through the index or cut out of a pass over everyone, are the same.
    looked_up, cut_out = [], []
    for share, into in ((1.0, looked_up), (0.0, cut_out)):
        scoring.SELECTIVE_SHARE, kept = share, scoring.SELECTIVE_SHARE
        try:
            into.append(_due_features(small_workspace.pk, now=tomorrow, last=last))
        finally:
            scoring.SELECTIVE_SHARE = kept
    assert looked_up[0].contact_ids == cut_out[0].contact_ids and set(cut_out[0].contact_ids) == due
    assert np.array_equal(looked_up[0].X, cut_out[0].X)
    assert np.array_equal(looked_up[0].changes_at, cut_out[0].changes_at)
    again = predictions_refresh(workspace=small_workspace, now=tomorrow)

    assert {fresh, late, tagged} <= due and not due & set(quiet[3:])
    assert again["incremental"] and again["rescored"] == len(due) < 600 and again["contacts"] == 600
    # Exact, not approximate: scoring everyone on the same day finds nothing left to write.
    check = scoring.predictions_score(workspace=small_workspace, now=tomorrow, full=True)
    assert check.rescored == 600 and sum(check.written.values()) == 0
    # Another model version rescores everyone.
    predictions_train(workspace=small_workspace, now=tomorrow, requirements=relaxed)
    assert not predictions_refresh(workspace=small_workspace, now=tomorrow)["incremental"]


def test_contact_stripes_cover_the_ids_once_in_order():
    from uuid import UUID

    from predictions import scoring

    assert scoring._stripes(5) == [(None, None)]
    stripes = scoring._stripes(3 * scoring.STRIPE_CONTACTS)
    assert len(stripes) == 3 and stripes[0][0] is None and stripes[-1][1] is None
    assert all(high == low for (_, high), (low, _) in itertools.pairwise(stripes))
    assert [high for _, high in stripes[:-1]] == sorted(high for _, high in stripes[:-1])
    assert stripes[1][0] == UUID(int=2**128 // 3)


@pytest.mark.django_db(transaction=True)
def test_striped_scoring_in_threads_writes_what_one_pass_on_the_callers_connection_writes(monkeypatch):
    """Stripes of contacts computed on connections of their own, and batches written from a thread, give the same
    scores, reasons and rescoring state as one pass on the caller's connection (there, in its transaction)."""
    from django.db import transaction

    from contacts.models import ContactScores
    from predictions import scoring
    from predictions.models import ContactScoreState
    from tests.factories import WorkspaceFactory

    workspace = WorkspaceFactory(slug="striped", name="Striped")
    synthetic_workspace_create(workspace=workspace, spec=SyntheticSpec(contacts=600, seed=3), now=NOW)
    predictions_train(workspace=workspace, now=NOW, requirements=Requirements(min_population=100, min_positives=10))

    def stored():
        scores = {c.pk: c.predictions for c in Contact.objects.filter(workspace=workspace).prefetch_related("scores")}
        states = {s.contact_id: (s.due_at, s.lead_score, s.subscribed, s.tag_count)
                  for s in ContactScoreState.objects.filter(workspace=workspace)}
        return scores, states

    with transaction.atomic():  # a caller's transaction: one stripe, on its connection
        one_pass = scoring.predictions_score(workspace=workspace, now=NOW)
    expected = stored()
    ContactScores.objects.filter(contact__workspace=workspace).delete()  # the contacts stay
    ContactScoreState.objects.filter(workspace=workspace).delete()

    monkeypatch.setattr(scoring, "STRIPE_CONTACTS", 150)
    monkeypatch.setattr(scoring, "PARALLEL_FROM", 0)
    monkeypatch.setattr(scoring, "WRITE_BATCH", 70)
    striped = scoring.predictions_score(workspace=workspace, now=NOW)

    assert len(scoring._stripes(600)) == 4
    assert striped.rescored == one_pass.rescored == 600 and striped.written == one_pass.written
    assert striped.written["churn_risk"] == 600
    assert stored() == expected

    # The next day, in stripes and threads too, the contacts the rule names are rescored, exactly: a full scoring
    # of that day on the caller's connection finds nothing to write.
    from predictions.services import predictions_refresh

    tomorrow = NOW + timedelta(days=1)
    predictions_refresh(workspace=workspace, now=NOW)  # a recorded scoring, which the next one compares with
    due = set(scoring._due_contacts(workspace.pk, now=tomorrow, last=scoring._last_scoring(workspace.pk)))
    again = predictions_refresh(workspace=workspace, now=tomorrow)
    assert again["incremental"] and again["rescored"] == len(due) < 600
    with transaction.atomic():
        check = scoring.predictions_score(workspace=workspace, now=tomorrow, full=True)
    assert check.rescored == 600 and sum(check.written.values()) == 0


def test_a_rescoring_state_goes_with_its_contact_and_training_sweeps_one_left_by_a_race(small_workspace):
    """The states have no database constraints: Django's cascade removes them with their contact, and a state
    written for a contact erased meanwhile (its batch read the contact before the erasure committed) is never
    read and is swept by the next training."""
    from uuid import uuid4

    from contacts.services import contact_erase
    from predictions import scoring
    from predictions.models import ContactScoreState

    predictions_score(workspace=small_workspace, now=NOW)
    erased = Contact.objects.filter(workspace=small_workspace).first()
    contact_erase(contact=erased)
    assert not ContactScoreState.objects.filter(contact_id=erased.pk).exists()
    raced = uuid4()
    ContactScoreState.objects.create(contact_id=raced, workspace=small_workspace, due_at=None, lead_score=0,
                                     subscribed=True, tag_count=0)
    last = scoring._last_scoring(small_workspace.pk) or {"as_of": NOW.isoformat(), "read_at": NOW.isoformat()}
    assert raced not in scoring._due_contacts(small_workspace.pk, now=NOW + timedelta(days=30), last=last)

    predictions_train(workspace=small_workspace, now=NOW, dry_run=True)
    assert ContactScoreState.objects.filter(contact_id=raced).exists()  # a dry run writes nothing
    predictions_train(workspace=small_workspace, now=NOW)

    assert not ContactScoreState.objects.filter(contact_id=raced).exists()
    assert ContactScoreState.objects.filter(workspace=small_workspace).count() == 599
