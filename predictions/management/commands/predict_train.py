from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from predictions.management.commands._common import add_common_arguments, workspaces_named
from predictions.models import KINDS
from predictions.services import predictions_train


class Command(BaseCommand):
    help = ("Build features, train and backtest the predictive models (churn risk, conversion, engagement decay) of "
            "a workspace; a model that passes its backtest replaces the one in use. Prints each model's quality.")

    def add_arguments(self, parser):
        add_common_arguments(parser)
        parser.add_argument("--model", action="append", dest="kinds", metavar="KIND",
                            help=f"Only this model ({', '.join(KINDS)}); may be repeated.")

    def handle(self, *args, workspace, dry_run, kinds, **options):
        unknown = sorted(set(kinds or []) - set(KINDS))
        if unknown:
            raise CommandError(f"Unknown model {', '.join(unknown)}; use {', '.join(KINDS)}.")
        for space in workspaces_named(workspace):
            for summary in predictions_train(workspace=space, dry_run=dry_run, kinds=tuple(kinds or KINDS)):
                metrics = summary["metrics"]
                figures = (f"AUC {metrics['auc']:.3f}, lift {metrics['lift_top_decile']:.2f}"
                           if "auc" in metrics else "no backtest")
                self.stdout.write(f"{space.slug} {summary['kind']} v{summary['version']}: {summary['status']}"
                                  f"{' (' + summary['quality'] + ')' if summary['quality'] else ''}, {figures}"
                                  f"{'. ' + summary['message'] if summary['message'] else ''}")
        if dry_run:
            self.stdout.write("Dry run: no model was stored.")
