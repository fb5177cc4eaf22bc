from __future__ import annotations

from django.core.management.base import BaseCommand

from predictions.management.commands._common import add_common_arguments, workspaces_named
from predictions.services import predictions_refresh


class Command(BaseCommand):
    help = ("Score every contact of a workspace with the models in use and write the predictions that changed "
            "(contacts.ContactScores); fire the prediction triggers whose threshold a score crossed.")

    def add_arguments(self, parser):
        add_common_arguments(parser)

    def handle(self, *args, workspace, dry_run, **options):
        for space in workspaces_named(workspace):
            summary = predictions_refresh(workspace=space, dry_run=dry_run)
            for kind, model in summary["models"].items():
                self.stdout.write(
                    f"{space.slug} {kind}: model {model or 'none (scores are null: not enough data)'}, "
                    f"{summary['scored'][kind]} of {summary['contacts']} contacts scored, "
                    f"{summary['written'][kind]} {'would change' if dry_run else 'written'}")
            for key, count in summary["fired"].items():
                self.stdout.write(f"{space.slug} trigger {key}: {count} {'would fire' if dry_run else 'fired'}")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
