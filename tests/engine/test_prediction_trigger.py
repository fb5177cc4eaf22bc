"""trigger_prediction matches only the crossings of its own model, threshold, direction and hysteresis."""

from __future__ import annotations

import pytest

from workflows.engine.entry import TriggerScope
from workflows.engine.registry import registry

TRIGGER = registry.get("trigger_prediction")


def _crossed(**properties):
    base = {"model": "churn_risk", "threshold": 70, "direction": "up", "hysteresis": 5, "score": 72, "previous": 60}
    return TriggerScope(event={"type": "prediction.crossed", "properties": {**base, **properties}}, contact={},
                        contact_id=None, activity=None, now=None)


@pytest.mark.parametrize(("properties", "expected"), [
    ({}, True),
    ({"threshold": 70.0}, True),
    ({"threshold": 80}, False),
    ({"direction": "down"}, False),
    ({"model": "conversion"}, False),
    ({"hysteresis": 10}, False),
])
def test_prediction_trigger_matches_only_its_own_crossings(properties, expected):
    config = TRIGGER.parse_config({"model": "churn_risk", "threshold": 70, "direction": "up"})

    assert TRIGGER.matches(config, _crossed(**properties)) is expected
    assert TRIGGER.listens_to(config) == ("prediction.crossed",)


def test_prediction_trigger_refuses_an_unknown_model_or_a_threshold_out_of_range():
    with pytest.raises(ValueError):
        TRIGGER.parse_config({"model": "lifetime_value", "threshold": 70})
    with pytest.raises(ValueError):
        TRIGGER.parse_config({"model": "churn_risk", "threshold": 170})
