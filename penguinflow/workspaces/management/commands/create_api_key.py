from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from penguinflow.workspaces.services import api_key_create, workspace_get_or_create


class Command(BaseCommand):
    help = "Create an API key for a workspace (created when missing); the key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument("--name", default="cli", help="A label for the key (shown in the admin).")

    def handle(self, *args, workspace: str, name: str, **options):
        slug = slugify(workspace)
        if not slug or slug != workspace:
            raise CommandError(f"'{workspace}' is not a valid slug (letters, digits, hyphens), e.g. '{slug or 'acme'}'.")
        ws, created = workspace_get_or_create(slug=slug)
        _, secret = api_key_create(workspace=ws, name=name)
        self.stderr.write(f"{'Created workspace' if created else 'Workspace'} '{ws.slug}'; new API key '{name}':")
        self.stdout.write(secret)
