"""Placeholders in a template's configs, emails and sample: find them, and replace them with installed values.

``${param.delay}`` alone in a string is replaced by the value itself (a number stays a number); inside a longer
string it is replaced by its text. ``${email.x}``, ``${segment.x}``, ``${campaign.x}``, ``${workflow.x}`` become the
ids of the objects installing picked or created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketplace.manifest import PLACEHOLDER

__all__ = ["placeholders_in", "placeholders_replace"]

Ref = tuple[str, str]  # (kind, key), e.g. ("segment", "trial_users")


def placeholders_in(value: Any, path: str = "") -> list[tuple[Ref, str]]:
    """Return every placeholder in ``value`` with the path where it stands (``steps[2].config.template_id``)."""
    if isinstance(value, str):
        return [((m.group(1), m.group(2)), path) for m in PLACEHOLDER.finditer(value)]
    if isinstance(value, Mapping):
        return [
            found
            for key, item in value.items()
            for found in placeholders_in(item, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list):
        return [
            found for index, item in enumerate(value) for found in placeholders_in(item, f"{path}[{index}]")
        ]
    return []


def placeholders_replace(value: Any, values: Mapping[Ref, Any]) -> Any:
    """Return a copy of ``value`` with every placeholder replaced by ``values[(kind, key)]``.

    Precondition: every placeholder has a value (the checks of ``marketplace.checks`` ensure it).
    """
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return values[(whole.group(1), whole.group(2))]
        return PLACEHOLDER.sub(lambda m: str(values[(m.group(1), m.group(2))]), value)
    if isinstance(value, Mapping):
        return {key: placeholders_replace(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [placeholders_replace(item, values) for item in value]
    return value
