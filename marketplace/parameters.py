"""The values a user gives for a template's parameters, checked by type before anything is installed."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from marketplace.manifest import Parameter
from workflows.engine.durations import parse_duration

__all__ = ["parameter_error"]

_TAG = re.compile(r"^[^\s,]{1,64}$")


def _is_email(value: Any) -> bool:
    try:
        validate_email(value)
    except (ValidationError, TypeError):
        return False
    return True


def _duration_error(value: Any) -> str | None:
    if not isinstance(value, str):
        return "Must be an ISO 8601 duration such as P3D or PT2H."
    try:
        parse_duration(value)
    except (ValueError, TypeError):
        return "Must be an ISO 8601 duration such as P3D or PT2H."
    return None


def parameter_error(parameter: Parameter, value: Any) -> str | None:
    """Return why ``value`` does not fit ``parameter``, or None when it does."""
    kind = parameter.type
    if kind == "duration":
        return _duration_error(value)
    if kind == "number":
        return (
            None if isinstance(value, (int, float)) and not isinstance(value, bool) else "Must be a number."
        )
    if kind == "tag":
        return (
            None
            if isinstance(value, str) and _TAG.match(value)
            else "Must be a tag: 1 to 64 characters, no spaces or commas."
        )
    if kind == "email":
        return None if isinstance(value, str) and _is_email(value) else "Must be an email address."
    if kind == "emails":
        if value == "workspace_admins" or (
            isinstance(value, list) and value and all(_is_email(v) for v in value)
        ):
            return None
        return "Must be a list of email addresses, or 'workspace_admins'."
    if kind == "url":
        ok = isinstance(value, str) and len(value) <= 2000 and re.match(r"^https?://[^\s/$.?#][^\s]*$", value)
        return None if ok else "Must be an http(s) URL."
    return (
        None if isinstance(value, str) and 0 < len(value) <= 500 else "Must be a text of 1 to 500 characters."
    )
