"""Predictive models per workspace (each version kept, with its backtest), scoring runs, and the latches that give
`trigger_prediction` its hysteresis. Scores themselves are the contact's (`contacts.ContactScores`,
read as `Contact.predictions`)."""

from __future__ import annotations

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel

KINDS = ("churn_risk", "conversion", "engagement_decay")


class PredictionModel(WorkspaceScopedModel):
    """One trained (or refused) version of a workspace's model of one kind. The booster is kept as LightGBM's own
    text dump, so that scoring never downloads anything."""

    class Kind(models.TextChoices):
        CHURN_RISK = "churn_risk", "Churn risk"
        CONVERSION = "conversion", "Conversion"
        ENGAGEMENT_DECAY = "engagement_decay", "Engagement decay"

    class Status(models.TextChoices):
        ACTIVE = "active", "In use"
        RETIRED = "retired", "Replaced by a newer version"
        REJECTED = "rejected", "Failed its backtest (not used)"
        NOT_ENOUGH_DATA = "not_enough_data", "Not enough data (not trained)"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    quality = models.CharField(max_length=16, blank=True,
                               help_text="From the backtest's AUC: excellent, good, fair, poor (poor is not used).")
    message = models.TextField(blank=True, help_text="Why the model is not used, in words; empty when it is.")
    metrics = models.JSONField(default=dict, blank=True,
                               help_text="Backtest on held-out recent history: auc, lift_top_decile, base_rate, "
                                         "population and positives of training and backtest, seconds.")
    features = models.JSONField(default=list, blank=True)
    booster = models.TextField(blank=True, help_text="The LightGBM model as text (empty when not trained).")
    trained_until = models.DateTimeField(help_text="The reference time of the training snapshot.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind", "version"],
                                               name="prediction_model_unique_version")]
        indexes = [models.Index(fields=["workspace", "kind", "-version"], name="prediction_model_latest")]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version} ({self.status})"

    @property
    def label(self) -> str:
        return f"{self.kind}-v{self.version}"


class PredictionRun(WorkspaceScopedModel):
    """A training or scoring pass over a workspace: what the schedule reads to know what is due."""

    class Kind(models.TextChoices):
        TRAIN = "train", "Training"
        SCORE = "score", "Scoring"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind", "-created_at"], name="prediction_run_latest")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class PredictionLatch(models.Model):
    """A contact for which a prediction trigger (`key`: model, direction, threshold, hysteresis) has fired and
    is not yet re-armed: it re-arms only once the score has moved back past the threshold by the hysteresis."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key", "contact"],
                                               name="prediction_latch_unique")]

    def __str__(self) -> str:
        return f"{self.key} {self.contact_id}"


class ContactScoreState(models.Model):
    """What the last scoring of a contact read, so that the daily rescore can skip it while nothing it reads can
    have changed: its own fields, and the time its features next change with no new event (`due_at`; null:
    never, e.g. no activity in the lookback). Written after the contact's scores; one narrow row per contact.

    No database constraints on its keys (Django still cascades deletes): checking them was a fifth of a first
    scoring's writes, and they bought nothing. The rescoring reads a state only through its contact (a join from
    contacts_contact), so a state whose contact was erased while its batch was being written is never read, and
    training sweeps such rows away (predictions.scoring.orphan_states_delete). With the constraints, that same
    race failed the batch."""

    contact = models.OneToOneField("contacts.Contact", on_delete=models.CASCADE, primary_key=True, related_name="+",
                                   db_constraint=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_constraint=False)
    due_at = models.DateTimeField(null=True, blank=True)
    lead_score = models.IntegerField()
    subscribed = models.BooleanField()
    tag_count = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.contact_id} due {self.due_at or 'never'}"
