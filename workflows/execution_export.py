"""CSV export of executions: a header row, then one row per execution, in list order (newest entry first).

Rows are read in keyset batches of (entered_at, id), each batch one indexed query of `BATCH` rows, so memory
stays flat whatever the number of rows (1,000,000 included) and no transaction or server-side cursor stays open
between batches (a long export holds no lock and no snapshot). The CSV of a batch is written in one go.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT

from workflows.models import Enrollment

BATCH = 5000
HEADER = ["id", "workflow_id", "workflow", "version", "contact_id", "contact_email", "status", "current_node",
          "entered_at", "updated_at", "next_run_at", "finished_at", "goal", "error_type", "error_node",
          "error_message"]
_COLUMNS = ["pk", "workflow_id", "workflow__name", "version__number", "contact_id", "contact__email", "status",
            "current_node_id", "entered_at", "updated_at", "next_run_at", "finished_at", "goal", "x_error_type",
            "x_error_node", "x_error_message"]


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def _row(values: tuple) -> list:
    row = list(values)
    for index in (8, 9, 10, 11):
        row[index] = _iso(row[index])
    return ["" if value is None else value for value in row]


def csv_chunks(queryset: QuerySet[Enrollment]) -> Iterator[str]:
    """Yield the CSV text of `queryset`: the header, then one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    yield buffer.getvalue()
    for rows in row_batches(queryset):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_row(values) for values in rows)
        yield buffer.getvalue()


def row_batches(queryset: QuerySet[Enrollment]) -> Iterator[list[tuple]]:
    """The export's rows in batches, by keyset on (entered_at, id) descending."""
    columns = queryset.annotate(x_error_type=KT("error__type"), x_error_node=KT("error__node_id"),
                                x_error_message=KT("error__message")).order_by("-entered_at", "-pk")
    after = None
    while True:
        # The plain `entered_at <= last` bounds the index range; the OR alone would be a filter over every row
        # from the newest on, so each batch would read all earlier ones again.
        page = columns if after is None else columns.filter(entered_at__lte=after[0]).filter(
            Q(entered_at__lt=after[0]) | Q(entered_at=after[0], pk__lt=after[1]))
        rows = list(page.values_list(*_COLUMNS)[:BATCH])
        if not rows:
            return
        yield rows
        after = (rows[-1][8], rows[-1][0])
