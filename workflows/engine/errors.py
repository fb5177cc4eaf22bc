"""Error types shared by the engine and the mapping of pydantic errors to field paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["EngineInputError", "error_path", "field_path", "pydantic_details"]


class EngineInputError(ValueError):
    """Base of the errors raised for malformed input; ``details`` maps field paths to messages."""

    def __init__(self, message: str, *, details: Mapping[str, str]) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details)

    def __str__(self) -> str:
        listed = "; ".join(f"{path}: {text}" for path, text in self.details.items())
        return f"{self.message} ({listed})" if listed else self.message


def field_path(location: Iterable[Any], *, prefix: str = "") -> str:
    """Return a path such as ``nodes[3].data.config`` for a pydantic error location."""
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path or "(root)"


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "is not a known field; remove it",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "datetime_type": "must be an ISO 8601 timestamp with a time zone",
    "datetime_parsing": "must be an ISO 8601 timestamp with a time zone",
    "datetime_from_date_parsing": "must be an ISO 8601 timestamp with a time zone",
    "timezone_aware": "must carry a time zone (e.g. '2026-11-22T10:00:00Z')",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    text = str(error.get("msg", "is invalid"))
    for noise in ("Value error, ", "Assertion failed, "):
        if text.startswith(noise):
            text = text[len(noise) :]
    if kind == "literal_error":
        return text.replace("Input should be", "must be")
    return text.replace("Input should be", "must be").replace("String should", "must")


def pydantic_details(error: ValidationError, *, prefix: str = "") -> dict[str, str]:
    """Map a pydantic ``ValidationError`` to ``{field path: message}``, first message per path."""
    details: dict[str, str] = {}
    for item in error.errors(include_url=False):
        details.setdefault(error_path(item, prefix=prefix), _message(item))
    return details


def error_path(item: Mapping[str, Any], *, prefix: str = "") -> str:
    """Return the field path of one of a ``ValidationError``'s errors."""
    # Union members report under their type name ("function-after[...]", "str"): drop those parts.
    location = [part for part in item["loc"] if isinstance(part, int) or not _is_union_tag(str(part))]
    return field_path(location, prefix=prefix)


def _is_union_tag(part: str) -> bool:
    return (
        "[" in part
        or part in {"str", "int", "float", "bool", "list", "dict", "none"}
        or part.startswith("function-")
    )
