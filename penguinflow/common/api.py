"""The base of every tenant-owned API view: the queryset comes scoped to the request's workspace."""

from __future__ import annotations

import uuid

from django.db import models
from django.http import Http404
from rest_framework import viewsets
from rest_framework.routers import SimpleRouter


class WorkspaceScopedViewSet(viewsets.GenericViewSet):
    """Scope every read and write to `request.workspace`; ids of other workspaces simply are not found (404).

    Subclasses set `model` (a `WorkspaceScopedModel`) and may refine `scoped_queryset()`; they never filter by
    workspace themselves.
    """

    model: type[models.Model]
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    @property
    def workspace(self):
        return self.request.workspace

    def scoped_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset

    def get_queryset(self) -> models.QuerySet:
        return self.scoped_queryset(self.model.objects.for_workspace(getattr(self.request, "workspace", None)))

    def get_object(self):
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        _require_uuid(lookup)
        return super().get_object()


def _require_uuid(value: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


class OptionalSlashRouter(SimpleRouter):
    """Route `/contacts` and `/contacts/` alike: the contract writes paths without the slash."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
