"""The published `trigger_prediction` nodes of a workspace, for the scoring job that fires them
(`settings.PREDICTION_TRIGGERS_SOURCE` names this function: predictions sits below the runtime and does not
import it)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from workflows.trigger_index import trigger_config, trigger_steps_active

TRIGGER_TYPE = "trigger_prediction"


def prediction_triggers_active(workspace_id: UUID) -> list[dict[str, Any]]:
    """Return the configs (model, threshold, direction, hysteresis) of the active workflows' prediction triggers."""
    configs = []
    for step in trigger_steps_active(entered_by="event"):
        if step.type != TRIGGER_TYPE or step.workspace_id != workspace_id:
            continue
        parsed = trigger_config(step)
        if parsed is not None:
            configs.append(parsed[1].model_dump())
    return configs
