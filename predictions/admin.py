from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince

from penguinflow.common.admin import ReadOnlyAdmin
from predictions.models import ContactScoreState, PredictionLatch, PredictionModel, PredictionRun


@admin.register(PredictionModel)
class PredictionModelAdmin(ReadOnlyAdmin):
    """Each model version with its backtest: the quality users are shown, and how old the model is."""

    list_display = ["kind", "version", "status", "quality", "auc", "lift", "age", "workspace"]
    list_filter = ["kind", "status", "quality", "workspace"]
    readonly_fields = ["workspace", "kind", "version", "status", "quality", "message", "metrics", "features",
                       "trained_until", "created_at"]
    exclude = ["booster"]
    ordering = ["workspace", "kind", "-version"]

    @admin.display(description="Backtest AUC")
    def auc(self, model: PredictionModel):
        return model.metrics.get("auc", "—")

    @admin.display(description="Lift (top 10 %)")
    def lift(self, model: PredictionModel):
        return model.metrics.get("lift_top_decile", "—")

    @admin.display(description="Age", ordering="created_at")
    def age(self, model: PredictionModel) -> str:
        return timesince(model.created_at, timezone.now())


@admin.register(PredictionRun)
class PredictionRunAdmin(ReadOnlyAdmin):
    list_display = ["kind", "workspace", "created_at", "finished_at"]
    list_filter = ["kind", "workspace"]
    readonly_fields = ["workspace", "kind", "created_at", "finished_at", "summary"]


@admin.register(PredictionLatch)
class PredictionLatchAdmin(ReadOnlyAdmin):
    list_display = ["key", "contact", "fired_at", "workspace"]
    list_filter = ["key", "workspace"]
    raw_id_fields = ["contact"]


@admin.register(ContactScoreState)
class ContactScoreStateAdmin(ReadOnlyAdmin):
    """When each contact's features next change on their own: what the daily rescore skips it until."""

    list_display = ["contact", "due_at", "lead_score", "subscribed", "tag_count", "workspace"]
    list_filter = ["workspace"]
    raw_id_fields = ["contact"]
