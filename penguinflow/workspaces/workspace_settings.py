"""A workspace's settings (CONTRACT §13): the JSON in `Workspace.settings`, parsed and checked in one place.

`frequency_caps` is read here; keys this module does not know (other features' settings, such as `quiet_hours`)
are kept as they are, for their own parsers to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from penguinflow.common.errors import InvalidInput
from workflows.engine.caps import FrequencyCap
from workflows.engine.errors import pydantic_details

__all__ = ["WorkspaceSettings", "workspace_settings_parse"]

MAX_FREQUENCY_CAPS = 20


class WorkspaceSettings(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    frequency_caps: tuple[FrequencyCap, ...] = ()


def workspace_settings_parse(data: Mapping[str, Any] | None) -> WorkspaceSettings:
    """Return the settings from their JSON; raise `InvalidInput` whose details map paths
    (`settings.frequency_caps[0].per`) to messages."""
    if data is not None and not isinstance(data, Mapping):
        raise InvalidInput("The workspace settings are invalid.", details={"settings": "Must be an object."})
    try:
        parsed = WorkspaceSettings.model_validate(dict(data or {}))
    except ValidationError as error:
        raise InvalidInput(
            "The workspace settings are invalid.", details=pydantic_details(error, prefix="settings")
        ) from None
    if len(parsed.frequency_caps) > MAX_FREQUENCY_CAPS:
        raise InvalidInput(
            "The workspace settings are invalid.",
            details={"settings.frequency_caps": f"At most {MAX_FREQUENCY_CAPS} rules."},
        )
    return parsed
