from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from penguinflow.common.errors import InvalidInput
from penguinflow.workspaces.services import api_key_create, workspace_get_or_create


class Command(BaseCommand):
    help = ("Create an API key for a workspace (created when missing); the key is printed alone on the last line. "
            "`manage.py api_keys` lists, relabels, rescopes and revokes keys.")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument("--name", "--label", dest="name", default="cli", help="The key's label.")
        parser.add_argument("--scopes", default="read,write,events",
                            help="Comma-separated: read, write, events (events: only POST /api/v1/events). "
                                 "Default: all three.")
        parser.add_argument("--rate", type=int, default=None, help="Most requests a minute (default: the server's).")

    def handle(self, *args, workspace: str, name: str, scopes: str, rate: int | None, **options):
        slug = slugify(workspace)
        if not slug or slug != workspace:
            raise CommandError(f"'{workspace}' is not a valid slug (letters, digits, hyphens), e.g. '{slug or 'acme'}'.")
        if rate is not None and rate < 1:
            raise CommandError("--rate must be at least 1.")
        ws, created = workspace_get_or_create(slug=slug)
        try:
            api_key, secret = api_key_create(workspace=ws, name=name, rate_limit_per_minute=rate,
                                             scopes=[part.strip() for part in scopes.split(",") if part.strip()])
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stderr.write(f"{'Created workspace' if created else 'Workspace'} '{ws.slug}'; new API key '{name}' "
                          f"({api_key.prefix}, scopes {', '.join(api_key.scopes)}):")
        self.stdout.write(secret)
