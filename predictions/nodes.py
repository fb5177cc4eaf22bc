"""The `trigger_prediction` node type (CONTRACT §16): start when a predictive score crosses a threshold.

Scoring (predictions.scoring) decides the crossings, with hysteresis: once a contact has crossed a trigger's
threshold it crosses again only after its score has gone back past the threshold by `hysteresis` points, so a
score that flaps around the threshold starts one enrollment, not one per scoring. Each crossing is a
`prediction.crossed` event naming the trigger's (model, threshold, direction, hysteresis); this node type only
recognises its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workflows.engine.entry import TriggerScope, TriggerType
from workflows.engine.presets import Preset
from workflows.engine.registry import NodeConfig, node_type

__all__ = ["CROSSED_EVENT", "PredictionTrigger", "trigger_key"]

CROSSED_EVENT = "prediction.crossed"
MODELS = ("churn_risk", "conversion", "engagement_decay")


def trigger_key(model: str, direction: str, threshold: float, hysteresis: float) -> str:
    """Name a trigger's crossing state: triggers with the same four values share it (and its events)."""
    return f"{model}:{direction}:{float(threshold):g}:{float(hysteresis):g}"


@node_type(
    "trigger_prediction",
    kind="trigger",
    label="Prediction",
    description=(
        "Start when a predictive score (churn risk, conversion, engagement decay; 0-100) crosses a threshold, "
        "going up or down. Hysteresis: the score must move back past the threshold by that many points before "
        "the contact can cross again."
    ),
)
class PredictionTrigger(TriggerType):
    presets = (
        Preset("prediction-churn-risk", "Churn risk above 70",
               "When a contact's predicted churn risk rises to 70 or more.", "contact",
               {"model": "churn_risk", "threshold": 70, "direction": "up"},
               {"event": {"type": CROSSED_EVENT, "properties": {
                   "model": "churn_risk", "threshold": 70, "direction": "up", "hysteresis": 5,
                   "score": 74, "previous": 61}},
                "fill_in": "Change the model, the threshold or the direction."}),
        Preset("prediction-conversion", "Likely to convert",
               "When a contact's predicted conversion likelihood rises to 80 or more.", "contact",
               {"model": "conversion", "threshold": 80, "direction": "up"},
               {"event": {"type": CROSSED_EVENT, "properties": {
                   "model": "conversion", "threshold": 80, "direction": "up", "hysteresis": 5,
                   "score": 83, "previous": 72}},
                "fill_in": "Change the threshold."}),
    )
    entered_by = "event"

    class Config(NodeConfig):
        model: Literal["churn_risk", "conversion", "engagement_decay"]
        threshold: float = Field(ge=0, le=100)
        direction: Literal["up", "down"] = "up"
        hysteresis: float = Field(default=5, ge=0, le=50,
                                  description="Points the score must move back past the threshold to re-arm.")

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return (CROSSED_EVENT,)

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        event = scope.event or {}
        if event.get("type") != CROSSED_EVENT:
            return False
        properties = event.get("properties") or {}
        try:
            key = trigger_key(properties.get("model"), properties.get("direction"),
                              properties.get("threshold"), properties.get("hysteresis", 5))
        except (TypeError, ValueError):
            return False
        return key == trigger_key(config.model, config.direction, config.threshold, config.hysteresis)

    def not_entered_reason(self, config: Config) -> str:
        return f"the {config.model} score did not cross {config.threshold:g} going {config.direction}"
