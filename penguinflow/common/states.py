"""Status changes go through one function that knows the allowed transitions (STYLE: State)."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from django.utils import timezone

from penguinflow.common.errors import InvalidTransition


def transition(
    obj: models.Model,
    *,
    to: str,
    allowed: Mapping[str, set[str]],
    field: str = "status",
    extra: Mapping[str, object] | None = None,
) -> models.Model:
    """Move `obj` to status `to` if `allowed` permits it from its current status, atomically.

    The update is conditional on the status the row has in the database, so two concurrent callers cannot both
    make the same transition; the loser gets InvalidTransition.
    """
    current = getattr(obj, field)
    if to not in allowed.get(current, set()):
        raise InvalidTransition(
            f"Cannot go from '{current}' to '{to}'.",
            details={"from": current, "to": to, "allowed": sorted(allowed.get(current, set()))},
        )
    values = {field: to, **(extra or {})}
    if any(f.name == "updated_at" for f in obj._meta.fields):
        values["updated_at"] = timezone.now()
    updated = type(obj)._default_manager.filter(pk=obj.pk, **{field: current}).update(**values)
    if not updated:
        obj.refresh_from_db(fields=[field])
        raise InvalidTransition(
            f"The status changed meanwhile to '{getattr(obj, field)}'; nothing was done.",
            details={"from": getattr(obj, field), "to": to},
        )
    for key, value in values.items():
        setattr(obj, key, value)
    return obj
