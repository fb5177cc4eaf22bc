"""CSV export of executions: a header row, then one row per execution, in list order (newest entry first).

PostgreSQL writes the CSV itself: the filtered, ordered query runs inside `COPY (...) TO STDOUT (FORMAT csv)` and
its output is passed on chunk by chunk as psycopg reads it, so memory stays flat whatever the number of rows
(1,000,000 included) and no Python object is made per row. Timestamps are ISO 8601 (`to_json`), as in the API.
One statement means one snapshot: the export is consistent even while executions move.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.fields.json import KT

from workflows.models import Enrollment

CHUNK = 64 * 1024
HEADER = ["id", "workflow_id", "workflow", "version", "contact_id", "contact_email", "status", "current_node",
          "entered_at", "updated_at", "next_run_at", "finished_at", "goal", "error_type", "error_node",
          "error_message"]


def _iso(field: str) -> Func:
    return Func(F(field), template="(to_json(%(expressions)s) #>> '{}')", output_field=TextField())


def export_sql(queryset: QuerySet[Enrollment]) -> str:
    """The COPY statement of `queryset`'s rows (parameters bound: COPY takes none)."""
    rows = queryset.annotate(
        x_entered=_iso("entered_at"), x_updated=_iso("updated_at"), x_next=_iso("next_run_at"),
        x_finished=_iso("finished_at"), x_error_type=KT("error__type"), x_error_node=KT("error__node_id"),
        x_error_message=KT("error__message"),
    ).order_by("-entered_at", "-pk").values_list(
        "pk", "workflow_id", "workflow__name", "version__number", "contact_id", "contact__email", "status",
        "current_node_id", "x_entered", "x_updated", "x_next", "x_finished", "goal", "x_error_type",
        "x_error_node", "x_error_message")
    sql, params = rows.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        bound = cursor.cursor.mogrify(sql, params)
    return f"COPY ({bound}) TO STDOUT (FORMAT csv)"


def csv_chunks(queryset: QuerySet[Enrollment]) -> Iterator[str]:
    """Yield the CSV text of `queryset`: the header, then chunks as PostgreSQL sends them."""
    yield ",".join(HEADER) + "\r\n"
    statement = export_sql(queryset)
    connection = connections[queryset.db]  # the primary, or the replica the history screens read from
    connection.ensure_connection()
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending: list[bytes] = []
    size = 0
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in copy:  # PostgreSQL sends a row per message: they are gathered into chunks of CHUNK bytes
            pending.append(bytes(row))
            size += len(row)
            if size >= CHUNK:
                yield decoder.decode(b"".join(pending))
                pending, size = [], 0
    yield decoder.decode(b"".join(pending), final=True)
