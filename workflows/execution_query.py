"""Which executions (enrollments) a list, a bulk action, an export or `retry_failed` is about: one set of filters.

The API reads them from the query string (list, export) or a JSON body (bulk retry/cancel); the commands from
their options. Each filter is served by an index of `Enrollment` (migration 0007) for 1,000,000 executions:

| filter | meaning | index |
|---|---|---|
| (none), since, until | `entered_at` in [since, until) | enrollment_ws_entered (workspace, entered_at) |
| workflow | the workflow's id | enrollment_wf_entered (workflow, entered_at) |
| version | a version number (of `workflow`, or of every workflow) or a version id | enrollment_version_entered |
| status | one of the enrollment statuses | enrollment_ws_status_entered (workspace, status, entered_at) |
| contact | the contact's id | enrollment_contact (contact, entered_at) |
| node | where the execution stands now: the node it waits at, failed at or finished at (`current_node_id`);
  not "ran a step at that node some time", which would need a scan of 10,000,000 step runs | enrollment_ws_node_entered |
| error_type | the type of the error it failed with (`error.type`) | enrollment_ws_error_type (expression, partial) |
| q | a contact whose email contains q, or an error message that contains q (3+ characters) | contacts' trigram
  index on lower(email), then enrollment_contact; enrollment_error_message_trgm (GIN, pg_trgm) |

Results are ordered newest entry first, (entered_at, id) descending, which is also the keyset of the pagination
and of the export.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT
from django.utils.dateparse import parse_datetime

from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from workflows.models import Enrollment

FILTERS = ("workflow", "version", "status", "contact", "node", "error_type", "since", "until", "q")
MIN_SEARCH = 3
ALL_WORKSPACES = object()
# Contacts an email search may match before it is too broad to be useful (the page would be any 50 of them).
MAX_SEARCH_CONTACTS = 5000


@dataclass(frozen=True)
class ExecutionQuery:
    workflow: uuid.UUID | None = None
    version: int | uuid.UUID | None = None
    status: str | None = None
    contact: uuid.UUID | None = None
    node: str | None = None
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None

    def as_params(self) -> dict[str, str]:
        """The filters as query-string values (for links and the CSV's provenance)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in values.items() if v is not None}


VERSION_PATTERN = (r"^(?:[1-9][0-9]{0,8}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})$")
MAX_TEXT = 200


def _one(params: Mapping[str, Any], name: str) -> Any:
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        values = getlist(name)
        if len(values) > 1:
            raise InvalidInput("A query parameter was given more than once.",
                               details={name: "Give this parameter once."})
        return values[0] if values else None
    return params.get(name)


def _uuid(value: str, name: str, errors: dict) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        errors[name] = "Must be a UUID."
        return None


def _moment(value: str, name: str, errors: dict) -> datetime | None:
    try:
        parsed = parse_datetime(value.upper())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors[name] = "Must be an ISO 8601 time with a zone, e.g. 2026-11-22T10:00:00Z."
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        errors[name] = "Must be a time PostgreSQL can hold (years 1 to 9999 in UTC)."
        return None


def _read(params: Mapping[str, Any], *, body: bool, errors: dict) -> dict[str, str]:
    """The given filters as texts. In a query string an empty value means "not given"; in a JSON body a filter is
    a non-empty string or absent (null, "" and other types are refused, as the schema says)."""
    raw = {}
    for name in FILTERS:
        value = _one(params, name)
        if value is None and not (body and name in params):
            continue
        if not body and value == "":
            continue
        if not isinstance(value, str) or value == "":
            errors[name] = "Must be a non-empty string."
        elif "\x00" in value or len(value) > MAX_TEXT:
            errors[name] = f"Must be at most {MAX_TEXT} characters, without NUL."
        else:
            raw[name] = value
    return raw


def execution_query_parse(params: Mapping[str, Any], *, also_allowed: tuple[str, ...] = (),
                          body: bool = False) -> ExecutionQuery:
    """Read the filters from a query string (or, `body=True`, a JSON object); anything unknown or malformed is a
    400 that names each bad parameter (`details`). `also_allowed` names the other parameters the caller reads."""
    errors: dict[str, str] = {}
    for name in params:
        if name not in FILTERS and name not in also_allowed:
            errors[name] = f"Unknown filter. Known: {', '.join(FILTERS)}."
    raw = _read(params, body=body, errors=errors)
    values: dict[str, Any] = {}
    for name in ("workflow", "contact"):
        if name in raw:
            values[name] = _uuid(raw[name], name, errors)
    if "version" in raw:
        version = raw["version"]
        if not re.match(VERSION_PATTERN, version):
            errors["version"] = "Must be a version number or a version's id."
        elif version.isdigit():
            values["version"] = int(version)
        else:
            values["version"] = uuid.UUID(version)
    if "status" in raw:
        if raw["status"] not in Enrollment.Status.values:
            errors["status"] = f"Must be one of: {', '.join(Enrollment.Status.values)}."
        values["status"] = raw["status"]
    for name in ("node", "error_type"):
        if name in raw:
            values[name] = raw[name]
    for name in ("since", "until"):
        if name in raw:
            values[name] = _moment(raw[name], name, errors)
    if "q" in raw:
        if len(raw["q"]) < MIN_SEARCH:
            errors["q"] = f"Search with at least {MIN_SEARCH} characters."
        values["q"] = raw["q"]
    if errors:
        raise InvalidInput("The filters are not valid.", details=errors)
    return ExecutionQuery(**values)


def executions_matching(*, workspace, query: ExecutionQuery) -> QuerySet[Enrollment]:
    """Return the workspace's executions that match every filter of `query` (unordered).

    `workspace=ALL_WORKSPACES` is for the operators' commands only (every workspace)."""
    queryset = Enrollment.objects.all() if workspace is ALL_WORKSPACES else Enrollment.objects.for_workspace(workspace)
    if query.workflow:
        queryset = queryset.filter(workflow_id=query.workflow)
    if isinstance(query.version, int):
        # With `workflow`, that workflow's version; alone, version N of every workflow.
        queryset = queryset.filter(version__number=query.version)
    elif query.version is not None:
        queryset = queryset.filter(version_id=query.version)
    if query.status:
        queryset = queryset.filter(status=query.status)
    if query.contact:
        queryset = queryset.filter(contact_id=query.contact)
    if query.node:
        queryset = queryset.filter(current_node_id=query.node)
    if query.error_type:
        queryset = queryset.filter(error__isnull=False).alias(error_type=KT("error__type")).filter(
            error_type=query.error_type)
    if query.since:
        queryset = queryset.filter(entered_at__gte=query.since)
    if query.until:
        queryset = queryset.filter(entered_at__lt=query.until)
    if query.q:
        queryset = queryset.alias(error_message_search=KT("error__message")).filter(_search(workspace, query.q))
    return queryset


def _search(workspace, text: str) -> Q:
    """Executions of contacts whose email contains `text`, or whose error message contains it.

    The contacts are found first (their own trigram index), so the enrollments are read by contact id; the error
    text goes through the trigram index of `error->>'message'`. PostgreSQL ORs the two index scans (BitmapOr).
    """
    contacts = list(
        (Contact.objects.all() if workspace is ALL_WORKSPACES else Contact.objects.for_workspace(workspace)).filter(email__icontains=text.lower())
        .values_list("pk", flat=True)[:MAX_SEARCH_CONTACTS]
    )
    by_error = Q(error__isnull=False) & Q(error_message_search__icontains=text)
    return Q(contact_id__in=contacts) | by_error if contacts else by_error

