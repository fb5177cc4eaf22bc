"""`manage.py api_keys list|change|revoke`: the API keys of a workspace, by prefix (the key's public id)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from penguinflow.common.errors import InvalidInput
from penguinflow.workspaces.models import WorkspaceAPIKey
from penguinflow.workspaces.services import api_key_change, api_key_revoke


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = ("List a workspace's API keys, or change (label, scopes, rate) or revoke one, named by its prefix. "
            "A change or revocation takes effect on the next request. `create_api_key` makes new keys.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        listing = commands.add_parser("list", help="The workspace's keys: prefix, label, scopes, last use.")
        listing.add_argument("--workspace", required=True, help="The workspace's slug.")
        change = commands.add_parser("change", help="Relabel, rescope or re-rate a key.")
        change.add_argument("prefix")
        change.add_argument("--label")
        change.add_argument("--scopes", help="Comma-separated: read, write, events.")
        change.add_argument("--rate", type=int, help="Most requests a minute; 0: back to the server's default.")
        change.add_argument("--dry-run", action="store_true", help="Say what would change; change nothing.")
        revoke = commands.add_parser("revoke", help="Revoke a key for good.")
        revoke.add_argument("prefix")
        revoke.add_argument("--dry-run", action="store_true", help="Say what would be revoked; revoke nothing.")

    def handle(self, *args, command: str, **options):
        if command == "list":
            return self._list(options["workspace"])
        api_key = WorkspaceAPIKey.objects.filter(prefix=options["prefix"]).select_related("workspace").first()
        if api_key is None:
            raise CommandError(f"No API key has the prefix '{options['prefix']}'.")
        try:
            with transaction.atomic():
                if command == "revoke":
                    api_key_revoke(api_key=api_key)
                else:
                    self._change(api_key, options)
                if options["dry_run"]:
                    raise _DryRun
        except _DryRun:
            self.stdout.write("Dry run, nothing changed:")
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stdout.write(self._describe(api_key))

    def _change(self, api_key: WorkspaceAPIKey, options) -> None:
        scopes = options["scopes"]
        rate = options["rate"]
        if rate is not None and rate < 0:
            raise CommandError("--rate must be 0 (the server's default) or more.")
        api_key_change(api_key=api_key, name=options["label"],
                       scopes=[part.strip() for part in scopes.split(",") if part.strip()] if scopes else None,
                       rate_limit_per_minute=rate or None, default_rate=rate == 0)

    def _list(self, slug: str) -> None:
        keys = WorkspaceAPIKey.objects.filter(workspace__slug=slug).select_related("workspace").order_by("created")
        for api_key in keys:
            self.stdout.write(self._describe(api_key))
        if not keys:
            self.stderr.write(f"No API keys in the workspace '{slug}'.")

    @staticmethod
    def _describe(api_key: WorkspaceAPIKey) -> str:
        used = api_key.last_used_at.isoformat() if api_key.last_used_at else "never"
        rate = f"{api_key.rate_limit_per_minute}/min" if api_key.rate_limit_per_minute else "default rate"
        state = "revoked" if api_key.revoked else "active"
        return (f"{api_key.prefix}  {api_key.name!r}  scopes={','.join(api_key.scopes)}  {rate}  "
                f"last used {used}  {state}  workspace={api_key.workspace.slug}")
