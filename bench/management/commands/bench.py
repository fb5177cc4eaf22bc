"""`manage.py bench [scenario] [--quick]`: run the benchmark scenarios, each a module of this package with `run(out)`.

The bench package is an app of its own (in INSTALLED_APPS for this command only: it has no models), so that the
project package, which imports no app, does not have to know it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from django.core.management.base import BaseCommand, CommandError

import bench


def scenarios() -> list[str]:
    """The scenario modules: bench's modules, but not its private helpers or this command's package."""
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_") and not m.ispkg)


class Command(BaseCommand):
    help = "Run a benchmark scenario against the real services and print its figures (no assertions)."

    def add_arguments(self, parser):
        parser.add_argument("scenario", nargs="?", help=f"One of: {', '.join(scenarios())}; all when omitted.")
        parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
        parser.add_argument("--executions", type=int, help="Scenario `history`: executions to seed (default 1,000,000).")
        parser.add_argument("--minutes", type=float, help="Scenario `soak`: minutes of load (default 10; --quick: 1).")
        parser.add_argument("--rate", type=int, help="Scenario `soak`: events per second (default 1,000; --quick: 200).")

    def handle(self, *args, scenario: str | None, quick: bool, executions: int | None, minutes: float | None,
               rate: int | None, **options):
        names = [scenario] if scenario else scenarios()
        for name in names:
            if name not in scenarios():
                raise CommandError(f"Unknown scenario '{name}'. Known: {', '.join(scenarios())}.")
            module = importlib.import_module(f"bench.{name}")
            self.stdout.write(f"== bench {name}")
            accepted = inspect.signature(module.run).parameters
            extra = {"quick": quick} if "quick" in accepted else {}
            for name, value in (("executions", executions), ("minutes", minutes), ("rate", rate)):
                if value is not None and name in accepted:
                    extra[name] = value
            module.run(out=self.stdout, **extra)
