"""`manage.py workflows export|plan|apply|diff|test|resume` (CONTRACT §17): workflows as code, and migrations.

Thin: each subcommand parses its arguments, calls a service, and prints what happened. A refusal exits non-zero
with its reasons; nothing is changed by a refused `apply`.
"""

from __future__ import annotations

import json
import json as json_module
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from penguinflow.common.errors import DomainError, NotAllowedNow
from penguinflow.workspaces.models import Workspace
from workflows.as_code import as_code_apply, as_code_plan, plan_lines, workspace_export
from workflows.journeys import journeys_junit, journeys_run, published_versions_by_name
from workflows.version_diff import diff_lines, workflows_diff
from workflows.version_migration import CHUNK, migrations_resume


class Command(BaseCommand):
    help = (
        "Workflows as code: export a workspace's workflows, templates and settings as files; plan or apply files "
        "against a workspace; diff two versions or files in words; run journey tests; resume migrations of "
        "contacts in flight."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True)
        export = commands.add_parser(
            "export", help="Write the workspace's workflows, templates and settings."
        )
        export.add_argument("--workspace", required=True, help="The workspace's slug.")
        export.add_argument("--format", choices=["yaml", "json"], default="yaml")
        export.add_argument("directory", help="Where to write (one file per workflow and template).")
        for name, text in (
            ("plan", "Show what apply would change (nothing is changed)."),
            ("apply", "Make the workspace match the files (idempotent)."),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("--workspace", required=True, help="The workspace's slug.")
            sub.add_argument("paths", nargs="+", help="A directory or files.")
            sub.add_argument(
                "--migrate",
                action="store_true",
                help="Move the live contacts of older versions onto each newly published version "
                "(per the file's `migrate` mapping, if any).",
            )
            sub.add_argument("--json", action="store_true", help="Print the plan as JSON.")
            if name == "apply":
                sub.add_argument(
                    "--dry-run", action="store_true", help="Only plan (as `plan` does): change nothing."
                )
        diff = commands.add_parser("diff", help="Describe in words the change from A to B.")
        diff.add_argument(
            "a", help="A file, or <workflow id or name>@<version number|draft> with --workspace."
        )
        diff.add_argument("b")
        diff.add_argument("--workspace", help="The workspace's slug (for versions).")
        test = commands.add_parser("test", help="Run journey tests with the simulator.")
        test.add_argument(
            "paths", nargs="+", help="Journey files or directories (and the workflows beside them)."
        )
        test.add_argument(
            "--workspace", help="Run against the workspace's published versions instead of files."
        )
        test.add_argument("--junit", help="Write JUnit XML to this file.")
        resume = commands.add_parser(
            "resume", help="Apply migrations whose applier stopped (a crash) to the end."
        )
        resume.add_argument("--lease", type=float, default=60.0, help="Seconds an applier holds a job.")
        resume.add_argument("--chunk", type=int, default=CHUNK, help="Enrollments per transaction.")
        resume.add_argument(
            "--max-wait",
            type=float,
            default=300.0,
            help="Seconds to wait for workers to end the steps of enrollments they hold.",
        )

    def handle(self, *args, subcommand: str, **options):
        try:
            code = getattr(self, f"_{subcommand}")(**options)
        except DomainError as error:
            raise CommandError(_refusal_text(error)) from None
        if code:
            sys.exit(code)

    def _export(self, *, workspace: str, format: str, directory: str, **options) -> int:
        files = workspace_export(workspace=_workspace(workspace), fmt=format)
        root = Path(directory)
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {len(files)} file(s) to {root}")
        return 0

    def _plan(self, *, workspace: str, paths: list[str], migrate: bool, json: bool, **options) -> int:
        plan = as_code_plan(workspace=_workspace(workspace), files=_read(paths), migrate=migrate)
        self._print_plan(plan, as_json=json)
        return 1 if plan.problems else 0

    def _apply(
        self, *, workspace: str, paths: list[str], migrate: bool, json: bool, dry_run: bool, **options
    ) -> int:
        if dry_run:
            return self._plan(workspace=workspace, paths=paths, migrate=migrate, json=json)
        files = _read(paths)
        try:
            plan = as_code_apply(workspace=_workspace(workspace), files=files, migrate=migrate)
        except NotAllowedNow as refusal:
            plan = as_code_plan(workspace=_workspace(workspace), files=files, migrate=migrate)
            self._print_plan(plan, as_json=json)
            raise CommandError(refusal.message) from None
        self._print_plan(plan, as_json=json, done=True)
        return 0

    def _print_plan(self, plan, *, as_json: bool, done: bool = False) -> None:
        if as_json:
            self.stdout.write(json_module.dumps(plan.as_dict(), indent=2, default=str))
            return
        for line in plan_lines(plan, done=done):
            self.stdout.write(line)

    def _test(self, *, paths: list[str], workspace: str | None, junit: str | None, **options) -> int:
        versions = published_versions_by_name(workspace=_workspace(workspace)) if workspace else None
        results = journeys_run(files=_read(paths), versions=versions)
        for result in results:
            mark = "ok  " if result.passed else ("ERROR" if result.error else "FAIL")
            self.stdout.write(f"{mark} {result.file}: {result.name} ({result.workflow})")
            for text in [result.error] if result.error else result.failures:
                self.stdout.write("    " + text.replace("\n", "\n    "))
        failed = sum(not r.passed for r in results)
        self.stdout.write(f"{len(results) - failed} passed, {failed} failed")
        if junit:
            Path(junit).write_text(journeys_junit(results), encoding="utf-8")
        if not results:
            raise CommandError("No journey found: journey files have `kind: journey`.")
        return 1 if failed else 0

    def _diff(self, *, a: str, b: str, workspace: str | None, **options) -> int:
        report = workflows_diff(a, b, workspace=_workspace(workspace) if workspace else None)
        for line in diff_lines(report):
            self.stdout.write(line)
        return 0

    def _resume(self, *, lease: float, chunk: int, max_wait: float, **options) -> int:
        reports = migrations_resume(lease_seconds=lease, max_wait=max_wait, chunk=chunk)
        for report in reports:
            state = "done" if report.done else f"{report.waiting_for_steps} waiting for steps to end"
            self.stdout.write(f"moved {report.moved}, exited {report.exited}, left {report.left}: {state}")
        if not reports:
            self.stdout.write("no migration to resume")
        return 0


def _refusal_text(error: DomainError) -> str:
    lines = [error.message]
    for key, value in (error.details or {}).items():
        lines.append(f"  {key}: {value if isinstance(value, str) else json.dumps(value, default=str)}")
    return "\n".join(lines)


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            found += sorted(p for p in given.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
        elif given.exists():
            found.append(given)
        else:
            raise CommandError(f"{given}: no such file or directory")
    return found


def _workspace(slug: str) -> Workspace:
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise CommandError(f"No workspace has the slug {slug!r}.")
    return workspace


def _read(paths: list[str]) -> dict[str, str]:
    """Return the files' texts by path (relative to a directory given, so that plans name them as in the repo)."""
    texts = {}
    for given in map(Path, paths):
        for path in _files([str(given)]):
            name = str(path.relative_to(given)) if given.is_dir() else path.name
            texts[name] = path.read_text(encoding="utf-8")
    return texts
