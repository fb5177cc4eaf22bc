from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from penguinflow.common.errors import InvalidInput
from penguinflow.workspaces.models import Workspace
from penguinflow.workspaces.services import DEFAULT_OVERLAP_HOURS, signing_secret_rotate


class Command(BaseCommand):
    help = ("Make a new webhook signing secret for a workspace (the first one, too); the secrets in use keep "
            "signing beside it for --overlap-hours. The new secret is printed alone on the last line.")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument("--overlap-hours", type=float, default=DEFAULT_OVERLAP_HOURS,
                            help=f"How long the old secrets keep signing (default {DEFAULT_OVERLAP_HOURS}; 0: stop now).")

    def handle(self, *args, workspace: str, overlap_hours: float, **options):
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace has the slug '{workspace}'.")
        try:
            secret = signing_secret_rotate(workspace=ws, overlap_hours=overlap_hours)
        except InvalidInput as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"New webhook signing secret {secret.hint} for '{ws.slug}'; the previous ones sign until "
                          f"{overlap_hours:g} h from now. Give it to the receivers:")
        self.stdout.write(secret.secret)
