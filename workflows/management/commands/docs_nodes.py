"""Write docs/nodes.md from the node-type registry and the presets; ``--check`` fails when it is stale."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.engine.registry import registry
from workflows.node_docs import render_nodes_md

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "nodes.md"


class Command(BaseCommand):
    help = "Write docs/nodes.md (every node type, its config fields, branches, example and presets)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 when the file is stale.")
        parser.add_argument("--path", default=str(DEFAULT_PATH), help="Where the document lives.")

    def handle(self, *args, check, path, **options):
        target = Path(path)
        wanted = render_nodes_md(registry)
        if check:
            current = target.read_text(encoding="utf-8") if target.exists() else None
            if current != wanted:
                raise CommandError(f"{target} is stale: run `python manage.py docs_nodes` and commit it")
            self.stdout.write(f"{target} is up to date")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(wanted, encoding="utf-8")
        self.stdout.write(f"wrote {target}")
