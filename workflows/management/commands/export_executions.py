from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from penguinflow.common.db_router import reads_from_replica
from penguinflow.common.errors import InvalidInput
from penguinflow.workspaces.models import Workspace
from workflows.execution_export import csv_chunks
from workflows.execution_query import ALL_WORKSPACES, execution_query_parse, executions_matching

_FILTERS = ("workflow", "version", "status", "contact", "node", "error_type", "since", "until", "q")


class Command(BaseCommand):
    help = ("Export executions to CSV (the columns of GET /api/v1/executions/export.csv), filtered as the API "
            "filters them; to a file or to standard output. Memory stays flat whatever the number of rows.")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Workspace slug (default: every workspace).")
        for name in _FILTERS:
            flag = "--workflow-version" if name == "version" else f"--{name.replace('_', '-')}"  # --version is Django's
            parser.add_argument(flag, dest=name, help=f"The `{name}` filter of the API.")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, workspace, output, **options):
        given = {name: options[name] for name in _FILTERS if options.get(name)}
        try:
            query = execution_query_parse(given)
        except InvalidInput as problem:
            raise CommandError("; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in problem.details.items())) \
                from None
        scope = ALL_WORKSPACES
        if workspace:
            scope = Workspace.objects.filter(slug=workspace).first()
            if scope is None:
                raise CommandError(f"There is no workspace '{workspace}'.")
        with reads_from_replica():  # a long read that changes nothing: the replica's work when there is one
            self._write(executions_matching(workspace=scope, query=query), output)

    def _write(self, rows, output):
        if not output:
            for chunk in csv_chunks(rows):
                self.stdout.write(chunk, ending="")
            return
        with open(output, "w", newline="", encoding="utf-8") as target:
            for chunk in csv_chunks(rows):
                target.write(chunk)
        self.stderr.write(f"wrote {output}")
