"""Query-string filtering for every list endpoint: django-filter, made strict where it is lenient.

django-filter reads the last value of a parameter given several times (`?q=a&q=b` filters by `b`), so a client
that meant both gets an answer to another question without knowing. A parameter that takes one value and comes
more than once is a 400 here instead. Timestamps are compared in UTC: PostgreSQL refuses a time-zone offset
beyond ±15:59, which ISO 8601 allows, and would answer a 500.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from penguinflow.common.errors import InvalidInput

__all__ = ["StrictFilterBackend", "UtcDateTimeFilter"]

# Filters that take several values on purpose (`?status=a&status=b`).
_MANY_VALUED = (django_filters.MultipleChoiceFilter, django_filters.BaseCSVFilter)


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            repeated = {
                name: "Give this parameter once."
                for name, declared in filterset_class.base_filters.items()
                if not isinstance(declared, _MANY_VALUED) and len(request.query_params.getlist(name)) > 1
            }
            if repeated:
                raise InvalidInput("A query parameter was given more than once.", details=repeated)
        return super().filter_queryset(request, queryset, view)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp filter that compares in UTC, whatever offset the client wrote."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value is not None else value)
